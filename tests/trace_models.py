"""Small models for the model-trace tests, importable by a ``pipeguard trace`` subprocess
(``PYTHONPATH=tests``): the seeds' broken CNNs and some that trace cleanly."""

import torch
import torch.nn.functional as F
from torch import nn


class PooledCNN(nn.Module):
    """Two conv+pool stages; ``fc`` is sized for a 10×10 map (a 40×40 input), so a 64×64
    input hands it 20×16×16 = 5120 features."""

    def __init__(self, in_features: int = 2000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 10, 5, padding=2)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(10, 20, 5, padding=2)
        self.fc = nn.Linear(in_features, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        return self.fc(torch.flatten(x, 1))


class LeNet(nn.Module):
    """The classic: functional pooling and a fixed ``view(-1, 16*5*5)`` (fits 32×32 only)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(-1, 16 * 5 * 5)
        x = F.relu(self.fc1(x))
        return self.fc3(F.relu(self.fc2(x)))


class Residual(nn.Module):
    """A residual block whose shortcut forgets the channel change: the add fails in forward code."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 16, 3, padding=1)
        self.bn = nn.BatchNorm2d(16)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)) + x)


class ValueDependent(nn.Module):
    """Reads a tensor value in forward: cannot run on the meta device."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        x = self.conv(x)
        if x.abs().sum().item() >= 0:  # data-dependent control flow (always true)
            x = x.mean(dim=(2, 3))
        return self.fc(x)


def over_dilated():
    """A dilated conv that spans 17×17 pixels, after a first conv leaves a 10×10 map of a 12×12 input."""
    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3, dilation=8))


def unpadded_stack():
    """Seven unpadded 5×5 convs: each removes 4 pixels, so 28×28 shrinks 24, 20, ..., 4, then nothing."""
    layers = []
    for i in range(7):
        layers += [nn.Conv2d(1 if i == 0 else 4, 4, 5), nn.ReLU()]
    return nn.Sequential(*layers)


def needs_arguments(width):
    return nn.Linear(width, 2)


not_a_model = 42


def broken():
    """Raises while building the model."""
    raise RuntimeError("cannot build")

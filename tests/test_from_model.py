import pytest
import torch
from torch import nn
from torchvision import models

import pipeguard as pg


def test_conv_first_layer_gives_channels_and_dtype():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(10))
    c = pg.Contract.from_model(model, size=(32, 32))
    assert (c.channels, c.size, c.numel, c.dtype) == (3, (32, 32), 3072, "float32")
    assert c.name == "Sequential"


def test_linear_first_layer_after_flatten_gives_numel():
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    c = pg.Contract.from_model(model)
    assert c.numel == 784 and c.channels is None
    assert pg.Contract.from_model(model, size=(28, 28)).shape == (1, 28, 28)
    with pytest.raises(ValueError, match="784 features"):
        pg.Contract.from_model(model, size=(30, 30))


def test_nested_and_torchvision_models():
    assert pg.Contract.from_model(models.resnet18(weights=None)).channels == 3
    vit = models.vit_b_16(weights=None)
    c = pg.Contract.from_model(vit)
    assert c.shape == (3, 224, 224)        # ViT fixes its image size


class Custom(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = nn.BatchNorm2d(3)
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return self.conv(self.norm(x))


def test_clear_errors_without_a_hint():
    with pytest.raises(ValueError, match="cannot read a contract from Custom"):
        pg.Contract.from_model(Custom())
    with pytest.raises(ValueError, match="lazy"):
        pg.Contract.from_model(nn.Sequential(nn.LazyConv2d(8, 3)))
    with pytest.raises(TypeError, match="nn.Module"):
        pg.Contract.from_model(lambda x: x)


def test_half_precision_model():
    model = nn.Sequential(nn.Conv2d(1, 4, 3)).to(torch.float16)
    assert pg.Contract.from_model(model).dtype == "float16"

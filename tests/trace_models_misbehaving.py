"""Models whose forward misbehaves, for ``pipeguard trace``: one ends the process, one never returns."""

import sys
import time

from torch import nn


class Stuck(nn.Module):
    """Never returns from ``body``: ``trace`` must stop it at its time limit."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3)
        self.body = Forever()

    def forward(self, x):
        return self.body(self.stem(x))


class Forever(nn.Module):
    def forward(self, x):
        while True:
            time.sleep(0.01)


class Quits(nn.Module):
    """Calls ``sys.exit(0)`` in ``head``: the model's failure, never pipeguard's exit status."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3)
        self.head = Exits()

    def forward(self, x):
        return self.head(self.stem(x))


class Exits(nn.Module):
    def forward(self, x):
        sys.exit(0)

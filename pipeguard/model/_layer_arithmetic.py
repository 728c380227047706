"""Output-size arithmetic of convolution and pooling layers, and the settings that keep a size.

All functions work on one spatial dimension; callers loop over ``H``, ``W`` (or ``L``,
``D``). They follow PyTorch's formulas exactly:

    out = floor((in + 2·pad − dil·(k − 1) − 1) / stride) + 1

(``ceil`` instead of ``floor`` for pooling with ``ceil_mode=True``, where the last window
must still start inside the input or the left padding).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Sequence

if TYPE_CHECKING:  # annotations only: torch is imported where it runs
    from torch import nn


@dataclass(frozen=True)
class Window:
    """One spatial dimension of a sliding-window layer (conv or pooling)."""

    kernel: int
    stride: int = 1
    padding: int = 0
    dilation: int = 1
    ceil_mode: bool = False

    @property
    def span(self) -> int:
        """Pixels one window covers: ``dil·(k − 1) + 1``."""
        return self.dilation * (self.kernel - 1) + 1

    def out(self, size: int) -> int:
        """Output length for an input of ``size`` (may be ≤ 0: the layer cannot run)."""
        numerator = size + 2 * self.padding - self.span
        if self.ceil_mode:
            n = -(-numerator // self.stride) + 1
            # PyTorch: the last window must start inside the input or the left padding
            if (n - 1) * self.stride >= size + self.padding:
                n -= 1
            return n
        return numerator // self.stride + 1

    def formula(self, size: int) -> str:
        """``'⌊(10 + 2·0 − 8·(3−1) − 1)/1⌋ + 1 = −6'``: the arithmetic behind :meth:`out`."""
        lo, hi = ("⌈", "⌉") if self.ceil_mode else ("⌊", "⌋")
        result = self.out(size)
        text = (f"{lo}({size} + 2·{self.padding} − {self.dilation}·({self.kernel}−1) − 1)/{self.stride}{hi} + 1"
                f" = {_signed(result)}")
        return text

    def keeping_padding(self) -> Optional[int]:
        """The symmetric padding that keeps the size at stride 1 (``None`` for an even span)."""
        extra = self.span - 1
        return extra // 2 if extra % 2 == 0 else None

    def minimum_padding(self, size: int) -> int:
        """The smallest padding with which the layer yields at least one output."""
        return max(0, math.ceil((self.span - size) / 2))

    def largest_dilation(self, size: int) -> int:
        """The largest dilation that still fits ``size`` (0 when even dilation 1 does not)."""
        if self.kernel <= 1:
            return self.dilation
        return max(0, (size + 2 * self.padding - 1) // (self.kernel - 1))


def _signed(n: int) -> str:
    return f"−{-n}" if n < 0 else str(n)


def _tuple(value: Any, n: int) -> tuple:
    if isinstance(value, (tuple, list)):
        return tuple(value) if len(value) == n else tuple(value[:1]) * n
    return (value,) * n


def windows(layer: nn.Module, dims: int, input_sizes: Sequence[int] = ()) -> Optional[list[Window]]:
    """One :class:`Window` per spatial dimension of a ``ConvNd``, ``MaxPoolNd`` or ``AvgPoolNd``.

    ``padding='same'`` resolves to the padding that keeps the size and ``'valid'`` to 0.
    Returns ``None`` for a layer this arithmetic does not describe.
    """
    kernel = getattr(layer, "kernel_size", None)
    if kernel is None:
        return None
    kernel = _tuple(kernel, dims)
    stride = _tuple(getattr(layer, "stride", None) or kernel, dims)  # pooling: stride defaults to kernel
    dilation = _tuple(getattr(layer, "dilation", 1), dims)
    padding = getattr(layer, "padding", 0)
    if padding == "valid":
        padding = 0
    if padding == "same":
        padding = tuple((d * (k - 1)) // 2 for k, d in zip(kernel, dilation))
    padding = _tuple(padding, dims)
    ceil_mode = bool(getattr(layer, "ceil_mode", False))
    return [Window(int(k), int(s), int(p), int(d), ceil_mode)
            for k, s, p, d in zip(kernel, stride, padding, dilation)]


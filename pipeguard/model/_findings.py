"""The record of why a layer cannot take its input: :class:`FindingKind` (the code),
:class:`Finding` (the numbers and the fix) and :class:`Call` (the torch call that raised),
and how every finding writes a layer and its numbers (:func:`compact`, :func:`layer_repr`).
Shared by the checks and readers of every layer family (``_conv_failures``,
``_linear_failures``, ``_norm_failures``, ``_assert_failures``, ``_broadcast``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Sequence

from ..diagnosis import Diagnosis, numbers

if TYPE_CHECKING:  # annotations only: torch is imported where it runs
    from torch import nn

Shape = tuple[int, ...]


class FindingKind(str, enum.Enum):
    """Why a layer cannot take its input: the code a :class:`Finding` (and the trace's
    ``LayerError``) carries. Branch and group by this, never by the summary text.

    Defined here, where findings are made, rather than with the reason codes in
    ``core._errors``: ``model`` may not import ``core``.
    """

    IN_FEATURES = "in-features"              # a Linear (or matmul) receives another feature count
    IN_CHANNELS = "in-channels"              # a convolution receives another channel count
    NUM_FEATURES = "num-features"            # a norm layer receives another channel count
    RANK = "rank"                            # a number of dimensions the layer cannot take
    SHRINK = "shrink"                        # a window larger than the map it slides over
    NORMALIZED_SHAPE = "normalized-shape"    # a LayerNorm's trailing dimensions disagree
    VIEW = "view"                            # a view/reshape that does not fit the element count
    BROADCAST = "broadcast"                  # two tensors disagree at one dimension
    TOKEN_GRID = "token-grid"                # the input's token grid does not fit a table sized for another input
    ASSERTION = "assertion"                  # the model's own assert on the input
    DTYPE = "dtype"                          # the input's dtype is not the weights'
    EXCEPTION = "exception"                  # anything else the forward pass raised

    def __str__(self) -> str:
        return self.value

    @property
    def is_shape(self) -> bool:
        """The input's shape is what the model rejects (not a dtype, device or code error)."""
        return self not in (FindingKind.DTYPE, FindingKind.EXCEPTION)


@dataclass(frozen=True)
class Finding:
    """What is wrong with one layer call, before the trace adds where it happened.

    ``kind`` is a :class:`FindingKind`; ``summary`` names the layer and what it receives;
    ``expected``/``actual`` are shapes or element counts.
    """

    kind: FindingKind
    summary: str
    expected: Any = None
    actual: Any = None
    arithmetic: str = ""
    fix: str = ""
    diagnosis: Optional[Diagnosis] = None
    size: Optional[tuple[int, int]] = None


@dataclass(frozen=True)
class Call:
    """The torch function call that raised: its name, the shapes of its tensor arguments,
    and for each the name of the parameter or buffer it is (``None`` for activations)."""

    name: str
    shapes: tuple[Shape, ...] = ()
    tables: tuple[Optional[str], ...] = ()

    def __str__(self) -> str:
        shown = " and ".join(numbers.shape(s) for s in self.shapes[:2])
        return self.name + (f" on {shown}" if self.shapes else "")


def compact(dims: Sequence[int]) -> str:
    """``(20, 16, 16)`` -> ``'20×16×16'`` (the voice of the headline)."""
    return "×".join(str(d) for d in dims)


def scalar(value: Any) -> Any:
    """``(3, 3)`` -> ``3``: a setting equal along every dimension as one number; a list as a tuple."""
    if isinstance(value, (tuple, list)) and value and all(v == value[0] for v in value):
        return value[0]
    return tuple(value) if isinstance(value, list) else value


def layer_repr(layer: nn.Module, fields: Sequence[str], defaults: Optional[dict] = None) -> str:
    """``Conv2d(kernel_size=3, dilation=8)``: the named fields, squares as one number,
    fields equal to their default left out."""
    defaults = defaults or {}
    parts = []
    for name in fields:
        value = scalar(getattr(layer, name, None))
        if value is None or defaults.get(name, object()) == value:
            continue
        parts.append(f"{name}={list(value) if isinstance(value, tuple) else value}")
    return f"{type(layer).__name__}({', '.join(parts)})"

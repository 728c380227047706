"""The record of why a layer cannot take its input: :class:`FindingKind` (the code),
:class:`Finding` (the numbers and the fix) and :class:`Call` (the torch call that raised).
Shared by the readers in :mod:`._layer_failures` and :mod:`._broadcast`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from ..diagnosis import Diagnosis, numbers

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

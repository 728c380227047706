"""The records :func:`explain` returns: ``HypothesisKind`` (the code of a hypothesis),
``Hypothesis`` (one explanation with its arithmetic and fix) and ``Diagnosis`` (expected vs
actual with the hypotheses, best first), and the text ``str(diagnosis)`` renders.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Optional

from . import _numbers as numbers
from ._dims import Dims
from ._numbers import count

_MAX_SHOWN = 5


class HypothesisKind(str, enum.Enum):
    """What a :class:`Hypothesis` says went wrong. Branch and group by this, never by text.

    Defined here, in the bottom layer where hypotheses are made, rather than with the
    reason codes in ``core._errors``: ``diagnosis`` imports nothing else of pipeguard.
    The first group comes from the arithmetic of :func:`explain`; the second from a
    contract's violations (``core``'s diagnosis of a sample).
    """

    BATCH = "batch"                      # a batch of another size
    BATCH_DIM = "batch-dim"              # a missing or extra leading dimension
    CHANNELS = "channels"
    SIZE = "size"                        # height × width
    CHANNELS_AND_SIZE = "channels+size"
    POOLING = "pooling"                  # a map downsampled (or not) by a power of two
    LAYOUT = "layout"                    # channels-last vs channels-first
    PERMUTE = "permute"                  # the same dimensions in another order
    FLATTEN = "flatten"                  # flattened where unflattened is expected, or the reverse
    UNPOOLED = "unpooled"                # a map flattened without (or with) global pooling
    FEATURE_MAP = "feature-map"          # a Linear sized for another feature map
    RESHAPE = "reshape"                  # the same element count, another shape
    EMPTY = "empty"                      # one side holds no elements
    RATIO = "ratio"                      # no reading: only the ratio of the counts
    DTYPE = "dtype"
    RANGE = "range"                      # values outside the expected range
    TYPE = "type"                        # not an image or tensor at all
    RANK = "rank"                        # a number of dimensions no image has
    # the third group: a target (mask, boxes, labels) checked with its image
    TARGET_APART = "target-apart"        # image and target transformed apart (sizes or canvas differ)
    MASK_RGB = "mask-rgb"                # a mask saved as RGB (equal channels, or colour-coded)
    MASK_ONE_HOT = "mask-one-hot"        # one channel a class where one channel of ids is expected
    MASK_SCALED = "mask-scaled"          # float ids: ToTensor()/ToDtype(scale=True) on a mask
    MASK_INTERPOLATED = "mask-interpolated"  # ids blended by bilinear resizing
    MASK_IGNORE = "mask-ignore"          # one out-of-range value that marks ignored pixels
    MASK_BINARY_255 = "mask-binary-255"  # a binary mask saved as 0/255
    CLASS_COUNT = "class-count"          # ids or labels past num_classes
    BOX_FORMAT = "box-format"            # boxes read in the wrong format (XYWH as XYXY, ...)
    BOX_NORMALIZED = "box-normalized"    # fractions of the image size where pixels are expected
    BOX_SWAPPED = "box-swapped"          # boxes that fit the image with width and height swapped
    BOX_CLAMP = "box-clamp"              # boxes a little outside, or empty: clamp and drop them
    LABELS = "labels"                    # not one label a box
    TARGET_MISSING = "target-missing"    # no mask or boxes where the contract expects them

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Hypothesis:
    """One explanation: what probably happened, the arithmetic behind it, and a fix.

    ``kind`` is a :class:`HypothesisKind` (its text, e.g. ``"batch"``, is accepted and
    converted); ``score`` in (0, 1] ranks hypotheses.
    """

    kind: HypothesisKind
    score: float
    summary: str
    arithmetic: str = ""
    fix: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", HypothesisKind(self.kind))  # an unknown code is a ValueError

    def __str__(self) -> str:
        text = self.summary + (f": {self.arithmetic}" if self.arithmetic else "")
        return text + (f"\n     fix: {self.fix}" if self.fix else "")


@dataclass(frozen=True)
class Diagnosis:
    """Expected vs actual and the hypotheses that explain the difference, best first."""

    expected: Dims
    actual: Dims
    hypotheses: list[Hypothesis] = field(default_factory=list)

    @property
    def best(self) -> Optional[Hypothesis]:
        return self.hypotheses[0] if self.hypotheses else None

    @property
    def kinds(self) -> list[HypothesisKind]:
        return [h.kind for h in self.hypotheses]

    def __str__(self) -> str:
        try:
            return _render(self)
        except Exception as exc:  # pragma: no cover - formatting must not crash
            return f"diagnosis could not be formatted: {exc!r}"


def _side_line(label: str, d: Dims) -> str:
    if d.shape is not None:
        return f"{label}  {numbers.shape(d.shape)}  {count(d.numel)} elements"
    return f"{label}  {count(d.numel)} elements"


def _render(diag: Diagnosis) -> str:
    lines = [_side_line("expected", diag.expected), _side_line("actual  ", diag.actual)]
    e, a = diag.expected.numel, diag.actual.numel
    if e and a is not None and a != e:
        lines[-1] += f"  ({numbers.ratio(a, e)})"
    if not diag.hypotheses:
        lines.append("the two agree" if diag.expected == diag.actual or diag.expected.shape is None
                     or diag.actual.shape is None else "no explanation found")
        return "\n".join(lines)
    lines.append("likely causes, most likely first:")
    for i, h in enumerate(diag.hypotheses[:_MAX_SHOWN], 1):
        lines.append(f"  {i}. {h.summary}")
        if h.arithmetic:
            lines.append(f"     {h.arithmetic}")
        if h.fix:
            lines.append(f"     fix: {h.fix}")
    if len(diag.hypotheses) > _MAX_SHOWN:
        lines.append(f"  ({len(diag.hypotheses) - _MAX_SHOWN} less likely hypotheses not shown)")
    return "\n".join(lines)

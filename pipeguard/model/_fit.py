"""Which square input sizes a model accepts: the search behind ``Contract.from_model``.

A CNN with a ``Linear`` after a flatten accepts only the input sizes whose final
feature map flattens to that layer's ``in_features``. The map grows with the input, so
the smallest fitting side is found by doubling, then bisecting, with one meta-device
trace per probe (milliseconds each, no activations allocated).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from ._findings import FindingKind
from ._forward_pass import trace_shapes
from ._results import ModelTrace

if TYPE_CHECKING:  # annotations only: torch is imported where it runs
    from torch import nn

    from ._forward_pass import DType

MAX_SIDE = 4096
_VIEW = re.compile(r"shape '\[([-\d, ]*)\]' is invalid for input of size (\d+)")


@dataclass(frozen=True)
class Probe:
    """The model traced at one square side.

    ``verdict`` is -1 (the input is too small: a map shrank away, or the flattened
    features fall short), 0 (it fits), +1 (too large), or ``None`` (it failed for a
    reason that says nothing about the size). ``features`` is what the first
    flatten-fed ``Linear`` (or fixed-size view) received, per sample, when known.
    """

    side: int
    verdict: Optional[int]
    features: Optional[int]
    trace: ModelTrace


@dataclass(frozen=True)
class Fit:
    """The outcome of :func:`smallest_square`.

    ``side`` is the smallest fitting square side, or ``None``. ``pinned`` is true when
    the model accepts only some sizes (a larger input does not fit): only then does
    the size belong in a contract. ``below``/``above`` bracket the sizes when no square
    side fits.
    """

    side: Optional[int]
    pinned: bool
    below: Optional[Probe] = None
    above: Optional[Probe] = None
    last: Optional[Probe] = None


def _sign(n: int) -> int:
    return (n > 0) - (n < 0)


def probe(model: nn.Module, channels: int, side: int, dtype: DType = None, batch: int = 1) -> Probe:
    """Trace ``model`` on a ``[batch, channels, side, side]`` input and read the verdict."""
    trace = trace_shapes(model, (batch, channels, side, side), dtype=dtype)
    error = trace.error
    if error is None:
        out = trace.output_shape
        if out and len(out) >= 1 and out[0] != batch:  # a fixed view(-1, F) folded samples together
            return Probe(side, _sign(out[0] - batch), None, trace)
        return Probe(side, 0, _linear_features(model, trace), trace)
    if error.kind is FindingKind.SHRINK:
        return Probe(side, -1, None, trace)
    if error.kind is FindingKind.IN_FEATURES and isinstance(error.expected, int):
        got = math.prod(error.actual[1:]) if isinstance(error.actual, tuple) and len(error.actual) > 1 else None
        if got is not None:
            return Probe(side, _sign(got - error.expected), got, trace)
    if error.kind is FindingKind.VIEW and error.exception:
        m = _VIEW.search(error.exception)
        if m:
            dims = [int(v) for v in m.group(1).replace(" ", "").split(",") if v]
            size = int(m.group(2))
            want = math.prod(d for d in dims if d != -1) * (batch if -1 in dims else 1)
            return Probe(side, _sign(size - want), size // batch, trace)
    return Probe(side, None, None, trace)


def _linear_features(model: nn.Module, trace: ModelTrace) -> Optional[int]:
    """Features received by the first ``Linear`` that follows a spatial map, if any."""
    from torch import nn

    linears = {path for path, m in model.named_modules() if isinstance(m, nn.Linear)}
    spatial = len(trace.input_shape) >= 3
    for row in trace.rows:
        if row.path in linears and spatial and row.input_shape is not None and len(row.input_shape) == 2:
            return row.input_shape[1]
        if row.output_shape is not None and len(row.output_shape) >= 3:
            spatial = True
    return None


def smallest_square(model: nn.Module, channels: int, dtype: DType = None, max_side: int = MAX_SIDE) -> Fit:
    """The smallest square side a model accepts, and whether its size is pinned.

    Doubles the side from 1 until a probe fits or overshoots, bisects down to the
    smallest side that does not fall short, then checks a 4× larger side: if that fits
    too, the model adapts to its input (global pooling) and the size is not pinned.
    """
    below: Optional[Probe] = None
    first: Optional[Probe] = None
    last: Optional[Probe] = None
    side = 1
    while side <= max_side:
        p = probe(model, channels, side, dtype)
        last = p
        if p.verdict is not None and p.verdict >= 0:
            first = p
            break
        if p.verdict == -1:
            below = p
        side *= 2
    if first is None:
        return Fit(None, False, below, None, last)
    lo = below.side if below is not None else first.side // 2   # falls short (or unknown) at lo
    hi = first
    while hi.side - lo > 1:
        mid = (lo + hi.side) // 2
        p = probe(model, channels, mid, dtype)
        if p.verdict is not None and p.verdict >= 0:
            hi = p
        else:
            lo = mid
            if p.verdict == -1:
                below = p
    if hi.verdict != 0:
        return Fit(None, True, below, hi, hi)
    bigger = probe(model, channels, hi.side * 4, dtype)
    return Fit(hi.side, bigger.verdict != 0, below, None, hi)

"""Why a ``Linear`` (or a matrix multiply, or a reshape) cannot take its input: a map not
flattened, a flattened map of another size than the layer was built for (with the map size
or the image size that fits), or a ``view`` whose fixed sizes do not divide the elements.
Reads torch's own ``mat1 and mat2`` and ``shape '[...]' is invalid`` messages.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any, Optional

from ..diagnosis import HypothesisKind, ensure_channels, ensure_size, explain, isqrt_exact, numbers
from ._findings import Finding, FindingKind, compact
from ._history import INPUT, History, Shape

if TYPE_CHECKING:  # annotations only: torch is imported where it runs
    from torch import nn

_VIEW = re.compile(r"shape '\[([-\d, ]*)\]' is invalid for input of size (\d+)")
_MATMUL = (re.compile(r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)"),
           re.compile(r"a and b must have same reduction dim, but got \[(\d+), (\d+)\] X \[(\d+), (\d+)\]"))


def map_source(history: History, features: int, batch: Optional[int]) -> Optional[tuple[str, Shape]]:
    """The latest spatial map (rank ≥ 3) in ``history`` that flattens to ``features`` per sample."""
    for where, shape in reversed(history):
        if shape is None or len(shape) < 3 or (batch is not None and shape[0] != batch):
            continue
        if math.prod(shape[1:]) == features:
            return where, shape
    return None


def _the(where: str) -> str:
    """How a message names the history entry ``where``: the model input, a function's result, a layer's output."""
    if where == INPUT:
        return "the model input"
    return f"the result of {where}" if where.endswith("()") else f"the output of `{where}`"


def check_linear(layer: nn.Linear, x: Shape, history: History) -> Optional[Finding]:
    """What stops a ``Linear`` from taking ``x``: a map not flattened, or another feature count."""
    want, got = layer.in_features, x[-1] if x else 0
    if not x or got == want:
        return None
    head = f"Linear(in_features={want})"
    if len(x) >= 3:
        diag = explain((x[0], want), x) if math.prod(x[1:]) == want else explain(want, got)
        return Finding(
            FindingKind.IN_FEATURES, f"{head} receives {numbers.shape(x)}, whose last dimension is {got}",
            expected=want, actual=x, diagnosis=diag,
            arithmetic=(f"{want} = {compact(x[1:])}: the map is not flattened" if math.prod(x[1:]) == want
                        else f"a Linear acts on the last dimension ({got}), not on {want}"),
            fix=("add nn.Flatten() (or x.flatten(1)) before this layer" if math.prod(x[1:]) == want
                 else f"set in_features={got}, or flatten/reshape the input first"))
    batch = x[0] if len(x) == 2 else None
    source = map_source(history, got, batch)
    if source is None:
        return Finding(FindingKind.IN_FEATURES, f"{head} receives {got} features",
                       expected=want, actual=x, diagnosis=explain(want, got),
                       fix=_flat_images_fix(want, got) + f"set in_features={got}")
    where, src = source
    c, spatial = src[1], src[2:]
    diag = explain((batch or 1, want), src if batch is not None else (1, *src[1:]))
    need = _needed_map(want, c, len(spatial))
    arithmetic = f"{got} = {compact(src[1:])} features: {_the(where)} {numbers.shape(src)}, flattened"
    fix = f"set in_features={got}"
    summary = f"{head} receives {got} = {compact(src[1:])} features"
    if need is not None:
        arithmetic += f"; {want} = {c}×{compact(need)} would need a {compact(need)} map"
        fix += (f" (for this {compact(spatial)} map), or change the padding/stride/pooling or the "
                f"input size so the map is {compact(need)}")
    else:
        arithmetic += f"; {want} is not {c} × a square map"
        reading = _image_reading(want) if where == INPUT and len(spatial) == 2 else None
        channels_wanted = want // math.prod(spatial) if spatial and want % math.prod(spatial) == 0 else None
        if reading is None and where == INPUT and channels_wanted in (1, 3) and channels_wanted != c:
            # the data's channels are the likely cause: their fix leads, the model's change follows
            fix = (f"convert the images to {numbers.plural(channels_wanted, 'channel')}: "
                   f"{ensure_channels(channels_wanted)} in the transform, or {fix}")
        if reading is not None:
            c2, side = reading
            arithmetic += f", but {want} = {c2}×{side}×{side}: {c2}-channel {side}×{side} images"
            steps = ([ensure_channels(c2)] if c2 != c else []) + \
                [ensure_size(side, side)]
            fix = f"feed {c2}-channel {side}×{side} images ({', '.join(steps)}), or {fix}"
    return Finding(FindingKind.IN_FEATURES, summary, expected=want, actual=src, arithmetic=arithmetic,
                   fix=fix, diagnosis=diag)


def _flat_images_fix(want: int, got: int) -> str:
    """The data-side fix that leads when both counts read as square images of one channel
    count (``1024`` vs ``50176``: 32×32 images where 224×224 are expected), else ``""``."""
    have, need = _image_reading(got), _image_reading(want)
    if have is None or need is None or have[0] != need[0] or have[1] == need[1]:
        return ""
    side = need[1]
    return f"feed {side}×{side} images: {ensure_size(side, side)} in the transform, before the flatten; or "


def _needed_map(features: int, channels: int, rank: int) -> Optional[tuple[int, ...]]:
    if channels <= 0 or features % channels:
        return None
    per = features // channels
    if rank == 1:
        return (per,)
    if rank == 2:
        side = isqrt_exact(per)
        return (side, side) if side else None
    side = round(per ** (1 / rank))
    return (side,) * rank if side ** rank == per else None


def _image_reading(features: int) -> Optional[tuple[int, int]]:
    """``784`` -> ``(1, 28)``: ``features`` as a square image of 1, 3 or 4 channels."""
    for c in (1, 3, 4):
        side = isqrt_exact(features // c) if features % c == 0 else None
        if side and side > 1:
            return c, side
    return None


def read_matmul(text: str, history: History) -> Optional[Finding]:
    """Torch's "mat1 and mat2 shapes cannot be multiplied", with the map that was flattened, or ``None``."""
    m = next(filter(None, (pattern.search(text) for pattern in _MATMUL)), None)
    if m is None:
        return None
    rows, got, want, _ = (int(g) for g in m.groups())
    source = map_source(history, got, rows)
    actual = source[1] if source else (rows, got)
    note = f" = {compact(source[1][1:])} features ({_the(source[0])}, flattened)" if source else " features"
    return Finding(FindingKind.IN_FEATURES,
                   f"a matrix multiply (F.linear or @) expects {want} features, receives {got}{note}",
                   expected=want, actual=actual, diagnosis=explain((rows, want), actual),
                   fix=f"size the weight for {got} input features, or resize the map before the flatten")


def read_view(text: str, history: History) -> Optional[Finding]:
    """Torch's "shape '[...]' is invalid for input of size n", with the shape that has n elements, or ``None``."""
    m = _VIEW.search(text)
    if m is None:
        return None
    dims = [int(v) for v in m.group(1).replace(" ", "").split(",") if v]
    size = int(m.group(2))
    source = next(((w, s) for w, s in reversed(history) if s is not None and math.prod(s) == size), None)
    actual: Any = source[1] if source else size
    known = math.prod(d for d in dims if d != -1) or 1
    expected: Any
    if -1 in dims and source is not None and dims.index(-1) == 0 and len(dims) >= 2:
        expected = (source[1][0], *dims[1:])
    elif -1 in dims:
        expected = known  # rows of this many elements; their number is free
    else:
        expected = tuple(dims)
    note = f" = {compact(source[1])} ({_the(source[0])})" if source and len(source[1]) > 1 else ""
    diag = explain(expected, actual)
    fix = ("reshape with x.flatten(1) (or x.view(x.size(0), -1)) instead of a fixed size, and size the next "
           "layer for it" if -1 in dims or len(dims) == 2 else "check the fixed sizes of this reshape")
    best = diag.best
    if best is not None and best.kind is HypothesisKind.BATCH and best.fix:
        fix = best.fix  # a fixed batch size: explain's fixes (drop_last=True, or a view with -1)
    return Finding(FindingKind.VIEW, f"view/reshape to {numbers.shape(dims)} fails on {size} elements{note}",
                   expected=expected, actual=actual, diagnosis=diag,
                   arithmetic=f"{size} is not a multiple of {known}" if size % known else
                   f"{size} = {size // known} × {known}, not the batch the model was given",
                   fix=fix)

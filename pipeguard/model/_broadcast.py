"""Readings of a failed broadcast (``a + b`` with shapes that disagree at one dimension).

Three causes, told apart by the numbers and the shapes of the call that raised:

- a **normalisation** ``(x - mean) / std`` whose 3-value table meets a 4-channel image:
  the fix is on the data side (``EnsureChannels(3)``);
- a **token grid** that does not fit a table sized for another input (a positional
  embedding, an attention bias): the input size the table fits is worked out from the
  model input and the token counts, and ``EnsureSize`` to it is the fix;
- otherwise two branches of the model disagree (a residual add without a downsample).
"""

from __future__ import annotations

import math
import re
from typing import Iterator, Optional, cast

from ..diagnosis import ensure_channels, ensure_size, isqrt_exact, numbers
from ._findings import Call, Finding, FindingKind, Shape
from ._history import History, model_input
from ._input_layout import channels_last, channels_last_fix

_BROADCAST = re.compile(r"size of tensor a \((\d+)\) must match the size of tensor b \((\d+)\) "
                        r"at non-singleton dimension (\d+)")
_BROADCAST_META = re.compile(r"Attempting to broadcast a dimension of length (\d+) at (-?\d+)!.*?"
                             r"broadcastable to \[([\d, ]+)\]", re.DOTALL)
_EXTRA_TOKENS = (0, 1, 2)   # class and distillation tokens in front of the patch tokens
_CHANNEL_TABLES = (1, 3)    # mean/std of grayscale or RGB
_STRIDES = (32, 16, 8, 4, 64, 2, 14, 28, 7)  # patch strides, most usual first


def read_broadcast(text: str, history: History, call: Optional[Call]) -> Optional[Finding]:
    """A :class:`Finding` for a broadcast error message, or ``None`` when ``text`` is another error."""
    m, meta = _BROADCAST.search(text), _BROADCAST_META.search(text)
    if m:
        a, b, dim = (int(g) for g in m.groups())
    elif meta:  # the meta kernel's wording: length b at a negative axis of the expected shape
        b, axis = int(meta.group(1)), int(meta.group(2))
        target = [int(v) for v in meta.group(3).split(",")]
        dim = axis % len(target)
        a = target[dim]
    else:
        return None
    image = cast(Shape, model_input(history, ()))  # the input's shape, or ()
    for read in (_normalisation, _token_grid):
        found = read(a, b, image, call)
        if found is not None:
            return found
    return Finding(FindingKind.BROADCAST, f"two tensors disagree at dimension {dim}: {a} vs {b}",
                   expected=a, actual=b,
                   fix="check the branch that changes this dimension (a residual add needs a downsample "
                       "or a 1×1 conv when channels or size change)")


def _normalisation(a: int, b: int, image: Shape, call: Optional[Call]) -> Optional[Finding]:
    """``(x - mean) / std`` with a per-channel table of another channel count than the image."""
    if len(image) != 4 or call is None or len(call.shapes) < 2:
        return None
    channels = image[1]
    tables = [s for s in call.shapes[:2] if s and math.prod(s) in _CHANNEL_TABLES and max(s) == math.prod(s)]
    if not tables or {a, b} != {channels, math.prod(tables[0])}:
        return None
    want = math.prod(tables[0])
    last = channels_last(image, want, 2)
    if last is not None:
        return Finding(FindingKind.IN_CHANNELS,
                       f"a {want}-value per-channel table (a normalisation mean/std) meets {numbers.shape(image)} "
                       f"images, whose channels are last", expected=last.shape, actual=image,
                       arithmetic=f"the table {numbers.shape(tables[0])} holds {want} values, one per channel; "
                                  f"{numbers.shape(image)} has {channels} at axis 1 and {image[-1]} last",
                       fix=channels_last_fix(last, want, 2))
    return Finding(FindingKind.IN_CHANNELS,
                   f"a {want}-value per-channel table (a normalisation mean/std) meets {channels}-channel images",
                   expected=want, actual=channels,
                   arithmetic=f"the table {numbers.shape(tables[0])} holds {want} values, one per channel; "
                              f"the images have {channels} channels",
                   fix=f"convert the data to {numbers.plural(want, 'channel')}: {ensure_channels(want)} "
                       "in the transform"
                       + (f" (the batch holds {channels}-channel images)" if channels in (1, 2, 4) else ""))


def _token_grid(a: int, b: int, image: Shape, call: Optional[Call]) -> Optional[Finding]:
    """Tokens of the input against a table sized for another input size."""
    if len(image) != 4 or a == b:
        return None
    h, w = image[2], image[3]
    maps = _two_maps(call)
    for ours, table in ((a, b), (b, a)):
        reading = _grid_reading(ours, table, h, w)
        if reading is not None and not (maps and not reading[3]):  # two maps at one side: a residual add
            return _token_finding(ours, table, reading, (h, w), call)
    return None


def _two_maps(call: Optional[Call]) -> bool:
    """Two activations of the same rank and leading dimensions, neither a parameter: two
    branches of a CNN (or an attention map and a derived bias: only a token count tells)."""
    if call is None or len(call.shapes) < 2 or any(call.tables[:2]):
        return False
    x, y = call.shapes[:2]
    return len(x) == len(y) == 4 and x[:2] == y[:2]


def _grid_reading(ours: int, table: int, h: int, w: int) -> Optional[tuple[int, int, int, bool, str]]:
    """``(stride, extra tokens, table side, counts, grid)``: ``ours`` tokens (``counts``) or
    one side of the ``grid`` of an ``h``×``w`` input at ``stride``, with ``table`` the same
    for a square input."""
    for stride, gh, gw in _grids(h, w):
        for extra in _EXTRA_TOKENS:
            side = isqrt_exact(table - extra) if table > extra else None
            if side and side > 1 and gh * gw == ours - extra and gh * gw > 1:
                return stride, extra, side, True, f"{gh}×{gw}"
        if ours == gh and h == w and table > 1 and gh > 1:
            return stride, 0, table, False, f"{gh}×{gw}"
    return None


def _grids(h: int, w: int) -> Iterator[tuple[int, int, int]]:
    """``(stride, grid height, grid width)`` of the usual patch strides: exact divisions
    first, then the floor and ceiling (padded convolutions) of the power-of-two strides."""
    for stride in _STRIDES:
        if h % stride == 0 and w % stride == 0:
            yield stride, h // stride, w // stride
    for stride in _STRIDES:
        if h % stride or w % stride:
            yield stride, h // stride, w // stride
            yield stride, -(-h // stride), -(-w // stride)


def _token_finding(ours: int, table: int, reading: tuple[int, int, int, bool, str], size: tuple[int, int],
                   call: Optional[Call]) -> Finding:
    stride, extra, side, counts, grid = reading
    h, w = size
    fit = side * stride
    plus = f" + {extra}" if extra else ""
    ours_text = f"{ours} = {grid}{plus} tokens" if counts else f"a {grid} token map"
    table_text = f"{table} = {side}×{side}{plus}" if counts else f"{side}×{side}"
    named = next((n for n in (call.tables if call else ()) if n), None)
    what = f"`{named}`" if named else "a table sized for a fixed input (a positional embedding or attention bias)"
    return Finding(FindingKind.TOKEN_GRID,
                   f"the {h}×{w} input gives {ours_text}; {what} holds {table_text}",
                   expected=table, actual=ours,
                   arithmetic=f"{h}×{w} at stride {stride} is {grid} tokens; the table fits {side}×{side} tokens "
                              f"= a {fit}×{fit} input",
                   fix=f"feed {fit}×{fit} images: {ensure_size(fit, fit)} in the transform, or build "
                       f"the model for {h}×{w} (its img_size / image_size argument)",
                   size=(fit, fit))


"""Readings of the model input's layout when a layer rejects it: channels-last data
(``[N, H, W, C]`` where ``[N, C, H, W]`` is expected), a single sample without its batch
dimension (a ``[C, H, W]`` image, which a convolution takes unbatched but a
``BatchNorm2d`` does not), and extra dimensions. Each reading names the shape the model
wants and the one call on the input that makes it (``x.permute(0, 3, 1, 2)``,
``x.unsqueeze(0)``), for the checks in :mod:`._conv_failures` and :mod:`._norm_failures`.
Whether a shape is the model input's is asked of :mod:`._history`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence, cast

from ..diagnosis import ensure_channels, numbers
from ._history import History, Shape, model_input

_SPATIAL = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


@dataclass(frozen=True)
class Layout:
    """A reading of the model input: what it is, the shape that fits, and the call that makes it."""

    what: str       # "channels-last [N, H, W, C] data"
    shape: Shape    # the shape the layer wants
    call: str       # "x.permute(0, 3, 1, 2)"


def _dims(d: int, batched: bool, channels_last: bool) -> str:
    spatial = list(_SPATIAL[d])
    names = spatial + ["C"] if channels_last else ["C"] + spatial
    return "[" + ", ".join((["N"] if batched else []) + names) + "]"


def channels_last(x: Shape, channels: Optional[int], d: int) -> Optional[Layout]:
    """``x`` read as channels-last data over ``d`` spatial dimensions, for a layer that
    wants ``channels``: the last axis holds ``channels`` (or an image's 1 to 4 channels,
    where axis 1 holds more than an image has). ``channels`` is ``None`` where the model
    rejects its input before a layer names a channel count (a transformer's size check):
    then only the image reading counts.

    ``[1, 224, 224, 3]`` for 3 channels is ``x.permute(0, 3, 1, 2)``; an unbatched
    ``[224, 224, 3]`` is ``x.permute(2, 0, 1).unsqueeze(0)``.
    """
    if len(x) not in (d + 1, d + 2) or x[-(d + 1)] == channels:
        return None
    last = x[-1]
    if last != channels and not (last <= 4 and x[-(d + 1)] > 4):
        return None
    if len(x) == d + 2:
        perm = (0, d + 1, *range(1, d + 1))
        return Layout(f"channels-last {_dims(d, True, True)} data", (x[0], last, *x[1:-1]),
                      f"x.permute{perm}")
    perm = (d, *range(d))
    return Layout(f"one channels-last {_dims(d, False, True)} sample",
                  (1, last, *x[:-1]), f"x.permute{perm}.unsqueeze(0)")


def channels_last_fix(layout: Layout, channels: Optional[int], d: int) -> str:
    """The fix text for a :func:`channels_last` reading, for a layer that wants ``channels``
    (``None``: not known, no conversion named)."""
    action = "move the channels first" + ("" if layout.call.startswith("x.permute(0,") else
                                          " and add the batch dimension")
    fix = f"{action}: {layout.call} turns {layout.what} into {numbers.shape(layout.shape)}"
    if channels is not None and layout.shape[1] != channels:
        fix += f", then convert to {numbers.plural(channels, 'channel')}: {ensure_channels(channels)}"
    return fix + " (v2.ToImage()/ToTensor() move the channels first for HWC arrays and PIL images)"


def missing_batch(x: Shape, wanted: Sequence[int], history: History) -> Optional[Layout]:
    """A layer that takes ``wanted`` ranks receives ``x``, one dimension short, as the model
    input is: a single sample without its batch dimension (an earlier layer took it
    unbatched). ``None`` when ``x`` keeps the input's leading size, which may then be a
    batch (a ``Conv1d`` batch into a ``BatchNorm2d``): :func:`may_miss_batch` says so."""
    image = model_input(history)
    # _one_dimension_short is true only with an input shape
    if not _one_dimension_short(x, wanted, image) or x[0] == cast(Shape, image)[0]:
        return None
    return Layout(f"a single sample {numbers.shape(image)} without its batch dimension", (1, *cast(Shape, image)),
                  "x.unsqueeze(0)")


def unbatched_image(x: Shape, history: History) -> Optional[Layout]:
    """The model input ``x``, as given, read as one image without its batch dimension:
    ``[C, H, W]`` with an image's 1 to 4 channels first (``x.unsqueeze(0)``) or
    ``[H, W, C]`` with them last (``x.permute(2, 0, 1).unsqueeze(0)``). For model code that
    takes the input apart before any layer says what it wants (``n, c, h, w = x.shape``)."""
    if len(x) != 3 or model_input(history) != tuple(x):
        return None
    if x[0] <= 4 < min(x[1:]):
        return Layout(f"a single sample {numbers.shape(x)} without its batch dimension", (1, *x), "x.unsqueeze(0)")
    return channels_last(x, None, 2)


def may_miss_batch(x: Shape, wanted: Sequence[int], history: History) -> bool:
    """``x`` is one dimension short and keeps the model input's leading size: a batch, or
    a sample whose layers kept its channel count, the shapes cannot tell which."""
    image = model_input(history)
    return _one_dimension_short(x, wanted, image) and x[0] == cast(Shape, image)[0]  # true only with a shape


def _one_dimension_short(x: Shape, wanted: Sequence[int], image: Optional[Shape]) -> bool:
    """``x`` has one dimension fewer than the layer takes, and as many as the model input."""
    return bool(image and wanted and len(x) + 1 == min(wanted) and len(image) == len(x))


def missing_batch_fix(layout: Layout) -> str:
    """The fix text for a :func:`missing_batch` reading."""
    return (f"add the batch dimension: {layout.call} gives {numbers.shape(layout.shape)} "
            "(or batch samples with a DataLoader)")


def extra_dims(x: Shape, channels: int, d: int) -> Optional[str]:
    """The call that drops the dimensions a ``d``-D layer of ``channels`` input channels
    cannot take: a size-1 axis whose removal puts ``channels`` at axis 1, or trailing
    axes folded into the last one (an image into a ``Conv1d``)."""
    if len(x) <= d + 2:
        return None
    if len(x) == d + 3:
        for axis in range(1, len(x)):
            rest = x[:axis] + x[axis + 1:]
            if x[axis] == 1 and rest[1] == channels:
                return f"x.squeeze({axis}) gives {numbers.shape(rest)}"
    if x[1] == channels:
        folded = (*x[:d + 1], math.prod(x[d + 1:]))
        return f"x.flatten({d + 1}) gives {numbers.shape(folded)}"
    return None


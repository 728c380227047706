"""What every reading of two element counts shares: the roles of a shape's dimensions
(``[N, C, H, W]`` -> batch, channels, height, width), whether a reading agrees with the
actual shape, the per-sample counts, and how a channel count and its fix are worded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, cast

from ._dims import Dims
from ._numbers import COMMON_SIDES, plural
from ._text import ensure_channels

_CHANNEL_NAMES = {1: "grayscale or palette", 2: "grayscale + alpha", 3: "RGB", 4: "RGBA or CMYK"}


@dataclass(frozen=True)
class Roles:
    """What each dimension of a shape is, by its rank; ``None`` where the rank has no such role."""

    batch: Optional[int] = None
    channels: Optional[int] = None
    height: Optional[int] = None
    width: Optional[int] = None
    features: Optional[int] = None   # the D of a flat [N, D] or [D]


def roles(d: Dims) -> Roles:
    """``[N, C, H, W]``, ``[C, H, W]``, ``[N, D]`` or ``[D]`` read by rank; a bare count has no roles."""
    s = d.shape
    if s is None:
        return Roles()
    if len(s) == 4:
        return Roles(batch=s[0], channels=s[1], height=s[2], width=s[3])
    if len(s) == 3:
        return Roles(channels=s[0], height=s[1], width=s[2])
    if len(s) == 2:
        return Roles(batch=s[0], features=s[1])
    if len(s) == 1:
        return Roles(features=s[0])
    return Roles()


def reading_fits(ar: Roles, channels: int, height: int, width: int) -> bool:
    """Whether reading the actual side as ``channels × height × width`` agrees with its shape:
    a flat or bare count fits any reading, a full [.., C, H, W] shape only its own."""
    return ar.channels is None or (ar.channels, ar.height, ar.width) == (channels, height, width)


def side_bonus(*sides: int) -> float:
    """The score a reading gains for each side that is a usual image side (224, 32, ...)."""
    return 0.04 * sum(s in COMMON_SIDES for s in sides)


def is_image(r: Roles) -> bool:
    """A [.., C, H, W] side with 1 to 4 channels: an image (grayscale, RGB, with alpha), not the
    output of a layer, whose maps have many channels."""
    return r.channels is not None and 1 <= r.channels <= 4


def per_sample_counts(e: Dims, a: Dims, er: Roles, ar: Roles) -> tuple[int, int]:
    """Per-sample element counts; the actual side is divided by the batch when it shares it."""
    lead = er.batch or 1
    A = cast(int, a.numel)   # explain() compares two known counts
    batched = a.shape is not None and len(a.shape) in (2, 4) and a.shape[0] == lead
    if (batched or lead > 1) and A % lead == 0:
        A //= lead
    return cast(int, e.numel) // lead, A


def channels_fix(c: int) -> str:
    """EnsureChannels converts to 1 or 3 channels; other counts need the data or the model changed."""
    if c in (1, 3):
        return ensure_channels(c)
    return f"convert the data to {plural(c, 'channel')}, or change the first layer's in_channels"


def channel_note(c: int) -> str:
    """`` (RGB)`` for 3 channels: what a channel count usually is, or nothing."""
    return f" ({_CHANNEL_NAMES[c]})" if c in _CHANNEL_NAMES else ""

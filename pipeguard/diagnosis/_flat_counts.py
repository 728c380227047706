"""Readings of different element counts where the expected side is flat (``[N, D]``,
``[D]`` or a bare count): both read as square images, or an actual image read as the
flat length at other channels or another size.
"""

from __future__ import annotations

import itertools
from typing import Iterator, Optional, cast

from . import _numbers as numbers
from ._dims import Dims
from ._hypotheses import Hypothesis, HypothesisKind
from ._numbers import count, isqrt_exact, times
from ._roles import (
    Roles,
    channel_note,
    channels_fix,
    is_image,
    per_sample_counts,
    reading_fits,
    side_bonus,
)
from ._text import ensure_size


def _image_readings(n: int) -> Iterator[tuple[int, int]]:
    """(channels, side) for each way ``n`` is a square image with 1, 3 or 4 channels."""
    for c in (1, 3, 4):
        if n % c == 0:
            side = isqrt_exact(n // c)
            if side and side > 1:
                yield c, side


def per_sample_images(e: Dims, a: Dims, er: Roles, ar: Roles) -> Iterator[Hypothesis]:
    """Flat or bare counts: read both as square images, or as channel-count changes."""
    D, A = per_sample_counts(e, a, er, ar)
    if not D or not A or D == A:
        return
    for (c, s_exp), (c2, s_act) in itertools.product(_image_readings(D), _image_readings(A)):
        if not reading_fits(ar, c2, s_act, s_act):
            continue
        found = _square_images(D, A, (c, s_exp), (c2, s_act))
        if found is not None:
            yield found
    for c, c2 in ((3, 1), (1, 3), (3, 4), (4, 3), (4, 1), (1, 4)):
        if D % c == 0 and A * c == D * c2 and (ar.channels is None or ar.channels == c2):
            px = D // c
            side = isqrt_exact(px)
            px_txt = f"{side}×{side}" if side else f"{count(px)}"
            score = 0.8 if {c, c2} == {1, 3} else 0.6
            yield Hypothesis(
                HypothesisKind.CHANNELS, score,
                f"{numbers.plural(c2, 'channel')}{channel_note(c2)} where {c} are expected",
                f"{count(A)} = {c2} × {px_txt} pixels; {count(D)} = {c} × {px_txt}",
                channels_fix(c))


def _square_images(D: int, A: int, want: tuple[int, int], got: tuple[int, int]) -> Optional[Hypothesis]:
    """``D`` read as ``want`` (channels, side) images and ``A`` as ``got``: which change it is."""
    (c, s_exp), (c2, s_act) = want, got
    arithmetic = f"{count(A)} = {times((c2, s_act, s_act))}; {count(D)} = {times((c, s_exp, s_exp))}"
    if c2 == c and s_exp != s_act:
        return Hypothesis(
            HypothesisKind.SIZE, 0.7 + side_bonus(s_exp, s_act) - (0.05 if c == 4 else 0),
            f"{s_act}×{s_act} images where {s_exp}×{s_exp} are expected", arithmetic,
            f"resize the images to {s_exp}×{s_exp} ({ensure_size(s_exp, s_exp)}), "
            f"or size the layer for {count(A)} inputs")
    if c2 != c and s_exp == s_act:
        return Hypothesis(
            HypothesisKind.CHANNELS, 0.82 + side_bonus(s_exp),
            f"{numbers.plural(c2, 'channel')}{channel_note(c2)} where {c} are expected", arithmetic,
            channels_fix(c))
    if c2 != c and c in (1, 3) and c2 in (1, 3):  # e.g. CIFAR (3×32×32) fed to an MNIST-sized layer (1×28×28)
        return Hypothesis(
            HypothesisKind.CHANNELS_AND_SIZE, 0.55 + side_bonus(s_exp, s_act),
            f"{c2}-channel {s_act}×{s_act} images where {c}-channel {s_exp}×{s_exp} are expected", arithmetic,
            f"{channels_fix(c)} and {ensure_size(s_exp, s_exp)}, "
            f"or size the layer for {count(A)} inputs")
    return None


def flat_from_image(e: Dims, a: Dims, er: Roles, ar: Roles) -> Iterator[Hypothesis]:
    """An image [.., c, h, w] where a flat length is expected: read the length as an image of
    the same channels at another size, as other channels at the same size, or both."""
    if not is_image(ar):
        return
    D, A = per_sample_counts(e, a, er, ar)
    # is_image(ar): a [.., C, H, W] side, so channels, height and width are all set
    c, h, w = cast(int, ar.channels), cast(int, ar.height), cast(int, ar.width)
    if not D or D == A:
        return
    for c2 in dict.fromkeys((c, 3, 1)):
        if D % c2:
            continue
        pixels = D // c2
        if c2 != c and pixels == h * w:
            yield Hypothesis(HypothesisKind.CHANNELS, 0.96,
                             f"{numbers.plural(c, 'channel')}{channel_note(c)} where {c2} are expected",
                             f"{count(A)} = {times((c, h, w))}; {count(D)} = {times((c2, h, w))}",
                             f"convert the images: {channels_fix(c2)}")
            continue
        for h2, w2 in _sizes_for(pixels, h, w):
            resize = ensure_size(h2, w2)
            same = c2 == c
            yield Hypothesis(
                HypothesisKind.SIZE if same else HypothesisKind.CHANNELS_AND_SIZE,
                (0.96 if same else 0.85) - (0 if h2 == w2 else 0.02),
                f"{c}-channel {h}×{w} images where {c2}-channel {h2}×{w2} are expected" if not same
                else f"{h}×{w} images where {h2}×{w2} are expected",
                f"{count(A)} = {times((c, h, w))}; {count(D)} = {times((c2, h2, w2))}",
                f"resize: {resize}" if same else f"{channels_fix(c2)} and {resize}")


def _sizes_for(pixels: int, h: int, w: int) -> list[tuple[int, int]]:
    """(height, width) pairs holding ``pixels``: the square, and the one keeping h:w's aspect."""
    sizes = []
    side = isqrt_exact(pixels)
    if side and side > 1:
        sizes.append((side, side))
    if h != w and (pixels * h) % w == 0 and (h2 := isqrt_exact(pixels * h // w)) and pixels % h2 == 0:
        sizes.append((h2, pixels // h2))
    return [s for s in sizes if s != (h, w)]

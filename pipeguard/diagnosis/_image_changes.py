"""Readings of different element counts as a batch of another size, or (when the expected
side is an image ``[.., C, H, W]``) as images of other channels, another size, or a map
pooled more or less than expected.
"""

from __future__ import annotations

import math
from typing import Iterator, cast

from . import _numbers as numbers
from ._dims import Dims
from ._hypotheses import Hypothesis, HypothesisKind
from ._numbers import count, isqrt_exact, times
from ._roles import Roles, channel_note, channels_fix, reading_fits, side_bonus
from ._text import ensure_size


def batch_changes(e: Dims, a: Dims, er: Roles, ar: Roles) -> Iterator[Hypothesis]:
    """A batch of another size, a sample without its batch dimension, or many samples for one."""
    # explain() compares two known counts (typed Optional for Dims built by hand)
    E, A = cast(int, e.numel), cast(int, a.numel)
    if er.batch is not None and a.shape is not None and len(a.shape) > 1 and a.shape[0] == er.batch:
        return  # the batch size agrees; the difference is per sample
    if er.batch is not None and er.batch > 0:
        assert e.shape is not None  # er = roles(e): a batch role comes from a shape
        per = E // er.batch
        rest = e.shape[1:]
        if per and A % per == 0:
            n = A // per
            same_rest = a.shape is not None and tuple(a.shape[1:]) == tuple(rest)
            score = 0.96 if same_rest else (0.9 if n < er.batch else 0.62)
            fix = ("the last batch of an epoch is smaller unless DataLoader(drop_last=True); "
                   f"reshape with x.view(-1, {', '.join(map(str, rest))}) instead of a fixed batch size"
                   if n < er.batch else "check the batch size, or a reshape that merges samples")
            if a.shape is not None and len(a.shape) == len(e.shape) and tuple(a.shape) != (n, *rest):
                return  # a full shape of the same rank that is not this batch says otherwise
            if n == 1 and a.shape is not None and len(a.shape) == len(rest):
                if tuple(a.shape) != tuple(rest):
                    return
                yield Hypothesis(HypothesisKind.BATCH_DIM, 0.9, "a single sample without its batch dimension",
                                 f"{count(A)} = {times(rest)}", "x.unsqueeze(0)")
            else:
                yield Hypothesis(HypothesisKind.BATCH, score, f"a batch of {n}, not {er.batch}",
                                 f"{count(A)} = {times((n, *rest))}", fix)
    elif E and A % E == 0 and A // E > 1:
        k = A // E
        what = numbers.shape(e.shape) if e.shape else f"{count(E)} elements"
        typical_batch = k >= 8 and k & (k - 1) == 0   # 8, 16, 32, 64 ... are what people pick
        yield Hypothesis(HypothesisKind.BATCH, 0.86 if typical_batch else 0.55, f"{k} samples where one is expected",
                         f"{count(A)} = {k} × {what}",
                         "flatten with x.flatten(1) (keeps the batch), not x.view(-1); or index one sample")


def image_changes(e: Dims, a: Dims, er: Roles, ar: Roles) -> Iterator[Hypothesis]:
    """Expected has [.., C, H, W]: try other channel counts, sizes, and both."""
    E, A = cast(int, e.numel), cast(int, a.numel)
    lead = er.batch or 1
    # called when er.channels is set, so er is [.., C, H, W] and height and width are set too
    C, H, W = cast(int, er.channels), cast(int, er.height), cast(int, er.width)
    lead_txt = (lead,) if er.batch is not None else ()
    for c2 in (1, 3, 4, 2):
        if c2 != C and E * c2 == A * C and reading_fits(ar, c2, H, W):
            exact = ar.channels == c2 and (ar.height, ar.width) == (H, W)
            yield Hypothesis(
                HypothesisKind.CHANNELS, 0.95 if exact else (0.88 if {c2, C} <= {1, 3, 4} else 0.7),
                f"{numbers.plural(c2, 'channel')}{channel_note(c2)} where {C} are expected",
                f"{count(A)} = {times((*lead_txt, c2, H, W))}, {count(E)} = {times((*lead_txt, C, H, W))}",
                f"convert the images: {channels_fix(C)}")
    if A % (lead * C) == 0:
        hw = A // (lead * C)
        if ar.height is not None and ar.channels == C and ar.height * cast(int, ar.width) == hw:
            yield Hypothesis(HypothesisKind.SIZE, 0.95, f"{ar.height}×{ar.width} images where {H}×{W} are expected",
                             f"{count(A)} = {times((*lead_txt, C, ar.height, ar.width))}",
                             f"resize: {ensure_size(H, W)}")
        for k in (2, 4, 8, 16, 32):
            if H % k == 0 and W % k == 0 and hw * k * k == H * W and reading_fits(ar, C, H // k, W // k):
                yield Hypothesis(HypothesisKind.POOLING, 0.72 - 0.03 * math.log2(k),
                                 f"a {H // k}×{W // k} map where {H}×{W} is expected: downsampled by {k}",
                                 f"{count(A)} = {times((*lead_txt, C, H // k, W // k))}",
                                 "remove a pooling/stride-2 layer, or size the next layer for the smaller map")
            if hw == H * W * k * k and reading_fits(ar, C, H * k, W * k):
                yield Hypothesis(HypothesisKind.POOLING, 0.68 - 0.03 * math.log2(k),
                                 f"a {H * k}×{W * k} map where {H}×{W} is expected: {k}× larger per side",
                                 f"{count(A)} = {times((*lead_txt, C, H * k, W * k))}",
                                 f"add a pooling by {k}, or resize to {H}×{W}")
        side = isqrt_exact(hw)
        if side and side != H and reading_fits(ar, C, side, side):
            yield Hypothesis(HypothesisKind.SIZE, 0.74 + side_bonus(side),
                             f"{side}×{side} images where {H}×{W} are expected",
                             f"{count(A)} = {times((*lead_txt, C, side, side))}",
                             f"resize: {ensure_size(H, W)}")
    for c2 in (1, 3, 4):
        if c2 != C and A % (lead * c2) == 0:
            side = isqrt_exact(A // (lead * c2))
            if side and side != H and reading_fits(ar, c2, side, side):
                yield Hypothesis(
                    HypothesisKind.CHANNELS_AND_SIZE, 0.55 + side_bonus(side),
                    f"{c2}-channel {side}×{side} images where {C}-channel {H}×{W} are expected",
                    f"{count(A)} = {times((*lead_txt, c2, side, side))}",
                    f"{channels_fix(C)} and {ensure_size(H, W)}")

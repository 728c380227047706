"""Readings of a Linear's feature count against another: a feature map of another size,
a map flattened without global pooling (or pooled where it should not be).
"""

from __future__ import annotations

import math
from typing import Iterator, cast

from ._dims import Dims
from ._hypotheses import Hypothesis, HypothesisKind
from ._numbers import count, isqrt_exact, times
from ._roles import Roles, is_image, per_sample_counts, reading_fits


def feature_maps(e: Dims, a: Dims, er: Roles, ar: Roles) -> Iterator[Hypothesis]:
    """A Linear sized for one feature map, fed another (the flatten-size classic)."""
    D, A = per_sample_counts(e, a, er, ar)
    if not D or not A or D == A:
        return
    if ar.channels is not None and ar.channels > 0:
        # The actual side is a known map [.., c, h, w]: say exactly what the Linear receives.
        c, h, w = ar.channels, ar.height, ar.width
        side = isqrt_exact(D // c) if D % c == 0 else None
        fits = f"; {count(D)} would need a {c}×{side}×{side} map" if side else ""
        yield Hypothesis(
            HypothesisKind.FEATURE_MAP, 0.6 if is_image(ar) else 0.93,  # an image is rarely a layer's output
            f"a {c}×{h}×{w} feature map ({count(A)} values) where {count(D)} features are expected",
            f"{count(A)} = {times((c, h, w))}{fits}",
            f"set in_features={A}" + (f", or change padding/stride/pooling so the map is {side}×{side}"
                                      if side else ""))
    if ar.channels is None or (ar.height, ar.width) == (1, 1):
        yield from _unpooled(D, A)
    for shown, c in enumerate(_common_channel_counts(D, A)[:3]):
        # _common_channel_counts keeps only the c for which both are squares
        s_exp, s_act = cast(int, isqrt_exact(D // c)), cast(int, isqrt_exact(A // c))
        if not reading_fits(ar, c, s_act, s_act):
            continue
        yield Hypothesis(
            HypothesisKind.FEATURE_MAP, 0.5 - 0.02 * shown,
            f"a {c}×{s_act}×{s_act} feature map where the layer was sized for {c}×{s_exp}×{s_exp}",
            f"{count(A)} = {times((c, s_act, s_act))}; {count(D)} = {times((c, s_exp, s_exp))}",
            f"set in_features={A} (or change the padding/stride/pooling so the map is {s_exp}×{s_exp})")


def _unpooled(D: int, A: int) -> Iterator[Hypothesis]:
    """A map flattened without global pooling (``A`` = ``D`` × side²), or pooled where it should not be."""
    if A % D == 0 and (side := isqrt_exact(A // D)) and side > 1:
        yield Hypothesis(
            HypothesisKind.UNPOOLED, 0.6 - (0.1 if side > 16 else 0),
            f"a {count(D)}-channel {side}×{side} feature map flattened where {count(D)} features are expected",
            f"{count(A)} = {times((D, side, side))}",
            f"add global pooling (nn.AdaptiveAvgPool2d(1)) before the flatten, or size the Linear for in_features={A}")
    if D % A == 0 and (side := isqrt_exact(D // A)) and side > 1:
        yield Hypothesis(
            HypothesisKind.UNPOOLED, 0.45,
            f"a map pooled to 1×1 where a {side}×{side} map ({count(D)} values) is expected",
            f"{count(D)} = {times((A, side, side))}",
            f"size the Linear for in_features={A}")


def _common_channel_counts(D: int, A: int) -> list[int]:
    """Channel counts c (> 4) with D/c and A/c both squares of sides > 1, CNN-like widths first."""
    g = math.gcd(D, A)
    found = []
    for c in _divisors(g):
        if c > 4:
            sd, sa = isqrt_exact(D // c), isqrt_exact(A // c)
            if sd and sa and sd > 1 and sa > 1 and sd != sa:
                found.append(c)
    # Widths that are multiples of 8 (16, 32, 64 ...) are what CNNs use; then the smallest map.
    return sorted(found, key=lambda c: (c % 8 != 0, -c))


def _divisors(n: int) -> list[int]:
    if n > 10**12:
        return []
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
    return sorted(set(small + [n // d for d in small]))

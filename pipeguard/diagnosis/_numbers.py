"""Number and shape formatting shared by every message pipeguard writes."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Iterable, Optional, Sequence

# Image sides that turn up in real pipelines; a hypothesis that lands on one is more plausible.
COMMON_SIDES = frozenset({28, 32, 48, 56, 64, 96, 112, 128, 150, 160, 192, 224, 227, 240,
                          256, 288, 299, 320, 384, 448, 480, 512, 518, 640})


def count(n: Optional[int]) -> str:
    """``150528`` -> ``'150,528'``; ``None`` -> ``'?'``."""
    return "?" if n is None else f"{n:,}"


def shape(dims: Optional[Sequence[Optional[int]]]) -> str:
    """``(3, 224, 224)`` -> ``'[3, 224, 224]'``; unknown entries print as ``*``."""
    if dims is None:
        return "?"
    return "[" + ", ".join("*" if d is None else str(d) for d in dims) + "]"


def product(dims: Iterable[int]) -> int:
    return math.prod(dims)


def times(factors: Iterable[object]) -> str:
    """``(16, 3, 32, 32)`` -> ``'16 × 3 × 32 × 32'``."""
    return " × ".join(f"{f:,}" if isinstance(f, int) else str(f) for f in factors)


def ratio(actual: int, expected: int) -> str:
    """How ``actual`` compares with ``expected``: ``'1/3 of expected'``, ``'4× expected'``."""
    if expected <= 0 or actual < 0:
        return ""
    if actual == expected:
        return "as expected"
    r = Fraction(actual, expected)
    if r.numerator == 1:
        return f"1/{r.denominator} of expected"
    if r.denominator == 1:
        return f"{r.numerator}× expected"
    if r.numerator <= 16 and r.denominator <= 16:
        return f"{r.numerator}/{r.denominator} of expected"
    return f"{float(r):.3g}× expected"


def isqrt_exact(n: int) -> Optional[int]:
    """The integer square root of ``n`` when ``n`` is a perfect square, else ``None``."""
    if n < 0:
        return None
    s = math.isqrt(n)
    return s if s * s == n else None


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"

"""Numbers, shapes, sizes and dtypes: how every message writes them and every layer reads them."""

from __future__ import annotations

import math
import operator
import re
from fractions import Fraction
from typing import Iterable, Optional, Sequence, SupportsIndex, cast

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


# The largest element count (and so the largest side) a torch tensor can have: sizes are int64.
LARGEST_SIZE = 2**63 - 1


def brief(value: object, limit: int = 60) -> str:
    """``repr(value)`` for a message, cut to ``limit`` characters; never raises (Python
    refuses to print an int of more than 4300 digits, and a ``__repr__`` can fail)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**limit:
        return f"an integer of {value.bit_length():,} bits"
    try:
        text = repr(value)
    except Exception:  # a message must never be the thing that crashes
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def positive_int(value: object) -> int:
    """``value`` as an int (numpy integers too, never a bool or a float); ``ValueError`` unless
    it is >= 1 and fits a tensor dimension (below 2**63)."""
    if not isinstance(value, bool):
        try:
            value = operator.index(cast(SupportsIndex, value))   # anything: a TypeError says it is no integer
        except TypeError:
            pass
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"should be a positive integer, but got {brief(value)}")
    if value > LARGEST_SIZE:
        raise ValueError(f"should be below 2**63 (the largest size a tensor has), but got {brief(value)}")
    return value


def height_width(value: object) -> tuple[int, int]:
    """The one reading of a size: ``224``, ``(224, 160)``, ``'224x160'``, ``'224×160'`` or
    ``'224,160'`` -> ``(height, width)``; ``ValueError`` ("should be ..., but got ...") otherwise."""
    if isinstance(value, str):
        parts = re.split(r"\s*[x×,]\s*", value.strip().lower())
        if not all(p.isascii() and p.isdigit() for p in parts) or len(parts) > 2 or len(value) > 60:
            raise ValueError(f"should be 'HxW' such as '224x224', but got {brief(value)}")
        value = tuple(int(p) for p in parts)
        value = value[0] if len(value) == 1 else value
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    if not isinstance(value, Sequence) or isinstance(value, (str, bytes)) or len(value) != 2:
        raise ValueError(f"should be (height, width) or one int, but got {brief(value)}")
    try:
        return (positive_int(value[0]), positive_int(value[1]))
    except ValueError:
        raise ValueError(f"should be (height, width) of positive integers below 2**63, "
                         f"but got {brief(value)}") from None


_TORCH_DTYPE_NAMES: dict = {}


def torch_dtype_name(dtype: object) -> str:
    """``torch.float32`` -> ``'float32'``: the formatting half of :func:`dtype_name`, for a
    ``torch.dtype`` known to be one; cached per dtype, as ``inspect`` calls it per sample."""
    try:
        return _TORCH_DTYPE_NAMES[dtype]
    except KeyError:
        name = _TORCH_DTYPE_NAMES[dtype] = str(dtype).removeprefix("torch.")
        return name


def dtype_name(value: object) -> str:
    """The canonical torch name of a dtype given as ``torch.float32``, ``'float32'``,
    ``'torch.float32'``, ``'float'`` or a numpy dtype; ``ValueError`` if torch has none."""
    import torch

    if isinstance(value, torch.dtype):
        return torch_dtype_name(value)
    try:
        text = str(getattr(value, "name", value)).removeprefix("torch.")
    except Exception:  # an odd object's name or str() failing is still just a wrong dtype
        text = ""
    candidate = getattr(torch, text, None) if text.isidentifier() else None
    if not isinstance(candidate, torch.dtype):
        raise ValueError(f"should be a torch dtype name such as 'float32', but got {brief(value)}")
    return str(candidate).removeprefix("torch.")

"""``explain``: why two shapes or element counts differ, as ranked hypotheses with arithmetic.

Each side may be a shape (its rank gives the roles: ``[N, C, H, W]``, ``[C, H, W]``,
``[N, D]``, ``[D]``) or a bare element count. The counts are factored against each
other: batch size, channel count, spatial size (resize, pooling by 2, 4, ...),
channels-last vs channels-first, a missing or extra batch dimension, a feature map
flattened before pooling. Every hypothesis states the arithmetic that supports it.

This module holds the entry point and the ranking; the readings live in ``_same_count``
(equal counts), ``_image_changes``, ``_flat_counts`` and ``_feature_maps`` (different
counts), the records in ``_hypotheses``.
"""

from __future__ import annotations

import math
from typing import Any, Iterator, Sequence, Union, cast

from . import _numbers as numbers
from ._dims import Dims
from ._feature_maps import feature_maps
from ._flat_counts import flat_from_image, per_sample_images
from ._hypotheses import Diagnosis, Hypothesis, HypothesisKind
from ._image_changes import batch_changes, image_changes
from ._numbers import count
from ._roles import roles
from ._same_count import same_count

Side = Union[int, Sequence[int], Dims]


def as_dims(side: Any) -> Dims:
    """An element count, a shape (list, tuple, ``torch.Size``) or :class:`Dims`."""
    if isinstance(side, Dims):
        return side
    if isinstance(side, (bool, str, bytes)):
        raise TypeError(f"a shape or element count should be an int or a sequence of ints, but got {side!r}")
    if isinstance(side, int) or (hasattr(side, "__index__") and not hasattr(side, "__len__")):
        n = int(side)
        if n < 0:
            raise ValueError(f"an element count should not be negative, but got {n}")
        return Dims(None, n)
    try:
        dims = tuple(int(d) for d in side)
    except TypeError:
        raise TypeError(f"a shape or element count should be an int or a sequence of ints, but got {side!r}") from None
    if any(d < 0 for d in dims):
        raise ValueError(f"a shape should have no negative sizes, but got {list(dims)}")
    return Dims(dims, math.prod(dims))


def explain(expected: Side, actual: Side) -> Diagnosis:
    """Why ``actual`` is not ``expected``: hypotheses ranked most likely first.

    Args:
        expected: what the consumer wants, as a shape or an element count.
        actual: what it got, as a shape or an element count.

    Returns:
        A :class:`Diagnosis`; ``str()`` of it is the human text. When the two agree,
        the diagnosis has no hypotheses.

    Example:
        >>> print(explain([64, 3, 32, 32], 49152).best.summary)
        a batch of 16, not 64
    """
    e, a = as_dims(expected), as_dims(actual)
    found = list(same_count(e, a)) if e.numel == a.numel else list(_different_count(e, a))
    return Diagnosis(e, a, _rank(found))


def _rank(found: list[Hypothesis]) -> list[Hypothesis]:
    seen, out = set(), []
    for h in sorted(found, key=lambda h: -h.score):
        if h.summary not in seen:
            seen.add(h.summary)
            out.append(h)
    return out


# -- different element counts -------------------------------------------------------

def _different_count(e: Dims, a: Dims) -> Iterator[Hypothesis]:
    E, A = cast(int, e.numel), cast(int, a.numel)   # as_dims gives a count (Optional only for Dims built by hand)
    if E == 0 or A == 0:
        empty = "actual" if A == 0 else "expected"
        yield Hypothesis(HypothesisKind.EMPTY, 0.9, f"the {empty} side holds no elements",
                         f"{count(A)} vs {count(E)}", "look for an empty batch, an empty crop or a size of 0")
        return
    er, ar = roles(e), roles(a)
    yield from batch_changes(e, a, er, ar)
    if er.channels is not None:
        yield from image_changes(e, a, er, ar)
    else:
        yield from per_sample_images(e, a, er, ar)
        yield from flat_from_image(e, a, er, ar)
        yield from feature_maps(e, a, er, ar)
    yield Hypothesis(HypothesisKind.RATIO, 0.05,
                     f"{count(A)} elements where {count(E)} are expected ({numbers.ratio(A, E)})",
                     f"{count(A)} = {_factor_text(A)}; {count(E)} = {_factor_text(E)}")


def _factor_text(n: int) -> str:
    factors, d, m = [], 2, n
    while d * d <= m and d < 10**5:
        while m % d == 0:
            factors.append(d)
            m //= d
        d += 1
    if m > 1:
        factors.append(m)
    if not factors:
        return str(n)
    parts = []
    for f in sorted(set(factors)):
        k = factors.count(f)
        parts.append(f"{f}^{k}" if k > 1 else str(f))
    return " × ".join(parts)

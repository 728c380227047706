"""Readings of two shapes with the same element count: channels-last data, the same
dimensions in another order, a missing or extra dimension of size 1, a flattened or
unflattened map, or just another shape.
"""

from __future__ import annotations

from typing import Iterator

from . import _numbers as numbers
from ._dims import Dims
from ._hypotheses import Hypothesis, HypothesisKind
from ._numbers import count, times


def same_count(e: Dims, a: Dims) -> Iterator[Hypothesis]:
    """Hypotheses for two shapes of one element count (none when either is a bare count)."""
    if e.shape is None or a.shape is None or e.shape == a.shape:
        return
    es, as_ = e.shape, a.shape
    if len(es) in (3, 4) and len(as_) == len(es) and as_ == es[:-3] + (es[-2], es[-1], es[-3]):
        order = "(2, 0, 1)" if len(es) == 3 else "(0, 3, 1, 2)"
        yield Hypothesis(
            HypothesisKind.LAYOUT, 0.97, "channels-last (HWC) data where channels-first (CHW) is expected",
            f"{numbers.shape(as_)} is {numbers.shape(es)} with the channel axis moved last",
            f"convert with x.permute{order}, or let ToImage()/ToTensor() convert HWC arrays and PIL images")
    elif sorted(es) == sorted(as_):
        perm = _permutation(as_, es)
        yield Hypothesis(
            HypothesisKind.PERMUTE, 0.8, "the same dimensions in another order",
            f"{numbers.shape(as_)} → {numbers.shape(es)} by permute{tuple(perm)}",
            f"x.permute{tuple(perm)}")
    stripped_e, stripped_a = _strip_ones(es), _strip_ones(as_)
    if stripped_e == stripped_a and len(es) != len(as_):
        if len(es) > len(as_):
            yield Hypothesis(HypothesisKind.BATCH_DIM, 0.93, "a missing batch dimension",
                             f"{numbers.shape(as_)} lacks the leading 1 of {numbers.shape(es)}",
                             "x.unsqueeze(0) for a single sample, or batch samples with a DataLoader")
        else:
            yield Hypothesis(HypothesisKind.BATCH_DIM, 0.93, "an extra dimension of size 1",
                             f"{numbers.shape(as_)} has a 1 that {numbers.shape(es)} lacks",
                             "x.squeeze(0), or check for a double unsqueeze or a batch of batches")
    if len(es) == 2 and len(as_) == 4 and es[0] == as_[0]:
        yield Hypothesis(HypothesisKind.FLATTEN, 0.9, "an unflattened feature map where flat features are expected",
                         f"{numbers.shape(as_)} holds {times(as_[1:])} = {count(es[1])} values per row",
                         "add nn.Flatten() (or x.flatten(1)) before the Linear layer")
    if len(es) == 4 and len(as_) == 2 and es[0] == as_[0]:
        yield Hypothesis(HypothesisKind.FLATTEN, 0.85, "a flattened batch where images are expected",
                         f"{count(as_[1])} = {times(es[1:])}",
                         f"x.view(-1, {', '.join(map(str, es[1:]))})")
    yield Hypothesis(HypothesisKind.RESHAPE, 0.3, "the same elements in a different shape",
                     f"both hold {count(e.numel)} elements",
                     f"x.reshape{tuple(es)} if the element order is right")


def _strip_ones(shape: tuple) -> tuple:
    return tuple(d for d in shape if d != 1)


def _permutation(src: tuple, dst: tuple) -> list[int]:
    used, perm = set(), []
    for d in dst:
        i = next(i for i, s in enumerate(src) if s == d and i not in used)
        used.add(i)
        perm.append(i)
    return perm

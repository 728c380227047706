"""``explain``: why two shapes or element counts differ, as ranked hypotheses with arithmetic.

Each side may be a shape (its rank gives the roles: ``[N, C, H, W]``, ``[C, H, W]``,
``[N, D]``, ``[D]``) or a bare element count. The counts are factored against each
other: batch size, channel count, spatial size (resize, pooling by 2, 4, ...),
channels-last vs channels-first, a missing or extra batch dimension, a feature map
flattened before pooling. Every hypothesis states the arithmetic that supports it.
"""

from __future__ import annotations

import enum
import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional, Sequence, Union

from . import _numbers as numbers
from ._dims import Dims
from ._numbers import COMMON_SIDES, count, isqrt_exact, times

Side = Union[int, Sequence[int], Dims]

_CHANNEL_NAMES = {1: "grayscale or palette", 2: "grayscale + alpha", 3: "RGB", 4: "RGBA or CMYK"}
_MAX_SHOWN = 5


class HypothesisKind(str, enum.Enum):
    """What a :class:`Hypothesis` says went wrong. Branch and group by this, never by text.

    Defined here, in the bottom layer where hypotheses are made, rather than with the
    reason codes in ``core._errors``: ``diagnosis`` imports nothing else of pipeguard.
    The first group comes from the arithmetic of :func:`explain`; the second from a
    contract's violations (``core``'s diagnosis of a sample).
    """

    BATCH = "batch"                      # a batch of another size
    BATCH_DIM = "batch-dim"              # a missing or extra leading dimension
    CHANNELS = "channels"
    SIZE = "size"                        # height × width
    CHANNELS_AND_SIZE = "channels+size"
    POOLING = "pooling"                  # a map downsampled (or not) by a power of two
    LAYOUT = "layout"                    # channels-last vs channels-first
    PERMUTE = "permute"                  # the same dimensions in another order
    FLATTEN = "flatten"                  # flattened where unflattened is expected, or the reverse
    UNPOOLED = "unpooled"                # a map flattened without (or with) global pooling
    FEATURE_MAP = "feature-map"          # a Linear sized for another feature map
    RESHAPE = "reshape"                  # the same element count, another shape
    EMPTY = "empty"                      # one side holds no elements
    RATIO = "ratio"                      # no reading: only the ratio of the counts
    DTYPE = "dtype"
    RANGE = "range"                      # values outside the expected range
    TYPE = "type"                        # not an image or tensor at all
    RANK = "rank"                        # a number of dimensions no image has

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Hypothesis:
    """One explanation: what probably happened, the arithmetic behind it, and a fix.

    ``kind`` is a :class:`HypothesisKind` (its text, e.g. ``"batch"``, is accepted and
    converted); ``score`` in (0, 1] ranks hypotheses.
    """

    kind: HypothesisKind
    score: float
    summary: str
    arithmetic: str = ""
    fix: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", HypothesisKind(self.kind))  # an unknown code is a ValueError

    def __str__(self) -> str:
        text = self.summary + (f": {self.arithmetic}" if self.arithmetic else "")
        return text + (f"\n     fix: {self.fix}" if self.fix else "")


@dataclass(frozen=True)
class Diagnosis:
    """Expected vs actual and the hypotheses that explain the difference, best first."""

    expected: Dims
    actual: Dims
    hypotheses: list[Hypothesis] = field(default_factory=list)

    @property
    def best(self) -> Optional[Hypothesis]:
        return self.hypotheses[0] if self.hypotheses else None

    @property
    def kinds(self) -> list[HypothesisKind]:
        return [h.kind for h in self.hypotheses]

    def __str__(self) -> str:
        try:
            return _render(self)
        except Exception as exc:  # pragma: no cover - formatting must not crash
            return f"diagnosis could not be formatted: {exc!r}"


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
    if e.numel == a.numel:
        found = list(_same_count(e, a))
    else:
        found = list(_different_count(e, a))
    return Diagnosis(e, a, _rank(found))


def _rank(found: list[Hypothesis]) -> list[Hypothesis]:
    seen, out = set(), []
    for h in sorted(found, key=lambda h: -h.score):
        if h.summary not in seen:
            seen.add(h.summary)
            out.append(h)
    return out


# -- roles of a shape's dimensions --------------------------------------------------

@dataclass(frozen=True)
class _Roles:
    batch: Optional[int] = None
    channels: Optional[int] = None
    height: Optional[int] = None
    width: Optional[int] = None
    features: Optional[int] = None   # the D of a flat [N, D] or [D]


def _roles(d: Dims) -> _Roles:
    s = d.shape
    if s is None:
        return _Roles()
    if len(s) == 4:
        return _Roles(batch=s[0], channels=s[1], height=s[2], width=s[3])
    if len(s) == 3:
        return _Roles(channels=s[0], height=s[1], width=s[2])
    if len(s) == 2:
        return _Roles(batch=s[0], features=s[1])
    if len(s) == 1:
        return _Roles(features=s[0])
    return _Roles()


def _fits(ar: _Roles, channels: int, height: int, width: int) -> bool:
    """Whether reading the actual side as ``channels × height × width`` agrees with its shape:
    a flat or bare count fits any reading, a full [.., C, H, W] shape only its own."""
    return ar.channels is None or (ar.channels, ar.height, ar.width) == (channels, height, width)


def _side_bonus(*sides: int) -> float:
    return 0.04 * sum(s in COMMON_SIDES for s in sides)


# -- equal element counts -----------------------------------------------------------

def _same_count(e: Dims, a: Dims) -> Iterator[Hypothesis]:
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


# -- different element counts -------------------------------------------------------

def _different_count(e: Dims, a: Dims) -> Iterator[Hypothesis]:
    E, A = e.numel, a.numel
    if E == 0 or A == 0:
        empty = "actual" if A == 0 else "expected"
        yield Hypothesis(HypothesisKind.EMPTY, 0.9, f"the {empty} side holds no elements",
                         f"{count(A)} vs {count(E)}", "look for an empty batch, an empty crop or a size of 0")
        return
    er, ar = _roles(e), _roles(a)
    yield from _batch(e, a, er, ar)
    if er.channels is not None:
        yield from _image_changes(e, a, er, ar)
    else:
        yield from _per_sample_images(e, a, er, ar)
        yield from _flat_from_image(e, a, er, ar)
        yield from _feature_maps(e, a, er, ar)
    yield Hypothesis(HypothesisKind.RATIO, 0.05,
                     f"{count(A)} elements where {count(E)} are expected ({numbers.ratio(A, E)})",
                     f"{count(A)} = {_factor_text(A)}; {count(E)} = {_factor_text(E)}")


def _batch(e: Dims, a: Dims, er: _Roles, ar: _Roles) -> Iterator[Hypothesis]:
    E, A = e.numel, a.numel
    if er.batch is not None and a.shape is not None and len(a.shape) > 1 and a.shape[0] == er.batch:
        return  # the batch size agrees; the difference is per sample
    if er.batch is not None and er.batch > 0:
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


def _channels_fix(c: int) -> str:
    """EnsureChannels converts to 1 or 3 channels; other counts need the data or the model changed."""
    if c in (1, 3):
        return f"pipeguard.EnsureChannels({c})"
    return f"convert the data to {c} channels, or change the first layer's in_channels"


def _channel_note(c: int) -> str:
    return f" ({_CHANNEL_NAMES[c]})" if c in _CHANNEL_NAMES else ""


def _image_changes(e: Dims, a: Dims, er: _Roles, ar: _Roles) -> Iterator[Hypothesis]:
    """Expected has [.., C, H, W]: try other channel counts, sizes, and both."""
    E, A = e.numel, a.numel
    lead = er.batch or 1
    C, H, W = er.channels, er.height, er.width
    lead_txt = (lead,) if er.batch is not None else ()
    for c2 in (1, 3, 4, 2):
        if c2 != C and A * C == E * c2 and _fits(ar, c2, H, W):
            exact = ar.channels == c2 and (ar.height, ar.width) == (H, W)
            yield Hypothesis(
                HypothesisKind.CHANNELS, 0.95 if exact else (0.88 if {c2, C} <= {1, 3, 4} else 0.7),
                f"{numbers.plural(c2, 'channel')}{_channel_note(c2)} where {C} are expected",
                f"{count(A)} = {times((*lead_txt, c2, H, W))}, {count(E)} = {times((*lead_txt, C, H, W))}",
                f"convert the images: {_channels_fix(C)}")
    if A % (lead * C) == 0:
        hw = A // (lead * C)
        if ar.height is not None and ar.channels == C and ar.height * ar.width == hw:
            yield Hypothesis(HypothesisKind.SIZE, 0.95, f"{ar.height}×{ar.width} images where {H}×{W} are expected",
                             f"{count(A)} = {times((*lead_txt, C, ar.height, ar.width))}",
                             f"resize: pipeguard.EnsureSize(({H}, {W}))")
        for k in (2, 4, 8, 16, 32):
            if H % k == 0 and W % k == 0 and hw * k * k == H * W and _fits(ar, C, H // k, W // k):
                yield Hypothesis(HypothesisKind.POOLING, 0.72 - 0.03 * math.log2(k),
                                 f"a {H // k}×{W // k} map where {H}×{W} is expected: downsampled by {k}",
                                 f"{count(A)} = {times((*lead_txt, C, H // k, W // k))}",
                                 "remove a pooling/stride-2 layer, or size the next layer for the smaller map")
            if hw == H * W * k * k and _fits(ar, C, H * k, W * k):
                yield Hypothesis(HypothesisKind.POOLING, 0.68 - 0.03 * math.log2(k),
                                 f"a {H * k}×{W * k} map where {H}×{W} is expected: {k}× larger per side",
                                 f"{count(A)} = {times((*lead_txt, C, H * k, W * k))}",
                                 f"add a pooling by {k}, or resize to {H}×{W}")
        side = isqrt_exact(hw)
        if side and side != H and _fits(ar, C, side, side):
            yield Hypothesis(HypothesisKind.SIZE, 0.74 + _side_bonus(side),
                             f"{side}×{side} images where {H}×{W} are expected",
                             f"{count(A)} = {times((*lead_txt, C, side, side))}",
                             f"resize: pipeguard.EnsureSize(({H}, {W}))")
    for c2 in (1, 3, 4):
        if c2 != C and A % (lead * c2) == 0:
            side = isqrt_exact(A // (lead * c2))
            if side and side != H and _fits(ar, c2, side, side):
                yield Hypothesis(
                    HypothesisKind.CHANNELS_AND_SIZE, 0.55 + _side_bonus(side),
                    f"{c2}-channel {side}×{side} images where {C}-channel {H}×{W} are expected",
                    f"{count(A)} = {times((*lead_txt, c2, side, side))}",
                    f"{_channels_fix(C)} and pipeguard.EnsureSize(({H}, {W}))")


def _per_sample_counts(e: Dims, a: Dims, er: _Roles, ar: _Roles) -> tuple[int, int]:
    """Per-sample element counts; the actual side is divided by the batch when it shares it."""
    lead = er.batch or 1
    A = a.numel
    if a.shape is not None and len(a.shape) in (2, 4) and a.shape[0] == lead and A % lead == 0:
        A //= lead
    elif lead > 1 and A % lead == 0:
        A //= lead
    return e.numel // lead, A


def _image_readings(n: int) -> Iterator[tuple[int, int]]:
    """(channels, side) for each way ``n`` is a square image with 1, 3 or 4 channels."""
    for c in (1, 3, 4):
        if n % c == 0:
            side = isqrt_exact(n // c)
            if side and side > 1:
                yield c, side


def _per_sample_images(e: Dims, a: Dims, er: _Roles, ar: _Roles) -> Iterator[Hypothesis]:
    """Flat or bare counts: read both as square images, or as channel-count changes."""
    D, A = _per_sample_counts(e, a, er, ar)
    if not D or not A or D == A:
        return
    for (c, s_exp), (c2, s_act) in itertools.product(_image_readings(D), _image_readings(A)):
        if not _fits(ar, c2, s_act, s_act):
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
                f"{numbers.plural(c2, 'channel')}{_channel_note(c2)} where {c} are expected",
                f"{count(A)} = {c2} × {px_txt} pixels; {count(D)} = {c} × {px_txt}",
                _channels_fix(c))


def _square_images(D: int, A: int, want: tuple[int, int], got: tuple[int, int]) -> Optional[Hypothesis]:
    """``D`` read as ``want`` (channels, side) images and ``A`` as ``got``: which change it is."""
    (c, s_exp), (c2, s_act) = want, got
    arithmetic = f"{count(A)} = {times((c2, s_act, s_act))}; {count(D)} = {times((c, s_exp, s_exp))}"
    if c2 == c and s_exp != s_act:
        return Hypothesis(
            HypothesisKind.SIZE, 0.7 + _side_bonus(s_exp, s_act) - (0.05 if c == 4 else 0),
            f"{s_act}×{s_act} images where {s_exp}×{s_exp} are expected", arithmetic,
            f"resize the images to {s_exp}×{s_exp} (pipeguard.EnsureSize(({s_exp}, {s_exp}))), "
            f"or size the layer for {count(A)} inputs")
    if c2 != c and s_exp == s_act:
        return Hypothesis(
            HypothesisKind.CHANNELS, 0.82 + _side_bonus(s_exp),
            f"{numbers.plural(c2, 'channel')}{_channel_note(c2)} where {c} are expected", arithmetic,
            _channels_fix(c))
    if c2 != c and c in (1, 3) and c2 in (1, 3):  # e.g. CIFAR (3×32×32) fed to an MNIST-sized layer (1×28×28)
        return Hypothesis(
            HypothesisKind.CHANNELS_AND_SIZE, 0.55 + _side_bonus(s_exp, s_act),
            f"{c2}-channel {s_act}×{s_act} images where {c}-channel {s_exp}×{s_exp} are expected", arithmetic,
            f"{_channels_fix(c)} and pipeguard.EnsureSize(({s_exp}, {s_exp})), "
            f"or size the layer for {count(A)} inputs")
    return None


def _is_image(r: _Roles) -> bool:
    """A [.., C, H, W] side with 1 to 4 channels: an image (grayscale, RGB, with alpha), not the
    output of a layer, whose maps have many channels."""
    return r.channels is not None and 1 <= r.channels <= 4


def _flat_from_image(e: Dims, a: Dims, er: _Roles, ar: _Roles) -> Iterator[Hypothesis]:
    """An image [.., c, h, w] where a flat length is expected: read the length as an image of
    the same channels at another size, as other channels at the same size, or both."""
    if not _is_image(ar):
        return
    D, A = _per_sample_counts(e, a, er, ar)
    c, h, w = ar.channels, ar.height, ar.width
    if not D or D == A:
        return
    for c2 in dict.fromkeys((c, 3, 1)):
        if D % c2:
            continue
        pixels = D // c2
        if c2 != c and pixels == h * w:
            yield Hypothesis(HypothesisKind.CHANNELS, 0.96,
                             f"{numbers.plural(c, 'channel')}{_channel_note(c)} where {c2} are expected",
                             f"{count(A)} = {times((c, h, w))}; {count(D)} = {times((c2, h, w))}",
                             f"convert the images: {_channels_fix(c2)}")
            continue
        for h2, w2 in _sizes_for(pixels, h, w):
            resize = f"pipeguard.EnsureSize(({h2}, {w2}))"
            same = c2 == c
            yield Hypothesis(
                HypothesisKind.SIZE if same else HypothesisKind.CHANNELS_AND_SIZE,
                (0.96 if same else 0.85) - (0 if h2 == w2 else 0.02),
                f"{c}-channel {h}×{w} images where {c2}-channel {h2}×{w2} are expected" if not same
                else f"{h}×{w} images where {h2}×{w2} are expected",
                f"{count(A)} = {times((c, h, w))}; {count(D)} = {times((c2, h2, w2))}",
                f"resize: {resize}" if same else f"{_channels_fix(c2)} and {resize}")


def _sizes_for(pixels: int, h: int, w: int) -> list[tuple[int, int]]:
    """(height, width) pairs holding ``pixels``: the square, and the one keeping h:w's aspect."""
    sizes = []
    side = isqrt_exact(pixels)
    if side and side > 1:
        sizes.append((side, side))
    if h != w and (pixels * h) % w == 0 and (h2 := isqrt_exact(pixels * h // w)) and pixels % h2 == 0:
        sizes.append((h2, pixels // h2))
    return [s for s in sizes if s != (h, w)]


def _feature_maps(e: Dims, a: Dims, er: _Roles, ar: _Roles) -> Iterator[Hypothesis]:
    """A Linear sized for one feature map, fed another (the flatten-size classic)."""
    D, A = _per_sample_counts(e, a, er, ar)
    if not D or not A or D == A:
        return
    if ar.channels is not None and ar.channels > 0:
        # The actual side is a known map [.., c, h, w]: say exactly what the Linear receives.
        c, h, w = ar.channels, ar.height, ar.width
        side = isqrt_exact(D // c) if D % c == 0 else None
        fits = f"; {count(D)} would need a {c}×{side}×{side} map" if side else ""
        yield Hypothesis(
            HypothesisKind.FEATURE_MAP, 0.6 if _is_image(ar) else 0.93,  # an image is rarely a layer's output
            f"a {c}×{h}×{w} feature map ({count(A)} values) where {count(D)} features are expected",
            f"{count(A)} = {times((c, h, w))}{fits}",
            f"set in_features={A}" + (f", or change padding/stride/pooling so the map is {side}×{side}"
                                      if side else ""))
    if ar.channels is None or (ar.height, ar.width) == (1, 1):
        yield from _unpooled(D, A)
    for shown, c in enumerate(_common_channel_counts(D, A)[:3]):
        s_exp, s_act = isqrt_exact(D // c), isqrt_exact(A // c)
        if not _fits(ar, c, s_act, s_act):
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


# -- rendering ----------------------------------------------------------------------

def _side_line(label: str, d: Dims) -> str:
    if d.shape is not None:
        return f"{label}  {numbers.shape(d.shape)}  {count(d.numel)} elements"
    return f"{label}  {count(d.numel)} elements"


def _render(diag: Diagnosis) -> str:
    lines = [_side_line("expected", diag.expected), _side_line("actual  ", diag.actual)]
    e, a = diag.expected.numel, diag.actual.numel
    if e and a is not None and a != e:
        lines[-1] += f"  ({numbers.ratio(a, e)})"
    if not diag.hypotheses:
        lines.append("the two agree" if diag.expected == diag.actual or diag.expected.shape is None
                     or diag.actual.shape is None else "no explanation found")
        return "\n".join(lines)
    lines.append("likely causes, most likely first:")
    for i, h in enumerate(diag.hypotheses[:_MAX_SHOWN], 1):
        lines.append(f"  {i}. {h.summary}")
        if h.arithmetic:
            lines.append(f"     {h.arithmetic}")
        if h.fix:
            lines.append(f"     fix: {h.fix}")
    if len(diag.hypotheses) > _MAX_SHOWN:
        lines.append(f"  ({len(diag.hypotheses) - _MAX_SHOWN} less likely hypotheses not shown)")
    return "\n".join(lines)

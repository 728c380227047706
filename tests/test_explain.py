import re

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import pipeguard as pg
from pipeguard.diagnosis import Hypothesis, HypothesisKind


def test_seed_batch_of_sixteen():
    d = pg.explain([64, 3, 32, 32], 49152)
    assert d.best.kind is HypothesisKind.BATCH
    assert d.best.summary == "a batch of 16, not 64"
    assert "49,152 = 16 × 3 × 32 × 32" in d.best.arithmetic
    assert "drop_last=True" in d.best.fix
    assert "(1/4 of expected)" in str(d)


def test_seed_resize_224_vs_32():
    d = pg.explain(50176, [1, 1024])     # explain(expected, actual): the arguments as the seed gives them
    assert d.expected.numel == 50176 and d.actual.numel == 1024
    assert d.best.kind is HypothesisKind.SIZE
    assert "1,024 = 1 × 32 × 32" in d.best.arithmetic and "50,176 = 1 × 224 × 224" in d.best.arithmetic
    flipped = pg.explain([1, 1024], 50176)
    assert flipped.best.kind is HypothesisKind.SIZE
    assert "50,176 = 1 × 224 × 224" in flipped.best.arithmetic and "1,024 = 1 × 32 × 32" in flipped.best.arithmetic
    assert HypothesisKind.UNPOOLED in flipped.kinds   # 50,176 = 1,024 × 7 × 7 is offered too, ranked lower


def test_seed_three_channels_vs_one():
    d = pg.explain(1_200_000, 400_000)
    assert d.best.kind is HypothesisKind.CHANNELS
    assert d.best.summary.startswith("1 channel")
    assert "400,000 = 1 × 400,000 pixels; 1,200,000 = 3 × 400,000" in d.best.arithmetic
    assert "EnsureChannels(3)" in d.best.fix


def test_seed_hwc_vs_chw():
    d = pg.explain([3, 224, 224], [224, 224, 3])
    assert d.best.kind is HypothesisKind.LAYOUT
    assert "permute(2, 0, 1)" in d.best.fix
    assert pg.explain([8, 3, 224, 224], [8, 224, 224, 3]).best.fix.startswith("convert with x.permute(0, 3, 1, 2)")


@pytest.mark.parametrize("expected, actual, kind, needle", [
    ([3, 224, 224], [1, 224, 224], HypothesisKind.CHANNELS, "1 channel (grayscale or palette) where 3"),
    ([64, 3, 224, 224], [64, 4, 224, 224], HypothesisKind.CHANNELS, "4 channels (RGBA or CMYK) where 3"),
    ([3, 224, 224], [3, 32, 32], HypothesisKind.SIZE, "32×32 images where 224×224"),
    ([1, 3, 224, 224], [3, 224, 224], HypothesisKind.BATCH_DIM, "missing batch dimension"),
    ([3, 224, 224], [1, 3, 224, 224], HypothesisKind.BATCH_DIM, "extra dimension of size 1"),
    ([64, 2000], [64, 20, 16, 16], HypothesisKind.FEATURE_MAP, "a 20×16×16 feature map"),
    ([64, 5120], [64, 20, 16, 16], HypothesisKind.FLATTEN, "unflattened feature map"),
    ([8, 512], [8, 512 * 7 * 7], HypothesisKind.UNPOOLED, "512-channel 7×7 feature map"),
    (784, 784 * 64, HypothesisKind.BATCH, "64 samples where one is expected"),
    (784, 3072, HypothesisKind.CHANNELS_AND_SIZE, "3-channel 32×32 images where 1-channel 28×28"),
])
def test_other_classics(expected, actual, kind, needle):
    d = pg.explain(expected, actual)
    assert d.best.kind is kind, str(d)
    assert needle in d.best.summary


def test_hypothesis_kinds_are_codes():
    assert Hypothesis("batch", 0.5, "text").kind is HypothesisKind.BATCH   # the code's text is read as the code
    with pytest.raises(ValueError):
        Hypothesis("a batch of 16", 0.5, "text")                          # a message is not a code
    assert f"{HypothesisKind.BATCH_DIM}" == "batch-dim"


def test_fixes_only_suggest_conversions_that_exist():
    d = pg.explain([4, 8, 8], [3, 8, 8])           # EnsureChannels converts to 1 or 3 only
    assert d.best.kind is HypothesisKind.CHANNELS
    assert "EnsureChannels" not in d.best.fix and "in_channels" in d.best.fix


def test_agreeing_sides_have_no_hypotheses():
    d = pg.explain([3, 8, 8], torch.Size([3, 8, 8]))
    assert d.hypotheses == [] and d.best is None
    assert "the two agree" in str(d)


def test_bad_arguments():
    with pytest.raises(ValueError):
        pg.explain([-1, 3], 6)
    with pytest.raises(TypeError):
        pg.explain("64,3", 6)
    with pytest.raises(TypeError):
        pg.explain(True, 6)


shapes = st.lists(st.integers(min_value=0, max_value=300), min_size=0, max_size=6).map(tuple)
sides = st.one_of(st.integers(min_value=0, max_value=10**9), shapes)


@settings(max_examples=300, deadline=None)
@given(sides, sides)
def test_explain_always_returns_a_diagnosis(expected, actual):
    d = pg.explain(expected, actual)
    assert str(d).startswith("expected  ")              # rendered, not the could-not-format fallback
    if d.expected.numel != d.actual.numel:
        assert d.hypotheses, "differing counts always get at least the ratio hypothesis"
    assert [h.score for h in d.hypotheses] == sorted((h.score for h in d.hypotheses), reverse=True)


contracts = st.builds(
    pg.Contract,
    channels=st.none() | st.integers(1, 5),
    size=st.none() | st.tuples(st.integers(1, 40), st.integers(1, 40)),
    dtype=st.none() | st.sampled_from(["float32", "uint8", "float16"]),
    value_range=st.none() | st.just((0.0, 1.0)),
)
dtypes = st.sampled_from([torch.float32, torch.uint8, torch.bool, torch.int64, torch.float16])


@settings(max_examples=300, deadline=None)
@given(contracts, st.lists(st.integers(0, 12), min_size=0, max_size=6), dtypes)
def test_check_never_raises_for_arbitrary_tensors(contract, shape, dtype):
    x = torch.zeros(shape, dtype=dtype)
    found = contract.check(x)
    if found:
        with pytest.raises(pg.ContractViolation) as info:
            contract.validate(x)
        assert info.value.violations == found
        assert str(info.value).startswith("sample does not meet contract\n  expected  ")
    else:
        assert contract.validate(x) is x


def _actual_reading(h: Hypothesis, counts: set):
    """The dims a hypothesis reads the actual side as, from its arithmetic ``A = a × b × c``
    (``A`` the whole count or one sample's)."""
    for clause in re.split(r"[;,]\s+", h.arithmetic):
        lhs, _, rhs = clause.strip().partition(" = ")
        if lhs in {f"{n:,}" for n in counts}:
            factors = [f.strip().replace(",", "") for f in rhs.split("×")]
            return tuple(int(f) for f in factors) if all(f.isdigit() for f in factors) else None
    return None


@pytest.mark.parametrize("expected, actual", [
    ((64, 3, 28, 28), (64, 1, 28, 28)),
    ((64, 3, 28, 28), (64, 3, 14, 14)),
    ((64, 3, 28, 28), (48, 1, 28, 28)),
    ((64, 3, 224, 224), (64, 1, 112, 112)),
    ((3, 224, 224), (1, 32, 32)),
    ((3, 32, 32), (4, 16, 16)),
    (50176, (1, 32, 32)),
    (3072, (3, 16, 16)),
    ((8, 50176), (8, 3, 32, 32)),
    (50176, (64, 7, 7)),
    (2048, (512, 7, 7)),
])
def test_no_hypothesis_contradicts_a_full_actual_shape(expected, actual):
    d = pg.explain(expected, actual)
    counts = {d.actual.numel, d.actual.numel // actual[0] if len(actual) == 4 else d.actual.numel}
    readings = [(h.summary, _actual_reading(h, counts)) for h in d.hypotheses]
    for summary, reading in readings:
        if reading is not None and len(reading) >= 3:
            assert reading[-3:] == tuple(actual[-3:]), (summary, reading)
    assert any(r is not None and len(r) >= 3 for _, r in readings) or d.best.kind is HypothesisKind.RATIO


def test_a_flat_length_for_an_image_is_a_resize():
    best = pg.explain(50176, (1, 32, 32)).best
    assert best.kind is HypothesisKind.SIZE and "EnsureSize((224, 224))" in best.fix
    assert "50,176 = 1 × 224 × 224" in best.arithmetic
    assert pg.explain(3072, (1, 32, 32)).best.fix.endswith("EnsureChannels(3)")
    assert pg.explain(3 * 64 * 48, (3, 32, 24)).best.fix.endswith("EnsureSize((64, 48))")
    # a layer's many-channel output stays a feature map
    assert pg.explain(50176, (64, 7, 7)).best.kind is HypothesisKind.FEATURE_MAP

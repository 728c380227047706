import re

import numpy as np
import pytest
import torch
from conftest import CONFORMING_RGB224 as CONFORMING
from conftest import make_image
from PIL import Image
from torchvision import tv_tensors

import pipeguard as pg
from pipeguard import Reason

RGB224 = pg.Contract(channels=3, size=(224, 224), name="imagenet")

# The same grayscale sample in every input type.
GRAYSCALE = {
    "pil": lambda: make_image("L", (224, 224)),
    "numpy": lambda: np.zeros((224, 224), np.uint8),
    "tensor": lambda: torch.zeros(1, 224, 224),
    "tv_image": lambda: tv_tensors.Image(torch.zeros(1, 224, 224)),
    "batch": lambda: torch.zeros(4, 1, 224, 224),
}


@pytest.mark.parametrize("kind", sorted(CONFORMING))
def test_conforming_sample_passes_and_is_returned_unchanged(kind):
    x = CONFORMING[kind]()
    assert RGB224.check(x) == []
    assert RGB224.validate(x) is x


@pytest.mark.parametrize("kind", sorted(GRAYSCALE))
def test_grayscale_fails_on_channels_in_every_type(kind):
    found = RGB224.check(GRAYSCALE[kind]())
    assert [v.reason for v in found] == [Reason.CHANNELS]
    assert (found[0].expected, found[0].actual) == (3, 1)
    with pytest.raises(pg.ContractViolation) as info:
        RGB224.validate(GRAYSCALE[kind](), index=3, source="a/b.png")
    err = info.value
    assert isinstance(err, ValueError)
    assert (err.index, err.source, err.reasons) == (3, "a/b.png", [Reason.CHANNELS])
    assert err.diagnosis.best.kind == "channels"
    assert "EnsureChannels(3)" in err.diagnosis.best.fix


def test_size_violation_reports_both_sizes():
    found = RGB224.check(make_image("RGB", (32, 48)))
    assert [v.reason for v in found] == [Reason.SIZE]
    assert found[0].expected == (224, 224) and found[0].actual == (48, 32)
    assert "48×32" in found[0].message and "224×224" in found[0].message


def test_numel_only_contract_on_flat_and_image_samples():
    c = pg.Contract(numel=784)
    assert c.check(torch.zeros(784)) == []
    assert c.check(torch.zeros(16, 784)) == []                 # a flat batch
    assert c.check(torch.zeros(1, 28, 28)) == []
    found = c.check(torch.zeros(1024))
    assert [v.reason for v in found] == [Reason.NUMEL]
    assert (found[0].expected, found[0].actual) == (784, 1024)


def test_dtype_applies_to_tensors_not_to_pil_or_numpy():
    c = pg.Contract(channels=3, size=8, dtype="float32")
    assert [v.reason for v in c.check(torch.zeros(3, 8, 8, dtype=torch.uint8))] == [Reason.DTYPE]
    assert c.check(make_image("RGB", (8, 8))) == []
    assert c.check(np.zeros((8, 8, 3), np.uint8)) == []


def test_value_range_reads_pixels_only_when_set():
    c = pg.Contract(channels=3, size=8, value_range=(0, 1))
    assert c.check(torch.rand(3, 8, 8)) == []
    found = c.check(torch.full((3, 8, 8), 255.0))
    assert [v.reason for v in found] == [Reason.RANGE]
    assert found[0].actual == (255.0, 255.0)
    with pytest.raises(pg.ContractViolation) as info:
        c.validate(torch.full((3, 8, 8), 255.0))
    assert "ToDtype(torch.float32, scale=True)" in info.value.diagnosis.best.fix


def test_layout_violation_for_channels_last_tensor_and_channels_first_array():
    found = RGB224.check(torch.zeros(224, 224, 3))
    assert [v.reason for v in found] == [Reason.LAYOUT]
    found = RGB224.check(np.zeros((3, 224, 224), np.float32))
    assert [v.reason for v in found] == [Reason.LAYOUT]


class Exploding:
    @property
    def shape(self):
        raise RuntimeError("boom")


class BadTensor(torch.Tensor):
    @property
    def shape(self):
        raise RuntimeError("no shape for you")


@pytest.mark.parametrize("x, reason", [
    (None, Reason.TYPE), ("cat.png", Reason.TYPE), (42, Reason.TYPE), ([1, 2, 3], Reason.TYPE),
    (Exploding(), Reason.TYPE), (torch.zeros(1, 1, 3, 224, 224), Reason.RANK),
    (torch.tensor(1.0), Reason.RANK), (BadTensor(), Reason.TYPE),
])
def test_check_never_raises_on_odd_input(x, reason):
    found = RGB224.check(x)
    assert [v.reason for v in found] == [reason]
    with pytest.raises(pg.ContractViolation):
        RGB224.validate(x)


def test_empty_contract_accepts_any_image():
    assert pg.Contract().check(make_image("CMYK")) == []


def _apply_fix(fix: str, x):
    """Apply the pipeguard transforms a diagnosis's fix names, in the order given."""
    steps = []
    for match in re.finditer(r"EnsureChannels\((\d+)\)|EnsureSize\(\((\d+), (\d+)\)\)", fix):
        if match.group(1):
            steps.append(pg.EnsureChannels(int(match.group(1))))
        else:
            steps.append(pg.EnsureSize((int(match.group(2)), int(match.group(3)))))
    assert steps, fix
    for step in steps:
        x = step(x)
    return x


@pytest.mark.parametrize("sample", [
    torch.zeros(1, 32, 32), torch.zeros(4, 1, 32, 32), Image.new("L", (32, 32)),
    np.zeros((32, 32), np.uint8), np.zeros((32, 32, 1), np.uint8),
], ids=["tensor", "batch", "pil", "array-hw", "array-hwc"])
@pytest.mark.parametrize("numel", [50176, 3072, 150528])
def test_numel_violation_of_an_image_is_fixed_by_its_suggestion(sample, numel):
    contract = pg.Contract(numel=numel)
    with pytest.raises(pg.ContractViolation) as info:
        pg.Validate(contract)(sample)
    fix = info.value.diagnosis.best.fix
    assert "in_features" not in fix
    pg.Validate(contract)(_apply_fix(fix, sample))

import pickle

import pytest
import torch
from conftest import make_image

import pipeguard as pg
from pipeguard import Reason

IMAGENET = pg.Contract(channels=3, size=(224, 224), name="imagenet")


def _grayscale_error():
    with pytest.raises(pg.ContractViolation) as info:
        IMAGENET.validate(make_image("L", (224, 224)), index=17, source="data/cat/0042.png",
                          stage="after step 2 of the transform: Resize(size=[224, 224])")
    return info.value


def test_message_fragments():
    lines = str(_grayscale_error()).splitlines()
    assert lines[0] == "sample 17 (data/cat/0042.png) does not meet contract 'imagenet'"
    assert lines[1].split() == ["expected", "[3,", "224,", "224]", "150,528", "elements"]
    assert lines[2].split()[:6] == ["actual", "[1,", "224,", "224]", "50,176", "elements"]
    assert lines[2].endswith("(1/3 of expected)")
    assert lines[3].strip() == "check     channels: has 1 channel (mode 'L'), not the 3 expected"
    assert lines[4].strip() == "stage     after step 2 of the transform: Resize(size=[224, 224])"
    assert lines[5].strip() == "likely    a 1-channel (grayscale, mode 'L') image where 3 channels are expected"
    assert lines[6].strip().startswith("fix       add pipeguard.EnsureChannels(3) before ToImage()")
    # the expected and actual columns line up
    assert lines[1].index("150,528") + len("150,528") == lines[2].index("50,176") + len("50,176")


def test_structured_fields():
    err = _grayscale_error()
    assert err.expected == pg.Dims((3, 224, 224), 150528)
    assert err.actual == pg.Dims((1, 224, 224), 50176)
    assert err.reasons == [Reason.CHANNELS]
    assert err.contract_name == "imagenet"
    assert isinstance(err.diagnosis, pg.Diagnosis)


def test_survives_pickle_with_every_field():
    err = _grayscale_error()
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is pg.ContractViolation
    for field in ("expected", "actual", "violations", "index", "source", "stage", "contract_name"):
        assert getattr(back, field) == getattr(err, field), field
    assert back.diagnosis.best == err.diagnosis.best
    assert str(back) == str(err)


def test_constructible_from_a_single_message_like_pytorch_does():
    err = _grayscale_error()
    rebuilt = type(err)(str(err))      # what torch's ExceptionWrapper.reraise does
    assert str(rebuilt) == str(err)
    assert rebuilt.index is None and rebuilt.violations == []
    assert str(pickle.loads(pickle.dumps(rebuilt))) == str(err)


def test_with_context_fills_the_location():
    with pytest.raises(pg.ContractViolation) as info:
        IMAGENET.validate(torch.zeros(1, 32, 32))
    err = info.value.with_context(index=5, source="x.png", stage="collate")
    assert (err.index, err.source, err.stage) == (5, "x.png", "collate")
    assert str(err).startswith("sample 5 (x.png) does not meet contract 'imagenet'")
    assert "stage     collate" in str(err)


def test_batch_error_has_the_batch_in_both_shapes():
    with pytest.raises(pg.ContractViolation) as info:
        IMAGENET.validate(torch.zeros(64, 1, 224, 224))
    assert info.value.expected.shape == (64, 3, 224, 224)
    assert info.value.actual.shape == (64, 1, 224, 224)


def test_formatting_never_crashes():
    err = pg.ContractViolation(expected="not dims", actual=object(), violations=[object()])
    assert "could not be formatted" in str(err)


def test_channels_and_size_both_wrong_get_one_fix_naming_both_and_it_works():
    """Validate named only EnsureChannels when the size was wrong too; applying it left the size violation."""
    from PIL import Image
    from torchvision.transforms import v2

    contract = pg.Contract(channels=3, size=(64, 64))
    image = Image.new("L", (32, 48), 90)
    with pytest.raises(pg.ContractViolation) as caught:
        v2.Compose([pg.Validate(contract)])(image)
    best = caught.value.diagnosis.hypotheses[0]
    assert best.kind is pg.HypothesisKind.CHANNELS_AND_SIZE
    assert "fix       add pipeguard.EnsureChannels(3) and pipeguard.EnsureSize((64, 64))" in str(caught.value)
    fixed = v2.Compose([pg.EnsureChannels(3), pg.EnsureSize((64, 64)), pg.Validate(contract)])(image)  # as it says
    assert contract.check(fixed) == [] and fixed.size == (64, 64) and fixed.mode == "RGB"

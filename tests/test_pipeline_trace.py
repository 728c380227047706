"""pg.trace: step-by-step runs of real v1/v2 chains, the first breaking step, the table."""

import numpy as np
import torch
import torchvision.transforms as v1
from conftest import make_image
from torchvision import tv_tensors
from torchvision.transforms import v2

import pipeguard as pg
from pipeguard import Reason
from pipeguard.transforms._trace import flatten_steps

FLOAT224 = pg.Contract(channels=3, size=(224, 224), dtype="float32", name="imagenet")


def _to_float():
    return v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])


def test_names_the_resize_that_breaks_the_size():
    chain = v2.Compose([v2.Resize((64, 64)), _to_float(), v2.Normalize([0.5] * 3, [0.5] * 3)])
    result = pg.trace(chain, make_image("RGB", (640, 480)), FLOAT224)
    assert [r.step for r in result.rows] == ["input", "0", "1.0", "1.1", "2"]
    assert result.breaking_step == "0" and not result.ok and result.error is None
    assert result.breaking.transform.startswith("Resize(size=[64, 64]")
    assert [(v.reason, row.step) for v, row in result.causes] == [(Reason.SIZE, "0")]
    text = str(result)
    assert "step 0, Resize(size=[64, 64]" in text
    assert "made it [3, 64, 64]" in text and "the contract wants [3, 224, 224]" in text
    assert result.output.shape == (3, 64, 64)


def test_rows_describe_each_output():
    result = pg.trace(v2.Compose([v2.Resize((64, 64)), _to_float()]), make_image("L", (80, 60)), FLOAT224)
    inp, resized, to_image, to_dtype = result.rows
    assert (inp.output_type, inp.mode, inp.shape, inp.dtype) == ("PIL.Image", "L", (1, 60, 80), "uint8")
    assert (resized.shape, resized.meets) == ((1, 64, 64), False)
    assert (to_image.output_type, to_image.mode, to_image.dtype) == ("tv_tensors.Image", None, "uint8")
    assert {v.reason for v in to_image.violations} == {Reason.CHANNELS, Reason.SIZE, Reason.DTYPE}
    assert to_dtype.dtype == "float32" and to_dtype.violation(Reason.DTYPE) is None


def test_a_check_failed_since_the_input_is_blamed_on_the_input():
    chain = v1.Compose([v1.Resize(256), v1.CenterCrop(224), v1.ToTensor()])
    result = pg.trace(chain, make_image("L", (640, 480)), FLOAT224)
    assert result.breaking_step == "input"
    assert [(v.reason, row.step) for v, row in result.causes] == [(Reason.CHANNELS, "input")]
    assert "the input has 1 channel (mode 'L')" in str(result)
    assert result.rows[2].meets is False and result.rows[2].violations[0].reason is Reason.CHANNELS


def test_a_step_that_makes_the_layout_channels_last_is_blamed_not_the_resize_after_it():
    to_hwc = v2.Lambda(lambda x: x.permute(1, 2, 0))
    chain = v2.Compose([v2.ToImage(), to_hwc, v2.Resize(10)])
    result = pg.trace(chain, make_image("RGB", (4, 4)), pg.Contract(channels=3, size=(4, 4)))
    assert result.rows[2].violation(Reason.LAYOUT) is not None  # [4, 4, 3] after the permute
    assert result.breaking_step == "1"
    assert {row.step for _, row in result.causes} == {"1"}
    verdict = result.verdict()
    assert len(verdict) == 1 and verdict[0].startswith("step 1, Lambda(") and "made it [4, 4, 3]" in verdict[0]
    assert "(layout: is a channels-last" in verdict[0]


def test_conforming_chain_has_no_breaking_step():
    chain = v2.Compose([pg.EnsureChannels(3), pg.EnsureSize(224, policy="pad"), _to_float(),
                        pg.Validate(FLOAT224)])
    result = pg.trace(chain, make_image("P", (300, 200)), FLOAT224)
    assert result.ok and result.breaking is None and result.raised is None
    assert result.rows[-1].meets is True
    assert result.rows[1].mode == "RGB" and result.rows[2].shape == (3, 224, 224)
    assert str(result).splitlines()[-1] == "the output meets contract 'imagenet' [3, 224, 224]"


def test_missing_to_dtype_is_blamed_on_to_image():
    result = pg.trace(v2.Compose([v2.Resize((224, 224)), v2.ToImage()]), make_image("RGB", (50, 40)), FLOAT224)
    assert result.breaking_step == "1"
    assert "step 1, ToImage(), made it uint8; the contract wants float32" in str(result)


def test_a_raising_step_is_recorded_not_propagated():
    chain = v2.Compose([v2.ToImage(), v2.Normalize([0.5] * 3, [0.5] * 3), v2.Resize(10)])
    result = pg.trace(chain, make_image("RGB", (32, 32)))
    assert [r.status for r in result.rows] == ["ok", "ok", "raised", "not run"]
    assert isinstance(result.error, TypeError)
    assert result.raised.step == "1" and result.raised.error.startswith("TypeError: Input tensor should be a float")
    assert "step 1, Normalize(mean=[0.5, 0.5, 0.5]" in str(result) and "raised TypeError" in str(result)
    assert type(result.output) is tv_tensors.Image   # the last output that was produced
    assert not result.ok


def test_validate_raising_inside_the_chain():
    chain = v2.Compose([v2.ToImage(), pg.Validate(pg.Contract(channels=3))])
    result = pg.trace(chain, make_image("CMYK", (8, 8)))
    assert result.raised.step == "1"
    assert isinstance(result.error, pg.ContractViolation) and result.error.reasons == [Reason.CHANNELS]


def test_nested_v1_v2_and_sequential_are_flattened_with_paths():
    chain = v1.Compose([v1.Resize(32), v2.Compose([v2.CenterCrop(28), v1.Compose([v1.ToTensor()])]),
                        torch.nn.Sequential(v2.Normalize([0.5], [0.5]), v2.Identity())])
    steps = flatten_steps(chain)
    assert [p for p, _ in steps] == ["0", "1.0", "1.1.0", "2.0", "2.1"]
    result = pg.trace(chain, make_image("L", (40, 40)), pg.Contract(channels=1, size=(28, 28)))
    assert result.ok and result.rows[-1].shape == (1, 28, 28)
    random_apply = v2.RandomApply([v2.Resize(8)], p=1.0)   # random containers stay one step
    assert [p for p, _ in flatten_steps(v2.Compose([random_apply]))] == ["0"]


def test_a_single_transform_and_plain_functions():
    assert [r.step for r in pg.trace(v2.ToImage(), make_image("RGB")).rows] == ["input", "0"]

    def to_numpy(img):
        return np.asarray(img)

    result = pg.trace(v1.Compose([to_numpy, lambda a: a[..., :1]]), make_image("RGB", (10, 6)))
    assert [r.transform for r in result.rows[1:]] == [
        "test_a_single_transform_and_plain_functions.<locals>.to_numpy",
        "test_a_single_transform_and_plain_functions.<locals>.<lambda>"]
    assert result.rows[2].output_type == "numpy.ndarray" and result.rows[2].shape == (6, 10, 1)


def test_v2_structures_describe_the_image_inside():
    chain = v2.Compose([v2.ToImage(), v2.Resize((16, 16))])
    result = pg.trace(chain, (make_image("RGB", (40, 30)), 3), pg.Contract(channels=3, size=(16, 16)))
    assert result.rows[0].output_type == "PIL.Image in tuple"
    assert result.rows[-1].output_type == "tv_tensors.Image in tuple" and result.rows[-1].meets
    assert result.output[1] == 3


def test_table_is_aligned_and_without_contract_shows_dashes():
    result = pg.trace(v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]), make_image("RGB"))
    lines = str(result).splitlines()
    assert lines[0].split() == ["step", "transform", "output", "mode", "shape", "dtype", "contract"]
    for column in ("output", "shape", "contract"):
        start = lines[0].index(column)
        assert all(line[start - 2:start] == "  " and line[start] != " " for line in lines[1:]), column
    assert all(row.meets is None for row in result.rows) and lines[-1].endswith("-")
    frame = result.to_frame()
    assert list(frame["step"]) == ["input", "0", "1"] and frame.loc[2, "dtype"] == "float32"

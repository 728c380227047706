"""Validate, EnsureChannels and EnsureSize inside real torchvision v1 and v2 chains."""

import pickle
import warnings

import numpy as np
import pytest
import torch
import torchvision.transforms as v1
from conftest import CONFORMING_RGB224 as CONFORMING
from conftest import PIL_MODES, make_image
from PIL import Image
from torch.utils.data import DataLoader
from torchvision import tv_tensors
from torchvision.datasets import FakeData
from torchvision.transforms import v2

import pipeguard as pg
from pipeguard import Reason

RGB224 = pg.Contract(channels=3, size=(224, 224), name="imagenet")
FLOAT224 = pg.Contract(channels=3, size=(224, 224), dtype="float32", name="imagenet")


# -- repr, pickling, arguments ----------------------------------------------------------

def test_repr_shows_constructor_arguments_like_torchvision():
    assert repr(pg.EnsureChannels(3)) == "EnsureChannels(num_channels=3, background=(255, 255, 255))"
    assert repr(pg.EnsureChannels(1, background=0)) == "EnsureChannels(num_channels=1, background=(0, 0, 0))"
    assert repr(pg.EnsureSize((224, 192), policy="pad")) == (
        "EnsureSize(size=(224, 192), policy=pad, interpolation=InterpolationMode.BILINEAR, "
        "antialias=True, fill=0)")
    assert repr(pg.Validate(RGB224)) == (
        "Validate(contract=Contract(name='imagenet', channels=3, size=(224, 224), numel=150528))")
    chain = v2.Compose([pg.EnsureChannels(3), v2.ToImage()])
    assert "    EnsureChannels(num_channels=3, background=(255, 255, 255))" in repr(chain)


@pytest.mark.parametrize("make", [lambda: pg.EnsureChannels(3, (1, 2, 3)), lambda: pg.Validate(RGB224),
                                  lambda: pg.EnsureSize(64, policy="center_crop", antialias=False)])
def test_transforms_pickle_with_their_arguments(make):
    t = make()
    copy = pickle.loads(pickle.dumps(t))
    assert type(copy) is type(t) and repr(copy) == repr(t)


def test_bad_arguments_raise_value_errors():
    with pytest.raises(ValueError, match="num_channels should be 1 or 3, but got 4"):
        pg.EnsureChannels(4)
    with pytest.raises(ValueError, match="policy should be one of"):
        pg.EnsureSize(224, policy="stretch")
    with pytest.raises(ValueError, match=r"size should be \(height, width\)"):
        pg.EnsureSize((224, 0))
    with pytest.raises(TypeError, match="pipeguard.Contract"):
        pg.Validate((3, 224, 224))


def test_not_jit_scriptable_with_a_clear_error():
    with warnings.catch_warnings(), pytest.raises(RuntimeError, match="cannot be JIT scripted"):
        warnings.simplefilter("ignore", FutureWarning)   # torch.jit.script is deprecated in torch 2.14
        torch.jit.script(pg.EnsureChannels(3))


# -- Validate -----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", sorted(CONFORMING))
def test_validate_returns_the_same_object(kind):
    x = CONFORMING[kind]()
    assert pg.Validate(RGB224)(x) is x


def test_validate_raises_with_stage_and_diagnosis():
    with pytest.raises(pg.ContractViolation) as info:
        pg.Validate(RGB224)(make_image("L", (224, 224)))
    err = info.value
    assert err.reasons == [Reason.CHANNELS]
    assert err.stage.startswith("Validate(contract=Contract(name='imagenet'")
    assert err.expected.shape == (3, 224, 224) and err.actual.shape == (1, 224, 224)
    assert "EnsureChannels(3)" in err.diagnosis.best.fix
    assert "stage     Validate(" in str(err)


def test_validate_on_pil_before_to_image_and_tensor_after_in_v1_and_v2():
    for compose, to_tensor in ((v1.Compose, v1.ToTensor()), (v2.Compose, v2.Compose(
            [v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]))):
        chain = compose([v1.Resize((224, 224)) if compose is v1.Compose else v2.Resize((224, 224)),
                         pg.Validate(RGB224), to_tensor, pg.Validate(FLOAT224)])
        out = chain(make_image("RGB", (320, 240)))
        assert out.shape == (3, 224, 224) and out.dtype == torch.float32
        with pytest.raises(pg.ContractViolation) as info:
            chain(make_image("LA", (320, 240)))
        assert info.value.stage.startswith("Validate(") and info.value.reasons == [Reason.CHANNELS]


def test_validate_in_v2_structures_checks_only_the_image():
    img = make_image("RGB", (224, 224))
    sample = {"image": img, "label": 3, "boxes": tv_tensors.BoundingBoxes(
        [[0, 0, 5, 5]], format="XYXY", canvas_size=(224, 224))}
    out = pg.Validate(RGB224)(sample)
    assert out["image"] is img and out["label"] == 3
    image, label = pg.Validate(RGB224)(torch.zeros(3, 224, 224), torch.tensor(7))
    assert label.item() == 7   # the second plain tensor is not an image: not validated
    with pytest.raises(pg.ContractViolation):
        pg.Validate(RGB224)((make_image("RGB", (10, 10)), 1))


def test_validate_refuses_a_sample_with_no_image_in_it():
    with pytest.raises(pg.ContractViolation) as info:
        pg.Validate(RGB224)({"label": 3, "path": "a.png"})
    assert info.value.reasons == [Reason.TYPE]
    assert pg.EnsureChannels(3)({"label": 3}) == {"label": 3}   # converters pass it through, like torchvision


# -- EnsureChannels ----------------------------------------------------------------------

@pytest.mark.parametrize("mode", sorted(PIL_MODES))
def test_ensure_channels_in_v1_and_v2_chains_for_every_pil_mode(mode):
    img = make_image(mode, (48, 40))
    out1 = v1.Compose([pg.EnsureChannels(3), v1.ToTensor(), pg.Validate(pg.Contract(channels=3))])(img)
    out2 = v2.Compose([pg.EnsureChannels(3), v2.ToImage(), v2.ToDtype(torch.float32, scale=True),
                       pg.Validate(pg.Contract(channels=3, size=(40, 48), dtype="float32"))])(img)
    assert out1.shape == out2.shape == (3, 40, 48)
    assert torch.allclose(out1, out2.as_subclass(torch.Tensor), atol=1e-6)
    gray = v2.Compose([pg.EnsureChannels(1), v2.ToImage()])(img)
    assert gray.shape == (1, 40, 48) and gray.dtype == torch.uint8


@pytest.mark.parametrize("x", [make_image("RGB"), torch.rand(3, 8, 8), tv_tensors.Image(torch.rand(3, 8, 8)),
                               np.zeros((8, 8, 3), np.uint8), torch.rand(2, 3, 8, 8)],
                         ids=["pil", "tensor", "tv_image", "numpy", "batch"])
def test_ensure_channels_on_conforming_input_is_a_no_op(x):
    assert pg.EnsureChannels(3)(x) is x


def test_ensure_channels_after_to_image_on_tensors_and_batches():
    rgba = make_image("RGBA", (16, 12))
    out = v2.Compose([v2.ToImage(), pg.EnsureChannels(3)])(rgba)
    assert type(out) is tv_tensors.Image and out.shape == (3, 12, 16)
    expected = np.asarray(pg.EnsureChannels(3)(rgba)).astype(int)
    assert np.abs(out.permute(1, 2, 0).numpy().astype(int) - expected).max() <= 1
    batch = torch.rand(6, 1, 12, 16)
    assert pg.EnsureChannels(3)(batch).shape == (6, 3, 12, 16)


def test_ensure_channels_in_structures_converts_images_only():
    mask = tv_tensors.Mask(torch.zeros(12, 16, dtype=torch.uint8))
    img, label, out_mask = pg.EnsureChannels(3)(make_image("L", (16, 12)), 5, mask)
    assert img.mode == "RGB" and label == 5 and out_mask is mask
    first, second = pg.EnsureChannels(3)((torch.rand(1, 4, 4), torch.rand(1, 4, 4)))
    assert first.shape == (3, 4, 4) and second.shape == (1, 4, 4)   # v2: only the first plain tensor
    out = pg.EnsureChannels(3)({"image": np.zeros((4, 4), np.uint8), "id": np.zeros(2)})
    assert out["image"].shape == (4, 4, 3) and out["id"].shape == (2,)


def test_ensure_channels_refusal_names_the_transform():
    with pytest.raises(pg.ContractViolation) as info:
        v2.Compose([v2.ToImage(), pg.EnsureChannels(3)])(np.zeros((8, 8, 5), np.uint8))
    assert info.value.reasons == [Reason.CHANNELS]
    assert info.value.stage == "EnsureChannels(num_channels=3, background=(255, 255, 255))"
    assert "5 channels" in str(info.value)


# -- EnsureSize ---------------------------------------------------------------------------

def _inputs(h, w):
    return {
        "pil": make_image("RGB", (w, h)),
        "pil_16bit": make_image("I;16", (w, h)),
        "tensor": torch.rand(3, h, w),
        "uint8": torch.randint(0, 256, (3, h, w), dtype=torch.uint8),
        "hw_tensor": torch.rand(h, w),
        "tv_image": tv_tensors.Image(torch.rand(3, h, w)),
        "batch": torch.rand(2, 3, h, w),
        "numpy_hwc": np.zeros((h, w, 3), np.uint8),
        "numpy_hw": np.zeros((h, w), np.float32),
    }


def _hw(x):
    return pg.inspect(x).size


@pytest.mark.parametrize("policy", ["resize", "center_crop", "pad"])
@pytest.mark.parametrize("kind", sorted(_inputs(1, 1)))
def test_ensure_size_gives_exactly_the_size_and_keeps_the_type(policy, kind):
    x = _inputs(30, 80)[kind]
    out = pg.EnsureSize((24, 32), policy=policy)(x)
    assert _hw(out) == (24, 32)
    assert type(out) is type(x)
    info_in, info_out = pg.inspect(x), pg.inspect(out)
    assert (info_out.layout, info_out.channels, info_out.dtype, info_out.mode) == (
        info_in.layout, info_in.channels, info_in.dtype, info_in.mode)
    same = _inputs(24, 32)[kind]
    assert pg.EnsureSize((24, 32), policy=policy)(same) is same


def test_resize_policy_matches_torchvision_resize():
    img, t = make_image("RGB", (80, 30)), torch.rand(3, 30, 80)
    assert np.array_equal(np.asarray(pg.EnsureSize((24, 32))(img)), np.asarray(v2.Resize((24, 32))(img)))
    assert torch.equal(pg.EnsureSize((24, 32))(t), v2.Resize((24, 32))(t))
    assert torch.equal(pg.EnsureSize(20, interpolation=v2.InterpolationMode.NEAREST)(t),
                       v2.Resize((20, 20), interpolation=v2.InterpolationMode.NEAREST)(t))


def test_pad_policy_letterboxes():
    x = torch.ones(1, 50, 100)                 # 2:1 into a square: scaled to 32x64, 16 rows padded each side
    out = pg.EnsureSize(64, policy="pad")(x)
    assert out.shape == (1, 64, 64)
    assert torch.all(out[:, :16] == 0) and torch.all(out[:, 48:] == 0)
    assert torch.allclose(out[:, 16:48], torch.ones(1, 32, 64))
    img = pg.EnsureSize(64, policy="pad", fill=(255, 0, 0))(Image.new("RGB", (100, 50), (0, 0, 255)))
    assert img.getpixel((0, 0)) == (255, 0, 0) and img.getpixel((32, 32)) == (0, 0, 255)
    tall = pg.EnsureSize((10, 40), policy="pad")(torch.ones(1, 100, 100))  # pads left and right
    assert tall.shape == (1, 10, 40) and tall[0, :, :15].sum() == 0 and tall[0, :, 15:25].min() > 0.99


def test_center_crop_policy_covers_then_crops_the_center():
    x = torch.zeros(1, 50, 100)
    x[..., 25:75] = 1.0                        # the central half of the width is white
    out = pg.EnsureSize(50, policy="center_crop")(x)    # already tall enough: a pure center crop
    assert out.shape == (1, 50, 50) and out.min() == 1.0
    small = pg.EnsureSize(100, policy="center_crop")(x)  # upscaled 2x to cover, then cropped: no padding
    assert small.shape == (1, 100, 100) and small.min() >= 0.5     # no black padding, no black borders
    assert small[..., 2:-2].min() > 0.99                              # only the edges blur


def test_boxes_and_masks_move_with_the_image():
    image = tv_tensors.Image(torch.rand(3, 50, 100))
    boxes = tv_tensors.BoundingBoxes([[0, 0, 100, 50]], format="XYXY", canvas_size=(50, 100))
    mask = tv_tensors.Mask(torch.randint(0, 3, (50, 100)))
    out_image, out_boxes, out_mask, label = pg.EnsureSize(100, policy="pad")(image, boxes, mask, 4)
    assert out_image.shape == (3, 100, 100) and out_mask.shape == (100, 100) and label == 4
    assert out_boxes.tolist() == [[0, 25, 100, 75]] and out_boxes.canvas_size == (100, 100)
    assert set(out_mask.unique().tolist()) <= {0, 1, 2}  # nearest neighbour for masks


def test_raise_policy_names_both_sizes():
    with pytest.raises(pg.ContractViolation) as info:
        v2.Compose([v2.ToImage(), pg.EnsureSize((224, 224), policy="raise")])(make_image("RGB", (64, 48)))
    err = info.value
    assert err.reasons == [Reason.SIZE]
    assert "48×64" in str(err) and "224×224" in str(err)
    assert err.stage.startswith("EnsureSize(size=(224, 224), policy=raise")
    ok = make_image("RGB", (224, 224))
    assert pg.EnsureSize(224, policy="raise")(ok) is ok


def test_ensure_size_refuses_samples_without_height_and_width():
    with pytest.raises(pg.ContractViolation) as info:
        pg.EnsureSize(8)(np.zeros((3, 20, 30), np.uint8))  # channels-first array: ambiguous, not guessed
    assert info.value.reasons == [Reason.LAYOUT]
    with pytest.raises(pg.ContractViolation):
        pg.EnsureSize(8)(torch.zeros(64))


# -- the whole chain in DataLoader workers -----------------------------------------------

def _chain():
    return v2.Compose([pg.EnsureChannels(3), pg.EnsureSize((32, 32), policy="pad"), v2.ToImage(),
                       v2.ToDtype(torch.float32, scale=True),
                       pg.Validate(pg.Contract(channels=3, size=(32, 32), dtype="float32"))])


@pytest.mark.parametrize(("context", "workers"), [("spawn", 1), ("fork", 2)])  # spawn: one start-up is enough
def test_chain_runs_in_dataloader_workers(context, workers):
    data = FakeData(size=8, image_size=(1, 40, 24), num_classes=2, transform=_chain())  # grayscale PIL
    loader = DataLoader(data, batch_size=4, num_workers=workers, multiprocessing_context=context)
    batches = list(loader)
    assert [b[0].shape for b in batches] == [(4, 3, 32, 32)] * 2


def test_violation_inside_a_worker_reaches_the_main_process_as_contract_violation():
    chain = v2.Compose([v2.ToImage(), pg.Validate(pg.Contract(channels=3, size=(32, 32)))])
    data = FakeData(size=2, image_size=(3, 40, 24), transform=chain)
    loader = DataLoader(data, batch_size=2, num_workers=2, multiprocessing_context="fork")
    err = _first_violation(loader)
    assert err is not None and "Validate" in str(err)


def _first_violation(loader: DataLoader) -> "pg.ContractViolation | None":
    """The violation iterating ``loader`` raises, without its traceback: a kept traceback holds
    the loader's iterator, whose workers would then be shut down at some later test's garbage collection."""
    try:
        list(loader)
    except pg.ContractViolation as exc:
        return exc.with_traceback(None)
    return None

import numpy as np
import pytest
import torch
from conftest import FIXTURES, PIL_MODES, make_image
from PIL import Image
from torchvision import tv_tensors
from torchvision.transforms.v2 import functional as F

import pipeguard as pg


@pytest.mark.parametrize("mode", sorted(PIL_MODES))
def test_every_pil_mode_matches_pil_to_tensor(mode):
    img = make_image(mode, size=(32, 24))
    info = pg.inspect(img)
    assert info.mode == mode and info.kind == "PIL.Image"
    assert info.channels == PIL_MODES[mode]
    assert (info.height, info.width) == (24, 32)
    assert info.layout == "CHW" and info.numel == PIL_MODES[mode] * 24 * 32
    if mode not in ("P", "PA", "I;16"):  # pil_to_tensor cannot take palette/16-bit tensors of these
        tensor = F.pil_to_tensor(img)
        assert tuple(tensor.shape) == info.shape
        assert str(tensor.dtype).removeprefix("torch.") == info.dtype


def test_pil_sixteen_bit_modes():
    img = Image.fromarray(np.arange(12, dtype=np.uint16).reshape(3, 4))
    assert img.mode == "I;16"
    info = pg.inspect(img)
    assert (info.channels, info.dtype, info.shape) == (1, "uint16", (1, 3, 4))
    assert pg.inspect(Image.new("I;16B", (4, 3))).channels == 1


def test_inspect_reads_headers_without_decoding():
    img = Image.open(FIXTURES / "cats" / "cat_rgb_01.png")
    info = pg.inspect(img)
    assert info.shape == (3, 64, 64)
    assert img._im is None, "inspect must not decode the pixels"


@pytest.mark.parametrize("shape, layout, chw, batch", [
    ((24, 32), "HW", (1, 24, 32), None),
    ((24, 32, 3), "HWC", (3, 24, 32), None),
    ((24, 32, 1), "HWC", (1, 24, 32), None),
    ((8, 24, 32, 3), "NHWC", (3, 24, 32), 8),
    ((3, 24, 32), "CHW", (3, 24, 32), None),   # more than 4 "channels" last: read channels-first
])
def test_numpy_layouts(shape, layout, chw, batch):
    info = pg.inspect(np.zeros(shape, np.uint8))
    assert (info.layout, info.chw, info.batch) == (layout, chw, batch)
    assert info.kind == "numpy.ndarray" and info.dtype == "uint8"


@pytest.mark.parametrize("shape, layout, chw, batch, numel", [
    ((3, 24, 32), "CHW", (3, 24, 32), None, 2304),
    ((24, 32), "HW", (1, 24, 32), None, 768),
    ((8, 3, 24, 32), "NCHW", (3, 24, 32), 8, 2304),
    ((150528,), "flat", None, None, 150528),
    ((224, 224, 3), "HWC", (3, 224, 224), None, 150528),   # 224 channels is implausible
])
def test_tensor_layouts(shape, layout, chw, batch, numel):
    info = pg.inspect(torch.zeros(shape))
    assert (info.layout, info.chw, info.batch, info.numel) == (layout, chw, batch, numel)
    assert info.dtype == "float32" and info.kind == "torch.Tensor"


def test_flat_batch_needs_a_contract_to_be_read_as_flat():
    t = torch.zeros(16, 784)
    assert pg.inspect(t).layout == "HW"
    info = pg.inspect(t, pg.Contract(numel=784))
    assert (info.layout, info.batch, info.numel) == ("flat", 16, 784)
    # a contract whose size matches keeps the image reading
    assert pg.inspect(torch.zeros(28, 28), pg.Contract(channels=1, size=28)).layout == "HW"


def test_tv_tensors_image():
    img = tv_tensors.Image(torch.zeros(3, 24, 32, dtype=torch.uint8))
    info = pg.inspect(img)
    assert info.kind == "tv_tensors.Image"
    assert (info.layout, info.chw, info.dtype) == ("CHW", (3, 24, 32), "uint8")


def test_ambiguous_shape_resolved_by_contract():
    t = torch.zeros(3, 224, 3)
    assert pg.inspect(t).layout == "CHW"                            # convention for tensors
    as_hwc = pg.inspect(t, pg.Contract(channels=3, size=(3, 224)))
    assert (as_hwc.layout, as_hwc.size) == ("HWC", (3, 224))
    a = np.zeros((3, 224, 3))
    assert pg.inspect(a).layout == "HWC"                            # convention for arrays
    assert pg.inspect(a, pg.Contract(channels=3, size=(224, 3))).layout == "CHW"
    # when both readings fit, the convention wins
    assert pg.inspect(torch.zeros(3, 3, 3), pg.Contract(channels=3, size=3)).layout == "CHW"


def test_rank_five_is_unknown_and_unsupported_types_raise_type_error():
    assert pg.inspect(torch.zeros(1, 2, 3, 4, 5)).layout == "unknown"
    with pytest.raises(TypeError, match="should get one of .*but got str"):
        pg.inspect("image.png")
    with pytest.raises(TypeError, match="but got NoneType"):
        pg.inspect(None)


def test_inspect_makes_no_copy_of_tensor_or_array():
    t = torch.zeros(3, 8, 8)
    before = t.untyped_storage().data_ptr()
    pg.inspect(t)
    assert t.untyped_storage().data_ptr() == before
    info = pg.inspect(np.zeros((8, 8, 3)))
    assert isinstance(info.shape, tuple)  # metadata only: nothing in SampleInfo refers to pixels
    assert all(isinstance(getattr(info, f), (int, str, tuple, type(None))) for f in info.__slots__)

"""Pixel-level tests of the channel conversion kernels behind EnsureChannels."""

import warnings

import numpy as np
import pytest
import torch
from conftest import PIL_MODES, make_image
from PIL import Image, ImageCms
from torchvision import tv_tensors

import pipeguard as pg
from pipeguard import Reason
from pipeguard.transforms._channels import (
    normalize_background,
    numpy_to_channels,
    pil_to_channels,
    tensor_to_channels,
    to_channels,
)

WHITE, BLACK, BLUE = (255, 255, 255), (0, 0, 0), (0, 0, 255)


def px(img, xy=(0, 0)):
    return tuple(np.asarray(img)[xy[1], xy[0]].reshape(-1).tolist())


# -- every PIL mode ---------------------------------------------------------------------

@pytest.mark.parametrize("mode", sorted(PIL_MODES))
@pytest.mark.parametrize("n, target", [(3, "RGB"), (1, "L")])
def test_every_pil_mode_converts_to_the_canonical_mode(mode, n, target):
    img = make_image(mode)
    out = pil_to_channels(img, n)
    assert out.mode == target and out.size == img.size
    assert pg.inspect(out).channels == n
    assert (out is img) == (mode == target)


def test_sixteen_bit_is_scaled_not_clipped():
    values = np.array([[0, 128, 257, 32896, 65280, 65535]], dtype=np.uint16)
    img = Image.fromarray(values)
    assert img.mode == "I;16"
    assert px(img.convert("RGB"), (3, 0)) == (255, 255, 255)  # what convert() does: clipped white
    out = pil_to_channels(img, 3)
    assert np.asarray(out)[0, :, 0].tolist() == [0, 0, 1, 128, 254, 255]
    assert np.asarray(pil_to_channels(img, 1))[0].tolist() == [0, 0, 1, 128, 254, 255]


def test_sixteen_bit_big_endian_and_mode_i():
    big = Image.frombytes("I;16B", (2, 1), np.array([257, 65535], dtype=">u2").tobytes())
    assert big.mode == "I;16B"
    assert np.asarray(pil_to_channels(big, 3))[0, :, 1].tolist() == [1, 255]
    wide = Image.fromarray(np.array([[-100, 0, 514, 65535, 100000]], dtype=np.int32))
    assert wide.mode == "I"
    assert np.asarray(pil_to_channels(wide, 1))[0].tolist() == [0, 0, 2, 255, 255]


def test_float_mode_uses_pillows_0_to_255_scale():
    values = np.array([[-5.0, 0.0, 0.4, 127.6, 255.0, 300.0, np.nan]], dtype=np.float32)
    img = Image.fromarray(values, "F")
    assert np.asarray(pil_to_channels(img, 3))[0, :, 2].tolist() == [0, 0, 0, 128, 255, 255, 0]
    gray = make_image("L")  # L -> F -> EnsureChannels(1) is lossless
    assert np.array_equal(np.asarray(pil_to_channels(gray.convert("F"), 1)), np.asarray(gray))


def _palette_image():
    """A 3x1 palette image: red (opaque), green (fully transparent), blue (alpha 128)."""
    img = Image.new("P", (3, 1))
    img.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * (253 * 3))
    img.putdata([0, 1, 2])
    img.info["transparency"] = bytes([255, 0, 128])
    return img


def test_palette_with_transparency_is_composited_over_background():
    img = _palette_image()
    out = pil_to_channels(img, 3)
    assert out.mode == "RGB"
    assert px(out, (0, 0)) == (255, 0, 0)
    assert px(out, (1, 0)) == WHITE                      # transparent green shows the background
    assert px(out, (2, 0)) == pytest.approx((127, 127, 255), abs=1)
    on_blue = pil_to_channels(img, 3, BLUE)
    assert px(on_blue, (1, 0)) == BLUE
    assert px(pil_to_channels(img, 1), (1, 0)) == (255,)


def test_palette_without_transparency_uses_palette_colours():
    img = Image.new("P", (2, 1))
    img.putpalette([10, 20, 30, 200, 100, 50] + [0] * (254 * 3))
    img.putdata([0, 1])
    out = pil_to_channels(img, 3)
    assert [px(out, (0, 0)), px(out, (1, 0))] == [(10, 20, 30), (200, 100, 50)]
    # luma of the palette colour, not the palette index
    assert px(pil_to_channels(img, 1), (1, 0)) == px(Image.new("RGB", (1, 1), (200, 100, 50)).convert("L"))


def test_pa_mode_composites_alpha():
    img = _palette_image().convert("PA")
    assert img.mode == "PA"
    out = pil_to_channels(img, 3, BLACK)
    assert [px(out, (0, 0)), px(out, (1, 0))] == [(255, 0, 0), BLACK]


@pytest.mark.parametrize("background, expected", [(WHITE, (255, 127, 127)), (BLACK, (128, 0, 0)),
                                                  (BLUE, (128, 0, 127))])
def test_rgba_composited_over_configurable_background(background, expected):
    img = Image.new("RGBA", (2, 1), (255, 0, 0, 128))
    img.putpixel((1, 0), (0, 255, 0, 0))   # hidden colour under alpha 0 must not show
    out = pil_to_channels(img, 3, background)
    assert px(out, (0, 0)) == pytest.approx(expected, abs=1)
    assert px(out, (1, 0)) == background


def test_la_composited_over_background():
    img = Image.new("LA", (2, 1), (100, 255))
    img.putpixel((1, 0), (100, 0))
    assert [px(pil_to_channels(img, 1, 0), (i, 0)) for i in (0, 1)] == [(100,), (0,)]
    assert px(pil_to_channels(img, 3, BLUE), (1, 0)) == BLUE


def test_premultiplied_la_composited_over_background():
    # 'La' is LA with premultiplied luminance; Pillow cannot convert it to RGBA directly.
    img = Image.new("LA", (2, 1), (200, 128))
    img.putpixel((1, 0), (100, 0))
    la = img.convert("La")
    assert la.mode == "La"
    assert [px(pil_to_channels(la, 1, 0), (i, 0)) for i in (0, 1)] == [(100,), (0,)]
    assert px(pil_to_channels(la, 3, BLUE), (1, 0)) == BLUE


@pytest.mark.parametrize("cmyk, rgb", [((0, 0, 0, 0), WHITE), ((255, 0, 0, 0), (0, 255, 255)),
                                       ((0, 255, 0, 0), (255, 0, 255)), ((0, 0, 0, 255), BLACK)])
def test_cmyk_colours(cmyk, rgb):
    assert px(pil_to_channels(Image.new("CMYK", (1, 1), cmyk), 3)) == rgb


def test_ycbcr_hsv_lab_and_bilevel():
    assert px(pil_to_channels(Image.new("YCbCr", (1, 1), (255, 128, 128)), 3)) == pytest.approx(WHITE, abs=1)
    assert px(pil_to_channels(Image.new("HSV", (1, 1), (0, 255, 255)), 3)) == (255, 0, 0)
    lab = make_image("LAB")
    to_srgb = ImageCms.buildTransform(ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"),
                                      "LAB", "RGB")
    reference = np.asarray(ImageCms.applyTransform(lab, to_srgb)).astype(int)
    assert np.abs(np.asarray(pil_to_channels(lab, 3)).astype(int) - reference).max() <= 1
    assert pil_to_channels(lab, 1).mode == "L"       # Pillow has no direct LAB -> L
    bilevel = Image.new("1", (2, 1), 0)
    bilevel.putpixel((1, 0), 1)
    assert np.asarray(pil_to_channels(bilevel, 3))[0, :, 0].tolist() == [0, 255]


def test_rgb_to_gray_is_pillows_itu_r_601_2_luma():
    img = make_image("RGB")
    assert np.array_equal(np.asarray(pil_to_channels(img, 1)), np.asarray(img.convert("L")))


# -- tensors ----------------------------------------------------------------------------

def _pil_tensor(img):
    return torch.from_numpy(np.array(img)).permute(2, 0, 1)


def test_tensor_gray_repeated_and_no_op_is_identity():
    t = torch.randint(0, 256, (1, 5, 6), dtype=torch.uint8)
    out = tensor_to_channels(t, 3)
    assert out.shape == (3, 5, 6) and out.dtype == torch.uint8
    assert all(torch.equal(out[i], t[0]) for i in range(3))
    assert tensor_to_channels(t, 1) is t
    rgb = torch.rand(3, 5, 6)
    assert tensor_to_channels(rgb, 3) is rgb
    hw = torch.rand(5, 6)
    assert tensor_to_channels(hw, 1) is hw and tensor_to_channels(hw, 3).shape == (3, 5, 6)


def test_tensor_uint8_luma_matches_pil_exactly():
    img = make_image("RGB", (40, 30))
    gray = tensor_to_channels(_pil_tensor(img), 1)
    assert gray.shape == (1, 30, 40) and gray.dtype == torch.uint8
    assert np.array_equal(gray[0].numpy(), np.asarray(img.convert("L")))
    floats = tensor_to_channels(_pil_tensor(img).float() / 255, 1)
    assert torch.allclose(floats[0] * 255, gray[0].float(), atol=0.51)


def test_tensor_rgba_uint8_matches_pil_compositing():
    rgba = make_image("RGB", (16, 8)).convert("RGBA")
    rgba.putalpha(Image.fromarray(np.tile(np.linspace(0, 255, 16, dtype=np.uint8), (8, 1))))
    for background in (WHITE, BLUE):
        expected = np.asarray(pil_to_channels(rgba, 3, background)).astype(int)
        out = tensor_to_channels(_pil_tensor(rgba), 3, background)
        assert out.dtype == torch.uint8
        assert np.abs(out.permute(1, 2, 0).numpy().astype(int) - expected).max() <= 1


def test_tensor_float_alpha_in_unit_range():
    t = torch.tensor([1.0, 0.0, 0.0, 0.25]).view(4, 1, 1)
    out = tensor_to_channels(t, 3, BLUE)
    assert out.dtype == torch.float32
    assert torch.allclose(out.flatten(), torch.tensor([0.25, 0.0, 0.75]))


def test_tensor_uint16_alpha_uses_the_dtype_range():
    t = torch.tensor([65535, 0, 0, 65535 // 2], dtype=torch.int32).to(torch.uint16).view(4, 1, 1)
    out = tensor_to_channels(t, 3, BLACK)
    assert out.dtype == torch.uint16
    assert out.to(torch.int32).flatten().tolist() == [32767, 0, 0]


def test_tensor_gray_alpha_and_batches():
    la = torch.tensor([100, 100, 255, 0], dtype=torch.uint8).view(2, 1, 2)  # gray, alpha; H=1, W=2
    assert tensor_to_channels(la, 1, BLACK).flatten().tolist() == [100, 0]
    batch = torch.rand(5, 4, 7, 9)
    out = tensor_to_channels(batch, 3)
    assert out.shape == (5, 3, 7, 9)
    assert torch.allclose(out[2], tensor_to_channels(batch[2], 3))
    assert tensor_to_channels(torch.rand(5, 1, 7, 9), 3).shape == (5, 3, 7, 9)


def test_tv_tensors_keep_their_type():
    img = tv_tensors.Image(torch.rand(1, 6, 6))
    out = to_channels(img, 3)
    assert type(out) is tv_tensors.Image and out.shape == (3, 6, 6)
    assert to_channels(out, 3) is out
    video = tv_tensors.Video(torch.rand(4, 4, 6, 6))
    out = to_channels(video, 1)
    assert type(out) is tv_tensors.Video and out.shape == (4, 1, 6, 6)


@pytest.mark.parametrize("bad, reason", [
    (torch.zeros(5, 8, 8), Reason.CHANNELS),
    (torch.zeros(2, 5, 8, 8), Reason.CHANNELS),
    (torch.zeros(64), Reason.CHANNELS),
    (torch.zeros(32, 32, 3), Reason.LAYOUT),          # channels-last tensor: never silently permuted
    (np.zeros((3, 32, 32), np.uint8), Reason.LAYOUT),  # channels-first array
    (np.zeros((32, 32, 6), np.uint8), Reason.CHANNELS),
])
def test_unconvertible_samples_raise_contract_violation(bad, reason):
    with pytest.raises(pg.ContractViolation) as info:
        to_channels(bad, 3)
    assert reason in info.value.reasons
    assert info.value.expected.shape[-3] == 3   # the contract's [3, *, *], batch-prefixed for a batch
    if reason is Reason.CHANNELS and bad.ndim > 1:
        assert "EnsureChannels(3)" not in info.value.diagnosis.best.fix  # no circular advice


# -- numpy --------------------------------------------------------------------------------

def test_numpy_layouts():
    hw = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert numpy_to_channels(hw, 1) is hw
    out = numpy_to_channels(hw, 3)
    assert out.shape == (3, 4, 3) and (out[..., 2] == hw).all()
    rgba = np.asarray(make_image("RGBA", (8, 6)))
    expected = np.asarray(pil_to_channels(Image.fromarray(rgba, "RGBA"), 3)).astype(int)
    assert np.abs(numpy_to_channels(rgba, 3).astype(int) - expected).max() <= 1
    batch = np.stack([rgba, rgba])
    assert numpy_to_channels(batch, 1).shape == (2, 6, 8, 1)
    rgb = np.zeros((6, 8, 3), np.float32)
    assert numpy_to_channels(rgb, 3) is rgb


def test_numpy_read_only_and_big_endian():
    a = np.full((4, 4, 1), 1000, dtype=">u2")
    a.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # no non-writable-array warning from torch
        out = numpy_to_channels(a, 3)
    assert out.shape == (4, 4, 3) and int(out[0, 0, 1]) == 1000


def test_arguments_are_checked():
    assert normalize_background(0) == BLACK
    for bad in ((255, 255), (256, 0, 0), "white", (1.0, 1, 1)):
        with pytest.raises(ValueError, match="background"):
            normalize_background(bad)
    with pytest.raises(TypeError, match="EnsureChannels should get"):
        to_channels("not an image", 3)


# -- the Pillow corpus: real odd files ----------------------------------------------------

def test_every_decodable_corpus_file_becomes_rgb_or_a_contract_violation(pillow_corpus):
    converted = 0
    for path in sorted(pillow_corpus.iterdir()):
        if path.suffix in (".csv", ".md", ".txt"):
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                img = Image.open(path)
                img.load()
        except Exception:
            continue  # undecodable files are the scanner's business
        try:
            out = pg.EnsureChannels(3)(img)
        except pg.ContractViolation as err:
            assert Reason.CHANNELS in err.reasons, path.name
            continue
        assert out.mode == "RGB" and pg.inspect(out).channels == 3, path.name
        assert out.size == img.size, path.name
        converted += 1
    assert converted >= 30  # the corpus has ~40 decodable files of a dozen modes


@pytest.mark.parametrize("shape", [(10, 40000), (64, 784), (8, 3072), (1, 50), (50, 1), (40000, 10)])
@pytest.mark.parametrize("make", [torch.rand, lambda *s: np.random.rand(*s).astype(np.float32)],
                         ids=["tensor", "array"])
@pytest.mark.parametrize("num_channels", [1, 3])
def test_flat_rows_are_refused_not_mixed_into_one_image(shape, make, num_channels):
    rows = make(*shape)
    with pytest.raises(pg.ContractViolation, match="flat row") as info:
        pg.EnsureChannels(num_channels)(rows)
    assert Reason.CHANNELS in info.value.reasons


def test_the_suggested_reshape_of_rows_converts_each_sample_alone():
    rows = torch.rand(10, 40000)
    with pytest.raises(pg.ContractViolation) as info:
        pg.EnsureChannels(3)(rows)
    assert "x.view(10, 1, 200, 200)" in str(info.value)
    out = pg.EnsureChannels(3)(rows.view(10, 1, 200, 200))
    assert out.shape == (10, 3, 200, 200)
    for i in range(10):
        assert torch.equal(out[i, 2].flatten(), rows[i])
    array = np.random.rand(8, 3072).astype(np.float32)
    with pytest.raises(pg.ContractViolation, match=r"x.reshape\(8, 32, 32, 3\)"):
        pg.EnsureChannels(1)(array)


@pytest.mark.parametrize("shape", [(32, 32), (100, 300), (200, 1600), (1600, 200), (2, 2)])
def test_image_planes_still_convert(shape):
    plane = torch.rand(*shape)
    assert pg.EnsureChannels(1)(plane) is plane
    assert pg.EnsureChannels(3)(plane).shape == (3, *shape)
    assert pg.EnsureChannels(3)(plane.numpy()).shape == (*shape, 3)


def _gray16(values, mode):
    """A 1-row PIL image of ``values`` in ``mode`` (I;16 or I)."""
    a = np.asarray(values, dtype=np.uint16 if mode == "I;16" else np.int32).reshape(1, -1)
    return Image.fromarray(a)   # uint16 -> I;16, int32 -> I


@pytest.mark.parametrize("mode", ["I;16", "I"])
def test_twelve_bit_data_is_scaled_by_its_depth_not_by_257(mode):
    values = [0, 1, 100, 2048, 4000, 4095]
    img = _gray16(values, mode)
    assert img.mode == mode
    out = pg.EnsureChannels(3)(img)
    got = np.asarray(out)[0, :, 0].tolist()
    assert got == [round(v * 255 / 4095) for v in values] and got[-1] == 255


@pytest.mark.parametrize("mode", ["I;16", "I"])
def test_full_range_sixteen_bit_data_is_still_divided_by_257(mode):
    values = [0, 257, 1000, 32768, 65534, 65535]
    out = np.asarray(pg.EnsureChannels(1)(_gray16(values, mode)))[0].tolist()
    assert out == [round(v / 257) for v in values]


def test_eight_bit_data_in_an_i_container_keeps_its_values():
    values = [0, 1, 17, 128, 254, 255]
    out = np.asarray(pg.EnsureChannels(1)(_gray16(values, "I")))[0].tolist()
    assert out == values


def test_a_conversion_that_blanks_an_image_is_refused():
    low_floats = Image.fromarray(np.linspace(0, 0.4, 64, dtype=np.float32).reshape(8, 8))
    with pytest.raises(pg.ContractViolation, match="one flat value") as info:
        pg.EnsureChannels(3)(low_floats)
    assert Reason.CHANNELS in info.value.reasons
    constant = Image.fromarray(np.full((4, 4), 3000, np.uint16))
    assert np.asarray(pg.EnsureChannels(1)(constant)).std() == 0    # constant in, constant out: fine


class _Images(torch.utils.data.Dataset):
    def __init__(self, images):
        self.images = images

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.images[i], i


def test_fix_mode_skips_a_sample_its_conversion_would_blank():
    twelve_bit = _gray16(np.linspace(0, 4095, 64).astype(int), "I;16").resize((8, 8))
    blanked = Image.fromarray(np.linspace(0, 0.4, 64, dtype=np.float32).reshape(8, 8))
    ds = pg.GuardedDataset(_Images([twelve_bit, blanked]), pg.Contract(channels=3, size=8), on_error="fix")
    fixed, skipped = ds[0], ds[1]
    assert np.asarray(fixed[0]).max() > 200 and ds.fixed == 1
    assert isinstance(skipped, pg.Skipped) and "one flat value" in str(skipped.violation)

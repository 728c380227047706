"""Contracts and advice for the models people train beyond plain CNNs: patch transformers
with positional tables, models asserting their input size, normalising stems, fully
convolutional nets, video (Conv3d) and segmentation/detection models. Every fix the
advice names is applied, and the model then runs (a real CPU forward for the small models)."""

import json
from typing import ClassVar

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchvision import models

import pipeguard as pg
from pipeguard.model import FindingKind


class TinyViT(nn.Module):
    """A ViT-like model for 40×40 inputs: 8×8 patches, a class token, a positional table of
    1 + 5×5 entries (no size attribute: the table is the only statement of the size)."""

    def __init__(self, side: int = 40, patch: int = 8, dim: int = 16, img_size_attribute: bool = False):
        super().__init__()
        self.patch_embed = nn.Conv2d(3, dim, patch, stride=patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.randn(1, 1 + (side // patch) ** 2, dim))
        self.block = nn.TransformerEncoderLayer(dim, 2, 32, batch_first=True)
        self.head = nn.Linear(dim, 5)
        if img_size_attribute:
            self.img_size = (side, side)

    def forward(self, x):
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        return self.head(self.block(x)[:, 0])


class AttentionBias(nn.Module):
    """A LeViT-like token mixer: attention logits plus a learned bias for a 6×6 token grid
    (a 24×24 input at stride 4), indexed out of a parameter, so no name reaches the add."""

    def __init__(self, grid: int = 6, dim: int = 8):
        super().__init__()
        self.stem = nn.Conv2d(3, dim, 4, stride=4)
        self.biases = nn.Parameter(torch.zeros(2, grid * grid * grid * grid))
        self.grid = grid
        self.head = nn.Linear(dim, 3)

    def forward(self, x):
        t = self.stem(x).flatten(2).transpose(1, 2)                      # [N, L, D]
        q = k = t.view(t.shape[0], t.shape[1], 2, -1).transpose(1, 2)   # [N, 2, L, D/2]
        n = self.grid * self.grid
        attn = q @ k.transpose(-2, -1) + self.biases.view(2, n, n)
        return self.head((attn.softmax(-1) @ q).transpose(1, 2).flatten(2).mean(1))


class SizeChecking(nn.Module):
    """A model that asserts its input size (48×48) in the words ``message`` gives."""

    def __init__(self, message: str):
        super().__init__()
        self.img_size = (48, 48)
        self.message = message
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        h, w = x.shape[-2:]
        assert (h, w) == self.img_size, self.message.format(h=h, w=w)
        return self.head(self.conv(x).mean((2, 3)))


class NormalisingStem(nn.Module):
    """``(x - mean) / std`` with ImageNet's 3-value tables before the first conv."""

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1))
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        return self.conv((x - self.mean) / self.std).mean((2, 3))


class FullyConvolutional(nn.Module):
    """Conv, global pooling and a 1×1 conv head: any size runs. It states a size anyway
    (timm's pretrained_cfg does so for every model), which must not pin the contract."""

    pretrained_cfg: ClassVar[dict] = {"input_size": (3, 224, 224)}

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.head = nn.Conv2d(8, 4, 1)

    def forward(self, x):
        return self.head(F.adaptive_avg_pool2d(F.relu(self.conv(x)), 1)).flatten(1)


def _image(channels: int, side: int) -> torch.Tensor:
    return torch.rand(channels, side, side)


# -- Contract.from_model -------------------------------------------------------------

@pytest.mark.parametrize("attribute", [False, True], ids=["positional-table", "img_size"])
def test_a_vit_like_model_gets_its_non_power_of_two_size(attribute):
    model = TinyViT(img_size_attribute=attribute).eval()
    c = pg.Contract.from_model(model)
    assert (c.channels, c.size) == (3, (40, 40))
    with torch.no_grad():
        assert model(torch.rand(1, *c.shape)).shape == (1, 5)
        with pytest.raises(RuntimeError):   # the size is pinned because the model takes no other
            model(torch.rand(1, 3, 48, 48))


def test_a_size_asserting_model_and_an_attention_bias_table_get_their_size():
    assert pg.Contract.from_model(SizeChecking("Input height ({h}) doesn't match model (48).")).size == (48, 48)
    assert pg.Contract.from_model(AttentionBias()).size == (24, 24)


def test_fully_convolutional_models_leave_the_size_open():
    assert pg.Contract.from_model(FullyConvolutional()).size is None
    with torch.device("meta"):
        assert pg.Contract.from_model(models.segmentation.fcn_resnet50(weights=None, weights_backbone=None)).size \
            is None


def test_a_search_pins_a_size_only_when_sizes_around_it_fail():
    class OddBranches(nn.Module):
        """Two branches (stride 2 then ×2 upsampling) that meet only at even sides."""

        def __init__(self):
            super().__init__()
            self.down = nn.Conv2d(3, 4, 3, stride=2, padding=1)
            self.same = nn.Conv2d(3, 4, 3, padding=1)
            self.head = nn.Linear(4, 2)

        def forward(self, x):
            y = self.same(x) + F.interpolate(self.down(x), scale_factor=2)
            return self.head(y.mean((2, 3)))

    c = pg.Contract.from_model(OddBranches())     # takes every even size: no odd size is pinned
    assert c.size is None


# -- advice, applied ------------------------------------------------------------------

def test_a_positional_table_names_the_size_it_fits_and_ensure_size_cures_it():
    model = TinyViT().eval()
    err = pg.trace_model(model, (1, 3, 48, 48)).error
    assert err.kind is FindingKind.TOKEN_GRID and err.size == (40, 40)
    assert err.summary == "the 48×48 input gives 37 = 6×6 + 1 tokens; `pos_embed` holds 26 = 5×5 + 1"
    assert "pipeguard.EnsureSize((40, 40))" in err.fix and "residual" not in str(err)
    fixed = pg.EnsureSize(err.size)(_image(3, 48))
    with torch.no_grad():
        assert model(fixed.unsqueeze(0)).shape == (1, 5)


def test_an_attention_bias_table_names_the_size_it_fits():
    model = AttentionBias().eval()
    err = pg.trace_model(model, (1, 3, 32, 32)).error
    assert err.kind is FindingKind.TOKEN_GRID and err.size == (24, 24)
    assert "64 = 8×8 tokens" in err.summary and "36 = 6×6" in err.summary
    with torch.no_grad():
        assert model(pg.EnsureSize(err.size)(_image(3, 32)).unsqueeze(0)).shape == (1, 3)


@pytest.mark.parametrize("message", [
    "Input height ({h}) doesn't match model (48).",                 # timm
    "Input image size ({h}*{w}) doesn't match model (48*48).",      # timm, Hugging Face
    "Wrong image height! Expected 48 but got {h}!",                 # torchvision
])
def test_size_assertions_in_every_wording_get_ensure_size(message):
    model = SizeChecking(message).eval()
    err = pg.trace_model(model, (1, 3, 64, 64)).error
    assert err.kind is FindingKind.ASSERTION and err.size == (48, 48)
    assert "pipeguard.EnsureSize((48, 48))" in err.fix and "64" in err.exception
    with torch.no_grad():
        assert model(pg.EnsureSize(err.size)(_image(3, 64)).unsqueeze(0)).shape == (1, 2)


@pytest.mark.parametrize("message", [
    "Input height ({h}) doesn't match model (48).",
    "Input image size ({h}*{w}) doesn't match model (48*48).",
    "Wrong image width! Expected 48 but got {w}!",                 # torchvision (the height passes)
])
def test_channels_last_images_into_a_size_check_are_permuted_not_resized(message):
    """[1, 48, 48, 3] reads as 48×3 to the check: the fix was EnsureSize((48, 48)), giving 48 channels."""
    model = SizeChecking(message).eval()
    err = pg.trace_model(model, (2, 48, 48, 3)).error
    assert err.kind is FindingKind.ASSERTION and err.expected == (2, 3, 48, 48)
    assert err.summary == ("the model checks its input size: built for 48×48, receives 48×3 "
                           "from channels-last [N, H, W, C] data")
    assert err.fix.startswith("move the channels first: x.permute(0, 3, 1, 2) turns channels-last "
                              "[N, H, W, C] data into [2, 3, 48, 48]") and "EnsureSize" not in err.fix
    with torch.no_grad():
        assert model(torch.rand(2, 48, 48, 3).permute(0, 3, 1, 2)).shape == (2, 2)
    err = pg.trace_model(model, (1, 64, 64, 3)).error   # another size as well: permute, then resize
    assert err.fix.index("x.permute(0, 3, 1, 2)") < err.fix.index("then feed 48×48 images: "
                                                                   "pipeguard.EnsureSize((48, 48))")
    with torch.no_grad():
        assert model(pg.EnsureSize((48, 48))(torch.rand(1, 64, 64, 3).permute(0, 3, 1, 2))).shape == (1, 2)


def test_a_normalisation_table_against_rgba_images_asks_for_ensure_channels():
    model = NormalisingStem().eval()
    err = pg.trace_model(model, (1, 4, 16, 16)).error
    assert err.kind is FindingKind.IN_CHANNELS and "residual" not in str(err)
    assert err.summary == "a 3-value per-channel table (a normalisation mean/std) meets 4-channel images"
    assert "pipeguard.EnsureChannels(3)" in err.fix
    with torch.no_grad():
        assert model(pg.EnsureChannels(3)(_image(4, 16)).unsqueeze(0)).shape == (1, 4)


def test_an_rgba_batch_into_torchvision_detection_is_a_normalisation_error():
    model = models.detection.ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None)
    err = pg.trace_model(model, (1, 4, 320, 320)).error
    assert err.kind is FindingKind.IN_CHANNELS and "pipeguard.EnsureChannels(3)" in err.fix
    assert err.call == "sub on [4, 320, 320] and [3, 1, 1]"


def test_a_residual_add_still_gets_the_residual_advice():
    from trace_models import Residual

    err = pg.trace_model(Residual(), (1, 8, 8, 8)).error
    assert err.kind is FindingKind.BROADCAST and "residual add" in err.fix


# -- video ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def r3d():
    return models.video.r3d_18(weights=None).eval()


def test_a_batch_of_images_into_a_video_model_lacks_the_time_axis(r3d):
    err = pg.trace_model(r3d, (1, 3, 32, 32)).error
    assert err.kind is FindingKind.RANK and err.path == "stem.0"
    assert "[N, C, T, H, W]" in err.summary and "EnsureChannels" not in str(err)
    assert "x.unsqueeze(2), giving [1, 3, 1, 32, 32]" in err.fix
    with torch.no_grad():
        assert r3d(torch.rand(1, 3, 32, 32).unsqueeze(2)).shape == (1, 400)


def test_video_channel_errors_are_read_as_clips(r3d):
    err = pg.trace_model(r3d, (1, 1, 4, 32, 32)).error
    assert err.kind is FindingKind.IN_CHANNELS and "448" not in str(err) and "×" in err.arithmetic
    assert err.arithmetic.startswith("[1, 1, 4, 32, 32] = 1 clip of 4 frames, 1×32×32 each")
    assert "pipeguard.EnsureChannels(3)" in err.fix
    frames = torch.rand(4, 1, 32, 32)                             # [T, C, H, W] as decoded
    clip = pg.EnsureChannels(3)(frames).permute(1, 0, 2, 3)      # to [C, T, H, W]
    with torch.no_grad():
        assert r3d(clip.unsqueeze(0)).shape == (1, 400)


def test_clips_in_time_channel_order_are_told_to_permute(r3d):
    err = pg.trace_model(r3d, (1, 4, 3, 32, 32)).error
    assert "x.permute(0, 2, 1, 3, 4)" in err.fix
    assert pg.trace_model(r3d, (1, 3, 4, 32, 32)).ok


# -- every error says something to do; the JSON says what the text says -----------------

def test_errors_from_inside_model_code_say_so_with_the_call():
    class Picky(nn.Module):
        def forward(self, x):
            return torch.linalg.cholesky(x)

    err = pg.trace_model(Picky(), (1, 3, 4, 5)).error
    assert err.kind is FindingKind.EXCEPTION
    assert err.fix.startswith("no change of the input is known to cure this: the error is raised inside Picky's "
                              "own code, by linalg_cholesky on [1, 3, 4, 5]")


def test_the_json_error_carries_likely_call_and_the_fix_the_text_shows():
    from trace_models import LeNet

    err = pg.trace_model(LeNet(), (4, 1, 28, 28)).error
    data = json.loads(json.dumps(err.to_dict()))
    text = str(err)
    assert data["call"] == err.call and f"call      {data['call']}" in text
    assert data["likely"] and f"likely    {data['likely']}" in text
    assert f"fix       {data['fix']}" in text
    size = pg.trace_model(TinyViT(), (1, 3, 48, 48)).error.to_dict()
    assert size["size"] == [40, 40] and size["kind"] == "token-grid"

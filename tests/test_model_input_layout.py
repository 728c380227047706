"""``trace_model`` on inputs laid out another way than the model wants: channels-last data,
a single sample without its batch dimension, extra dimensions. Every fix the trace names is
applied to a real tensor, and the model then runs (a real CPU forward)."""

import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchvision import models

import pipeguard as pg
from pipeguard.diagnosis import HypothesisKind
from pipeguard.model import FindingKind

_CALL = re.compile(r"x(?:\.(?:permute|unsqueeze|squeeze|flatten)\([\d, ]*\))+")


def small_cnn(in_channels: int = 3) -> nn.Module:
    return nn.Sequential(nn.Conv2d(in_channels, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5)).eval()


def apply_named_call(fix: str, x: torch.Tensor) -> torch.Tensor:
    """Run the ``x.permute(...)...`` call a fix names on a real tensor (the call and nothing else)."""
    calls = _CALL.findall(fix)
    assert calls, f"no call on x in the fix: {fix}"
    result = x
    for step in re.findall(r"\.(permute|unsqueeze|squeeze|flatten)\(([\d, ]*)\)", calls[0]):
        result = getattr(result, step[0])(*(int(v) for v in step[1].split(",") if v.strip()))
    return result


# -- channels-last ---------------------------------------------------------------------

@pytest.mark.parametrize("shape, call", [((2, 16, 16, 3), "x.permute(0, 3, 1, 2)"),
                                         ((16, 16, 3), "x.permute(2, 0, 1).unsqueeze(0)")])
def test_channels_last_input_is_permuted_not_converted(shape, call):
    model = small_cnn()
    err = pg.trace_model(model, shape).error
    assert err.kind is FindingKind.IN_CHANNELS and err.path == "0"
    assert call in err.fix and "EnsureChannels" not in err.fix
    assert err.diagnosis.best.kind is HypothesisKind.LAYOUT
    fixed = apply_named_call(err.fix, torch.rand(shape))
    assert tuple(fixed.shape) == err.expected
    with torch.no_grad():
        assert model(fixed).shape == (fixed.shape[0], 5)
    assert pg.trace_model(model, tuple(fixed.shape)).ok


@pytest.mark.parametrize("shape", [(1, 224, 224, 3), (224, 224, 3)])
def test_resnet18_channels_last_fix_runs(shape):
    model = models.resnet18(weights=None).eval()
    trace = pg.trace_model(model, shape)
    err = trace.error
    assert trace.device == "meta" and err.path == "conv1" and err.kind is FindingKind.IN_CHANNELS
    assert "EnsureChannels" not in err.fix and err.expected == (1, 3, 224, 224)
    assert pg.trace_model(model, err.expected).ok
    small = shape[:-3] + (32, 32, 3)  # the same layout, small enough for a real forward
    with torch.no_grad():
        assert model(apply_named_call(err.fix, torch.rand(small))).shape == (1, 1000)


def test_channels_last_rgba_is_permuted_then_converted():
    model = small_cnn()
    err = pg.trace_model(model, (2, 16, 16, 4)).error
    assert "x.permute(0, 3, 1, 2)" in err.fix and "pipeguard.EnsureChannels(3)" in err.fix
    fixed = pg.EnsureChannels(3)(apply_named_call(err.fix, torch.rand(2, 16, 16, 4)))
    with torch.no_grad():
        assert model(fixed).shape == (2, 5)


class NormalisingStem(nn.Module):
    """Normalises with a per-channel table before the first conv (as torchvision's
    ``transform_input`` does): a channels-last input fails at the broadcast, not the conv."""

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.body = small_cnn()

    def forward(self, x):
        return self.body(x - self.mean)


def test_channels_last_into_a_normalising_stem_is_permuted():
    model = NormalisingStem().eval()
    err = pg.trace_model(model, (2, 16, 16, 3)).error
    assert err.kind is FindingKind.IN_CHANNELS and "x.permute(0, 3, 1, 2)" in err.fix
    assert "EnsureChannels" not in err.fix
    with torch.no_grad():
        assert model(apply_named_call(err.fix, torch.rand(2, 16, 16, 3))).shape == (2, 5)


class FunctionalConv(nn.Module):
    """A convolution called as ``F.conv2d``: no layer check, torch's own message is read."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(4, 3, 3, 3))

    def forward(self, x):
        return F.conv2d(x, self.weight)


def test_channels_last_into_a_functional_conv_is_permuted():
    model = FunctionalConv()
    err = pg.trace_model(model, (2, 16, 16, 3)).error
    assert err.kind is FindingKind.IN_CHANNELS and "x.permute(0, 3, 1, 2)" in err.fix
    with torch.no_grad():
        assert model(apply_named_call(err.fix, torch.rand(2, 16, 16, 3))).shape == (2, 4, 14, 14)


def test_one_channel_images_still_get_ensure_channels():
    err = pg.trace_model(small_cnn(), (2, 1, 16, 16)).error
    assert "pipeguard.EnsureChannels(3)" in err.fix and "permute" not in err.fix


# -- a missing batch dimension, and dimensions of another kind ------------------------

def test_resnet18_single_image_gets_the_batch_dimension():
    model = models.resnet18(weights=None).eval()
    err = pg.trace_model(model, (3, 224, 224)).error
    assert (err.path, err.kind) == ("bn1", FindingKind.RANK)
    assert "add the batch dimension: x.unsqueeze(0)" in err.fix and err.expected == (1, 3, 224, 224)
    assert "[3, 224, 224] has no batch dimension" in err.arithmetic
    assert pg.trace_model(model, err.expected).ok
    with torch.no_grad():
        assert model(apply_named_call(err.fix, torch.rand(3, 32, 32))).shape == (1, 1000)


class ItemReading(nn.Module):
    """Reads a value (no meta trace) and normalises with a BatchNorm2d subclass whose own
    forward leaves the rank check to torch: the message "expected 4D input" is read."""

    class Norm(nn.BatchNorm2d):
        def forward(self, x):
            return super().forward(x) * 1.0

    def __init__(self):
        super().__init__()
        self.conv, self.norm = nn.Conv2d(3, 8, 3), self.Norm(8)

    def forward(self, x):
        if x.abs().sum().item() >= 0:
            x = self.conv(x)
        return self.norm(x)


def test_torch_rank_message_gets_the_batch_dimension():
    model = ItemReading().eval()
    trace = pg.trace_model(model, (3, 12, 12))
    err = trace.error
    assert trace.device == "cpu" and "expected 4D input (got 3D input)" in err.exception
    assert err.kind is FindingKind.RANK and "x.unsqueeze(0)" in err.fix
    with torch.no_grad():
        assert model(apply_named_call(err.fix, torch.rand(3, 12, 12))).shape == (1, 8, 10, 10)


def test_batchnorm_of_another_dimensionality_is_named():
    conv1d_bn2d = nn.Sequential(nn.Conv1d(3, 16, 3), nn.BatchNorm2d(16))
    err = pg.trace_model(conv1d_bn2d, (2, 3, 10)).error
    assert err.kind is FindingKind.RANK and err.fix.startswith("use BatchNorm1d(16) for 3-D maps")
    fixed = nn.Sequential(nn.Conv1d(3, 16, 3), nn.BatchNorm1d(16)).eval()
    assert pg.trace_model(fixed, (2, 3, 10)).ok   # a valid [N, C, L] batch: no false finding at axis 0
    with torch.no_grad():
        assert fixed(torch.rand(2, 3, 10)).shape == (2, 16, 8)
    err = pg.trace_model(nn.Sequential(nn.Conv2d(3, 16, 3), nn.BatchNorm1d(16)), (2, 3, 10, 10)).error
    assert err.fix.startswith("use BatchNorm2d(16) for 4-D maps")


@pytest.mark.filterwarnings("ignore:input.s size at dim=1 does not match num_features")
def test_instance_norm_takes_unbatched_input_and_warns_only_without_affine():
    model = nn.Sequential(nn.Conv2d(3, 16, 3), nn.InstanceNorm2d(16, affine=True))
    assert pg.trace_model(model, (3, 10, 10)).ok
    assert pg.trace_model(nn.Sequential(nn.Conv2d(3, 16, 3), nn.InstanceNorm2d(8)), (2, 3, 10, 10)).ok
    err = pg.trace_model(nn.Sequential(nn.Conv2d(3, 16, 3), nn.InstanceNorm2d(8, affine=True)), (2, 3, 10, 10)).error
    assert err.kind is FindingKind.NUM_FEATURES and err.fix.startswith("set num_features=16")


def test_linear_first_model_takes_batched_and_single_rows():
    model = nn.Sequential(nn.Linear(10, 4), nn.ReLU(), nn.Linear(4, 2))
    assert pg.trace_model(model, (8, 10)).ok and pg.trace_model(model, (10,)).ok


@pytest.mark.parametrize("shape, call, out", [((2, 1, 3, 20), "x.squeeze(1)", (2, 4, 18)),
                                              ((2, 3, 4, 5), "x.flatten(2)", (2, 4, 18))])
def test_extra_dimensions_into_conv1d_are_dropped(shape, call, out):
    model = nn.Conv1d(3, 4, 3)
    err = pg.trace_model(model, shape).error
    assert err.kind is FindingKind.RANK and call in err.fix
    with torch.no_grad():
        assert model(apply_named_call(err.fix, torch.rand(shape))).shape == out

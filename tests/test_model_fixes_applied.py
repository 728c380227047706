"""The fixes ``trace_model`` names for a model sized for another feature map, applied: the
data-side resize comes first (it keeps a trained model's weights), at the size the trace
computed, and the model then runs on a real resized tensor. And for a map shrunk away
by an unpadded dilated convolution, the fix names that convolution, and padding it keeps
the model running."""

import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from trace_models import LeNet, PooledCNN

import pipeguard as pg
from pipeguard.diagnosis import HypothesisKind
from pipeguard.model import FindingKind

_RESIZE = re.compile(r"pipeguard\.EnsureSize\(\((\d+), (\d+)\)\)")


def resized_to_named_size(fix: str, x: torch.Tensor) -> torch.Tensor:
    """Resize ``x`` to the ``EnsureSize((h, w))`` a fix names (bilinear, as EnsureSize does)."""
    m = _RESIZE.search(fix)
    assert m, f"no EnsureSize in the fix: {fix}"
    return F.interpolate(x, size=(int(m.group(1)), int(m.group(2))), mode="bilinear", align_corners=False)


@pytest.mark.parametrize("model, shape, out", [(PooledCNN(), (2, 3, 64, 64), (2, 10)),
                                               (PooledCNN(), (2, 3, 24, 24), (2, 10)),
                                               (LeNet(), (4, 1, 28, 28), (4, 10))])
def test_resize_comes_first_and_the_resized_input_runs(model, shape, out):
    err = pg.trace_model(model, shape).error
    assert err.kind in (FindingKind.IN_FEATURES, FindingKind.VIEW)
    first = err.fix.split(";")[0]
    assert _RESIZE.search(first), err.fix                       # the data side first
    assert "or change the model" in err.fix                      # the model side still offered, after it
    if err.kind is FindingKind.IN_FEATURES:
        assert err.fix.index("EnsureSize") < err.fix.index("in_features=")
    with torch.no_grad():
        assert model.eval()(resized_to_named_size(err.fix, torch.rand(shape))).shape == out


def test_pipeguard_ensure_size_at_the_named_size_runs():
    model = PooledCNN().eval()
    err = pg.trace_model(model, (1, 3, 64, 64)).error
    image = pg.EnsureSize(err.size)(torch.rand(3, 64, 64))
    with torch.no_grad():
        assert model(image.unsqueeze(0)).shape == (1, 10)


# -- the dilated convolution that shrank the map ---------------------------------------

_PADDING_ON = re.compile(r"^padding=(\d+) on `(\w+)`")


def dilated_then_plain():
    """A dilated 3×3 conv without padding takes 8 pixels off each side's 12, leaving a 4×4
    map that the following 5×5 conv cannot cover."""
    return nn.Sequential(nn.Conv2d(3, 8, 3, dilation=4), nn.Conv2d(8, 8, 5)).eval()


def test_the_dilated_conv_that_shrank_the_map_is_named_and_padding_it_runs():
    model = dilated_then_plain()
    err = pg.trace_model(model, (1, 3, 12, 12)).error
    assert (err.path, err.kind) == ("1", FindingKind.SHRINK)
    assert ("`0` Conv2d(kernel_size=3, dilation=4) shrank the 12×12 map to 4×4 "
            "(out = ⌊(12 + 2·0 − 4·(3−1) − 1)/1⌋ + 1 = 4 per side)") in err.arithmetic
    assert "dilation·(k−1)//2 = 4·(3−1)//2" in err.fix
    assert "on this layer: padding=2 keeps the size" in err.fix        # the failing layer's own fix, after
    m = _PADDING_ON.match(err.fix)
    padding, path = int(m.group(1)), m.group(2)
    model.get_submodule(path).padding = (padding, padding)             # the fix, applied to the real model
    with torch.no_grad():
        assert model(torch.rand(1, 3, 12, 12)).shape == (1, 8, 8, 8)
    assert pg.trace_model(model, (1, 3, 12, 12)).ok


def test_no_earlier_culprit_when_the_failing_conv_is_the_dilated_one_or_none_is_dilated():
    from trace_models import over_dilated, unpadded_stack

    err = pg.trace_model(over_dilated(), (1, 3, 12, 12)).error
    assert err.fix.startswith("padding=8 keeps the size") and "shrank" not in err.arithmetic
    err = pg.trace_model(unpadded_stack(), (1, 1, 28, 28)).error
    assert err.fix.startswith("padding=2 keeps the size") and "shrank" not in err.arithmetic


def test_a_linear_fed_three_channel_images_leads_with_the_channel_fix_and_it_works():
    """The trace said '3 channels where 1 are expected' and offered only in_features=1200000."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(400_000, 10))
    trace = pg.trace_model(model, (8, 3, 500, 800))
    fix = trace.error.fix
    assert fix.startswith("convert the images to 1 channel: pipeguard.EnsureChannels(1) in the transform, ")
    assert fix.endswith("or set in_features=1200000")
    sample = pg.EnsureChannels(1)(torch.rand(3, 500, 800))  # applied to a sample, as the transform would
    assert model(sample.unsqueeze(0)).shape == (1, 10)


def test_flat_small_images_into_a_linear_lead_with_the_resize_before_the_flatten_and_it_works():
    """'likely 32×32 images where 224×224 are expected', and the fix offered only in_features=1024."""
    model = nn.Linear(50_176, 10)
    fix = pg.trace_model(model, (1, 1024)).error.fix
    assert fix.startswith("feed 224×224 images: pipeguard.EnsureSize((224, 224)) in the transform, before the flatten")
    assert fix.endswith("or set in_features=1024")
    image = torch.rand(1, 1, 32, 32)
    assert model(resized_to_named_size(fix, image).flatten(1)).shape == (1, 10)


class _FixedBatchView(nn.Module):
    def __init__(self, view=(64, 3, 32, 32)):
        super().__init__()
        self.shape = view

    def forward(self, x):
        return x.view(*self.shape).flatten(1)


def test_a_view_that_fails_on_the_last_batch_gets_explains_fixes_and_they_work():
    """The trace said 'check the fixed sizes of this reshape' for 49,152 = 16×3×32×32."""
    fix = pg.trace_model(_FixedBatchView(), (16, 3, 32, 32)).error.fix
    assert "DataLoader(drop_last=True)" in fix
    dims = tuple(int(d) for d in re.search(r"x\.view\(([-\d, ]+)\)", fix).group(1).split(","))
    assert dims == (-1, 3, 32, 32)
    assert pg.trace_model(_FixedBatchView(dims), (16, 3, 32, 32)).ok  # the view it names takes the last batch
    assert _FixedBatchView(dims)(torch.rand(16, 3, 32, 32)).shape == (16, 3072)


# -- transformers: every fix offered for a layout, size or channel error, applied -----------

_STEP = re.compile(r"(?P<call>x(?:\.(?:permute|unsqueeze)\([\d, ]*\))+)"
                   r"|pipeguard\.EnsureChannels\((?P<channels>\d+)\)"
                   r"|pipeguard\.EnsureSize\(\((?P<h>\d+), (?P<w>\d+)\)\)")


def applied(fix: str, x: torch.Tensor) -> torch.Tensor:
    """``x`` after every step the fix's first alternative names, in its order: a call on ``x``
    (``x.permute(0, 3, 1, 2)``), ``pipeguard.EnsureChannels(n)``, ``pipeguard.EnsureSize((h, w))``."""
    first = re.split(r"[,;] or ", fix)[0]
    steps = list(_STEP.finditer(first))
    assert steps, f"nothing to apply in the fix: {fix}"
    for step in steps:
        if step["call"]:
            for name, args in re.findall(r"\.(permute|unsqueeze)\(([\d, ]*)\)", step["call"]):
                x = getattr(x, name)(*(int(a) for a in args.split(",")))
        elif step["channels"]:
            x = pg.EnsureChannels(int(step["channels"]))(x)
        else:
            x = pg.EnsureSize((int(step["h"]), int(step["w"])))(x)
    return x


@pytest.fixture(scope="module")
def transformers():
    from torchvision import models

    return {"vit_b_16": models.vit_b_16(weights=None).eval(), "swin_t": models.swin_t(weights=None).eval()}


@pytest.fixture(scope="module")
def output_shape(transformers):
    """The output shape of a real CPU forward, one per model and input shape (whether a model
    runs depends on the shape alone; a ViT-B forward costs most of a second on 2 cores)."""
    seen: dict[tuple, tuple] = {}

    def run(name: str, x: torch.Tensor) -> tuple:
        key = (name, tuple(x.shape))
        if key not in seen:
            with torch.no_grad():
                seen[key] = tuple(transformers[name](x).shape)
        return seen[key]

    return run


# (input shape, a text every transformer's fix holds)
_TRANSFORMER_CASES = {
    "channels-last": ((1, 224, 224, 3), "x.permute(0, 3, 1, 2)"),
    "channels-last-sample": ((224, 224, 3), "x.permute(2, 0, 1).unsqueeze(0)"),
    "no-batch": ((3, 224, 224), "add the batch dimension: x.unsqueeze(0)"),
    "channels-last-other-size": ((1, 256, 256, 3), "x.permute(0, 3, 1, 2)"),
    "other-size": ((1, 3, 256, 256), "pipeguard.EnsureSize((224, 224))"),
    "grayscale": ((1, 1, 224, 224), "pipeguard.EnsureChannels(3)"),
    "rgba": ((1, 4, 224, 224), "pipeguard.EnsureChannels(3)"),
}


@pytest.mark.parametrize("name", ["vit_b_16", "swin_t"])
@pytest.mark.parametrize("case", list(_TRANSFORMER_CASES))
def test_transformer_fixes_for_layout_size_and_channels_work_when_applied(transformers, output_shape, name, case):
    """ViT read channels-last [1, 224, 224, 3] as a 224×3 input and offered EnsureSize((224, 224)),
    which made [1, 224, 224, 224]; a [3, 224, 224] sample got 'no change of the input is known'."""
    model, (shape, must) = transformers[name], _TRANSFORMER_CASES[case]
    trace = pg.trace_model(model, shape)
    if trace.ok:  # swin_t pads its windows: any size runs, and nothing is offered
        assert (name, case) == ("swin_t", "other-size")
        return
    err = trace.error
    assert err.kind is not FindingKind.EXCEPTION and not err.fix.startswith("no change of the input"), err
    assert must in err.fix, err.fix
    if "channels-last" in case:  # read as a layout: permuted, and resized only after the permute
        assert err.diagnosis.best.kind is HypothesisKind.LAYOUT
        assert "EnsureSize" not in err.fix or err.fix.index("permute") < err.fix.index("EnsureSize")
    fixed = applied(err.fix, torch.rand(shape))
    assert output_shape(name, fixed) == (fixed.shape[0], 1000)

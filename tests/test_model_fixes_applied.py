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

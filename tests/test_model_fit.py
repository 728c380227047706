import pytest
import torch
from torch import nn
from torchvision import models
from trace_models import LeNet, PooledCNN

import pipeguard as pg
from pipeguard.model._fit import probe, smallest_square


def test_from_model_finds_the_smallest_square_input_a_flatten_fed_linear_accepts():
    c = pg.Contract.from_model(PooledCNN())
    assert (c.channels, c.size, c.numel) == (3, (40, 40), 4800)
    assert pg.trace_model(PooledCNN(), (1, *c.shape)).ok
    assert not pg.trace_model(PooledCNN(), (1, 3, 39, 39)).ok      # smallest: one less does not fit
    lenet = pg.Contract.from_model(LeNet())                      # functional pooling, fixed view
    assert (lenet.channels, lenet.size) == (1, (32, 32))


def test_models_that_take_any_size_get_no_size():
    assert pg.Contract.from_model(models.resnet18(weights=None)).size is None
    fit = smallest_square(nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                        nn.Linear(4, 2)), 3)
    assert fit.side == 3 and not fit.pinned


def test_no_square_size_fits_is_explained_with_both_neighbours():
    with pytest.raises(ValueError) as info:
        pg.Contract.from_model(PooledCNN(in_features=2001))
    text = str(info.value)
    assert "no square input size fits PooledCNN" in text
    assert "at 43×43 fc: Linear(in_features=2001) receives 2000 = 20×10×10 features" in text
    assert "at 44×44 fc: Linear(in_features=2001) receives 2420 = 20×11×11 features" in text


def test_a_given_size_is_checked_by_the_trace():
    assert pg.Contract.from_model(PooledCNN(), size=40).size == (40, 40)
    with pytest.raises(ValueError, match=r"does not accept 64×64 inputs: fc: Linear\(in_features=2000\) receives 5120"):
        pg.Contract.from_model(PooledCNN(), size=(64, 64))
    with torch.device("meta"):
        vit = models.vit_b_16(weights=None)
    assert pg.Contract.from_model(vit).shape == (3, 224, 224)
    with pytest.raises(ValueError, match="Expected 224 but got 112"):
        pg.Contract.from_model(vit, size=112)


def test_probe_verdicts():
    model = PooledCNN()
    assert probe(model, 3, 1).verdict == -1                  # pooled away: too small
    small, fit, large = probe(model, 3, 36), probe(model, 3, 40), probe(model, 3, 64)
    assert (small.verdict, small.features) == (-1, 20 * 9 * 9)
    assert (fit.verdict, fit.features) == (0, 2000)
    assert (large.verdict, large.features) == (1, 5120)
    assert probe(LeNet(), 1, 64).verdict == 1                # the fixed view overflows

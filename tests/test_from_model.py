import pytest
import torch
from torch import nn
from torchvision import models

import pipeguard as pg


def test_conv_first_layer_gives_channels_and_dtype():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(10))
    c = pg.Contract.from_model(model, size=(32, 32))
    assert (c.channels, c.size, c.numel, c.dtype) == (3, (32, 32), 3072, "float32")
    assert c.name == "Sequential"


def test_linear_first_layer_after_flatten_gives_numel():
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    c = pg.Contract.from_model(model)
    assert c.numel == 784 and c.channels is None
    assert pg.Contract.from_model(model, size=(28, 28)).shape == (1, 28, 28)
    with pytest.raises(ValueError, match="784 features"):
        pg.Contract.from_model(model, size=(30, 30))


def test_nested_and_torchvision_models():
    assert pg.Contract.from_model(models.resnet18(weights=None)).channels == 3
    vit = models.vit_b_16(weights=None)
    c = pg.Contract.from_model(vit)
    assert c.shape == (3, 224, 224)        # ViT fixes its image size


class Custom(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = nn.BatchNorm2d(3)
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return self.conv(self.norm(x))


def test_clear_errors_without_a_hint():
    with pytest.raises(ValueError, match="cannot read a contract from Custom"):
        pg.Contract.from_model(Custom())
    with pytest.raises(ValueError, match="lazy"):
        pg.Contract.from_model(nn.Sequential(nn.LazyConv2d(8, 3)))
    with pytest.raises(TypeError, match="nn.Module"):
        pg.Contract.from_model(lambda x: x)


def test_half_precision_model():
    model = nn.Sequential(nn.Conv2d(1, 4, 3)).to(torch.float16)
    assert pg.Contract.from_model(model).dtype == "float16"


# -- models that resize inside, models built for 224 that state it nowhere, no square fit --------

@pytest.mark.parametrize("build", [models.detection.fasterrcnn_mobilenet_v3_large_320_fpn,
                                   models.detection.retinanet_resnet50_fpn,
                                   models.detection.ssdlite320_mobilenet_v3_large])
def test_detection_models_take_channels_from_the_backbone_and_leave_the_size_open(build, caplog):
    """'first layer is not a Conv or Linear': GeneralizedRCNNTransform (normalise, resize) comes first."""
    model = build(weights=None, weights_backbone=None)
    with caplog.at_level("INFO", logger="pipeguard.model"):
        c = pg.Contract.from_model(model)
    assert (c.channels, c.size, c.dtype) == (3, None, "float32")
    assert "resizes and normalises its images itself (GeneralizedRCNNTransform" in caplog.text
    assert "3 channels read from its backbone's first conv, size left open" in caplog.text
    assert pg.Contract.from_model(model, size=(300, 200)).shape == (3, 300, 200)   # any size: kept as given


def test_a_detection_model_takes_images_of_any_size_as_its_contract_says():
    model = models.detection.fasterrcnn_mobilenet_v3_large_320_fpn(weights=None, weights_backbone=None).eval()
    c = pg.Contract.from_model(model)
    with torch.no_grad():
        out = model([torch.rand(c.channels, 97, 150), torch.rand(c.channels, 200, 64)])
    assert [sorted(o) for o in out] == [["boxes", "labels", "scores"]] * 2


def test_maxvit_gets_the_224_its_window_partitions_fit():
    """No size although MaxViT takes 224×224 only: it states no size, and the search for a
    flatten-fed Linear's size finds none (its Linear follows a global pooling)."""
    model = models.maxvit_t(weights=None)
    assert pg.Contract.from_model(model).size == (224, 224)
    assert pg.trace_model(model, (1, 3, 224, 224)).ok
    assert not pg.trace_model(model, (1, 3, 225, 225)).ok and not pg.trace_model(model, (1, 3, 256, 256)).ok


class _View(nn.Module):
    def __init__(self, *shape):
        super().__init__()
        self.shape = shape

    def forward(self, x):
        return x.view(*self.shape)


def test_no_square_size_fits_names_a_probe_that_ran_but_folded_the_batch():
    """The message read the error of each probe around the fit; a probe whose view folded two
    samples into one batch ran without an error, and the message raised AttributeError."""
    model = nn.Sequential(nn.Conv2d(3, 2, 1), _View(-1, 9), nn.Linear(9, 2))   # 2×3×3 = 2 rows of 9
    with pytest.raises(ValueError, match="no square input size fits Sequential") as info:
        pg.Contract.from_model(model)
    text = str(info.value)
    assert "at 2×2 1 (_View.forward, after 0): view/reshape to [-1, 9] fails on 8 elements" in text
    assert "at 3×3 it runs but returns [2, 2] for 1 sample (a fixed-size view or reshape folds samples" in text
    assert text.endswith("Pass size=(height, width) for a non-square input, or fix the layer "
                         "(see pipeguard.trace_model)")

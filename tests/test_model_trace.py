import dataclasses
import itertools
import json
import warnings

import pytest
import torch
from torch import nn
from torchvision import models
from trace_models import (
    LeNet,
    PooledCNN,
    Residual,
    ValueDependent,
    over_dilated,
    unpadded_stack,
)

import pipeguard as pg
from pipeguard.diagnosis import HypothesisKind
from pipeguard.model import FindingKind
from pipeguard.model._layer_arithmetic import Window


def meta_forward(layer, shape):
    """What torch itself computes for ``layer`` on an input of ``shape`` (no memory)."""
    return tuple(layer.to("meta")(torch.empty(shape, device="meta")).shape)


# -- the seeds' models -------------------------------------------------------------

def test_linear_sized_for_a_smaller_map():
    trace = pg.trace_model(PooledCNN(), (1, 3, 64, 64))
    assert not trace.ok and trace.output_shape is None
    err = trace.error
    assert (err.path, err.layer) == ("fc", "Linear") and err.kind is FindingKind.IN_FEATURES
    assert err.headline == "fc: Linear(in_features=2000) receives 5120 = 20×16×16 features"
    assert err.expected == 2000 and err.actual == (1, 20, 16, 16)
    assert err.input_shape == (1, 5120)
    assert "2000 = 20×10×10 would need a 10×10 map" in err.arithmetic
    assert "the output of `pool` [1, 20, 16, 16], flattened" in err.arithmetic
    assert "set in_features=5120" in err.fix
    # found by re-tracing at other sizes, and offered before the change that drops trained weights
    assert err.fix.startswith("feed 40×40 images: pipeguard.EnsureSize((40, 40))") and err.size == (40, 40)
    # one row per leaf call, the shared pool twice, stopping at the failing layer
    assert [r.path for r in trace.rows] == ["conv1", "pool", "conv2", "pool", "fc"]
    assert [r.output_shape for r in trace.rows[:4]] == [(1, 10, 64, 64), (1, 10, 32, 32),
                                                       (1, 20, 32, 32), (1, 20, 16, 16)]
    assert trace.rows[-1].failed and trace.rows[-1].output_shape is None
    assert trace["fc"].params == 2000 * 10 + 10
    # and at the size it was built for, it fits
    fits = pg.trace_model(PooledCNN(), (1, 3, 40, 40))
    assert fits.ok and fits.output_shape == (1, 10) and fits["fc"].input_shape == (1, 2000)


def test_one_channel_batch_into_three_channel_conv():
    trace = pg.trace_model(PooledCNN(), (8, 1, 40, 40))
    err = trace.error
    assert err.headline == "conv1: Conv2d(in_channels=3) receives 1 channel"
    assert err.kind is FindingKind.IN_CHANNELS and err.actual == (8, 1, 40, 40) and err.expected == (8, 3, 40, 40)
    assert "pipeguard.EnsureChannels(3)" in err.fix
    assert err.diagnosis.best.kind is HypothesisKind.CHANNELS
    assert len(trace.rows) == 1 and trace.rows[0].failed


def test_channel_mismatch_deeper_in_the_model_points_at_the_previous_layer():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(16, 4, 3))
    err = pg.trace_model(model, (1, 3, 16, 16)).error
    assert err.headline == "2: Conv2d(in_channels=16) receives 8 channels"
    assert err.fix == "set in_channels=8, or make `1` output 16 channels"


def test_over_dilated_conv():
    trace = pg.trace_model(over_dilated(), (1, 3, 12, 12))
    err = trace.error
    assert err.path == "2" and err.kind is FindingKind.SHRINK
    assert err.summary == "Conv2d(kernel_size=3, dilation=8) spans 17×17 pixels, more than the 10×10 map it receives"
    assert err.arithmetic == "out = ⌊(10 + 2·0 − 8·(3−1) − 1)/1⌋ + 1 = −6 per side"
    assert "padding=8 keeps the size" in err.fix and "dilation=4 or less" in err.fix
    assert "or feed inputs of 19×19 or larger" in err.fix
    # the suggested fixes really fit, by torch's own arithmetic
    assert meta_forward(nn.Conv2d(8, 8, 3, dilation=8, padding=8), (1, 8, 10, 10)) == (1, 8, 10, 10)
    assert meta_forward(nn.Conv2d(8, 8, 3, dilation=4), (1, 8, 10, 10)) == (1, 8, 2, 2)
    assert pg.trace_model(over_dilated(), (1, 3, 19, 19)).ok
    assert not pg.trace_model(over_dilated(), (1, 3, 18, 18)).ok


def test_unpadded_convs_shrink_the_map_to_nothing():
    trace = pg.trace_model(unpadded_stack(), (1, 1, 28, 28))
    convs = [r for r in trace.rows if r.layer == "Conv2d"]
    assert [r.input_shape[-1] for r in convs] == [28, 24, 20, 16, 12, 8, 4]
    err = trace.error
    assert err.path == "12" and err.input_shape == (1, 4, 4, 4)
    assert err.arithmetic == "out = ⌊(4 + 2·0 − 1·(5−1) − 1)/1⌋ + 1 = 0 per side"
    assert err.fix.startswith("padding=2 keeps the size (4×4 in, 4×4 out)")


def test_pooling_below_one_pixel_and_non_square_maps():
    trace = pg.trace_model(nn.Sequential(nn.MaxPool2d(2), nn.MaxPool2d(2), nn.MaxPool2d(2)), (1, 3, 4, 4))
    assert trace.error.path == "2"
    assert trace.error.summary == "MaxPool2d(kernel_size=2) would shrink the 1×1 map to 0×0"
    assert "ceil_mode=True" in trace.error.fix
    wide = pg.trace_model(nn.Sequential(nn.Conv2d(3, 4, (3, 7))), (1, 3, 32, 5))
    assert wide.error.kind is FindingKind.SHRINK and wide.error.arithmetic.startswith("W: out = ⌊(5 + 2·0 − 1·(7−1) − 1)/1⌋")


def test_window_arithmetic_matches_torch():
    sizes = (1, 2, 5, 8, 13)
    for k, s, p, d, size in itertools.product((1, 2, 3, 5), (1, 2, 3), (0, 1, 2), (1, 2, 3), sizes):
        w = Window(k, s, p, d)
        conv = nn.Conv2d(1, 1, k, stride=s, padding=p, dilation=d)
        if w.out(size) >= 1:
            assert meta_forward(conv, (1, 1, size, size))[-1] == w.out(size), (k, s, p, d, size)
        else:
            with pytest.raises(RuntimeError):
                meta_forward(conv, (1, 1, size, size))
        if p <= k // 2:  # torch's own limit for pooling padding
            for ceil in (False, True):
                pw = Window(k, s, p, d, ceil)
                pool = nn.MaxPool2d(k, s, p, d, ceil_mode=ceil)
                if pw.out(size) >= 1:
                    assert meta_forward(pool, (1, 1, size, size))[-1] == pw.out(size), (k, s, p, d, ceil, size)
    for k, d in ((3, 1), (3, 8), (5, 2), (7, 1)):
        keep = Window(k, 1, 0, d).keeping_padding()
        assert meta_forward(nn.Conv2d(1, 1, k, padding=keep, dilation=d), (1, 1, 9, 9)) == (1, 1, 9, 9)


def test_other_layer_checks():
    unflattened = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Linear(4 * 6 * 6, 10))
    err = pg.trace_model(unflattened, (1, 3, 8, 8)).error
    assert err.kind is FindingKind.IN_FEATURES and "last dimension is 6" in err.summary
    assert "nn.Flatten()" in err.fix
    bn = pg.trace_model(nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(16)), (1, 3, 8, 8)).error
    assert bn.headline == "1: BatchNorm2d(num_features=16) receives 8 channels"
    flat = pg.trace_model(nn.Sequential(nn.Flatten(), nn.Conv2d(3, 4, 3)), (1, 3, 8, 8)).error
    assert flat.kind is FindingKind.RANK and "receives 2-D [1, 192]" in flat.summary
    ln = pg.trace_model(nn.Sequential(nn.Linear(8, 6), nn.LayerNorm(8)), (2, 8)).error
    assert ln.kind is FindingKind.NORMALIZED_SHAPE and ln.fix == "set normalized_shape=[6]"


# -- forward code, not only Sequential -------------------------------------------------

def test_functional_forward_traces_and_explains_a_fixed_view():
    ok = pg.trace_model(LeNet(), (4, 1, 32, 32))
    assert ok.ok and ok.output_shape == (4, 10)
    assert [r.path for r in ok.rows] == ["conv1", "conv2", "fc1", "fc2", "fc3"]
    assert ok["fc1"].input_shape == (4, 400)

    err = pg.trace_model(LeNet(), (4, 1, 28, 28)).error
    assert err.in_forward and (err.path, err.layer, err.after) == ("", "LeNet", "conv2")
    assert err.where == "LeNet.forward, after conv2"
    assert err.kind is FindingKind.VIEW
    assert "shape '[-1, 400]' is invalid for input of size 1024" in err.exception
    assert err.call == "view on [4, 16, 4, 4]"       # the pooled map, seen through the functional call
    assert "1024 elements = 4×16×4×4" in err.summary
    assert "16×5×5" in err.diagnosis.best.arithmetic
    assert err.fix.startswith("feed 32×32 images: pipeguard.EnsureSize((32, 32))") and err.size == (32, 32)
    assert "likely" in str(err) and "raised" in str(err)


def test_failure_in_a_submodule_forward_names_it():
    model = nn.Sequential(nn.Conv2d(3, 8, 1), Residual())
    err = pg.trace_model(model, (1, 3, 8, 8)).error
    assert err.in_forward and (err.path, err.layer, err.after) == ("1", "Residual", "1.bn")
    assert err.kind is FindingKind.BROADCAST and "16 vs 8" in err.summary
    assert err.where == "1 (Residual.forward, after 1.bn)"


def test_value_dependent_model_falls_back_to_cpu():
    trace = pg.trace_model(ValueDependent(), (2, 3, 8, 8))
    assert trace.ok and trace.device == "cpu" and trace.output_shape == (2, 2)
    assert "meta" in trace.fallback
    assert "real cpu tensors" in str(trace)


# -- torchvision --------------------------------------------------------------------

def test_resnet18_traces_on_meta_without_touching_the_model():
    model = models.resnet18(weights=None).train()
    before = {k: v.clone() for k, v in model.state_dict().items() if k.endswith("running_mean")}
    trace = pg.trace_model(model, (2, 3, 224, 224))
    assert trace.ok and trace.device == "meta" and trace.output_shape == (2, 1000)
    assert trace["layer4.1.conv2"].output_shape == (2, 512, 7, 7)
    assert trace["avgpool"].output_shape == (2, 512, 1, 1) and trace.rows[-1].path == "fc"
    assert trace.params == sum(p.numel() for p in model.parameters())
    assert [r.index for r in trace.rows] == list(range(1, len(trace.rows) + 1))
    # the user's model is untouched: on CPU, in training mode, no hooks left, same statistics
    assert all(p.device.type == "cpu" for p in model.parameters())
    assert all(m.training for m in model.modules())
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items() if k in before)


def test_mobilenet_v3_small_agrees_with_a_real_forward_pass():
    model = models.mobilenet_v3_small(weights=None).eval()
    trace = pg.trace_model(model, (1, 3, 64, 64))
    with torch.no_grad():
        real = model(torch.zeros(1, 3, 64, 64))
    assert trace.ok and trace.output_shape == tuple(real.shape)


def test_vit_b_16_fixes_its_image_size():
    with torch.device("meta"):        # no weights to initialise: fast
        vit = models.vit_b_16(weights=None)
    trace = pg.trace_model(vit, (1, 3, 224, 224))
    assert trace.ok and trace.output_shape == (1, 1000)
    attention = trace["encoder.layers.encoder_layer_11.self_attention"]
    assert attention.layer == "MultiheadAttention" and attention.input_shapes == ((1, 197, 768),) * 3
    bad = pg.trace_model(vit, (1, 3, 112, 112))
    err = bad.error
    assert not bad.rows and err.in_forward and err.layer == "VisionTransformer"
    assert err.kind is FindingKind.ASSERTION and "Expected 224 but got 112" in err.exception
    assert err.summary == "the model checks its input size: built for 224×224, receives 112×112"
    assert "pipeguard.EnsureSize((224, 224))" in err.fix and err.size == (224, 224)
    assert pg.trace_model(vit, (1, 3, *err.size)).ok


# -- the value ------------------------------------------------------------------------

def test_trace_is_data_and_renders_an_aligned_table():
    trace = pg.trace_model(PooledCNN(), (1, 3, 64, 64))
    assert dataclasses.is_dataclass(trace) and dataclasses.is_dataclass(trace.error)
    assert all(dataclasses.is_dataclass(r) for r in trace.rows)
    raw = trace.to_dict()
    assert type(raw["error"]["kind"]) is str and raw["error"]["kind"] == FindingKind.IN_FEATURES.value
    data = json.loads(json.dumps(raw))
    assert data["ok"] is False and data["error"]["path"] == "fc" and len(data["rows"]) == 5
    lines = str(trace).splitlines()
    header = next(i for i, line in enumerate(lines) if line.lstrip().startswith("#"))
    table = lines[header:header + 6]
    for column in ("layer", "type", "input", "output"):
        starts = {line.index(cell) for line, cell in zip(table, _column(trace, column))}
        assert len(starts) == 1, (column, table)
    assert "FAILED" in lines[header + 5]
    assert "fc: Linear(in_features=2000) receives 5120 = 20×16×16 features" in str(trace)
    ok = str(pg.trace_model(PooledCNN(), (1, 3, 40, 40)))
    assert ok.splitlines()[-1] == "output [1, 10]; 5 layer calls, 25,790 parameters"


def _column(trace, name):
    cells = {"layer": lambda r: r.path, "type": lambda r: r.layer,
             "input": lambda r: str(list(r.input_shape)),
             "output": lambda r: "FAILED" if r.failed else str(list(r.output_shape))}
    return [name] + [cells[name](r) for r in trace.rows]


def test_lazy_modules_trace_without_materialising_the_users_model():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.LazyLinear(10))
    trace = pg.trace_model(model, (1, 3, 8, 8))
    assert trace.ok and trace.output_shape == (1, 10) and trace.rows[-1].input_shape == (1, 144)
    assert model[2].has_uninitialized_params()


def test_bad_arguments():
    with pytest.raises(TypeError, match="nn.Module"):
        pg.trace_model(lambda x: x, (1, 3))
    with pytest.raises(ValueError, match="input_shape"):
        pg.trace_model(nn.Linear(3, 2), "1,3")
    with pytest.raises(ValueError, match="input_shape"):
        pg.trace_model(nn.Linear(3, 2), (1.5, 3))  # not silently truncated to (1, 3)
    with pytest.raises(ValueError, match="non-negative"):
        pg.trace_model(nn.Linear(3, 2), (1, -3))
    assert pg.trace_model(nn.Linear(3, 2), (4, 3), dtype="float64").dtype == "float64"


def test_dtype_mismatch_is_named_even_where_meta_kernels_do_not_check():
    err = pg.trace_model(nn.Sequential(nn.Conv2d(3, 4, 3)), (1, 3, 8, 8), dtype=torch.uint8).error
    assert err.headline == "0: Conv2d has float32 weights, receives uint8 input"
    assert err.kind is FindingKind.DTYPE and not err.is_shape_error and not FindingKind.EXCEPTION.is_shape and "ToDtype(torch.float32, scale=True)" in err.fix
    half = pg.trace_model(nn.Sequential(nn.Flatten(), nn.Linear(3, 4).half()), (1, 3)).error
    assert half.headline == "1: Linear has float16 weights, receives float32 input"


def test_flattened_model_input_is_read_as_images():
    err = pg.trace_model(nn.Sequential(nn.Flatten(), nn.Linear(784, 10)), (1, 3, 32, 32)).error
    assert err.summary == "Linear(in_features=784) receives 3072 = 3×32×32 features"
    assert "784 = 1×28×28: 1-channel 28×28 images" in err.arithmetic
    assert err.fix.startswith("feed 1-channel 28×28 images (pipeguard.EnsureChannels(1), "
                              "pipeguard.EnsureSize((28, 28)))")


class _KeywordCall(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(input=x)


class _MakesCpuTensors(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x + torch.ones(4))        # a CPU tensor: cannot mix with meta


def test_keyword_inputs_and_cpu_tensors_made_in_forward():
    err = pg.trace_model(_KeywordCall(), (1, 5)).error
    assert err.headline == "fc: Linear(in_features=4) receives 5 features"
    trace = pg.trace_model(_MakesCpuTensors(), (3, 4))
    assert trace.ok and trace.device == "cpu" and trace.output_shape == (3, 2)
    assert "meta" in trace.fallback


def test_torchscript_is_refused_with_a_reason():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")           # torch.jit.script is deprecated
        scripted = torch.jit.script(nn.Linear(2, 2))
    with pytest.raises(TypeError, match="TorchScript"):
        pg.trace_model(scripted, (1, 2))


class _FunctionalConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(8, 3, 3, 3))

    def forward(self, x):
        return torch.nn.functional.conv2d(x, self.weight)


def test_functional_conv_with_the_wrong_channels_is_explained():
    trace = pg.trace_model(_FunctionalConv(), (2, 1, 16, 16))
    err = trace.error
    assert trace.device == "cpu"           # the meta kernel only says "Invalid channel dimensions"
    assert err.in_forward and err.kind is FindingKind.IN_CHANNELS and err.call == "conv2d on [2, 1, 16, 16] and [8, 3, 3, 3]"
    assert err.summary == "a convolution expects 3 channels, receives 1"
    assert err.diagnosis.best.kind is HypothesisKind.CHANNELS and "EnsureChannels(3)" in err.fix

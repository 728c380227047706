"""Why a layer cannot take its input, with numbers: the checks ``trace_model`` runs before
each layer, and readings of the shape errors torch raises where no check applies.

A check receives the layer, the shape it is about to get and the shapes seen so far
(``history``: ``(where, shape)`` pairs, the model input first), and returns a
:class:`Finding` or ``None``. Findings say what the layer is and what it receives
("``Linear(in_features=2000) receives 5120 = 20×16×16 features``"), the arithmetic,
and the fix (the right ``in_features``, the padding that keeps the size,
``pipeguard.EnsureChannels(3)`` on the data side).
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import TYPE_CHECKING, Any, Optional, Sequence

from ..diagnosis import explain, first_line, isqrt_exact, numbers
from . import _input_layout as layout
from ._findings import Call, Finding, FindingKind, compact
from ._layer_arithmetic import Window, windows

if TYPE_CHECKING:  # annotations only: torch is imported where it runs
    import torch
    from torch import nn

Shape = tuple[int, ...]
History = Sequence[tuple[str, Shape]]

# -- formatting helpers ------------------------------------------------------------

_compact = compact


def _scalar(value: Any) -> Any:
    if isinstance(value, (tuple, list)) and value and all(v == value[0] for v in value):
        return value[0]
    return tuple(value) if isinstance(value, list) else value


def layer_repr(layer: nn.Module, fields: Sequence[str], defaults: Optional[dict] = None) -> str:
    """``Conv2d(kernel_size=3, dilation=8)``: the named fields, squares as one number,
    fields equal to their default left out."""
    defaults = defaults or {}
    parts = []
    for name in fields:
        value = _scalar(getattr(layer, name, None))
        if value is None or defaults.get(name, object()) == value:
            continue
        parts.append(f"{name}={list(value) if isinstance(value, tuple) else value}")
    return f"{type(layer).__name__}({', '.join(parts)})"


def map_source(history: History, features: int, batch: Optional[int]) -> Optional[tuple[str, Shape]]:
    """The latest spatial map (rank ≥ 3) in ``history`` that flattens to ``features`` per sample."""
    for where, shape in reversed(history):
        if shape is None or len(shape) < 3 or (batch is not None and shape[0] != batch):
            continue
        if math.prod(shape[1:]) == features:
            return where, shape
    return None


def _the(where: str) -> str:
    if where == "input":
        return "the model input"
    return f"the result of {where}" if where.endswith("()") else f"the output of `{where}`"


# -- checks before a layer runs ----------------------------------------------------

def check_layer(layer: nn.Module, x_shape: Optional[Shape], history: History,
                dtype: Optional[torch.dtype] = None) -> Optional[Finding]:
    """What stops ``layer`` from taking an input of ``x_shape`` (and ``dtype``), or ``None``."""
    import torch.nn as nn

    if x_shape is None:
        return None
    if not getattr(type(layer).forward, "__module__", "").startswith("torch.nn."):
        return None  # a subclass with its own forward (LayerNorm2d permutes first): torch decides
    weight = getattr(layer, "weight", None)
    if isinstance(weight, nn.parameter.UninitializedParameter):
        return None  # a lazy layer sizes itself from this very input
    if dtype is not None and isinstance(layer, (nn.Linear, nn.modules.conv._ConvNd)) and weight is not None \
            and weight.dtype != dtype:
        return _dtype(layer, weight.dtype, dtype)
    if isinstance(layer, nn.Linear):
        return _linear(layer, x_shape, history)
    if isinstance(layer, nn.modules.conv._ConvNd):
        return _conv(layer, x_shape, history)
    if isinstance(layer, (nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd)):
        return _pool(layer, x_shape)
    if isinstance(layer, nn.modules.batchnorm._NormBase) and layer.num_features:
        return _norm_channels(layer, x_shape, "num_features", layer.num_features, history)
    if isinstance(layer, nn.GroupNorm):
        return _norm_channels(layer, x_shape, "num_channels", layer.num_channels, history)
    if isinstance(layer, nn.LayerNorm):
        return _layer_norm(layer, x_shape)
    return None


def _dtype(layer: nn.Module, want: torch.dtype, got: torch.dtype) -> Finding:
    weights, data = numbers.dtype_name(want), numbers.dtype_name(got)
    if got.is_floating_point:
        fix = f"cast the input with x.to(torch.{weights}), or the model with model.to(torch.{data})"
    else:
        fix = (f"convert the images to floats: v2.ToDtype(torch.{weights}, scale=True) "
               "(or ToTensor(), which also scales to [0, 1])")
    return Finding(FindingKind.DTYPE, f"{type(layer).__name__} has {weights} weights, receives {data} input",
                   expected=weights, actual=data, fix=fix)


def _linear(layer: nn.Module, x: Shape, history: History) -> Optional[Finding]:
    want, got = layer.in_features, x[-1] if x else 0
    if not x or got == want:
        return None
    head = f"Linear(in_features={want})"
    if len(x) >= 3:
        diag = explain((x[0], want), x) if math.prod(x[1:]) == want else explain(want, got)
        return Finding(
            FindingKind.IN_FEATURES, f"{head} receives {numbers.shape(x)}, whose last dimension is {got}",
            expected=want, actual=x, diagnosis=diag,
            arithmetic=(f"{want} = {_compact(x[1:])}: the map is not flattened" if math.prod(x[1:]) == want
                        else f"a Linear acts on the last dimension ({got}), not on {want}"),
            fix=("add nn.Flatten() (or x.flatten(1)) before this layer" if math.prod(x[1:]) == want
                 else f"set in_features={got}, or flatten/reshape the input first"))
    batch = x[0] if len(x) == 2 else None
    source = map_source(history, got, batch)
    if source is None:
        return Finding(FindingKind.IN_FEATURES, f"{head} receives {got} features",
                       expected=want, actual=x, diagnosis=explain(want, got), fix=f"set in_features={got}")
    where, src = source
    c, spatial = src[1], src[2:]
    diag = explain((batch or 1, want), src if batch is not None else (1, *src[1:]))
    need = _needed_map(want, c, len(spatial))
    arithmetic = f"{got} = {_compact(src[1:])} features: {_the(where)} {numbers.shape(src)}, flattened"
    fix = f"set in_features={got}"
    summary = f"{head} receives {got} = {_compact(src[1:])} features"
    if need is not None:
        arithmetic += f"; {want} = {c}×{_compact(need)} would need a {_compact(need)} map"
        fix += (f" (for this {_compact(spatial)} map), or change the padding/stride/pooling or the "
                f"input size so the map is {_compact(need)}")
    else:
        arithmetic += f"; {want} is not {c} × a square map"
        reading = _image_reading(want) if where == "input" and len(spatial) == 2 else None
        if reading is not None:
            c2, side = reading
            arithmetic += f", but {want} = {c2}×{side}×{side}: {c2}-channel {side}×{side} images"
            steps = ([f"pipeguard.EnsureChannels({c2})"] if c2 != c else []) + \
                [f"pipeguard.EnsureSize(({side}, {side}))"]
            fix = f"feed {c2}-channel {side}×{side} images ({', '.join(steps)}), or {fix}"
    return Finding(FindingKind.IN_FEATURES, summary, expected=want, actual=src, arithmetic=arithmetic,
                   fix=fix, diagnosis=diag)


def _needed_map(features: int, channels: int, rank: int) -> Optional[tuple[int, ...]]:
    if channels <= 0 or features % channels:
        return None
    per = features // channels
    if rank == 1:
        return (per,)
    if rank == 2:
        side = isqrt_exact(per)
        return (side, side) if side else None
    side = round(per ** (1 / rank))
    return (side,) * rank if side ** rank == per else None


def _image_reading(features: int) -> Optional[tuple[int, int]]:
    """``784`` -> ``(1, 28)``: ``features`` as a square image of 1, 3 or 4 channels."""
    for c in (1, 3, 4):
        side = isqrt_exact(features // c) if features % c == 0 else None
        if side and side > 1:
            return c, side
    return None


def _dims_text(rank: int) -> str:
    return {1: "[N, C, L]", 2: "[N, C, H, W]", 3: "[N, C, D, H, W]"}[rank]


def _conv(layer: nn.Module, x: Shape, history: History) -> Optional[Finding]:
    import torch.nn as nn

    d = len(layer.kernel_size)
    if d == 3 and len(x) == 4 and x[0] != layer.in_channels and _is_model_input(x, history):
        return _clip_without_time(layer, x)
    if len(x) not in (d + 1, d + 2):
        return _conv_rank(layer, x, d)
    got, want = x[-(d + 1)], layer.in_channels
    if got != want and d == 3 and len(x) == 5:
        return _clip_channels(layer, x, history)
    if got != want:
        return _conv_channels_differ(layer, x, history, d)
    if isinstance(layer, nn.modules.conv._ConvTransposeNd):
        return None
    return _shrink(layer, x[-d:], windows(layer, d),
                   layer_repr(layer, ("kernel_size", "stride", "padding", "dilation"),
                              {"stride": 1, "padding": 0, "dilation": 1}))


def _conv_rank(layer: nn.Module, x: Shape, d: int) -> Finding:
    """A convolution given a number of dimensions it cannot take."""
    if len(x) < d + 1:
        fix = f"reshape to {_dims_text(d)}, e.g. nn.Unflatten(1, (C, H, W)) or x.view(N, C, H, W)"
    else:
        drop = layout.extra_dims(x, layer.in_channels, d)
        fix = (f"drop the extra dimensions: {drop}" if drop
               else "remove the extra dimensions (x.squeeze(...)) or fold them into the batch")
    return Finding(
        FindingKind.RANK, f"{type(layer).__name__} expects a {d + 2}-D {_dims_text(d)} (or {d + 1}-D unbatched) "
        f"input, receives {len(x)}-D {numbers.shape(x)}", expected=d + 2, actual=x, fix=fix)


def _conv_channels_differ(layer: nn.Module, x: Shape, history: History, d: int) -> Finding:
    """A convolution given another channel count: channels-last data, data of other
    channels, or an earlier layer's output."""
    got, want = x[-(d + 1)], layer.in_channels
    summary = f"{type(layer).__name__}(in_channels={want}) receives {numbers.plural(got, 'channel')}"
    arithmetic = f"{numbers.shape(x)} has {got} at the channel axis, the weight wants {want}"
    last = layout.channels_last(x, want, d) if layout.is_model_input(x, history) else None
    if last is not None:
        return Finding(FindingKind.IN_CHANNELS, summary, expected=last.shape, actual=x,
                       diagnosis=explain(last.shape if len(x) == d + 2 else last.shape[1:], x),
                       arithmetic=f"{numbers.shape(x)} has {got} at the channel axis and {x[-1]} last; "
                                  f"the weight wants {want} channels",
                       fix=layout.channels_last_fix(last, want, d))
    expected = x[:-(d + 1)] + (want,) + x[-d:]
    first = len(history) <= 1 or all(w == "input" for w, _ in history)
    if first or (history and history[-1][1] == x and history[-1][0] == "input"):
        fix = (f"convert the data to {want} channels: pipeguard.EnsureChannels({want}) in the transform"
               + (f" (the batch holds {got}-channel images)" if got in (1, 2, 4) else ""))
    else:
        prev = history[-1][0] if history else "the previous layer"
        fix = f"set in_channels={got}, or make `{prev}` output {want} channels"
    return Finding(FindingKind.IN_CHANNELS, summary, expected=expected, actual=x,
                   diagnosis=explain(expected, x), arithmetic=arithmetic, fix=fix)


def _is_model_input(x: Shape, history: History) -> bool:
    return all(w == "input" for w, _ in history) and bool(history) and history[0][1] == x


def _clip_without_time(layer: nn.Module, x: Shape) -> Finding:
    """A 4-D batch of images into a Conv3d: torch reads it as one unbatched [C, T, H, W] clip."""
    want = layer.in_channels
    return Finding(
        FindingKind.RANK,
        f"{type(layer).__name__} expects clips [N, C, T, H, W], receives 4-D {numbers.shape(x)}, "
        f"which torch reads as one unbatched clip [C, T, H, W] of {numbers.plural(x[0], 'channel')}",
        expected=5, actual=x,
        arithmetic=f"{numbers.shape(x)} has no time axis: read as [C={x[0]}, T={x[1]}, H={x[2]}, W={x[3]}], "
                   f"the weight wants C={want}",
        fix=(f"add the time axis: feed [N, C, T, H, W] clips (stack each clip's frames on dim 2; "
             f"one frame per clip: x.unsqueeze(2), giving {numbers.shape((x[0], x[1], 1, *x[2:]))})"))


def _clip_channels(layer: nn.Module, x: Shape, history: History) -> Finding:
    """A Conv3d whose clips have another channel count: frames, not one big image."""
    want, (n, c, t, h, w) = layer.in_channels, x
    name = type(layer).__name__
    arithmetic = f"{numbers.shape(x)} = {numbers.plural(n, 'clip')} of {t} frames, {c}×{h}×{w} each"
    if t == want and _is_model_input(x, history):
        fix = (f"the clips are [N, T, C, H, W] ({t} channels at axis 2): permute them to [N, C, T, H, W] "
               "with x.permute(0, 2, 1, 3, 4)")
    elif _is_model_input(x, history):
        fix = (f"convert each frame to {want} channels: pipeguard.EnsureChannels({want}) in the frame "
               f"transform (the clips hold {c}-channel frames)")
    else:
        fix = f"set in_channels={c}, or make `{history[-1][0]}` output {want} channels"
    return Finding(FindingKind.IN_CHANNELS, f"{name}(in_channels={want}) receives clips of "
                   f"{numbers.plural(c, 'channel')}", expected=(n, want, t, h, w), actual=x,
                   arithmetic=arithmetic + f"; the weight wants {want} channels", fix=fix)


def _pool(layer: nn.Module, x: Shape) -> Optional[Finding]:
    name = type(layer).__name__
    d = int(name[-2]) if name[-2].isdigit() else 2
    if len(x) not in (d + 1, d + 2):
        return Finding(FindingKind.RANK, f"{name} expects a {d + 2}-D {_dims_text(d)} (or {d + 1}-D unbatched) input, "
                               f"receives {len(x)}-D {numbers.shape(x)}", expected=d + 2, actual=x)
    ws = windows(layer, d)
    return _shrink(layer, x[-d:], ws,
                   layer_repr(layer, ("kernel_size", "stride", "padding", "dilation", "ceil_mode"),
                              {"padding": 0, "dilation": 1, "ceil_mode": False,
                               "stride": _scalar(getattr(layer, "kernel_size", None))}),
                   pooling=True)


def _shrink(layer: nn.Module, sizes: Shape, ws: Optional[list[Window]], head: str,
            pooling: bool = False) -> Optional[Finding]:
    if not ws:
        return None
    outs = tuple(w.out(s) for w, s in zip(ws, sizes))
    if min(outs) >= 1:
        return None
    bad = [(i, w, s) for i, (w, s) in enumerate(zip(ws, sizes)) if w.out(s) < 1]
    spans = tuple(w.span for w in ws)
    axes = "HW" if len(ws) == 2 else ("L" if len(ws) == 1 else "DHW")
    same = len({(w, s) for _, w, s in bad}) == 1 and len(bad) == len(ws)
    formulas = ([f"out = {bad[0][1].formula(bad[0][2])}" + (" per side" if len(ws) > 1 else "")] if same else
                [f"{axes[i]}: out = {w.formula(s)}" for i, w, s in bad])
    out_text = "×".join(f"−{-o}" if o < 0 else str(o) for o in outs)
    if pooling:
        summary = f"{head} would shrink the {_compact(sizes)} map to {out_text}"
    else:
        summary = f"{head} spans {_compact(spans)} pixels, more than the {_compact(sizes)} map it receives"
        if any(w.padding for w in ws):
            summary = summary.replace("it receives", f"it receives padded by {_compact([w.padding for w in ws])}")
    fixes = _pool_fixes(bad[0][1], bad[0][2]) if pooling else _conv_fixes(ws, sizes)
    return Finding(FindingKind.SHRINK, summary, expected=spans, actual=tuple(sizes),
                   arithmetic="; ".join(formulas), fix="; ".join(fixes))


def _pool_fixes(w: Window, size: int) -> list[str]:
    """What lets a pooling window fit a ``size``-pixel side."""
    fixes = []
    if not w.ceil_mode and Window(w.kernel, w.stride, w.padding, w.dilation, True).out(size) >= 1:
        fixes.append("ceil_mode=True keeps a partial window")
    return fixes + ["remove this pooling (or pool less earlier), or feed larger inputs"]


def _conv_fixes(ws: list[Window], sizes: Shape) -> list[str]:
    """What lets a convolution's windows fit a map of ``sizes``: padding, dilation, a larger input."""
    keep = [w.keeping_padding() for w in ws]
    if all(w.stride == 1 for w in ws) and all(p is not None for p in keep):
        fixes = [f"padding={_scalar(keep)} keeps the size ({_compact(sizes)} in, {_compact(sizes)} out)"]
    elif all(w.stride == 1 for w in ws):
        fixes = ["padding='same' keeps the size"]
    else:
        fixes = [f"padding={_scalar([w.minimum_padding(s) for w, s in zip(ws, sizes)])} at least lets it run"]
    dilation = min(w.largest_dilation(s) for w, s in zip(ws, sizes)) if any(w.dilation > 1 for w in ws) else 0
    if dilation >= 1:
        fixes.append(f"dilation={dilation} or less fits the map")
    return fixes + ["or feed larger inputs"]


def _norm_ranks(layer: nn.Module) -> tuple[Optional[tuple[int, ...]], Optional[int]]:
    """``(ranks the norm layer takes, its channel axis at the lowest rank)``: a BatchNorm2d
    takes only 4-D ``[N, C, H, W]``, an InstanceNorm2d also an unbatched ``[C, H, W]``."""
    import torch.nn as nn

    suffix = type(layer).__name__[-2:].lower()
    if suffix not in ("1d", "2d", "3d"):
        return None, None
    k = int(suffix[0])
    if isinstance(layer, nn.modules.instancenorm._InstanceNorm):
        return (k + 1, k + 2), 0
    return ((2, 3), 1) if k == 1 else ((k + 2,), 1)


def _norm_channels(layer: nn.Module, x: Shape, field: str, want: int, history: History) -> Optional[Finding]:
    import torch.nn as nn

    name = type(layer).__name__
    ranks, low_axis = _norm_ranks(layer)
    if ranks is not None and len(x) not in ranks:
        return _norm_rank(name, x, ranks, history)
    axis = low_axis if ranks is not None and len(x) == ranks[0] else (1 if len(x) >= 2 else 0)
    got = x[axis]
    if got == want:
        return None
    if isinstance(layer, nn.modules.instancenorm._InstanceNorm) and not (layer.affine or layer.track_running_stats):
        return None  # it keeps no per-channel table: torch only warns
    prev = history[-1][0] if history else "the previous layer"
    return Finding(FindingKind.NUM_FEATURES, f"{name}({field}={want}) receives {numbers.plural(got, 'channel')}",
                   expected=want, actual=x,
                   arithmetic=f"{numbers.shape(x)} has {got} at axis {axis}, the layer normalises {want}",
                   fix=f"set {field}={got}, or make `{prev}` output {want} channels")


_NORM_DIMS = {2: "1d", 3: "1d", 4: "2d", 5: "3d"}


def _norm_rank(name: str, x: Shape, ranks: Sequence[int], history: History) -> Finding:
    """A norm layer given a number of dimensions it cannot take: a sample without its batch
    dimension, or maps of another dimensionality (a norm of the other kind fits them)."""
    wanted = " or ".join(f"{r}-D" for r in ranks)
    finding = Finding(FindingKind.RANK, f"{name} expects a {wanted} input, receives {len(x)}-D {numbers.shape(x)}",
                      expected=ranks[-1], actual=x)
    missing = layout.missing_batch(x, ranks, history)
    if missing is not None:
        return dataclasses.replace(
            finding, expected=missing.shape,
            arithmetic=f"the model input {numbers.shape(missing.shape[1:])} has no batch dimension: "
                       f"the layers before took it unbatched, {name} cannot",
            fix=layout.missing_batch_fix(missing))
    other = _NORM_DIMS.get(len(x))
    fixes = [f"use {name[:-2]}{other}({x[1]}) for {len(x)}-D maps {numbers.shape(x)}"] \
        if other and len(x) >= 2 and name[-2:].lower() in _NORM_DIMS.values() and other != name[-2:].lower() else []
    if layout.may_miss_batch(x, ranks, history):
        fixes.append(f"if the model input {numbers.shape(layout.model_input(history))} is a single sample, "
                     "add the batch dimension: x.unsqueeze(0)")
    return dataclasses.replace(finding, fix="; or ".join(fixes) or f"reshape the input to {wanted}")


def _layer_norm(layer: nn.Module, x: Shape) -> Optional[Finding]:
    want = tuple(layer.normalized_shape)
    got = tuple(x[-len(want):]) if len(x) >= len(want) else tuple(x)
    if got == want:
        return None
    return Finding(FindingKind.NORMALIZED_SHAPE,
                   f"LayerNorm(normalized_shape={list(want)}) receives {numbers.shape(x)}, whose trailing "
                   f"dimensions are {numbers.shape(got)}",
                   expected=want, actual=x, fix=f"set normalized_shape={list(got)}")


# -- torch's own messages ------------------------------------------------------------

_VIEW = re.compile(r"shape '\[([-\d, ]*)\]' is invalid for input of size (\d+)")
_MATMUL = (re.compile(r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)"),
           re.compile(r"a and b must have same reduction dim, but got \[(\d+), (\d+)\] X \[(\d+), (\d+)\]"))
_CONV_CHANNELS = re.compile(r"expected input\[([\d, ]+)\] to have (\d+) channels, but got (\d+) channels")
_EXPECTED_GOT = re.compile(r"[Ee]xpected (\d+),? but got (\d+)")
_RANK = re.compile(r"expected (\d)D(?: or (\d)D)? input \(got (\d)D input\)")
_SHRINK = re.compile(r"Kernel size can't be greater than actual input size|Output size is too small")


def explain_exception(exc: BaseException, history: History, call: Optional[Call] = None) -> Finding:
    """A :class:`Finding` for an exception torch (or model code) raised, explained where
    the message carries numbers. ``call`` is the torch function that raised, when known."""
    from ._broadcast import read_broadcast

    text = str(exc)
    for read in (_view, _matmul, _conv_channels, _rank_message):
        found = read(text, history)
        if found is not None:
            return found
    found = read_broadcast(text, history, call)
    if found is not None:
        return found
    found = _size_assertion(text, history)
    if found is not None:
        return found
    line = first_line(exc, default=type(exc).__name__)
    if _SHRINK.search(text):
        return Finding(FindingKind.SHRINK, line, fix="add padding, reduce stride/pooling, or feed larger inputs")
    if isinstance(exc, AssertionError):
        return _assertion(text, line)
    return Finding(FindingKind.EXCEPTION, f"{type(exc).__name__}: {line}")


def _matmul(text: str, history: History) -> Optional[Finding]:
    m = next(filter(None, (pattern.search(text) for pattern in _MATMUL)), None)
    if m is None:
        return None
    rows, got, want, _ = (int(g) for g in m.groups())
    source = map_source(history, got, rows)
    actual = source[1] if source else (rows, got)
    note = f" = {_compact(source[1][1:])} features ({_the(source[0])}, flattened)" if source else " features"
    return Finding(FindingKind.IN_FEATURES,
                   f"a matrix multiply (F.linear or @) expects {want} features, receives {got}{note}",
                   expected=want, actual=actual, diagnosis=explain((rows, want), actual),
                   fix=f"size the weight for {got} input features, or resize the map before the flatten")


def _conv_channels(text: str, history: History) -> Optional[Finding]:
    m = _CONV_CHANNELS.search(text)
    if m is None:
        return None
    shape = tuple(int(v) for v in m.group(1).split(","))
    want, got = int(m.group(2)), int(m.group(3))
    expected = shape[:1] + (want,) + shape[2:]
    last = layout.channels_last(shape, want, len(shape) - 2) if layout.is_model_input(shape, history) else None
    if last is not None:
        return Finding(FindingKind.IN_CHANNELS, f"a convolution expects {want} channels, receives {got}",
                       expected=last.shape, actual=shape, diagnosis=explain(last.shape, shape),
                       fix=layout.channels_last_fix(last, want, len(shape) - 2))
    return Finding(FindingKind.IN_CHANNELS, f"a convolution expects {want} channels, receives {got}",
                   expected=expected, actual=shape, diagnosis=explain(expected, shape),
                   fix=f"pipeguard.EnsureChannels({want}) on the data, or set in_channels={got}")


def _rank_message(text: str, history: History) -> Optional[Finding]:
    """A norm layer's own rank check ("expected 4D input (got 3D input)"), read as :func:`_norm_rank`."""
    m = _RANK.search(text)
    if m is None or not history:
        return None
    ranks = tuple(int(g) for g in m.groups()[:2] if g)
    x = history[-1][1]
    if x is None or len(x) != int(m.group(3)):
        return None
    return _norm_rank("the layer", x, ranks, history)


def _assertion(text: str, line: str) -> Finding:
    m = _EXPECTED_GOT.search(text)
    if m is None:
        return Finding(FindingKind.ASSERTION, f"assertion failed: {line}",
                       fix="the model's own check rejects this input (see the message above): give it what "
                           "the check asks for, or read the check in the model's code")
    want, got = int(m.group(1)), int(m.group(2))
    return Finding(FindingKind.ASSERTION, f"assertion failed: {line}", expected=want, actual=got,
                   fix=f"the model expects {want} where the input gives {got}: resize the data "
                       "(pipeguard.EnsureSize) or build the model for this size")


# a model checking its input size: "Input height (256) doesn't match model (224)" (timm),
# "Wrong image height! Expected 224 but got 256!" (torchvision),
# "Input image size (256*256) doesn't match model (224*224)" (timm, Hugging Face)
_SIZE_PAIR = re.compile(r"\((\d+)\s*[*x×,]\s*(\d+)\)\s*(?:doesn't|does not|don't|do not) match[a-z ]*?\((\d+)\s*[*x×,]\s*(\d+)\)")
_SIZE_SIDE = re.compile(r"(height|width)\D{0,12}?\((\d+)\)\s*(?:doesn't|does not) match[a-z ]*?\((\d+)\)", re.IGNORECASE)
_SIZE_EXPECTED = re.compile(r"(height|width)\b[^\d]*?expected (\d+),? but got (\d+)", re.IGNORECASE)


def _size_assertion(text: str, history: History) -> Optional[Finding]:
    """A model's own check of the input's height or width, with the size that passes it."""
    image = history[0][1] if history and history[0][0] == "input" else ()
    if len(image) != 4:
        return None
    m = _SIZE_PAIR.search(text)
    if m is not None:
        got, want = (int(m.group(1)), int(m.group(2))), (int(m.group(3)), int(m.group(4)))
    else:
        m = _SIZE_SIDE.search(text) or _SIZE_EXPECTED.search(text)
        if m is None:
            return None
        first, second = (m.group(2), m.group(3)) if m.re is _SIZE_SIDE else (m.group(3), m.group(2))
        side, axis = int(second), m.group(1).lower()
        got = tuple(image[2:])
        want = (side, side)  # models that check one side are built square; the other check follows
        if axis == "height" and int(first) != image[2] or axis == "width" and int(first) != image[3]:
            return None
    h, w = want
    return Finding(FindingKind.ASSERTION,
                   f"the model checks its input size: built for {h}×{w}, receives {got[0]}×{got[1]}",
                   expected=want, actual=got,
                   arithmetic=f"the model asserts its input is {h}×{w} (the size it was built for)",
                   fix=f"feed {h}×{w} images: pipeguard.EnsureSize(({h}, {w})) in the transform, or build "
                       f"the model for {got[0]}×{got[1]} (its img_size / image_size argument)",
                   size=want)


def _view(text: str, history: History) -> Optional[Finding]:
    m = _VIEW.search(text)
    if m is None:
        return None
    dims = [int(v) for v in m.group(1).replace(" ", "").split(",") if v]
    size = int(m.group(2))
    source = next(((w, s) for w, s in reversed(history) if s is not None and math.prod(s) == size), None)
    actual: Any = source[1] if source else size
    known = math.prod(d for d in dims if d != -1) or 1
    expected: Any
    if -1 in dims and source is not None and dims.index(-1) == 0 and len(dims) >= 2:
        expected = (source[1][0], *dims[1:])
    elif -1 in dims:
        expected = known  # rows of this many elements; their number is free
    else:
        expected = tuple(dims)
    note = f" = {_compact(source[1])} ({_the(source[0])})" if source and len(source[1]) > 1 else ""
    diag = explain(expected, actual)
    fix = ("reshape with x.flatten(1) (or x.view(x.size(0), -1)) instead of a fixed size, and size the next "
           "layer for it" if -1 in dims or len(dims) == 2 else "check the fixed sizes of this reshape")
    return Finding(FindingKind.VIEW, f"view/reshape to {numbers.shape(dims)} fails on {size} elements{note}",
                   expected=expected, actual=actual, diagnosis=diag,
                   arithmetic=f"{size} is not a multiple of {known}" if size % known else
                   f"{size} = {size // known} × {known}, not the batch the model was given",
                   fix=fix)

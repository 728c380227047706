"""Why a convolution or pooling layer cannot take its input: another channel count
(channels-last data, data of other channels, an earlier layer's output), a rank it cannot
take (a 4-D image batch into a ``Conv3d``), clips of other channels, or a window that spans
more than the map it slides over, with the padding, dilation or ``ceil_mode`` that fits.
Also reads torch's own channel message (``expected input[...] to have 3 channels``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Optional

from ..diagnosis import ensure_channels, explain, numbers
from . import _input_layout as layout
from ._findings import Finding, FindingKind, compact, layer_repr, scalar
from ._history import (
    History,
    Shape,
    before_any_layer,
    first_layer_takes_input,
    has_input_shape,
    latest_is_input,
)
from ._layer_arithmetic import Window, windows

if TYPE_CHECKING:  # annotations only: torch is imported where it runs
    from torch import nn

_CONV_CHANNELS = re.compile(r"expected input\[([\d, ]+)\] to have (\d+) channels, but got (\d+) channels")


def _dims_text(rank: int) -> str:
    """``[N, C, H, W]``: the dimensions a layer over ``rank`` spatial dimensions takes."""
    return {1: "[N, C, L]", 2: "[N, C, H, W]", 3: "[N, C, D, H, W]"}[rank]


def check_conv(layer: nn.modules.conv._ConvNd, x: Shape, history: History) -> Optional[Finding]:
    """What stops a convolution from taking ``x``: its rank, its channels, a window larger than the map."""
    import torch.nn as nn

    d = len(layer.kernel_size)
    if d == 3 and len(x) == 4 and x[0] != layer.in_channels and first_layer_takes_input(x, history):
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


def _conv_rank(layer: nn.modules.conv._ConvNd, x: Shape, d: int) -> Finding:
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


def _conv_channels_differ(layer: nn.modules.conv._ConvNd, x: Shape, history: History, d: int) -> Finding:
    """A convolution given another channel count: channels-last data, data of other
    channels, or an earlier layer's output."""
    got, want = x[-(d + 1)], layer.in_channels
    summary = f"{type(layer).__name__}(in_channels={want}) receives {numbers.plural(got, 'channel')}"
    arithmetic = f"{numbers.shape(x)} has {got} at the channel axis, the weight wants {want}"
    last = layout.channels_last(x, want, d) if has_input_shape(x, history) else None
    if last is not None:
        return Finding(FindingKind.IN_CHANNELS, summary, expected=last.shape, actual=x,
                       diagnosis=explain(last.shape if len(x) == d + 2 else last.shape[1:], x),
                       arithmetic=f"{numbers.shape(x)} has {got} at the channel axis and {x[-1]} last; "
                                  f"the weight wants {want} channels",
                       fix=layout.channels_last_fix(last, want, d))
    expected = x[:-(d + 1)] + (want,) + x[-d:]
    if before_any_layer(history) or latest_is_input(x, history):
        fix = (f"convert the data to {numbers.plural(want, 'channel')}: {ensure_channels(want)} in the transform"
               + (f" (the batch holds {got}-channel images)" if got in (1, 2, 4) else ""))
    else:
        prev = history[-1][0] if history else "the previous layer"
        fix = f"set in_channels={got}, or make `{prev}` output {want} channels"
    return Finding(FindingKind.IN_CHANNELS, summary, expected=expected, actual=x,
                   diagnosis=explain(expected, x), arithmetic=arithmetic, fix=fix)


def _clip_without_time(layer: nn.modules.conv._ConvNd, x: Shape) -> Finding:
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


def _clip_channels(layer: nn.modules.conv._ConvNd, x: Shape, history: History) -> Finding:
    """A Conv3d whose clips have another channel count: frames, not one big image."""
    want, (n, c, t, h, w) = layer.in_channels, x
    name = type(layer).__name__
    arithmetic = f"{numbers.shape(x)} = {numbers.plural(n, 'clip')} of {t} frames, {c}×{h}×{w} each"
    if t == want and first_layer_takes_input(x, history):
        fix = (f"the clips are [N, T, C, H, W] ({t} channels at axis 2): permute them to [N, C, T, H, W] "
               "with x.permute(0, 2, 1, 3, 4)")
    elif first_layer_takes_input(x, history):
        fix = (f"convert each frame to {numbers.plural(want, 'channel')}: {ensure_channels(want)} in the frame "
               f"transform (the clips hold {c}-channel frames)")
    else:
        fix = f"set in_channels={c}, or make `{history[-1][0]}` output {want} channels"
    return Finding(FindingKind.IN_CHANNELS, f"{name}(in_channels={want}) receives clips of "
                   f"{numbers.plural(c, 'channel')}", expected=(n, want, t, h, w), actual=x,
                   arithmetic=arithmetic + f"; the weight wants {want} channels", fix=fix)


def check_pool(layer: nn.Module, x: Shape) -> Optional[Finding]:
    """What stops a max or average pooling from taking ``x``: its rank, a window larger than the map."""
    name = type(layer).__name__
    d = int(name[-2]) if name[-2].isdigit() else 2
    if len(x) not in (d + 1, d + 2):
        return Finding(FindingKind.RANK, f"{name} expects a {d + 2}-D {_dims_text(d)} (or {d + 1}-D unbatched) input, "
                               f"receives {len(x)}-D {numbers.shape(x)}", expected=d + 2, actual=x)
    ws = windows(layer, d)
    return _shrink(layer, x[-d:], ws,
                   layer_repr(layer, ("kernel_size", "stride", "padding", "dilation", "ceil_mode"),
                              {"padding": 0, "dilation": 1, "ceil_mode": False,
                               "stride": scalar(getattr(layer, "kernel_size", None))}),
                   pooling=True)


def _shrink(layer: nn.Module, sizes: Shape, ws: Optional[list[Window]], head: str,
            pooling: bool = False) -> Optional[Finding]:
    """A window that yields no output on a map of ``sizes``, with the arithmetic and the fixes."""
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
        summary = f"{head} would shrink the {compact(sizes)} map to {out_text}"
    else:
        summary = f"{head} spans {compact(spans)} pixels, more than the {compact(sizes)} map it receives"
        if any(w.padding for w in ws):
            summary = summary.replace("it receives", f"it receives padded by {compact([w.padding for w in ws])}")
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
        fixes = [f"padding={scalar(keep)} keeps the size ({compact(sizes)} in, {compact(sizes)} out)"]
    elif all(w.stride == 1 for w in ws):
        fixes = ["padding='same' keeps the size"]
    else:
        fixes = [f"padding={scalar([w.minimum_padding(s) for w, s in zip(ws, sizes)])} at least lets it run"]
    dilation = min(w.largest_dilation(s) for w, s in zip(ws, sizes)) if any(w.dilation > 1 for w in ws) else 0
    if dilation >= 1:
        fixes.append(f"dilation={dilation} or less fits the map")
    return fixes + ["or feed larger inputs"]


def read_conv_channels(text: str, history: History) -> Optional[Finding]:
    """Torch's "expected input[...] to have 3 channels, but got 4 channels", or ``None``."""
    m = _CONV_CHANNELS.search(text)
    if m is None:
        return None
    shape = tuple(int(v) for v in m.group(1).split(","))
    want, got = int(m.group(2)), int(m.group(3))
    expected = shape[:1] + (want,) + shape[2:]
    last = layout.channels_last(shape, want, len(shape) - 2) if has_input_shape(shape, history) else None
    if last is not None:
        return Finding(FindingKind.IN_CHANNELS, f"a convolution expects {want} channels, receives {got}",
                       expected=last.shape, actual=shape, diagnosis=explain(last.shape, shape),
                       fix=layout.channels_last_fix(last, want, len(shape) - 2))
    return Finding(FindingKind.IN_CHANNELS, f"a convolution expects {want} channels, receives {got}",
                   expected=expected, actual=shape, diagnosis=explain(expected, shape),
                   fix=f"{ensure_channels(want)} on the data, or set in_channels={got}")

"""Why a normalisation layer cannot take its input: a ``BatchNorm``, ``InstanceNorm`` or
``GroupNorm`` of another channel count, a rank it cannot take (a sample without its batch
dimension, maps of another dimensionality), or a ``LayerNorm`` whose trailing dimensions
disagree. Reads torch's own rank message (``expected 4D input (got 3D input)``).
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Optional, Sequence, cast

from ..diagnosis import numbers
from . import _input_layout as layout
from ._findings import Finding, FindingKind
from ._history import History, Shape, model_input

if TYPE_CHECKING:  # annotations only: torch is imported where it runs
    from torch import nn

_RANK = re.compile(r"expected (\d)D(?: or (\d)D)? input \(got (\d)D input\)")


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


def check_norm_channels(layer: nn.Module, x: Shape, field: str, want: int, history: History) -> Optional[Finding]:
    """What stops a norm layer of ``want`` channels (its ``field``) from taking ``x``: its rank, its channels."""
    import torch.nn as nn

    name = type(layer).__name__
    ranks, low_axis = _norm_ranks(layer)
    if ranks is not None and len(x) not in ranks:
        return _norm_rank(name, x, ranks, history)
    # _norm_ranks gives both or neither
    axis = cast(int, low_axis) if ranks is not None and len(x) == ranks[0] else (1 if len(x) >= 2 else 0)
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
        fixes.append(f"if the model input {numbers.shape(model_input(history))} is a single sample, "
                     "add the batch dimension: x.unsqueeze(0)")
    return dataclasses.replace(finding, fix="; or ".join(fixes) or f"reshape the input to {wanted}")


def check_layer_norm(layer: nn.LayerNorm, x: Shape) -> Optional[Finding]:
    """A ``LayerNorm`` whose ``normalized_shape`` is not ``x``'s trailing dimensions."""
    want = tuple(layer.normalized_shape)
    got = tuple(x[-len(want):]) if len(x) >= len(want) else tuple(x)
    if got == want:
        return None
    return Finding(FindingKind.NORMALIZED_SHAPE,
                   f"LayerNorm(normalized_shape={list(want)}) receives {numbers.shape(x)}, whose trailing "
                   f"dimensions are {numbers.shape(got)}",
                   expected=want, actual=x, fix=f"set normalized_shape={list(got)}")


def read_rank_message(text: str, history: History) -> Optional[Finding]:
    """A norm layer's own rank check ("expected 4D input (got 3D input)"), read as :func:`_norm_rank`."""
    m = _RANK.search(text)
    if m is None or not history:
        return None
    ranks = tuple(int(g) for g in m.groups()[:2] if g)
    x = history[-1][1]
    if x is None or len(x) != int(m.group(3)):
        return None
    return _norm_rank("the layer", x, ranks, history)

"""Why a layer cannot take its input, with numbers: the checks ``trace_model`` runs before
each layer, and readings of the shape errors torch raises where no check applies.

A check receives the layer, the shape it is about to get and the shapes seen so far
(``history``: ``(where, shape)`` pairs, the model input first), and returns a
:class:`Finding` or ``None``. Findings say what the layer is and what it receives
("``Linear(in_features=2000) receives 5120 = 20×16×16 features``"), the arithmetic,
and the fix (the right ``in_features``, the padding that keeps the size,
``pipeguard.EnsureChannels(3)`` on the data side).

The checks and readings live by layer family (``_conv_failures``, ``_linear_failures``,
``_norm_failures``, ``_assert_failures``, ``_broadcast``; ``_code_rank`` for model code that
wants another rank); this module picks the one that applies.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Optional

from ..diagnosis import first_line, numbers
from ._assert_failures import read_assertion, read_size_assertion
from ._code_rank import read_code_rank
from ._conv_failures import check_conv, check_pool, read_conv_channels
from ._findings import Call, Finding, FindingKind
from ._history import History, Shape
from ._linear_failures import check_linear, read_matmul, read_view
from ._norm_failures import check_layer_norm, check_norm_channels, read_rank_message

if TYPE_CHECKING:  # annotations only: torch is imported where it runs
    import torch
    from torch import nn

_SHRINK = re.compile(r"Kernel size can't be greater than actual input size|Output size is too small")


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
        return check_linear(layer, x_shape, history)
    if isinstance(layer, nn.modules.conv._ConvNd):
        return check_conv(layer, x_shape, history)
    if isinstance(layer, (nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd)):
        return check_pool(layer, x_shape)
    if isinstance(layer, nn.modules.batchnorm._NormBase) and layer.num_features:
        return check_norm_channels(layer, x_shape, "num_features", layer.num_features, history)
    if isinstance(layer, nn.GroupNorm):
        return check_norm_channels(layer, x_shape, "num_channels", layer.num_channels, history)
    if isinstance(layer, nn.LayerNorm):
        return check_layer_norm(layer, x_shape)
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


# -- torch's own messages ------------------------------------------------------------

def explain_exception(exc: BaseException, history: History, call: Optional[Call] = None) -> Finding:
    """A :class:`Finding` for an exception torch (or model code) raised, explained where
    the message carries numbers. ``call`` is the torch function that raised, when known."""
    from ._broadcast import read_broadcast

    text = str(exc)
    for read in (read_view, read_matmul, read_conv_channels, read_rank_message, read_code_rank):
        found = read(text, history)
        if found is not None:
            return found
    found = read_broadcast(text, history, call)
    if found is not None:
        return found
    found = read_size_assertion(text, history)
    if found is not None:
        return found
    line = first_line(exc, default=type(exc).__name__)
    if _SHRINK.search(text):
        return Finding(FindingKind.SHRINK, line, fix="add padding, reduce stride/pooling, or feed larger inputs")
    if isinstance(exc, AssertionError):
        return read_assertion(text, line)
    return Finding(FindingKind.EXCEPTION, f"{type(exc).__name__}: {line}")

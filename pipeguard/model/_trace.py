"""``trace_model``: the shape every layer receives and returns, up to the layer that breaks,
and, when an image model breaks on the size of its feature map, the smallest square input
that fits (:mod:`._fit` searches with more forward passes of :mod:`._forward_pass`).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Sequence

from ..diagnosis import ensure_size
from ._findings import FindingKind
from ._fit import smallest_square
from ._forward_pass import trace_shapes
from ._results import LayerError, ModelTrace
from ._shrink_source import with_shrink_source

if TYPE_CHECKING:  # annotations only: torch is imported where it runs
    from torch import nn

    from ._forward_pass import DType

logger = logging.getLogger(__name__)

# failures another input size can cure
_MAP_SIZE_KINDS = frozenset({FindingKind.IN_FEATURES, FindingKind.SHRINK, FindingKind.VIEW})
# failures of a layer sized for one map, which only that input size cures without retraining
_RESIZE_FIRST_KINDS = frozenset({FindingKind.IN_FEATURES, FindingKind.VIEW})


def trace_model(model: nn.Module, input_shape: Sequence[int], dtype: DType = None) -> ModelTrace:
    """Trace the shape through every layer of ``model`` for an input of ``input_shape``.

    Args:
        model: an ``nn.Module``; it is not modified (a copy runs, in eval mode).
        input_shape: the full input shape, batch included, e.g. ``(1, 3, 224, 224)``
            for ``[N, C, H, W]`` images.
        dtype: the input's dtype (default ``torch.float32``).

    Returns:
        A :class:`ModelTrace`: ``.rows`` (one :class:`LayerRow` per leaf-module call,
        in execution order), ``.error`` (a :class:`LayerError` naming the layer that
        broke, or ``None``), ``.output_shape``. ``str()`` is an aligned table. When an
        image model breaks on the size of its feature map, the error's fix also names
        the smallest square input that fits (found with a few more meta traces).

    Raises:
        TypeError: ``model`` is not an ``nn.Module``.
        ValueError: ``input_shape`` is not a sequence of non-negative ints.

    Example:
        >>> print(trace_model(torchvision.models.resnet18(weights=None), (1, 3, 224, 224)))
    """
    return _with_size_hint(model, with_shrink_source(model, trace_shapes(model, input_shape, dtype)))


def _with_size_hint(model: nn.Module, trace: ModelTrace) -> ModelTrace:
    """For an image model that breaks on the map size, name the smallest square input that fits."""
    error, shape = trace.error, trace.input_shape
    if error is None or error.kind not in _MAP_SIZE_KINDS or len(shape) != 4:
        return trace
    if trace.device != "meta":
        return trace  # probing would run the model for real, many times
    if error.kind is FindingKind.IN_FEATURES and not (error.input_shape is not None and len(error.input_shape) == 2):
        return trace  # an unflattened map: no input size cures that
    try:
        fit = smallest_square(model, shape[1], trace.dtype)
    except Exception as exc:  # noqa: BLE001 - a hint must never break the trace
        logger.info("no input-size hint for %s: %r", trace.model, exc)
        return trace
    if fit.side is None or fit.side == shape[2] == shape[3]:
        return trace
    side = f"{fit.side}×{fit.side}"
    if fit.pinned and error.kind in _RESIZE_FIRST_KINDS:
        return dataclasses.replace(trace, error=_resize_first(error, fit.side))
    if not fit.pinned and "or feed larger inputs" in error.fix:
        fix = error.fix.replace("or feed larger inputs", f"or feed inputs of {side} or larger")
    else:
        hint = f"a {side} input fits" + ("" if fit.pinned else " (as does any larger one)")
        fix = f"{error.fix}; {hint}" if error.fix else hint
    return dataclasses.replace(trace, error=dataclasses.replace(error, fix=fix))


def _resize_first(error: LayerError, side: int) -> LayerError:
    """The data-side fix first: resizing the input keeps a trained model's weights, where a
    new ``in_features`` (or reshape) throws the layer's away."""
    resize = (f"feed {side}×{side} images: {ensure_size(side, side)} in the transform "
              f"(the trained weights stay as they are)")
    fix = f"{resize}; or change the model: {error.fix}" if error.fix else resize
    return dataclasses.replace(error, fix=fix, size=(side, side))

"""Reading a contract from a model: what its first layer wants as input."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any, Optional, Union

from ..diagnosis import numbers

if TYPE_CHECKING:  # annotations only: torch is imported where it runs
    from torch import nn

    from ._fit import Probe

logger = logging.getLogger(__name__)

Size = Union[int, tuple[int, int]]  # one side, or (height, width)

_USUAL_SIDES = (224, 256, 384)
_PASS_THROUGH = ("Flatten", "Identity", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "Unflatten")


def first_layer(model: nn.Module, skip: Optional[nn.Module] = None) -> Optional[nn.Module]:
    """The first ``Conv1d/2d/3d`` or ``Linear`` in definition order, skipping containers,
    shape-neutral layers and ``skip`` (a detection model's resizing transform); ``None``
    when another kind of layer comes first."""
    import torch.nn as nn

    for module in model.modules():
        if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)):
            return module
        if module is skip or next(module.children(), None) is not None:
            continue  # a container: look inside
        if type(module).__name__ in _PASS_THROUGH or isinstance(module, (nn.ReLU, nn.Identity)):
            continue
        return None
    return None


def resizing_transform(model: nn.Module) -> Optional[nn.Module]:
    """torchvision detection's ``GeneralizedRCNNTransform`` among the model's children:
    it normalises and resizes every image inside the model (Faster R-CNN, RetinaNet, FCOS,
    SSD), so any input size is taken. ``None`` for other models (and without importing
    torchvision: a model holding one has imported its module)."""
    module = sys.modules.get("torchvision.models.detection.transform")
    cls = getattr(module, "GeneralizedRCNNTransform", None)
    if cls is None:
        return None
    return next((child for child in model.children() if isinstance(child, cls)), None)


def input_fields(model: nn.Module, size: Optional[Size] = None) -> dict[str, Any]:
    """The fields of a :class:`~pipeguard.Contract` read from the model's first layer.

    ``channels`` comes from a first ``Conv1d/2d/3d`` (``in_channels``); ``numel`` from
    a first ``Linear`` (``in_features``), optionally behind a ``Flatten``. ``dtype`` is
    the layer's weight dtype. ``size`` may be given, or is read from a model that fixes
    it (``img_size``, ``image_size``, a positional table). For a ``Conv2d``-first model a given
    size is checked with :func:`pipeguard.trace_model`; without one, a model whose
    ``Linear`` after a flatten accepts only some sizes gets the smallest square size
    that fits it (found by tracing on the meta device), and a model that takes 224×224
    and no size around it gets 224×224. A torchvision detection model resizes its images
    itself (``GeneralizedRCNNTransform``): its channels come from its backbone's first
    conv and its size is left open (a given size is kept as given); the log says so.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``.
        ValueError: the model gives no hint of its input, ``size`` contradicts it, or
            no square size fits its flatten-fed ``Linear``.
    """
    import torch.nn as nn

    from ..diagnosis import dtype_name

    if not isinstance(model, nn.Module):
        raise TypeError(f"Contract.from_model() should get a torch.nn.Module, but got {type(model).__name__}")
    resizer = resizing_transform(model)
    layer = first_layer(model, skip=resizer)
    name = type(model).__name__
    if layer is None:
        raise ValueError(
            f"cannot read a contract from {name}: its first layer is not a Conv or Linear "
            "(lazy layers and custom first layers give no input size); "
            "declare it instead, e.g. Contract(channels=3, size=(224, 224))")
    dtype = dtype_name(layer.weight.dtype) if getattr(layer, "weight", None) is not None else None
    if isinstance(layer, nn.Linear):
        if layer.in_features == 0:
            raise ValueError(f"cannot read a contract from {name}: its first Linear is lazy (in_features=0)")
        return {"numel": layer.in_features, "size": size, "dtype": dtype, "name": name}
    if layer.in_channels == 0:
        raise ValueError(f"cannot read a contract from {name}: its first conv is lazy (in_channels=0)")
    if isinstance(layer, nn.Conv2d) and resizer is not None:
        size = _resized_inside(resizer, layer, size, name)
    elif isinstance(layer, nn.Conv2d):
        size = _image_size(model, layer, size, name)
    return {"channels": layer.in_channels, "size": size if isinstance(layer, nn.Conv2d) else None,
            "dtype": dtype, "name": name}


def _resized_inside(resizer: nn.Module, conv: nn.Conv2d, size: Optional[Size], name: str) -> Optional[tuple[int, int]]:
    """The size of a model that resizes its images itself: open, or ``size`` as given (the
    model takes any size, so there is nothing to check it against)."""
    from ..diagnosis import height_width

    logger.info("%s resizes and normalises its images itself (%s: min_size=%s, max_size=%s): "
                "%d channels read from its backbone's first conv, %s", name, type(resizer).__name__,
                getattr(resizer, "min_size", "?"), getattr(resizer, "max_size", "?"), conv.in_channels,
                "size left open" if size is None else "size kept as given")
    return None if size is None else height_width(size)


def _image_size(model: nn.Module, conv: nn.Conv2d, size: Optional[Size], name: str) -> Optional[tuple[int, int]]:
    """The input size for a Conv2d-first model: ``size`` checked by a trace; when not given,
    the size the model states (attributes, a positional table, its own size check:
    :func:`._model_size.hinted_size`), else the smallest square size that makes a
    flatten-fed ``Linear`` fit, else 224×224 when the model takes it and no size around it
    (:func:`._model_size.common_size`).

    A size is kept only when the model rejects the sizes around it (``size`` ± 32; for a
    searched size also twice ``size`` and the usual 224/256/384 sides): a model that accepts many sizes (global
    pooling, fully convolutional) gets no size. A trace that fails for a reason other
    than shapes (a dtype, custom inputs) leaves a given size as given.
    """
    import torch.nn as nn

    from ..diagnosis import height_width
    from ._fit import smallest_square
    from ._model_size import common_size, hinted_size, pinned
    from ._trace import trace_model

    dtype = conv.weight.dtype if getattr(conv, "weight", None) is not None else None
    if size is not None:
        h, w = height_width(size)
        trace = trace_model(model, (1, conv.in_channels, h, w), dtype=dtype)
        if trace.error is not None and trace.error.is_shape_error:
            raise ValueError(f"{name} does not accept {h}×{w} inputs: {trace.error}")
        if trace.error is not None:
            logger.info("could not trace %s at %d×%d: %s", name, h, w, trace.error.headline)
        return (h, w)
    hint = hinted_size(model, conv.in_channels, dtype)
    if hint.found:
        return hint.size
    if not any(isinstance(m, nn.Linear) for m in model.modules()):
        return common_size(model, conv.in_channels, dtype) if hint.common_runs else None
    fit = smallest_square(model, conv.in_channels, dtype)
    if fit.side is not None:
        side = (fit.side, fit.side)
        larger = ((2 * fit.side,) * 2, *((s, s) for s in _USUAL_SIDES if s > fit.side))
        return side if fit.pinned and pinned(model, conv.in_channels, side, dtype, larger) else None
    if hint.common_runs:  # the search found no side, yet 224×224 runs (a model built for it)
        return common_size(model, conv.in_channels, dtype)
    if fit.pinned and fit.below is not None and fit.above is not None:
        raise ValueError(
            f"no square input size fits {name}: at {_outcome(fit.below)}; at {_outcome(fit.above)}. "
            "Pass size=(height, width) for a non-square input, or fix the layer (see pipeguard.trace_model)")
    if fit.last is not None and fit.last.trace.error is not None:
        logger.info("found no input size for %s: %s", name, fit.last.trace.error.headline)
    return None


def _outcome(probe: Probe) -> str:
    """What a probe of the search met, for the "no square size fits" message: the layer that
    broke, or a model that ran but returned another number of samples (a fixed view that
    folds the batch)."""
    side = f"{probe.side}×{probe.side}"
    trace = probe.trace
    if trace.error is not None:
        return f"{side} {trace.error.headline}"
    out = trace.output_shape
    rows = f"returns {numbers.shape(out)}" if out else "returns no tensor"
    return (f"{side} it runs but {rows} for {numbers.plural(trace.input_shape[0], 'sample')} "
            "(a fixed-size view or reshape folds samples together; x.flatten(1) keeps them apart)")

"""The input size a model states, checked the way a user would run it.

Transformers and other fixed-size models say their size: an ``img_size`` /
``image_size`` attribute (timm, torchvision), timm's ``pretrained_cfg["input_size"]``,
or a positional-embedding table of ``side×side`` tokens behind a patch embedding of a
known stride. A failed trace may say it too (a model's own size check, a table sized for
another input: ``LayerError.size``). Every such size is only a candidate: it counts when
a real-shape trace accepts it, and it is pinned in a contract only when other sizes fail.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Iterator, NamedTuple, Optional, cast

from ..diagnosis import isqrt_exact
from ._forward_pass import trace_shapes

if TYPE_CHECKING:  # annotations only: torch is imported where it runs
    from torch import nn

    from ._forward_pass import DType

logger = logging.getLogger(__name__)

Size = tuple[int, int]

_SIZE_ATTRIBUTES = ("img_size", "image_size", "input_size")
_TABLE_NAMES = ("pos_embed", "pos_embedding", "position_embedding", "position_embeddings", "absolute_pos_embed")
_COMMON_SIZE: Size = (224, 224)  # a first probe when the model states nothing
_OTHER_STEP = 32    # a larger size every usual stride divides


def _as_size(value: Any) -> Optional[Size]:
    """``224``, ``(224, 224)`` or ``(3, 224, 224)`` -> ``(224, 224)``; anything else -> ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value > 1:
        return (value, value)
    if isinstance(value, (tuple, list)) and len(value) in (2, 3) and all(isinstance(v, int) for v in value):
        h, w = value[-2:]
        return (h, w) if h > 1 and w > 1 else None
    return None


def stated_sizes(model: nn.Module) -> Iterator[Size]:
    """Sizes the model states in attributes, most specific first."""
    holders = [model, getattr(model, "patch_embed", None)]
    for holder in holders:
        for name in _SIZE_ATTRIBUTES:
            size = _as_size(getattr(holder, name, None)) if holder is not None else None
            if size is not None:
                yield size
    for cfg_name in ("pretrained_cfg", "default_cfg"):
        cfg = getattr(model, cfg_name, None)
        if isinstance(cfg, dict):
            size = _as_size(cfg.get("input_size"))
            if size is not None:
                yield size


def table_sizes(model: nn.Module) -> Iterator[Size]:
    """Sizes a positional-embedding table fits: its token grid times the patch stride."""
    stride = _patch_stride(model)
    if stride is None:
        return
    for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
        if name.rsplit(".", 1)[-1] not in _TABLE_NAMES:
            continue
        shape = tuple(tensor.shape)
        if len(shape) == 3:  # [1, tokens, dim]: a square grid after 0-2 class tokens
            for extra in (0, 1, 2):
                side = isqrt_exact(shape[1] - extra) if shape[1] > extra else None
                if side and side > 1:
                    yield (side * stride, side * stride)
                    break
        elif len(shape) == 4:  # [1, H, W, dim] or [1, dim, H, W]
            h, w = (shape[1], shape[2]) if shape[3] > shape[1] else (shape[2], shape[3])
            yield (h * stride, w * stride)


def _patch_stride(model: nn.Module) -> Optional[int]:
    """The stride of the patch embedding: the first Conv2d whose kernel equals its stride."""
    from torch import nn

    for module in model.modules():
        if isinstance(module, nn.Conv2d) and module.kernel_size == module.stride and module.stride[0] > 1:
            return module.stride[0]
    return None


def accepts(model: nn.Module, channels: int, size: Size, dtype: DType = None) -> bool:
    """Whether a trace at ``[1, channels, *size]`` runs through (on the meta device where it can)."""
    return trace_shapes(model, (1, channels, *size), dtype=dtype).ok


def pinned(model: nn.Module, channels: int, size: Size, dtype: DType = None,
           others: tuple[Size, ...] = ()) -> bool:
    """A size the model accepts is pinned when the sizes around it fail: ``size`` ± 32
    (and any of ``others``). A model that takes one of them takes many: leave it open."""
    h, w = size
    tried = {(h + _OTHER_STEP, w + _OTHER_STEP), (h - _OTHER_STEP, w - _OTHER_STEP), *others}
    return not any(accepts(model, channels, s, dtype) for s in tried if s != size and min(s) > 0)


class SizeHint(NamedTuple):
    """What :func:`hinted_size` found: ``found`` a stated (or trace-named) size that runs,
    ``size`` that size when pinned (``None`` when the model takes others too), and
    ``common_runs`` when nothing was stated but the common 224×224 runs (the caller's
    search decides, and may fall back on it)."""

    found: bool
    size: Optional[Size]
    common_runs: bool = False


def hinted_size(model: nn.Module, channels: int, dtype: DType = None) -> SizeHint:
    """A size the model states or a trace names, checked by tracing.

    ``found`` is false when no candidate ran through (the caller searches); ``size`` is
    ``None`` when the model accepts other sizes as well.
    """
    seen: set[Size] = set()
    candidates = [*stated_sizes(model), *table_sizes(model)]
    stated = bool(candidates)
    candidates.append(_COMMON_SIZE)
    while candidates:
        size = candidates.pop(0)
        if size in seen:
            continue
        seen.add(size)
        trace = trace_shapes(model, (1, channels, *size), dtype=dtype)
        if trace.ok:
            if not stated and len(seen) == 1:
                return SizeHint(False, None, True)  # nothing stated, and the first probe runs: let the search decide
            return SizeHint(True, size if pinned(model, channels, size, dtype) else None)
        assert trace.error is not None  # not ok: a layer broke
        if trace.error.size is not None and trace.error.size not in seen:
            candidates.insert(0, cast(Size, tuple(trace.error.size)))  # a (height, width) pair
        logger.debug("%s does not take %s: %s", type(model).__name__, size, trace.error.headline)
    return SizeHint(False, None)


def common_size(model: nn.Module, channels: int, dtype: DType = None) -> Optional[Size]:
    """224×224, which the model is known to take, when it takes no size around it (± 32)
    nor twice it: a model built for the common ImageNet size that states it nowhere
    (MaxViT: its window partitions fit 224 and no nearby size)."""
    others = ((2 * _COMMON_SIZE[0], 2 * _COMMON_SIZE[1]),)
    return _COMMON_SIZE if pinned(model, channels, _COMMON_SIZE, dtype, others) else None

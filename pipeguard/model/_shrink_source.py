"""Which earlier layer shrank the map that a later window no longer fits.

When a layer fails because its window spans more than the map it receives, the layer
that failed is often not the one to change: an unpadded *dilated* convolution earlier on
took most of the map (dilation is chosen to widen the view at the same resolution, so a
dilated convolution that shrinks the map is most likely missing its padding). The
dilated convolution that lost the most pixels is named beside the failing layer, with
its arithmetic and the padding ``dilation·(k−1)//2`` that keeps its size, once a meta
trace with that padding shows the failing layer then fits.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, cast

from ._findings import FindingKind, compact, layer_repr
from ._forward_pass import _meta_copy, trace_shapes
from ._layer_arithmetic import Window, windows
from ._results import LayerRow, ModelTrace

if TYPE_CHECKING:  # annotations only: torch is imported where it runs
    from torch import nn

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Shrinker:
    row: LayerRow
    layer: nn.Module
    windows: list[Window]
    sizes: tuple[int, ...]      # the map it received
    outs: tuple[int, ...]       # the map it returned
    keep: tuple[int, ...]       # the padding that keeps the size

    @property
    def lost(self) -> int:
        return max(s - o for s, o in zip(self.sizes, self.outs))


def with_shrink_source(model: nn.Module, trace: ModelTrace) -> ModelTrace:
    """``trace`` with its SHRINK error naming the dilated convolution that shrank the map, if one did."""
    error = trace.error
    if error is None or error.kind is not FindingKind.SHRINK or trace.device != "meta":
        return trace
    try:
        source = _largest_dilated_shrink(model, trace)
        cured = source is not None and _padding_cures(model, trace, source)
    except Exception as exc:  # noqa: BLE001 - a hint must never break the trace
        logger.info("no shrink source for %s: %r", trace.model, exc)
        return trace
    if not cured:
        return trace
    assert source is not None  # cured only with a source
    return dataclasses.replace(trace, error=_named(error, source))


def _largest_dilated_shrink(model: nn.Module, trace: ModelTrace) -> Optional[_Shrinker]:
    """The stride-1 dilated convolution, before the failure, that lost the most pixels."""
    from torch import nn

    modules = dict(model.named_modules())
    best: Optional[_Shrinker] = None
    for row in trace.rows:
        layer = modules.get(row.path)
        if row.failed or not isinstance(layer, nn.modules.conv._ConvNd) or layer.transposed:
            continue
        d = len(layer.kernel_size)
        ws = windows(layer, d)
        if (layer.padding_mode != "zeros" or not ws or any(w.stride != 1 for w in ws)
                or all(w.dilation == 1 for w in ws) or row.input_shape is None or row.output_shape is None):
            continue
        keep = tuple(w.keeping_padding() for w in ws)
        sizes, outs = tuple(row.input_shape[-d:]), tuple(row.output_shape[-d:])
        if None in keep or outs == sizes:
            continue
        found = _Shrinker(row, layer, ws, sizes, outs, cast("tuple[int, ...]", keep))  # no None: checked above
        if best is None or found.lost > best.lost:
            best = found
    return best


def _padding_cures(model: nn.Module, trace: ModelTrace, source: _Shrinker) -> bool:
    """A meta trace with ``source`` padded to keep its size gets past the failing layer."""
    meta = _meta_copy(model)
    cast("nn.modules.conv._ConvNd", meta.get_submodule(source.row.path)).padding = source.keep  # the copy's layer
    fixed = trace_shapes(meta, trace.input_shape, trace.dtype)
    # not ok means an error; with_shrink_source checked trace.error (the property does not narrow)
    return fixed.ok or not (fixed.error.kind is FindingKind.SHRINK and fixed.error.path == trace.error.path)  # type: ignore[union-attr]


def _named(error, source: _Shrinker):
    """The error with the shrinking convolution's arithmetic and its padding fix first."""
    head = f"`{source.row.path}` " + layer_repr(source.layer, ("kernel_size", "stride", "padding", "dilation"),
                                                {"stride": 1, "padding": 0, "dilation": 1})
    w, size = source.windows[0], source.sizes[0]
    same = len(set(zip(source.windows, source.sizes))) == 1
    formula = f"out = {w.formula(size)}" + (" per side" if same and len(source.sizes) > 1 else "")
    shrank = f"{head} shrank the {compact(source.sizes)} map to {compact(source.outs)} ({formula})"
    keep = source.keep[0] if len(set(source.keep)) == 1 else list(source.keep)
    fix = (f"padding={keep} on `{source.row.path}` (dilation·(k−1)//2 = {w.dilation}·({w.kernel}−1)//2) keeps its "
           f"size ({compact(source.sizes)} in, {compact(source.sizes)} out), and the map then fits this layer; "
           f"or, on this layer: {error.fix}")
    arithmetic = f"{error.arithmetic}; {shrank}" if error.arithmetic else shrank
    return dataclasses.replace(error, arithmetic=arithmetic, fix=fix)

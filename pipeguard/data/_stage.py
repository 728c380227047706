"""Where a failing sample broke: re-load its raw image and trace it through the transform.

Only used on failure (never on the hot path), and never allowed to fail itself: a
stage is a courtesy added to an error that is raised either way.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any, Optional

from ..diagnosis import numbers
from ._sample_source import FolderSample, locate

if TYPE_CHECKING:
    from ..core import Contract


def _reloadable(dataset: Any, index: Optional[int]) -> Optional[FolderSample]:
    if index is None:
        return None
    try:
        hit = locate(dataset, index)
    except Exception:
        return None
    return hit if hit is not None and hit.can_reload else None


def _name(fn: Any) -> str:
    return getattr(fn, "__qualname__", None) or type(fn).__name__


def trace_stage(dataset: Any, index: Optional[int], contract: Contract) -> Optional[str]:
    """The :func:`pipeguard.trace` of ``dataset[index]``'s raw image through its transform, as stage text.

    ``None`` unless the dataset is folder-like with a ``loader`` and a ``transform``.
    """
    hit = _reloadable(dataset, index)
    transform = None if hit is None else getattr(hit.dataset, "transform", None)
    if transform is None:
        return None
    assert hit is not None  # a transform was found on it
    # on failure only: tracing is never on the hot path
    from ..transforms import trace

    try:
        traced = trace(transform, hit.load_raw(), contract)
        table = str(traced).rstrip()
        headline = _headline(traced)
    except Exception:
        return None
    if not table:
        return None
    return f"{headline}; the file traced through the transform:\n" + textwrap.indent(table, " " * 12)


def _headline(traced: Any) -> str:
    """``'after step 2 of the transform: Resize(...)'`` and the like, from a TransformTrace."""
    raised = getattr(traced, "raised", None)
    if raised is not None:
        return f"step {raised.step} of the transform, {raised.transform}, raised {raised.error}"
    row = getattr(traced, "breaking", None)
    if row is None:
        return "the transform (re-run on the file, it met the contract: a random step?)"
    if row.step == "input":
        mode = f"mode {row.mode!r}, " if row.mode else ""
        shape = numbers.shape(row.shape) if row.shape else "?"
        return f"the file as loaded ({mode}{shape}), and no step of the transform fixes it"
    return f"after step {row.step} of the transform: {row.transform}"


def failure_stage(dataset: Any, index: Optional[int], contract: Contract, *, trace: bool) -> Optional[str]:
    """For a sample whose ``__getitem__`` raised: was it the file, or the transform?"""
    hit = _reloadable(dataset, index)
    if hit is None:
        return None
    try:
        hit.load_raw()
    except Exception:
        return f"decoding the file ({type(hit.dataset).__name__}.loader = {_name(hit.dataset.loader)})"
    traced = trace_stage(dataset, index, contract) if trace else None
    return traced or "the transform (the file itself decodes)"

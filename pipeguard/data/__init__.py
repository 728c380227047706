"""Guarded datasets and loaders: ``GuardedDataset``, ``GuardedDataLoader``, ``collate``,
``Skipped``, with the skip ledger, fix-mode repair and loading at the source.
May import ``core``, ``diagnosis`` and ``transforms``; loads torch.
"""

from __future__ import annotations

from typing import Any

from .._exports import resolve
from ._dataset import GuardedDataset
from ._loader import GuardedDataLoader, collate
from ._skip_ledger import SkippedSamplesWarning
from ._skipped import Skipped

__all__ = ["GuardedDataLoader", "GuardedDataset", "Skipped", "SkippedSamplesWarning", "collate"]

# names the sibling packages use (not public API), from their module on first use
_SHARED = {
    "ImageNotFound": "._sample_parts",
    "as_batch_error": "._batch_check",
    "batch_error": "._batch_check",
    "get_image": "._sample_parts",
    "image_slot": "._sample_parts",
}


def __getattr__(name: str) -> Any:
    return resolve(__name__, _SHARED, name)

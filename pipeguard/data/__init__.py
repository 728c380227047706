"""Guarded datasets and loaders: ``GuardedDataset``, ``GuardedDataLoader``, ``collate``,
``Skipped``, with the skip ledger, fix-mode repair and loading at the source.
May import ``core``, ``diagnosis`` and ``transforms``; loads torch.
"""

from __future__ import annotations

from ._dataset import GuardedDataset
from ._loader import GuardedDataLoader, collate
from ._skipped import Skipped

__all__ = ["GuardedDataLoader", "GuardedDataset", "Skipped", "collate"]

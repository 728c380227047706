"""Hugging Face ``datasets`` support for :class:`~pipeguard.GuardedDataset`: the example's file.

A ``datasets.Dataset`` already works as a dataset (its samples are dicts with the
decoded image under the Image column's name, a tensor with ``with_format("torch")``,
or whatever ``with_transform`` returns), so checking, skipping and fixing need nothing
special. What it lacks is ``samples``: :class:`StoredPath` reads an example's stored
file path from the Arrow table (nothing decoded, no transform run), so a violation
names the file. ``datasets`` is never imported here: an object is a dataset only if
``datasets`` is loaded already.
"""

from __future__ import annotations

import sys
from typing import Any, Optional


def stored_path_fn(dataset: Any) -> Optional["StoredPath"]:
    """A ``source_fn`` for a ``datasets.Dataset`` with an Image column, else ``None``."""
    datasets = sys.modules.get("datasets")
    if datasets is None or not isinstance(dataset, datasets.Dataset):
        return None
    found = [n for n, f in dataset.features.items() if isinstance(f, datasets.Image)]
    if not found:
        return None
    return StoredPath(dataset, next((n for n in ("image", "img") if n in found), found[0]))


class StoredPath:
    """``index -> path`` of an example's image as stored in the dataset, or ``None`` when only bytes are kept.

    Picklable (for DataLoader workers); the Arrow view it reads through is made on first use.
    """

    def __init__(self, dataset: Any, column: str) -> None:
        self.dataset = dataset
        self.column = column
        self._view: Any = None

    def __call__(self, index: int) -> Optional[str]:
        if self._view is None:
            self._view = self.dataset.select_columns([self.column]).with_format("arrow")
        value = self._view[int(index)].column(0)[0].as_py()
        return (value or {}).get("path") or None

    def __getstate__(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "column": self.column, "_view": None}

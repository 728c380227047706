"""Which file a sample came from, for ``ImageFolder``/``DatasetFolder``-like datasets.

A dataset is *folder-like* when it lists ``samples`` (or ``imgs``) as
``(path, target)`` pairs; when it also has a ``loader`` (path -> decoded image),
pipeguard can re-load a sample's raw image to trace or fix it. ``Subset`` and
``ConcatDataset`` wrappers are looked through.
"""

from __future__ import annotations

import bisect
import os
from typing import Any, Callable, NamedTuple, Optional

_MAX_DEPTH = 16  # nested Subset/ConcatDataset wrappers followed at most
_NO_TARGET = object()  # ``samples`` lists bare paths: the source is known, the sample cannot be rebuilt


class FolderSample(NamedTuple):
    """A sample's home: the folder-like dataset, its index there, the file and the target."""

    dataset: Any
    index: int  # type: ignore[assignment]  # a field, shadowing tuple.index on purpose
    path: str
    target: Any

    @property
    def can_reload(self) -> bool:
        return self.target is not _NO_TARGET and callable(getattr(self.dataset, "loader", None))

    def load_raw(self) -> Any:
        """The decoded image as the dataset's ``loader`` returns it, before any transform."""
        return self.dataset.loader(self.path)

    def finish(self, image: Any) -> tuple[Any, Any]:
        """``(transform(image), target_transform(target))``, as ``DatasetFolder.__getitem__`` does."""
        transform = getattr(self.dataset, "transform", None)
        target_transform = getattr(self.dataset, "target_transform", None)
        sample = transform(image) if transform is not None else image
        target = target_transform(self.target) if target_transform is not None else self.target
        return sample, target


def _entries(dataset: Any) -> Any:
    for name in ("samples", "imgs"):
        entries = getattr(dataset, name, None)
        if entries is not None and hasattr(entries, "__getitem__"):
            return entries
    return None


def locate(dataset: Any, index: int) -> Optional[FolderSample]:
    """The folder-like dataset and entry behind ``dataset[index]``, or ``None``."""
    from torch.utils.data import ConcatDataset, Subset

    for _ in range(_MAX_DEPTH):
        if index < 0:
            try:
                index += len(dataset)
            except TypeError:
                return None
        entries = _entries(dataset)
        if entries is not None:
            try:
                entry = entries[index]
                path, target = (entry, _NO_TARGET) if isinstance(entry, (str, os.PathLike)) else entry[:2]
            except (IndexError, KeyError, TypeError, ValueError):
                return None
            if not isinstance(path, (str, os.PathLike)):
                return None
            return FolderSample(dataset, index, os.fspath(path), target)
        if isinstance(dataset, Subset):
            index, dataset = int(dataset.indices[index]), dataset.dataset
        elif isinstance(dataset, ConcatDataset):
            part = bisect.bisect_right(dataset.cumulative_sizes, index)
            index -= dataset.cumulative_sizes[part - 1] if part else 0
            dataset = dataset.datasets[part]
        else:
            return None
    return None


def source_of(dataset: Any, index: Optional[int],
              source_fn: Optional[Callable[[int], Any]] = None) -> Optional[str]:
    """The file behind ``dataset[index]`` (from ``source_fn`` when given); never raises."""
    if index is None:
        return None
    try:
        if source_fn is not None:
            found = source_fn(index)
            return None if found is None else os.fspath(found) if isinstance(found, os.PathLike) else str(found)
        hit = locate(dataset, index)
        return None if hit is None else hit.path
    except Exception:  # a source is a courtesy: looking it up must never fail the sample
        return None

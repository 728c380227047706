"""Scan rows of a Hugging Face ``datasets.Dataset``: one row per example, from the stored bytes.

A ``datasets.Image`` column is stored in Arrow as ``{"bytes", "path"}``. The rows are
read from the Arrow table (``with_format("arrow")``: nothing is decoded, no transform
runs) and each example's bytes go through the folder scan's own header reader
(:func:`~pipeguard.scanner.probe._file._read_image` on an in-memory file), so statuses,
truncation checks and columns are those of a folder scan. An example stored as a path
only (a dataset built from local files) is probed from that file, as a folder scan
would. ``path`` is the stored file path when there is one, else ``#<index>`` (the
example's position in the dataset); ``class`` is the name of the example's
``ClassLabel`` (a ``label`` column first) when the dataset has one.

An Image column declares its values images, so an example that cannot be read is
``unreadable`` (never ``not-image``). ``deep=True`` decodes in this process. ``datasets``
is never imported here: an object is a dataset only if ``datasets`` is loaded already.
"""

from __future__ import annotations

import io
import sys
import warnings
from typing import Any, Callable, Optional

from ...core import UnreadableKind
from .._row import UNREADABLE, ScanRow
from ..probe import bare_row, probe_file, probe_row, with_warnings

BATCH = 256  # examples per Arrow batch read: bounds memory to a batch of encoded images
IMAGE_KEYS = ("image", "img")  # preferred Image columns, as GuardedDataset finds images in samples
LABEL_KEYS = ("label", "labels")


def is_hf_dataset(obj: Any) -> bool:
    """Whether ``obj`` is a ``datasets.Dataset`` (or a ``DatasetDict``, refused with a hint)."""
    datasets = sys.modules.get("datasets")
    if datasets is None:
        return False
    if isinstance(obj, datasets.DatasetDict):
        raise TypeError(f"pg.scan() takes one split of a DatasetDict, e.g. pg.scan(ds[{next(iter(obj), 'train')!r}])")
    return isinstance(obj, datasets.Dataset)


def hf_rows(dataset: Any, deep: bool = False,
            progress: Optional[Callable[[int, str], None]] = None) -> tuple[list[ScanRow], str]:
    """Every example's scan row, in dataset order, and a name for the report's ``root``.

    Raises:
        TypeError: the dataset has no ``datasets.Image`` column.
    """
    image = image_column(dataset.features)
    label = _label_column(dataset.features)
    names = dataset.features[label].names if label else None
    table = dataset.select_columns([image] + ([label] if label else [])).with_format("arrow")
    rows: list[ScanRow] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", DeprecationWarning)  # about Pillow, not the file
        for batch in table.iter(batch_size=BATCH):
            stored, paths = batch.column(image).combine_chunks().flatten()  # null examples stay null
            labels = batch.column(label).to_pylist() if label else [None] * len(batch)
            for data, path, value in zip(stored.to_pylist(), paths.to_pylist(), labels):
                cls = names[value] if names is not None and value is not None and value >= 0 else None
                row = example_row(len(rows), data, path, cls, deep)
                rows.append(with_warnings(row, caught))
            if progress is not None and rows:
                progress(len(rows), rows[-1].path)
    return rows, f"datasets.Dataset[{image!r}] ({len(rows):,} examples)"


class StoredImages:
    """What a scanned dataset stores for each example's image, by position (the report's
    row order): the page's previews read it, since the images are not files.

    Args:
        dataset: the scanned ``datasets.Dataset`` (kept: the report holds it, and pickles it).
    """

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset
        self.column = image_column(dataset.features)
        self._table: Any = None

    def __getstate__(self) -> dict:
        return {"dataset": self.dataset, "column": self.column, "_table": None}  # the view is made again

    def image(self, index: int) -> tuple[Any, Optional[str]]:
        """``(bytes, path)`` stored for example ``index``, either ``None`` when not stored.
        The bytes are an Arrow buffer over the dataset's own memory (no copy; ``len`` is
        their size)."""
        if self._table is None:
            self._table = self.dataset.select_columns([self.column]).with_format("arrow")
        value = self._table[index].column(self.column)[0]
        if not value.is_valid:
            return None, None
        data, path = value["bytes"], value["path"]
        return (data.as_buffer() if data.is_valid else None), path.as_py()


def image_column(features: Any) -> str:
    """The name of the dataset's ``datasets.Image`` column (``image``/``img`` first)."""
    import datasets

    found = [name for name, feature in features.items() if isinstance(feature, datasets.Image)]
    if not found:
        raise TypeError(f"the dataset has no datasets.Image column (columns: {', '.join(features) or 'none'}); "
                        "cast one with dataset.cast_column(name, datasets.Image())")
    return next((name for name in IMAGE_KEYS if name in found), found[0])


def _label_column(features: Any) -> Optional[str]:
    import datasets

    found = [name for name, feature in features.items() if isinstance(feature, datasets.ClassLabel)]
    return next((name for name in LABEL_KEYS if name in found), found[0] if found else None)


def example_row(index: int, data: Optional[bytes], path: Optional[str], cls: Optional[str],
                deep: bool = False) -> ScanRow:
    """One example's row; never raises."""
    name = path or f"#{index}"
    hidden = name.rsplit("/", 1)[-1].startswith(".")  # the file's own name: datasets live in ~/.cache
    if data is None:
        if path:
            return probe_row(path, name, cls, hidden, deep)  # stored as a path: read the file
        return bare_row(name, cls, hidden, None, UNREADABLE, "no image stored (bytes and path are null)",
                    UnreadableKind.EMPTY)
    return probe_file(io.BytesIO(data), len(data), name, cls, hidden, deep, image=True)

"""A report as a folder of Parquet parts: ``part-00000.parquet``, ``part-00001.parquet``...
in listing order, and ``_pipeguard-summary.json`` once the scan ends.

A cluster scan with a folder ``output`` (a local folder, or a URL such as
``s3://bucket/reports/scan/``) has each Dask task write its own part where it runs, so
the rows never pass through the client (see :mod:`pipeguard.scanner._parts`); a scan on
this machine writes the same layout from its own process (:class:`PartsSink`).
``pandas.read_parquet(folder)`` reads every row in order: parts are numbered in listing
order with a fixed width, and readers skip names starting with ``_``. A part is written
whole under its final name (a temporary file renamed, or one PUT to an object store), so
a task that is retried overwrites its own part and never adds one.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, Iterator, Optional, Union

from ...diagnosis import plural
from .._row import COLUMNS, ScanRow
from ..sources import OutputClobbers
from ._sinks import OutputError, Sink, arrow_schema, arrow_table, dumps, open_sink, read_rows, read_summary, row_of

PART = "part-{:05d}.parquet"  # 5 digits at least: pandas reads 100,000 parts in order; pipeguard, any number
SUMMARY = "_pipeguard-summary.json"  # "_": pyarrow and pandas skip it when they read the folder
_PART_NAME = re.compile(r"part-(\d{5,})\.parquet")
_TEMP_NAME = re.compile(r"\.part-\d{5,}\.parquet\.\d+\.tmp")  # a part being written (or a killed writer's)


def open_output(path: str, storage_options: Optional[dict] = None) -> Union[Sink, PartsSink]:
    """Where a streamed scan writes: a folder's parts, or a report file's :class:`Sink`."""
    return PartsSink(path, storage_options) if is_folder_output(path) else open_sink(path)


def read_output_rows(path: str, batch: int = 50_000,
                     storage_options: Optional[dict] = None) -> Iterator[list[ScanRow]]:
    """The rows of a streamed report, a file or a folder of parts, in order."""
    if is_folder_output(path):
        return read_folder_rows(path, batch, storage_options)
    return read_rows(path, batch)


def read_output_summary(path: str, storage_options: Optional[dict] = None) -> Optional[dict]:
    """The summary a streamed report keeps (``None`` for CSV, or parts whose scan did not end)."""
    return read_folder_summary(path, storage_options) if is_folder_output(path) else read_summary(path)


def is_folder_output(output: Any) -> bool:
    """Whether ``output`` names a folder of parts: a URL or path ending in ``/``, or an
    existing local folder."""
    text = os.fspath(output)
    return text.endswith("/") or (("://" not in text) and os.path.isdir(text))


def _fs(folder: str, storage_options: Optional[dict]) -> tuple[Any, str]:
    """``(fs, path)`` of a URL folder; ``(None, path)`` for a local one."""
    if "://" not in folder:
        return None, folder.rstrip("/") or "/"
    from ..._io import filesystem

    fs, path = filesystem(folder, storage_options)
    return fs, path.rstrip("/")


def prepare_folder(folder: str, storage_options: Optional[dict] = None) -> None:
    """Make the output folder, or check that it holds no report yet: parts of an earlier scan
    would be read back with this one's, and deleting a user's files is not ours to do.

    Raises:
        OutputClobbers: the folder already holds files (a ``ValueError``).
        OutputError: it cannot be made or listed.
    """
    fs, path = _fs(folder, storage_options)
    try:
        if fs is None:
            os.makedirs(path, exist_ok=True)
            found = sorted(os.listdir(path))
        else:
            found = [p.rsplit("/", 1)[-1] for p in fs.find(path)] if fs.exists(path) else []
    except OSError as exc:
        raise OutputError(f"cannot write {folder}: {exc.strerror or exc}") from None
    if found:
        raise OutputClobbers(f"the output folder {folder} is not empty ({plural(len(found), 'file')}, e.g. "
                             f"{found[0]!r}): the parts of an earlier scan would be read back with this one's; "
                             "give a new or empty folder")


def write_part(folder: str, seq: int, columns: list[list], storage_options: Optional[dict] = None) -> None:
    """Write part ``seq`` of the rows held in ``columns`` (the report's columns), whole."""
    import pyarrow.parquet as pq

    table = arrow_table(columns)
    fs, path = _fs(folder, storage_options)
    name = PART.format(seq)
    if fs is not None:
        with fs.open(f"{path}/{name}", "wb") as f:  # one PUT when closed: never half a part
            pq.write_table(table, f)
        return
    temp = os.path.join(path, f".{name}.{os.getpid()}.tmp")
    try:
        os.makedirs(path, exist_ok=True)  # a worker on another machine sees the shared folder first here
        pq.write_table(table, temp)
        os.replace(temp, os.path.join(path, name))
    except OSError as exc:
        _remove(temp)
        raise OutputError(f"cannot write {os.path.join(folder, name)}: {exc.strerror or exc}") from None


def read_part_columns(folder: str, seq: int, storage_options: Optional[dict] = None) -> list[list]:
    """The columns of part ``seq``, as :func:`write_part` was given them."""
    fs, path = _fs(folder, storage_options)
    table = _read_table(fs, f"{path}/{PART.format(seq)}")
    return [_plain(c, table.column(c).to_pylist()) for c in COLUMNS]


def write_summary(folder: str, summary: dict, storage_options: Optional[dict] = None) -> None:
    fs, path = _fs(folder, storage_options)
    text = dumps(summary)
    if fs is not None:
        fs.pipe_file(f"{path}/{SUMMARY}", text.encode())
        return
    with open(os.path.join(path, SUMMARY), "w", encoding="utf-8") as f:
        f.write(text)


def read_folder_summary(folder: str, storage_options: Optional[dict] = None) -> Optional[dict]:
    fs, path = _fs(folder, storage_options)
    try:
        if fs is not None:
            return json.loads(fs.cat_file(f"{path}/{SUMMARY}"))
        with open(os.path.join(path, SUMMARY), encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def part_names(folder: str, storage_options: Optional[dict] = None, temporary: bool = False) -> list[str]:
    """The parts in the folder, in the order of their numbers (``temporary``: parts still
    being written, or left by a writer that was killed, instead)."""
    fs, path = _fs(folder, storage_options)
    names = os.listdir(path) if fs is None else [p.rsplit("/", 1)[-1] for p in fs.ls(path, detail=False)]
    if temporary:
        return [n for n in names if _TEMP_NAME.fullmatch(n)]
    numbered = [(int(m.group(1)), n) for n in names if (m := _PART_NAME.fullmatch(n))]
    return [n for _, n in sorted(numbered)]


def read_folder_rows(folder: str, batch: int = 50_000,
                     storage_options: Optional[dict] = None) -> Iterator[list[ScanRow]]:
    """The rows of every part in order, ``batch`` at a time at most (one part at a time in
    memory)."""
    fs, path = _fs(folder, storage_options)
    for name in part_names(folder, storage_options):
        table = _read_table(fs, f"{path}/{name}")
        for chunk in table.to_batches(max_chunksize=batch):
            columns = [_plain(c, chunk.column(c).to_pylist()) for c in COLUMNS]
            yield [row_of(dict(zip(COLUMNS, values))) for values in zip(*columns)]


def _read_table(fs: Any, path: str) -> Any:
    import pyarrow.parquet as pq

    if fs is None:
        return pq.read_table(path, schema=arrow_schema())
    with fs.open(path, "rb") as f:
        return pq.read_table(f, schema=arrow_schema())


def _plain(name: str, values: list) -> list:
    """Arrow gives lists where the rows hold tuples (violations, warnings)."""
    if name in ("violations", "warnings"):
        return [tuple(v or ()) for v in values]
    return values


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


class PartsSink:
    """A scan on this machine writing a folder of parts: one part per chunk of rows (the same
    layout a cluster's tasks write); :meth:`close` adds the summary."""

    def __init__(self, folder: str, storage_options: Optional[dict] = None) -> None:
        prepare_folder(folder, storage_options)
        self.path = folder
        self._options = storage_options
        self._next = 0

    def write(self, columns: list[list]) -> None:
        if columns[0]:
            write_part(self.path, self._next, columns, self._options)
            self._next += 1

    def close(self, summary: dict) -> None:
        write_summary(self.path, summary, self._options)

    def abort(self) -> None:
        remove_parts(self.path, self._options)


def remove_parts(folder: str, storage_options: Optional[dict] = None) -> None:
    """Remove the parts of a scan that did not end, as a file report's temporary file is: the
    folder was empty when the scan began, so every part in it is the scan's own."""
    fs, path = _fs(folder, storage_options)
    try:
        for name in part_names(folder, storage_options) + part_names(folder, storage_options, temporary=True):
            if fs is None:
                _remove(os.path.join(path, name))
            else:
                fs.rm_file(f"{path}/{name}")
    except OSError:
        pass  # what cannot be removed stays; the missing summary says the scan did not end

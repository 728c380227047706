"""Rows written as they come: a scan's report streamed to Parquet, JSON lines, JSON or CSV.

Which writer is chosen by the output's suffix (``.parquet``, ``.jsonl``, ``.json``,
``.csv``). The summary is known only at the end: JSON lines end with a line
``{"summary": {...}}``, JSON is ``{"files": [...], "summary": {...}}``, Parquet keeps it as
JSON in the file's metadata under ``pipeguard.summary``; CSV has no place for it. Each
writer works in a temporary file beside the output and moves it into place when the scan
ends, so an interrupted scan never leaves a half-written report under the output's name.
:func:`read_rows` reads any of them back, batch by batch.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Optional, Protocol, Sequence

from .._row import COLUMNS, INT_COLUMNS, LIST_COLUMNS, ScanRow
from ._json_rows import json_rows

if TYPE_CHECKING:
    class TextWriter(Protocol):
        """What each of :data:`TEXT_WRITERS` makes of a stream."""

        def write(self, records: Iterable[dict[str, Any]]) -> None: ...

        def write_columns(self, columns: list[list]) -> None: ...

        def finish(self, summary: dict[str, Any]) -> None: ...

SUMMARY_KEY = "pipeguard.summary"
FORMATS = {".parquet": "parquet", ".jsonl": "jsonl", ".json": "json", ".csv": "csv"}


def output_format(path: str) -> Optional[str]:
    """``parquet``, ``jsonl``, ``json`` or ``csv`` by the output's suffix; ``None`` for another."""
    return FORMATS.get(os.path.splitext(os.fspath(path))[1].lower())


def record(row: ScanRow) -> dict[str, Any]:
    """A row as a JSON-ready dict: the report's column names, lists for the tuples."""
    out: dict[str, Any] = dict(zip(COLUMNS, row))
    out["violations"] = list(row.violations)
    out["warnings"] = list(row.warnings)
    return out


def frame_columns(frame: Any) -> list[list]:
    """The table's columns as lists of plain Python values, in :data:`COLUMNS` order: ``int``
    or ``None`` for the counts, ``str`` or ``None`` for text and categories, tuples for the
    lists. What the writers take: a chunk is judged as a table and written from it, never
    turned back into rows."""
    import numpy as np
    import pandas as pd

    out = []
    for name in COLUMNS:
        s = frame[name]
        if name in INT_COLUMNS:
            out.append(s.to_numpy(dtype=object, na_value=None).tolist())
        elif isinstance(s.dtype, pd.CategoricalDtype):
            categories = np.empty(len(s.cat.categories) + 1, dtype=object)  # the last slot, None: code -1
            categories[:-1] = s.cat.categories
            out.append(categories[s.cat.codes.to_numpy()].tolist())
        else:
            out.append(s.tolist())
    return out


def records(columns: list[list]) -> Iterator[dict[str, Any]]:
    """Each row of ``columns`` (see :func:`frame_columns`) as a JSON-ready dict."""
    for values in zip(*columns):
        row = dict(zip(COLUMNS, values))
        row["violations"] = list(row["violations"])
        row["warnings"] = list(row["warnings"])
        yield row


def dumps(value: Any) -> str:
    """JSON text; a file name that is not valid UTF-8 (a surrogate in Python) is ``\\u``-escaped."""
    text = json.dumps(value, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(value)
    return text


def csv_cells(rec: dict[str, Any]) -> list[Any]:
    return ["; ".join(v) if isinstance(v, list) else ("" if v is None else
            ("true" if v is True else "false" if v is False else v)) for v in rec.values()]


class CsvWriter:
    """``csv.writer`` with ``\n`` line ends that also quotes a carriage return.

    The csv module quotes a field holding the delimiter, the quote or a character of the
    line terminator: with ``\n`` ends, a ``\r`` in a file name went out bare and split the
    record for readers that end lines at ``\r``. A row holding one is written with every
    field quoted.
    """

    def __init__(self, stream: Any) -> None:
        self._plain = csv.writer(stream, lineterminator="\n")
        self._quoted = csv.writer(stream, lineterminator="\n", quoting=csv.QUOTE_ALL)

    def writerow(self, cells: Sequence[Any]) -> None:
        has_cr = any(isinstance(c, str) and "\r" in c for c in cells)
        (self._quoted if has_cr else self._plain).writerow(cells)

    def writerows(self, rows: Any) -> None:
        for cells in rows:
            self.writerow(cells)


class JsonLinesWriter:
    """One record a line, then the summary as the last line ``{"summary": {...}}``."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, records: Iterable[dict[str, Any]]) -> None:
        self._stream.write("".join(dumps(r) + "\n" for r in records))

    def write_columns(self, columns: list[list]) -> None:
        self._stream.write("".join(text + "\n" for text in json_rows(columns)))

    def finish(self, summary: dict[str, Any]) -> None:
        self._stream.write(dumps({"summary": summary}) + "\n")


class JsonWriter:
    """``{"files": [record, ...], "summary": {...}}``, a record a line: the rows as they come,
    the summary (known only once they are all counted) after them."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._stream.write('{"files": [')
        self._first = True

    def write(self, records: Iterable[dict[str, Any]]) -> None:
        self._texts(map(dumps, records))

    def write_columns(self, columns: list[list]) -> None:
        self._texts(json_rows(columns))

    def _texts(self, texts: Iterable[str]) -> None:
        for text in texts:
            self._stream.write(("\n  " if self._first else ",\n  ") + text)
            self._first = False

    def finish(self, summary: dict[str, Any]) -> None:
        self._stream.write('\n], "summary": ' + dumps(summary) + "}\n")


class CsvRecordsWriter:
    """A header of the report's columns, then a line a record (lists joined with ``"; "``,
    null as empty); CSV has no place for the summary."""

    def __init__(self, stream: Any) -> None:
        self._writer = CsvWriter(stream)
        self._writer.writerow(COLUMNS)

    def write(self, records: Iterable[dict[str, Any]]) -> None:
        self._writer.writerows(csv_cells(r) for r in records)

    def write_columns(self, columns: list[list]) -> None:
        self.write(records(columns))

    def finish(self, summary: dict[str, Any]) -> None:
        pass


# the one writer of each text format: to a stream (--format without --output) and to a file (--output)
TEXT_WRITERS: dict[str, Callable[[Any], TextWriter]] = {"jsonl": JsonLinesWriter, "json": JsonWriter,
                                                        "csv": CsvRecordsWriter}


def write_text(fmt: str, records: Iterable[dict[str, Any]], summary: dict[str, Any], stream: Any) -> None:
    """The whole report in text format ``fmt`` (``json``, ``jsonl``, ``csv``) to ``stream``."""
    writer = TEXT_WRITERS[fmt](stream)
    writer.write(records)
    writer.finish(summary)


class OutputError(OSError):
    """The report cannot be written where it was asked for (its folder is missing or not
    writable, the disk is full): the message names the output."""


class Sink:
    """Writes batches of rows to ``path`` in its format (see :func:`open_sink`), in a
    temporary file beside it; :meth:`close` adds the summary and moves it into place (over a
    symlink's target, when ``path`` is one).

    Raises:
        OutputError: the temporary file cannot be made, written or moved into place.
    """

    def __init__(self, path: str, fmt: str = "", binary: bool = False) -> None:
        self.path = os.fspath(path)
        self._target = os.path.realpath(self.path)  # a symlink is written through: the link stays a link
        folder = os.path.dirname(self._target)
        try:
            fd, self._temp = tempfile.mkstemp(prefix=".pipeguard-", suffix=".part", dir=folder)
        except OSError as exc:
            raise OutputError(f"cannot write {self.path}: {exc.strerror or exc}") from None
        self._file = os.fdopen(fd, "wb") if binary else os.fdopen(
            fd, "w", encoding="utf-8", errors="surrogateescape", newline="")
        self._writer: Optional[TextWriter] = None if binary else TEXT_WRITERS[fmt](self._file)

    def write(self, columns: list[list]) -> None:
        """Write the rows held in ``columns`` (see :func:`frame_columns`)."""
        assert self._writer is not None  # a text sink (ParquetSink writes its own way)
        try:
            self._writer.write_columns(columns)
        except OSError as exc:  # a full disk, a file system gone away
            raise OutputError(f"cannot write {self.path}: {exc.strerror or exc}") from None

    def _finish(self, summary: dict[str, Any]) -> None:
        assert self._writer is not None  # a text sink (ParquetSink finishes its own way)
        self._writer.finish(summary)

    def close(self, summary: dict[str, Any]) -> None:
        try:
            self._finish(summary)
            self._file.close()
            os.chmod(self._temp, 0o666 & ~_umask())  # mkstemp made it 600: a report is for others to read
            os.replace(self._temp, self._target)
        except OSError as exc:
            raise OutputError(f"cannot write {self.path}: {exc.strerror or exc}") from None

    def abort(self) -> None:
        self._file.close()
        try:
            os.unlink(self._temp)
        except OSError:
            pass


def _umask() -> int:
    """This process's umask, read without changing it where Linux tells it (``/proc``)."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and restored at once
    os.umask(mask)
    return mask


class ParquetSink(Sink):
    """Row groups of the batches, with pyarrow; the summary in the file's key-value metadata."""

    def __init__(self, path: str) -> None:
        import pyarrow.parquet as pq

        super().__init__(path, binary=True)
        self._parquet = pq.ParquetWriter(self._file, arrow_schema())

    def write(self, columns: list[list]) -> None:
        if columns[0]:
            self._parquet.write_table(arrow_table(columns))

    def _finish(self, summary: dict[str, Any]) -> None:
        self._parquet.add_key_value_metadata({SUMMARY_KEY: dumps(summary)})
        self._parquet.close()

    def abort(self) -> None:
        try:
            self._parquet.close()
        finally:
            super().abort()


def open_sink(path: str) -> Sink:
    fmt = output_format(path)
    if fmt is None:
        raise ValueError(f"output should end in {', '.join(FORMATS)}, but got {os.fspath(path)!r}")
    return ParquetSink(path) if fmt == "parquet" else Sink(path, fmt)


def arrow_schema() -> Any:
    import pyarrow as pa

    types = {c: pa.int64() for c in INT_COLUMNS}
    types.update({c: pa.list_(pa.string()) for c in LIST_COLUMNS})
    types["hidden"] = pa.bool_()
    return pa.schema([(c, types.get(c, pa.string())) for c in COLUMNS])


def arrow_table(columns: list[list]) -> Any:
    """A Parquet row group of ``columns`` (see :func:`frame_columns`)."""
    import pyarrow as pa

    schema = arrow_schema()
    arrays = []
    for field, values in zip(schema, columns):
        try:
            arrays.append(pa.array(values, type=field.type))
        except (UnicodeEncodeError, pa.ArrowInvalid):  # a non-UTF-8 file name: Arrow holds UTF-8 only
            arrays.append(pa.array([_utf8(v) for v in values], type=field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _utf8(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    if isinstance(value, (list, tuple)):
        return [_utf8(v) for v in value]
    return value


# -- reading back ----------------------------------------------------------------------------
def read_rows(path: str, batch: int = 50_000) -> Iterator[list[ScanRow]]:
    """The rows of a streamed report, in order, ``batch`` at a time."""
    fmt = output_format(path)
    if fmt == "parquet":
        yield from _parquet_rows(path, batch)
        return
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as f:
        # another suffix (None) raises KeyError
        records = {"jsonl": _jsonl_records, "json": _json_records, "csv": _csv_records}[fmt](f)  # type: ignore[index]
        out: list[ScanRow] = []
        for rec in records:
            out.append(row_of(rec))
            if len(out) == batch:
                yield out
                out = []
        if out:
            yield out


def read_summary(path: str) -> Optional[dict[str, Any]]:
    """The summary a streamed report keeps (``None`` for CSV)."""
    fmt = output_format(path)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        meta = pq.read_metadata(path).metadata or {}
        raw = meta.get(SUMMARY_KEY.encode())
        return None if raw is None else json.loads(raw)
    if fmt == "jsonl":
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            return json.loads(_last_line(f))["summary"]
    if fmt == "json":
        with open(path, encoding="utf-8") as f:
            return json.load(f)["summary"]
    return None


def _last_line(f: Any) -> bytes:
    end = f.tell()
    step = 1 << 16
    at = end
    while True:
        at = max(0, at - step)
        f.seek(at)
        chunk = f.read(end - at)
        cut = chunk.rstrip(b"\n").rfind(b"\n")
        if cut >= 0 or at == 0:
            return chunk[cut + 1:]
        step *= 2


def _parquet_rows(path: str, batch: int) -> Iterator[list[ScanRow]]:
    import pyarrow.parquet as pq

    for table in pq.ParquetFile(path).iter_batches(batch_size=batch):
        columns = [table.column(c).to_pylist() for c in COLUMNS]
        yield [row_of(dict(zip(COLUMNS, values))) for values in zip(*columns)]


def _jsonl_records(f: Any) -> Iterator[dict]:
    for line in f:
        rec = json.loads(line)
        if "summary" not in rec or "path" in rec:
            yield rec


def _json_records(f: Any) -> Iterator[dict]:
    """The rows of a JSON report, a line at a time as :class:`JsonWriter` writes them (a row a
    line, so memory stays flat); a file laid out otherwise is read whole."""
    if f.readline().strip() != '{"files": [':
        f.seek(0)
        yield from json.load(f)["files"]
        return
    for line in f:
        text = line.strip()
        if text.startswith("]"):
            return
        if text:
            yield json.loads(text[:-1] if text.endswith(",") else text)


def _csv_records(f: Any) -> Iterator[dict]:
    for rec in csv.DictReader(f):
        for c in INT_COLUMNS:
            rec[c] = int(rec[c]) if rec[c] else None
        for c in LIST_COLUMNS:
            rec[c] = rec[c].split("; ") if rec[c] else []
        rec["hidden"] = rec["hidden"] == "true"
        yield {k: (None if v == "" else v) for k, v in rec.items()}


def row_of(rec: dict[str, Any]) -> ScanRow:
    values: list[Any] = [rec.get(c) for c in COLUMNS]
    row = ScanRow(*values)
    return row._replace(violations=tuple(row.violations or ()), warnings=tuple(row.warnings or ()),
                        hidden=bool(row.hidden))

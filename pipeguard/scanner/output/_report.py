"""ScanReport: the scan table, its violations, and the summary a person or a CI job reads.

The row format (JSON, CSV, ``frame``) is fixed by DESIGN.md: ``path`` (relative,
``/``-separated), ``status`` (``ok``, ``violation``, ``unreadable``, ``not-image``),
``format``, ``mode``, ``channels``, ``height``, ``width``, ``bytes``, ``error``,
``violations``; then ``error_kind`` (an :class:`~pipeguard.core._errors.UnreadableKind`
value for an ``unreadable`` row, else null), ``class``, ``n_frames``, ``orientation`` (EXIF, 1-8, or null),
``fix`` (``EnsureChannels(3)``, ``EnsureSize((64, 64))``), ``hidden`` and ``warnings``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Optional, TextIO, cast

from .._columns import categorical_text, text_dtype
from .._row import COLUMNS, INT_COLUMNS, ScanRow
from ..sources import WalkStats
from ..verdict import CHECKS, Tally, fix_text
from ._sinks import frame_columns, record, records

if TYPE_CHECKING:
    from ...core import Contract

CATEGORIES = ("status", "format", "mode", "error_kind", "class", "fix")


def build_frame(rows: list[ScanRow]) -> Any:
    """The scan table of ``rows``: see :class:`TableColumns`."""
    columns = TableColumns()
    columns.extend(rows)
    return columns.frame()


def columns_of(rows: list[ScanRow]) -> list[list]:
    """``rows`` (ScanRows or plain tuples in their field order) as the report's columns, in
    lists: what the verdict, the tally and the writers take."""
    columns = TableColumns()
    columns.extend(rows)
    return columns.values


def frame_of_batches(batches: Iterable[list[ScanRow]]) -> Any:
    """The scan table of the rows in ``batches``, which are not kept (see :class:`TableColumns`)."""
    columns = TableColumns()
    for batch in batches:
        columns.extend(batch)
    return columns.frame()


# rows transposed at a time by ``zip(*rows)``: about twice as fast as an ``itemgetter`` a
# column (measured on batches of 128 and 20,000 rows), with no argument tuple of a whole scan
TRANSPOSE_ROWS = 1024
WRITE_CHUNK = 20_000  # rows of a report held in memory written at a time


class TableColumns:
    """The scan table's columns, filled a batch of rows at a time, then made a frame once.

    A scan held in memory gathers its rows here as they come rather than as a list of
    rows: a row tuple per file would stay tracked by the garbage collector, whose full
    collections walk all of them again and again (a tenth of a re-scan from the cache),
    and a column of values is smaller than the rows holding them.
    """

    def __init__(self) -> None:
        self.values: list[list] = [[] for _ in COLUMNS]

    def extend(self, rows: list[ScanRow]) -> None:
        for start in range(0, len(rows), TRANSPOSE_ROWS):
            for column, values in zip(self.values, zip(*rows[start:start + TRANSPOSE_ROWS])):
                column.extend(values)

    def frame(self) -> Any:
        """The table, built once, column by column; the gathered values are let go as it is.

        Counts are nullable ``Int64``; columns of few distinct values (status, format, mode,
        error kind, class, fix) are categoricals, their categories sorted Python strings (an
        ``object`` index, see :func:`~.._columns.categorical_text`); other text columns hold
        ``None`` where a value is missing; ``violations`` and ``warnings`` hold tuples of text.
        """
        import pandas as pd

        columns, self.values = self.values, [[] for _ in COLUMNS]
        data = {}
        for k, name in enumerate(COLUMNS):
            values, columns[k] = columns[k], None  # type: ignore[call-overload]  # each list freed once converted
            if name in INT_COLUMNS:
                data[name] = _whole_numbers(values)
            elif name == "hidden":
                data[name] = pd.array(values, dtype=bool)
            elif name == "path":
                data[name] = pd.Series(values, dtype=text_dtype())
            elif name in CATEGORIES:
                data[name] = pd.Series(categorical_text(values))  # a few distinct values, many rows
            else:
                data[name] = pd.Series(values, dtype=object)
        return pd.DataFrame(data, copy=False)  # the columns are new: no need to copy them again


def _whole_numbers(values: list) -> Any:
    """A nullable ``Int64`` array of whole numbers and ``None``."""
    import numpy as np
    import pandas as pd

    n = len(values)
    if n and values[0] is None and values.count(None) == n:  # e.g. no EXIF orientation in any file
        return pd.arrays.IntegerArray(np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool))  # numpy's None path is slow
    found = np.array(values)
    if found.dtype.kind == "i":  # whole numbers only (no None, no fraction): the usual case, and the fastest
        return pd.arrays.IntegerArray(found.astype(np.int64, copy=False), np.zeros(n, dtype=bool))
    # a None among them: through float64, as numpy turns None into NaN in C where pandas
    # checks each value; exact, as every count, size and byte count is below 2**53 (pandas
    # refuses a fraction, as before)
    return pd.array(np.array(values, dtype=np.float64), dtype="Int64")


@dataclass
class ScanReport:
    """The result of :func:`pipeguard.scan`.

    Attributes:
        root: the scanned folder, as given ("" for a list of files, whose paths are as given).
        title: what was scanned, for people: the root, or for a list its first paths (the
            CLI names its ``--files-from`` list); headings of the table and the page.
        contract: the contract the files were checked against (given or inferred), or ``None``.
        contract_source: ``"given"``, ``"inferred"`` or ``None``.
        tally: the counts behind :meth:`summary`, gathered as the rows passed.
        deep: whether every image was decoded.
        elapsed: seconds the scan took.
        inferred_notes: for an inferred contract, why a field was left open.
        walk: directories skipped (symlinks not followed, unreadable, cycles).
        output: the file (or folder of Parquet parts) the rows were streamed to, or ``None``
            for a report held in memory.
        storage_options: the fsspec options the files were read with (URL sources), which
            :meth:`to_html` reads their previews with, and a URL ``output`` is read back with.
        examples: for a scan of a Hugging Face dataset, its stored images by row
            (:class:`~pipeguard.scanner.sources._hf.StoredImages`), which :meth:`to_html`
            previews; ``None`` for files.
        frame: one row per file, in path order (pandas DataFrame); for a streamed report,
            read back from ``output`` when first asked for.
        violations: one row per failing check: ``path, member, check, expected, actual``,
            validated by the contract's pandera schema when first asked for (the scan
            judges without pandera; the two agree, and tests hold them to it).
    """

    root: str
    contract: Optional[Contract]
    contract_source: Optional[str]
    tally: Tally
    deep: bool = False
    elapsed: float = 0.0
    inferred_notes: dict = field(default_factory=dict)
    walk: WalkStats = field(default_factory=WalkStats)
    output: Optional[str] = None
    title: str = ""
    storage_options: Optional[dict] = field(default=None, repr=False)
    examples: Any = field(default=None, repr=False)
    _frame: Any = field(default=None, repr=False)
    _columns: Optional[TableColumns] = field(default=None, repr=False)  # a report in memory, until frame is asked
    _cells: Optional[list] = field(default=None, repr=False)  # its violations, as the verdict found them
    _violations: Any = field(default=None, repr=False)

    @property
    def frame(self) -> Any:
        if self._frame is None and self._columns is not None:  # held in memory: made a table when first asked
            self._frame, self._columns = self._columns.frame(), None
        elif self._frame is None:
            from ._parts import read_output_rows

            # no table: it was streamed there
            self._frame = frame_of_batches(read_output_rows(cast(str, self.output),
                                                            storage_options=self.storage_options))
        return self._frame

    def chunks(self, size: int = 20_000) -> Iterator[tuple[Any, Any]]:
        """The table and its violations a part at a time, each part's index from 0: the
        whole of both for a report held in memory; for a streamed report, ``size`` rows at a
        time read back from ``output`` (memory stays flat, as in the scan)."""
        from ..verdict import judge, violation_table

        if self._cells is not None:  # held in memory, judged by the scan
            yield self.frame, violation_table(self._cells)
            return
        if self.output is None or self._frame is not None:
            yield self.frame, violation_table(judge(frame_columns(self.frame), self.contract, judged=True)[0])
            return
        from ._parts import read_output_rows

        for rows in read_output_rows(self.output, size, self.storage_options):
            yield build_frame(rows), violation_table(judge(columns_of(rows), self.contract, judged=True)[0])

    @property
    def violations(self) -> Any:
        if self._violations is None:
            from ..verdict import check_frame

            self._violations = check_frame(self.frame, self.contract, judged=True)[0]
        return self._violations

    # -- verdict -------------------------------------------------------------------------
    @property
    def counts(self) -> dict[str, int]:
        return self.tally.counts

    @property
    def exit_code(self) -> int:
        """0 when every file conforms (``not-image`` rows aside), 1 when any violates or is unreadable."""
        return self.tally.exit_code

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def __repr__(self) -> str:
        c = self.counts
        return (f"ScanReport({self.root!r}, files={self.tally.files}, ok={c['ok']}, violation={c['violation']}, "
                f"unreadable={c['unreadable']}, not_image={c['not-image']}, contract={self.contract!r})")

    # -- summary -------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """The JSON's ``summary``: counts, distributions, unreadable files by kind, violations by check."""
        head = {"root": str(self.root), "deep": self.deep, "contract": self._contract_summary()}
        tail = {"skipped_dir_links": list(self.walk.skipped_dir_links),
                "unreadable_dirs": [{"path": p, "error": e} for p, e in self.walk.unreadable_dirs]}
        fixes = {} if self.contract is None else {check.value: fix_text(check, self.contract) for check in CHECKS}
        return self.tally.summary(head, fixes, tail)

    def _contract_summary(self) -> Optional[dict[str, Any]]:
        if self.contract is None:
            return {"source": None, "open": dict(self.inferred_notes)} if self.inferred_notes else None
        out = {"source": self.contract_source, **self.contract.to_dict()}
        if self.inferred_notes:
            out["open"] = dict(self.inferred_notes)
        return out

    # -- rows for machines ---------------------------------------------------------------
    def rows(self) -> Iterator[dict[str, Any]]:
        """Every row as a JSON-ready dict (``None`` for missing values), in path order."""
        if self._columns is not None:  # held in memory, not yet a table
            yield from records(self._columns.values)
        elif self._frame is None and self.output is not None:  # streamed: never the whole table at once
            from ._parts import read_output_rows

            for batch in read_output_rows(self.output, storage_options=self.storage_options):
                yield from map(record, batch)
        else:
            yield from records(frame_columns(self.frame))

    def to_json(self, fp: Optional[TextIO] = None) -> Optional[str]:
        """``{"files": [row, ...], "summary": {...}}``, as ``output=`` writes it; to ``fp``
        (streamed) or returned."""
        return self._text("json", fp)

    def to_jsonl(self, fp: Optional[TextIO] = None) -> Optional[str]:
        """One row a line, then the summary as the last line ``{"summary": {...}}``."""
        return self._text("jsonl", fp)

    def to_csv(self, fp: Optional[TextIO] = None) -> Optional[str]:
        """The rows as CSV (same columns; lists joined with ``"; "``, null as empty)."""
        return self._text("csv", fp)

    def _text(self, fmt: str, fp: Optional[TextIO]) -> Optional[str]:
        from ._sinks import TEXT_WRITERS, write_text  # the writers output= uses too

        out = fp if fp is not None else io.StringIO()
        if self._columns is None:
            write_text(fmt, self.rows(), self.summary(), out)
        else:  # held in memory as columns: written as the scan streams them, a chunk at a time
            writer = TEXT_WRITERS[fmt](out)
            columns = self._columns.values
            for start in range(0, len(columns[0]), WRITE_CHUNK):
                writer.write_columns([column[start:start + WRITE_CHUNK] for column in columns])
            writer.finish(self.summary())
        return None if fp is not None else cast(io.StringIO, out).getvalue()

    def to_html(self, path: Any, **options: Any) -> None:
        """Write the report as one self-contained HTML page for people (needs the ``html`` extra).

        Options go to :func:`pipeguard.htmlreport.write_html` (``per_reason``, ``workers``,
        ``time_limit``, ``side``).
        """
        from ...htmlreport import (
            write_html,  # the one import of htmlreport: the page is optional
        )

        write_html(self, path, **options)

"""``scan``: read every file of a source, check the rows against the contract, report.

Rows come from the probe in batches (one per part of the listing). A report held in
memory gathers them into one table; with ``output=`` they are judged and written in
chunks of :data:`STREAM_CHUNK` as they come, and the summary is counted as they pass, so
memory stays flat however many files there are. A contract to infer needs every row
first: those rows wait in a temporary file beside the output, then are judged and written.
"""

from __future__ import annotations

import logging
import os
import pickle
import tempfile
import time
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Optional, Union, cast

from .._child import usable_cores
from .._io import is_url
from ..core import as_contract, images_only
from ._row import ScanRow
from .engine import engine_for, local_cache, older_objects_frozen
from .output import ScanReport, TableColumns, columns_of, is_folder_output, open_output
from .sources import (
    StoredImages,
    WalkStats,
    has_urls,
    hf_rows,
    is_hf_dataset,
    is_list_source,
    local_entries,
    localized,
    refuse_output,
    source_runs,
)
from .verdict import (
    ReadableCounts,
    Tally,
    apply_verdicts,
    infer_contract,
    judge,
)

if TYPE_CHECKING:
    from ..core import Contract

    ContractSource = Union[Contract, dict, str, os.PathLike[str], None]  # what scan(contract=...) takes
    Source = Union[str, os.PathLike[str], list, tuple, Any]

log = logging.getLogger(__name__)

STREAM_CHUNK = 20_000  # rows judged and written at a time by a streamed scan


def scan(source: Source, contract: ContractSource = None, deep: bool = False,
         workers: Optional[int] = None, *, follow_symlinks: bool = False,
         time_limit: Optional[float] = 10.0, progress: Optional[Callable[[int, str], None]] = None,
         output: Union[str, os.PathLike[str], None] = None, storage_options: Optional[dict] = None,
         cluster: Any = None, cache: Union[str, os.PathLike[str], None] = None) -> ScanReport:
    """Check every file of a source against a contract, from file headers.

    Every file (and archive member) is a row, in path order; a plain scan reads headers
    and end markers only (see the module docstring for streaming and the README for more).
    While it runs, the objects made before it are frozen out of garbage collection
    (:mod:`.engine._gc`): in a program that scans in a background thread, other threads' cyclic
    garbage from before the scan is collected once it ends.

    Args:
        source: a folder or fsspec URL (``path`` relative to it); a list of files, folders
            and URLs (in the given order, ``path`` as given); or a Hugging Face
            ``datasets.Dataset`` with an Image column (see :mod:`.sources._hf`).
        contract: a :class:`~pipeguard.Contract`, a dict of its fields, a contract file
            path, or ``None`` to infer the dominant channels and size.
        deep: decode every image's first frame, in workers, ``time_limit`` seconds a file.
        workers: processes to use; ``None`` for every core (a small plain scan runs here).
        follow_symlinks: descend into symlinked folders (symlinked files are always read).
        time_limit: seconds one file may take in a worker, and a compressed archive member
            to inflate (in any process); ``None`` for no limit.
        progress: called as ``progress(files_done, last_path)`` every few dozen files
            (after each part).
        output: a ``.parquet``, ``.jsonl``, ``.json`` or ``.csv`` path: rows are written
            there while scanning and ``report.frame`` reads them back only when asked.
            A cluster scan writes it from the client, as rows come back. A folder (a path or
            URL ending in ``/``, or an existing empty folder) gets numbered Parquet parts that
            ``pandas.read_parquet`` reads in order; on a cluster each task writes its own
            part and the client holds only the counts (see :mod:`._parts`). A URL output is
            written with ``storage_options``.
        storage_options: fsspec options for URL sources (``endpoint_url``, ``anon``,
            credentials...); without them the store's usual environment is used.
        cluster: run the parts of the listing as Dask tasks: a ``distributed.Client``, a
            scheduler address (``tcp://host:8786``), or ``"local"``/``"local:N"`` to start
            a ``LocalCluster`` of N worker processes for this scan. The report is the same.
        cache: a folder (created if missing) keeping the rows: the next scan reuses those
            of unchanged files (size, modification and change time, inode, ``deep``,
            versions; see :mod:`pipeguard.scanner.engine._cache`); the report is the same.

    Returns:
        A :class:`ScanReport`.

    Raises:
        FileNotFoundError: a folder source (or bucket) does not exist.
        PermissionError, OSError: a URL source cannot be listed (the message names it).
        ImportError: a URL or ``cluster`` needs an extra that is not installed (named).
        NotADirectoryError: a single source is a file, not a folder (pass ``[path]``).
        ContractFileError: ``contract`` names a file that cannot be read.
        ValueError: ``output`` has no known suffix or lies in a scanned folder.
    """
    started = time.perf_counter()
    source = localized(source)
    entries = local_entries(source) if is_list_source(source) else None  # each listed entry looked at once
    if output is not None:
        refuse_output(source, output, streamed=True, entries=entries)
    with older_objects_frozen():
        report = _scan(source, contract, deep, workers, follow_symlinks, time_limit, progress, output,
                       storage_options, cluster, cache, entries)
    report.elapsed = time.perf_counter() - started
    return report


def _scan(source: Source, contract: ContractSource, deep: bool, workers: Optional[int], follow_symlinks: bool,
          time_limit: Optional[float], progress: Optional[Callable[[int, str], None]], output: Any,
          storage_options: Optional[dict], cluster: Any, cache: Any, entries: Any) -> ScanReport:
    given = as_contract(contract)
    images_only(given, "pg.scan")  # a scan of targets (--masks, --coco, --yolo) is not built yet
    stats = WalkStats()
    urls = has_urls(source)  # once: a list's every entry is looked at
    to_url = output is not None and is_url(os.fspath(output))
    report = ScanReport(root=None, contract=given, contract_source="given" if given else None, tally=Tally(),
                        deep=deep, walk=stats, storage_options=storage_options if urls or to_url else None)
    if is_hf_dataset(source):
        rows, report.root = hf_rows(source, deep, progress)
        report.title = report.root
        report.examples = StoredImages(source)
        _assemble(report, [rows], output)
    else:
        report.root = _root_of(source)
        report.title = report.root or _list_title(cast("list", source))
        row_cache = local_cache(cache, report.root, cluster=cluster, remote=urls)
        runs = source_runs(source, follow_symlinks, stats, storage_options, listings=row_cache, entries=entries,
                           time_limit=time_limit)
        with engine_for(cluster) as engine:
            if engine.client is not None and output is not None and is_folder_output(output):
                from ._parts import scan_to_parts  # the tasks write the rows: none come back here

                scan_to_parts(report, engine.client, runs, deep, time_limit, os.fspath(output), storage_options,
                              lambda report, counts: _infer(report, counts.infer()), progress)
                return report
            batches = engine.batches(runs, deep, _workers_for(urls, workers, deep), time_limit, row_cache)
            _assemble(report, _reported(batches, progress), output, storage_options)
    return report


def _workers_for(urls: bool, workers: Optional[int], deep: bool) -> int:
    if urls and not deep:
        return 1  # ranged reads wait on the network: many at once from one process
    return usable_cores() if workers is None else max(1, int(workers))


def _assemble(report: ScanReport, batches: Iterable[list[ScanRow]], output: Any,
              storage_options: Optional[dict] = None) -> None:
    if output is None:
        _in_memory(report, batches)
    else:
        _streamed(report, batches, os.fspath(output), storage_options)


def _list_title(paths: list) -> str:
    """A list's heading: its first paths, and how many more."""
    shown = ", ".join(map(str, paths[:3]))
    return shown + (f" … and {len(paths) - 3:,} more" if len(paths) > 3 else "")


def _root_of(source: Source) -> str:
    if is_list_source(source):
        return ""  # paths are as given
    if is_url(source):
        return source
    path = os.fspath(cast("Union[str, os.PathLike[str]]", source))  # not a list (nor a URL): a path
    if not path:
        raise FileNotFoundError("no folder given (an empty path)")
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such folder: {path}")
    if not os.path.isdir(path):
        raise NotADirectoryError(f"not a folder: {path} (to scan one file, pass a list: [path])")
    return path


def _reported(batches: Iterator[list[ScanRow]], progress: Optional[Callable[[int, str], None]]
              ) -> Iterator[list[ScanRow]]:
    if progress is None:
        yield from batches
        return
    done, last = 0, ""
    for batch in batches:
        if batch:
            done += len(batch)
            last = batch[-1][0]  # the path (a row may be a plain tuple, see ._row)
            progress(done, last)
        yield batch
    progress(done, last)


def _in_memory(report: ScanReport, batches: Iterable[list[ScanRow]]) -> None:
    """Gather the rows as columns, judge and count them; the table (pandas) is made only
    when ``report.frame`` is asked for (the terminal's table and JSON lines need none)."""
    table = TableColumns()
    for batch in batches:
        table.extend(batch)
    columns = table.values
    if report.contract is None:
        _infer(report, infer_contract(columns))
    cells, verdicts = judge(columns, report.contract)
    apply_verdicts(columns, verdicts)
    report.tally.add(columns, cells)
    report._columns, report._cells = table, cells


def _infer(report: ScanReport, found: tuple) -> None:
    report.contract, report.inferred_notes = found
    report.contract_source = "inferred" if report.contract is not None else None


def _streamed(report: ScanReport, batches: Iterable[list[ScanRow]], output: str,
              storage_options: Optional[dict] = None) -> None:
    sink = open_output(output, storage_options)
    try:
        chunks = _chunks(batches, STREAM_CHUNK)
        if report.contract is not None:
            _write_judged(report, chunks, sink)
        else:
            # beside the output (a disk with room for the report), or for a URL in the temp folder
            spool_dir = None if is_url(output) else os.path.dirname(os.path.abspath(output))
            with tempfile.TemporaryFile(dir=spool_dir) as spool:
                counts = _spool(chunks, spool)
                _infer(report, counts.infer())
                _write_judged(report, _unspool(spool), sink)
        report.output = output
        sink.close(report.summary())
    except BaseException:
        sink.abort()
        raise


def _write_judged(report: ScanReport, chunks: Iterable[list[ScanRow]], sink: Any) -> None:
    for rows in chunks:
        columns = columns_of(rows)
        cells, verdicts = judge(columns, report.contract)
        apply_verdicts(columns, verdicts)
        report.tally.add(columns, cells)
        sink.write(columns)  # judged and written as columns: the rows are not rebuilt


def _chunks(batches: Iterable[list[ScanRow]], size: int) -> Iterator[list[ScanRow]]:
    chunk: list[ScanRow] = []
    for batch in batches:
        chunk.extend(batch)  # ScanRows or plain tuples in their field order: the table is built by position
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _spool(chunks: Iterable[list[ScanRow]], spool: Any) -> ReadableCounts:
    """Park the rows in ``spool`` (to judge them once the contract is inferred), counting as they pass."""
    counts = ReadableCounts()
    for rows in chunks:
        counts.add_rows(rows)
        pickle.dump([tuple(r) for r in rows], spool, protocol=pickle.HIGHEST_PROTOCOL)  # plain: no __new__ per row
    spool.seek(0)
    return counts


def _unspool(spool: Any) -> Iterator[list[ScanRow]]:
    while True:
        try:
            rows = pickle.load(spool)
        except EOFError:
            return
        yield rows

"""A cluster scan whose tasks write the report: each Dask task probes its part of the listing,
judges the rows, writes them as a numbered Parquet part in the output folder (local, or a
URL such as ``s3://bucket/reports/scan/``; see :mod:`.output._parts`) and sends the client
only its counts (a :class:`~.verdict.Tally`). The client merges the counts in listing
order, so its memory does not grow with the rows, and writes the summary at the end.

A contract to infer needs every row's channels and size first: the tasks then write their
parts unjudged and send the counts inference needs; once the client has inferred the
contract, a second round of tasks judges each part where it lies and writes it again.
A task whose worker died on every try has its part written by the client: one ``crash``
row per file, as a scan held in memory reports it. A task that fails otherwise (its part
cannot be written: a folder the worker cannot reach, a store refusing the write) ends the
scan with that error, as a report file that cannot be written does. A local folder is
sent as an absolute path, and must be the same folder for the workers (a shared
filesystem), or the parts land on their machines: a bucket URL is the usual output.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional, Union

from ..core import UnreadableKind
from ..diagnosis import one_line
from ._units import Run
from .engine import in_order, task_parts, task_rows
from .output import (
    PART,
    OutputError,
    columns_of,
    prepare_folder,
    read_part_columns,
    remove_parts,
    write_part,
    write_summary,
)
from .probe import failure_row
from .verdict import ReadableCounts, Tally, apply_verdicts, judge

if TYPE_CHECKING:
    from ..core import Contract
    from .output import ScanReport

def scan_to_parts(report: ScanReport, client: Any, runs: Iterator[Run], deep: bool, time_limit: Optional[float],
                  folder: str, storage_options: Optional[dict], infer: Any,
                  progress: Optional[Callable[[int, str], None]] = None) -> None:
    """Scan ``runs`` on ``client``'s cluster into ``folder``: the rows in parts, the merged
    counts in ``report.tally``, the summary beside them. ``infer(report, counts)`` sets the
    report's contract from the counts when none was given; ``progress(files, last_path)``
    is called as each part is done, in order.

    Raises:
        OutputClobbers: ``folder`` already holds files (a ``ValueError``).
        OutputError: a task could not write its part (an ``OSError``).
    """
    if "://" not in folder:
        folder = os.path.abspath(folder) + "/"  # the workers' own working folders may differ
    prepare_folder(folder, storage_options)
    try:
        parts = enumerate(task_parts(runs, deep))
        to_infer = report.contract is None
        counts, n, files = ReadableCounts(), 0, 0
        for part, found in _results(client, parts, deep, time_limit, report.contract, to_infer, folder,
                                    storage_options):
            if to_infer:
                counts.merge(found)
            else:
                report.tally.merge(found)
            n += 1
            files += sum(len(run.names) for run in part)
            _tell(progress, files, part)
        if to_infer:
            infer(report, counts)  # the contract, or None (no dominant size): the judge round tallies either way
            for seq, tally in in_order(client, iter(range(n)), judge_part, report.contract, folder, storage_options):
                if isinstance(tally, BaseException):  # a written part could not be judged: nothing to fall back on
                    raise OutputError(f"cannot judge {folder}{PART.format(seq)}: {one_line(tally)}")
                report.tally.merge(tally)
        report.output = folder
        write_summary(folder, report.summary(), storage_options)
    except BaseException:
        # tasks already running when the scan stopped may still write their parts after this: the
        # folder then has no summary, which says the scan did not end
        remove_parts(folder, storage_options)
        raise


def _results(client: Any, parts: Iterator[tuple[int, list[Run]]], deep: bool, time_limit: Optional[float],
             contract: Optional[Contract], to_infer: bool, folder: str, storage_options: Optional[dict]
             ) -> Iterator[tuple[list[Run], Union[Tally, ReadableCounts]]]:
    """Each part with its counts, in order; a part whose worker died on every try written here."""
    from distributed import KilledWorker

    for (seq, part), result in in_order(client, parts, write_part_task, deep, time_limit, contract, to_infer,
                                        folder, storage_options):
        if isinstance(result, KilledWorker):
            why = f"its Dask task failed: {one_line(result)}"[:300]
            rows = [failure_row(run, name, why, UnreadableKind.CRASH) for run in part for name in run.names]
            result = _written(seq, columns_of(rows), contract, to_infer, folder, storage_options)
        elif isinstance(result, BaseException):  # the part could not be written (probing never raises)
            raise OutputError(f"a Dask task could not write {folder}{PART.format(seq)}: {one_line(result)}")
        yield part, result


def _tell(progress: Optional[Callable[[int, str], None]], files: int, part: list[Run]) -> None:
    if progress is not None and part:
        progress(files, part[-1].prefix + part[-1].names[-1])


def write_part_task(item: tuple[int, list[Run]], deep: bool, time_limit: Optional[float],
                    contract: Optional[Contract], to_infer: bool, folder: str, storage_options: Optional[dict]
                    ) -> Union[Tally, ReadableCounts]:
    """One Dask task: probe a part, judge its rows (unless the contract is still to infer),
    write them as part ``seq``; return only the counts."""
    seq, part = item
    columns = columns_of(task_rows(part, deep, time_limit))
    return _written(seq, columns, contract, to_infer, folder, storage_options)


def judge_part(seq: int, contract: Optional[Contract], folder: str, storage_options: Optional[dict]) -> Tally:
    """One Dask task of a scan whose contract was inferred (``None``: none could be): judge
    part ``seq`` and write it again."""
    columns = read_part_columns(folder, seq, storage_options)
    return _written(seq, columns, contract, False, folder, storage_options)


def _written(seq: int, columns: list[list], contract: Optional[Contract], to_infer: bool, folder: str,
             storage_options: Optional[dict]) -> Union[Tally, ReadableCounts]:
    if to_infer:
        counts = ReadableCounts()
        counts.add_columns(columns)
        write_part(folder, seq, columns, storage_options)
        return counts
    cells, verdicts = judge(columns, contract)
    apply_verdicts(columns, verdicts)
    tally = Tally()
    tally.add(columns, cells)
    write_part(folder, seq, columns, storage_options)
    return tally

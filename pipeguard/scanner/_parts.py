"""A cluster scan whose tasks write the report: each Dask task probes its part of the listing,
judges the rows, writes them as a numbered Parquet part in the output folder (local, or a
URL such as ``s3://bucket/reports/scan/``; see :mod:`.output._parts`) and sends the client
only its counts (a :class:`~.verdict.Tally`). The client merges the counts in listing
order, so its memory does not grow with the rows, and writes the summary at the end.

A contract to infer needs every row's channels and size first: the tasks then write their
parts unjudged and send the counts inference needs; once the client has inferred the
contract, a second round of tasks judges each part where it lies and writes it again.
A task that fails on every try (a worker killed each time) has its part written by the
client: one ``crash`` row per file, as a scan held in memory reports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional, Union

from ..core import UnreadableKind
from ..diagnosis import one_line
from ._units import Run
from .engine import in_order, task_parts, task_rows
from .output import columns_of, prepare_folder, read_part_columns, remove_parts, write_part, write_summary
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
        ValueError: ``folder`` already holds files.
    """
    prepare_folder(folder, storage_options)
    try:
        parts = enumerate(task_parts(runs, deep))
        if report.contract is not None:
            for part, tally in _results(client, parts, deep, time_limit, report.contract, folder, storage_options):
                report.tally.merge(tally)
                _tell(progress, report.tally.files, part)
        else:
            counts, n, files = ReadableCounts(), 0, 0
            for part, found in _results(client, parts, deep, time_limit, None, folder, storage_options):
                counts.merge(found)
                n += 1
                files += sum(len(run.names) for run in part)
                _tell(progress, files, part)
            infer(report, counts)
            for _, tally in in_order(client, iter(range(n)), judge_part, report.contract, folder, storage_options):
                report.tally.merge(_raised(tally))
        report.output = folder
        write_summary(folder, report.summary(), storage_options)
    except BaseException:
        remove_parts(folder, storage_options)
        raise


def _results(client: Any, parts: Iterator[tuple[int, list[Run]]], deep: bool, time_limit: Optional[float],
             contract: Optional[Contract], folder: str, storage_options: Optional[dict]
             ) -> Iterator[tuple[list[Run], Union[Tally, ReadableCounts]]]:
    """Each part with its counts, in order; a part whose task failed on every try written here."""
    for (seq, part), result in in_order(client, parts, write_part_task, deep, time_limit, contract, folder,
                                        storage_options):
        if isinstance(result, BaseException):
            why = f"its Dask task failed: {one_line(result)}"[:300]
            rows = [failure_row(run, name, why, UnreadableKind.CRASH) for run in part for name in run.names]
            result = _written(seq, columns_of(rows), contract, folder, storage_options)
        yield part, result


def _tell(progress: Optional[Callable[[int, str], None]], files: int, part: list[Run]) -> None:
    if progress is not None and part:
        progress(files, part[-1].prefix + part[-1].names[-1])


def _raised(result: Any) -> Any:
    if isinstance(result, BaseException):  # judging a part that was written: nothing to fall back on
        raise result
    return result


def write_part_task(item: tuple[int, list[Run]], deep: bool, time_limit: Optional[float],
                    contract: Optional[Contract], folder: str, storage_options: Optional[dict]
                    ) -> Union[Tally, ReadableCounts]:
    """One Dask task: probe a part, judge its rows (when the contract is known), write them as
    part ``seq``; return only the counts."""
    seq, part = item
    columns = columns_of(task_rows(part, deep, time_limit))
    return _written(seq, columns, contract, folder, storage_options)


def judge_part(seq: int, contract: Contract, folder: str, storage_options: Optional[dict]) -> Tally:
    """One Dask task of a scan whose contract was inferred: judge part ``seq`` and write it again."""
    return _written(seq, read_part_columns(folder, seq, storage_options), contract, folder, storage_options)


def _written(seq: int, columns: list[list], contract: Optional[Contract], folder: str,
             storage_options: Optional[dict]) -> Union[Tally, ReadableCounts]:
    if contract is None:
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

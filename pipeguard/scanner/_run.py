"""``scan``: walk a folder, probe every file, check the table against the contract."""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional, Union

from ..core._errors import Reason
from ._hf_source import hf_rows, is_hf_dataset
from ._infer import infer_contract
from ._part import flatten, probe_part
from ._report import ScanReport, build_frame
from ._row import ScanRow
from ._schema import check_frame, fix_text
from ._text_dtype import text_dtype
from ._walk import Run, WalkStats, parts, walk_runs

if TYPE_CHECKING:
    from ..core import Contract
    from ._cache import RowCache

    ContractSource = Union[Contract, dict, str, os.PathLike[str], None]  # what scan(contract=...) takes

# a plain scan of fewer files is not worth starting workers for: on 2 cores, 1 worker and 2
# broke even at about 2,000 mixed JPEG/PNG files (worker start and stop cost ~8 ms)
SERIAL_BELOW = 2000
PLAIN_CHUNK, DEEP_CHUNK = 128, 4  # files per part: the unit of work, of a message, of progress


def default_workers() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def scan(path: Union[str, os.PathLike[str]], contract: ContractSource = None, deep: bool = False,
         workers: Optional[int] = None, *, follow_symlinks: bool = False,
         time_limit: Optional[float] = 10.0,
         progress: Optional[Callable[[int, str], None]] = None,
         cache: Union[str, os.PathLike[str], None] = None) -> ScanReport:
    """Check every file under a folder against a contract, from file headers.

    Every file is a row (images, non-images, hidden files, broken symlinks), in path
    order. A plain scan reads headers and the end marker only; ``deep=True`` also decodes
    each image's first frame in worker processes, where a file that hangs past
    ``time_limit`` or crashes its worker becomes an ``unreadable`` row.

    Args:
        path: the folder (an ``ImageFolder`` root or any tree of images), or a Hugging
            Face ``datasets.Dataset`` with an Image column (one row per example, see
            :mod:`pipeguard.scanner._hf_source`).
        contract: a :class:`~pipeguard.Contract`, a dict of its fields, a contract file
            path, or ``None`` to infer the dominant channels and size.
        deep: decode every image's first frame.
        workers: processes to use; ``None`` for every available core. A plain scan with
            one worker (or under 2,000 files) runs in this process.
        follow_symlinks: descend into symlinked folders (symlinked files are always read).
        time_limit: seconds one file may take in a worker; ``None`` for no limit.
        progress: called as ``progress(files_done, last_path)`` every few dozen files
            (after each part).
        cache: a folder (created if missing) where the rows of this scan are kept; the
            next scan with the same cache reuses the rows of files whose size,
            modification time, change time and inode, and the ``deep`` flag and
            pipeguard's version, are unchanged, and reads the others (see
            :mod:`pipeguard.scanner._cache`). The report is the same with or without it.
            A cache that cannot be used is logged and the scan runs without it; a
            Hugging Face dataset is always read whole.

    Returns:
        A :class:`ScanReport`.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        NotADirectoryError: ``path`` is not a folder.
        ContractFileError: ``contract`` names a file that cannot be read.
    """
    started = time.perf_counter()
    if is_hf_dataset(path):
        rows, name = hf_rows(path, deep, progress)
        return _report(rows, _resolve_contract(contract), name, deep, started, WalkStats())
    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(f"no such folder: {os.fspath(path)}")
    if not root.is_dir():
        raise NotADirectoryError(f"not a folder: {os.fspath(path)}")
    given = _resolve_contract(contract)
    workers = default_workers() if workers is None else max(1, int(workers))

    stats = WalkStats()
    rows: list[ScanRow] = []
    row_cache = None if cache is None else _open_cache(cache, root)
    for batch in _probed(walk_runs(root, follow_symlinks, stats), deep, workers, time_limit, row_cache):
        rows.extend(batch)  # nothing here per file: rows arrive as one list per part
        if progress is not None and batch:
            progress(len(rows), batch[-1].path)
    if progress is not None:
        progress(len(rows), rows[-1].path if rows else "")
    return _report(rows, given, os.fspath(path), deep, started, stats)


def _report(rows: list[ScanRow], given: Optional[Contract], root: str, deep: bool, started: float,
            stats: WalkStats) -> ScanReport:
    """The table of ``rows``, checked against the given contract (or the inferred one)."""
    frame = build_frame(rows)
    del rows[:]  # the table holds the values now

    notes: dict[str, str] = {}
    if given is not None:
        used, source = given, "given"
    else:
        used, notes = infer_contract(frame)
        source = "inferred" if used is not None else None
    violations, failing = check_frame(frame, used)
    _apply_verdict(frame, failing, used)
    return ScanReport(root=root, contract=used, contract_source=source, frame=frame,
                      violations=violations, deep=deep, elapsed=time.perf_counter() - started,
                      inferred_notes=notes, walk=stats)


def _open_cache(folder: Union[str, os.PathLike[str]], root: Path) -> Optional[RowCache]:
    from ._cache import open_cache  # sqlite3 loads only for a scan with a cache

    return open_cache(folder, root)


def _resolve_contract(contract: ContractSource) -> Optional[Contract]:
    from ..core._contract import Contract

    if contract is None or isinstance(contract, Contract):
        return contract
    if isinstance(contract, dict):
        return Contract.from_dict(contract)
    if isinstance(contract, (str, os.PathLike)):
        return Contract.load(contract)
    raise TypeError(f"contract should be a Contract, a dict or a contract file path, but got {type(contract).__name__}")


def _probed(runs: Iterator[Run], deep: bool, workers: int, time_limit: Optional[float],
            cache: Optional[RowCache] = None) -> Iterator[list[ScanRow]]:
    """Rows of every file, in path order, as one list per part.

    A plain scan's parent probes parts too, beside ``workers - 1`` worker processes: on
    a machine with ``workers`` cores a parent that only fed and collected would be a
    third process competing for them. It reads headers only, as a one-worker scan does
    in process; ``--deep`` keeps every file in a worker, under the time limit.
    """
    if not deep:
        if workers == 1:
            return _in_process(runs, cache)
        head, files = [], 0
        for run in runs:
            head.append(run)
            files += len(run[2])
            if files >= SERIAL_BELOW:
                break
        if files < SERIAL_BELOW:  # small folder: starting workers costs more than it saves
            return _in_process(iter(head), cache)
        runs = itertools.chain(head, runs)
    from ._workers import SupervisedPool

    pool = SupervisedPool(workers, deep=deep, time_limit=time_limit,
                          chunk=DEEP_CHUNK if deep else PLAIN_CHUNK, in_parent=not deep, cache=cache)
    return pool.map(runs)


def _in_process(runs: Iterator[Run], cache: Optional[RowCache] = None) -> Iterator[list[ScanRow]]:
    if cache is None:
        return (flatten(probe_part(part)) for part in parts(runs, PLAIN_CHUNK))
    from ._cache import cached_parts

    return cached_parts(parts(runs, PLAIN_CHUNK), cache)


def _apply_verdict(frame: Any, failing: dict[int, tuple[Reason, ...]], contract: Contract) -> None:
    """Mark failing rows ``violation``, with their messages (the foundation's wording) and fix.

    Messages come from :func:`pipeguard.checking.check_info`, so a scan row reads exactly
    like ``contract.check(image)``; they are computed once per distinct
    ``(mode, channels, height, width, checks)``, not once per file.
    """
    if not failing:
        return
    from ..core._check import check_info
    from ..core._inspect import SampleInfo

    statuses = frame["status"].tolist()
    texts = frame["violations"].tolist()
    fixes = frame["fix"].tolist()
    modes = frame["mode"].tolist()
    chans, heights, widths = (frame[c].to_numpy(dtype=object, na_value=None).tolist()
                              for c in ("channels", "height", "width"))
    cache: dict[tuple, tuple[tuple[str, ...], Optional[str]]] = {}
    for i, checks in failing.items():  # the failing rows only
        key = (modes[i], chans[i], heights[i], widths[i], checks)
        found = cache.get(key)
        if found is None:
            fix = [f for f in (fix_text(c, contract) for c in checks) if f]
            found = cache[key] = (tuple(_messages(contract, *key, check_info, SampleInfo)), ", ".join(fix) or None)
        statuses[i] = "violation"
        texts[i] = found[0]
        fixes[i] = found[1]
    frame["status"] = frame["status"].__class__(statuses, index=frame.index, dtype=text_dtype())
    frame["violations"] = frame["violations"].__class__(texts, index=frame.index, dtype=object)
    frame["fix"] = frame["fix"].__class__(fixes, index=frame.index, dtype=object)  # None, not NaN


def _messages(contract: Contract, mode: Optional[str], c: Optional[int], h: Optional[int], w: Optional[int],
              checks: tuple, check_info: Any, SampleInfo: Any) -> list[str]:
    found = {}
    if c is not None and h is not None:
        info = SampleInfo("PIL.Image", (c, h, w), "CHW", c, h, w, None, c * h * w, None, mode)
        found = {v.reason: str(v) for v in check_info(contract, info)}
    out = []
    for check in checks:
        text = found.get(check)
        if text is None:  # e.g. a mode whose band count is unknown
            text = f"{check}: unknown for mode {mode!r}, {_want(contract, check)} expected"
        out.append(text)
    return out


def _want(contract: Contract, check: Reason) -> str:
    if check is Reason.CHANNELS:
        return f"{contract.channels} channels"
    if check is Reason.SIZE:
        return f"{contract.height}×{contract.width}"
    return f"{contract.numel:,} elements"

"""``scan``: walk a folder, probe every file, check the table against the contract."""

from __future__ import annotations

import itertools
import logging
import os
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Union

from .infer import infer_contract
from .probe import probe_many
from .report import ScanReport, build_frame
from .schema import find_violations, fix_text
from .walk import WalkStats, walk

log = logging.getLogger(__name__)

SERIAL_BELOW = 512        # a plain scan of fewer files is not worth starting workers for
PLAIN_CHUNK, DEEP_CHUNK = 64, 4
PROGRESS_EVERY = 64


def default_workers() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def scan(path: Union[str, "os.PathLike[str]"], contract: Any = None, deep: bool = False,
         workers: Optional[int] = None, *, follow_symlinks: bool = False,
         time_limit: Optional[float] = 10.0,
         progress: Optional[Callable[[int, str], None]] = None) -> ScanReport:
    """Check every file under a folder against a contract, from file headers.

    Every file is a row (images, non-images, hidden files, broken symlinks), in path
    order. A plain scan reads headers and the end marker only; ``deep=True`` also decodes
    each image's first frame in worker processes, where a file that hangs past
    ``time_limit`` or crashes its worker becomes an ``unreadable`` row.

    Args:
        path: the folder (an ``ImageFolder`` root or any tree of images).
        contract: a :class:`~pipeguard.Contract`, a dict of its fields, a contract file
            path, or ``None`` to infer the dominant channels and size.
        deep: decode every image's first frame.
        workers: processes to use; ``None`` for every available core. A plain scan with
            one worker (or under 512 files) runs in this process.
        follow_symlinks: descend into symlinked folders (symlinked files are always read).
        time_limit: seconds one file may take in a worker; ``None`` for no limit.
        progress: called as ``progress(files_done, last_path)`` every few dozen files.

    Returns:
        A :class:`ScanReport`.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        NotADirectoryError: ``path`` is not a folder.
        ContractFileError: ``contract`` names a file that cannot be read.
    """
    started = time.perf_counter()
    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(f"no such folder: {os.fspath(path)}")
    if not root.is_dir():
        raise NotADirectoryError(f"not a folder: {os.fspath(path)}")
    given = _resolve_contract(contract)
    workers = default_workers() if workers is None else max(1, int(workers))

    stats = WalkStats()
    records = _records(walk(root, follow_symlinks, stats), deep, workers, time_limit)
    rows: list[tuple] = []
    for rows_done, row in enumerate(records, 1):
        rows.append(row)
        if progress is not None and rows_done % PROGRESS_EVERY == 0:
            progress(rows_done, row[0])
    if progress is not None:
        progress(len(rows), rows[-1][0] if rows else "")
    frame = build_frame(rows)
    del rows

    notes: dict[str, str] = {}
    if given is not None:
        used, source = given, "given"
    else:
        used, notes = infer_contract(frame)
        source = "inferred" if used is not None else None
    violations = find_violations(frame, used)
    _apply_verdict(frame, violations, used)
    return ScanReport(root=os.fspath(path), contract=used, contract_source=source, frame=frame,
                      violations=violations, deep=deep, elapsed=time.perf_counter() - started,
                      inferred_notes=notes, walk=stats)


def _resolve_contract(contract: Any) -> Any:
    from ..contract import Contract

    if contract is None or isinstance(contract, Contract):
        return contract
    if isinstance(contract, dict):
        return Contract.from_dict(contract)
    if isinstance(contract, (str, os.PathLike)):
        return Contract.load(contract)
    raise TypeError(f"contract should be a Contract, a dict or a contract file path, but got {type(contract).__name__}")


def _records(items: Iterator[tuple[str, str]], deep: bool, workers: int,
             time_limit: Optional[float]) -> Iterator[tuple]:
    if not deep:
        if workers == 1:
            return probe_many(items, False)
        head = list(itertools.islice(items, SERIAL_BELOW))
        if len(head) < SERIAL_BELOW:  # small folder: starting workers costs more than it saves
            return probe_many(head, False)
        items = itertools.chain(head, items)
    from .workers import SupervisedPool

    pool = SupervisedPool(workers, deep=deep, time_limit=time_limit,
                          chunk=DEEP_CHUNK if deep else PLAIN_CHUNK)
    return pool.map(items)


def _apply_verdict(frame: Any, violations: Any, contract: Any) -> None:
    """Mark failing rows ``violation``, with their messages (the foundation's wording) and fix.

    Messages come from :func:`pipeguard.checking.check_info`, so a scan row reads exactly
    like ``contract.check(image)``; they are computed once per distinct
    ``(mode, channels, height, width, checks)``, not once per file.
    """
    if violations.empty:
        return
    from ..checking import check_info
    from ..sample import SampleInfo

    by_path: dict[str, list[str]] = {}
    for p, check in zip(violations["path"].tolist(), violations["check"].tolist()):
        by_path.setdefault(p, []).append(check)
    statuses = frame["status"].tolist()
    texts = frame["violations"].tolist()
    fixes = frame["fix"].tolist()
    modes, chans, heights, widths = (frame[c].tolist() for c in ("mode", "channels", "height", "width"))
    cache: dict[tuple, tuple[list[str], Optional[str]]] = {}
    for i, p in enumerate(frame["path"].tolist()):
        checks = by_path.get(p)
        if checks is None:
            continue
        key = (modes[i], _int(chans[i]), _int(heights[i]), _int(widths[i]), tuple(checks))
        found = cache.get(key)
        if found is None:
            fix = [f for f in (fix_text(c, contract) for c in checks) if f]
            found = cache[key] = (tuple(_messages(contract, *key, check_info, SampleInfo)), ", ".join(fix) or None)
        statuses[i] = "violation"
        texts[i] = found[0]
        fixes[i] = found[1]
    frame["status"] = frame["status"].__class__(statuses, index=frame.index, dtype="str")
    frame["violations"] = frame["violations"].__class__(texts, index=frame.index, dtype=object)
    frame["fix"] = frame["fix"].__class__(fixes, index=frame.index, dtype=object)  # None, not NaN


def _int(value: Any) -> Optional[int]:
    return int(value) if isinstance(value, int) else None  # pd.NA and None alike


def _messages(contract: Any, mode: Any, c: Optional[int], h: Optional[int], w: Optional[int],
              checks: tuple, check_info: Any, SampleInfo: Any) -> list[str]:
    found = {}
    if c is not None and h is not None:
        info = SampleInfo("PIL.Image", (c, h, w), "CHW", c, h, w, None, c * h * w, None, mode)
        found = {v.reason.value: str(v) for v in check_info(contract, info)}
    out = []
    for check in checks:
        text = found.get(check)
        if text is None:  # e.g. a mode whose band count is unknown
            text = f"{check}: unknown for mode {mode!r}, {_want(contract, check)} expected"
        out.append(text)
    return out


def _want(contract: Any, check: str) -> str:
    if check == "channels":
        return f"{contract.channels} channels"
    if check == "size":
        return f"{contract.height}×{contract.width}"
    return f"{contract.numel:,} elements"

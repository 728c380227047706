"""Reading objects of a remote run (see :mod:`..sources._remote`) in ranges, many at once.

A plain scan fetches each file's head (at most :data:`HEAD_BYTES`) and tail (for the end
marker) for a whole part with one ``fs.cat_ranges`` call, which an async filesystem
(s3fs, gcsfs, adlfs) sends concurrently, :data:`AHEAD` parts ahead of the one being probed
(:func:`heads_ahead`); it never downloads a whole file: one request for an object no
larger than the head, two for a larger one. The probe then
reads the file through a :class:`~..._io._member_file.RangeFile` served from those bytes, with a
ranged request for anything else Pillow asks for. ``--deep`` downloads each file in the
worker that decodes it. A request that fails or times out is that file's ``unreadable``
row, with the error; a folder whose listing failed (a name ending in ``/``) is its own.
"""

from __future__ import annotations

import io
import threading
from collections import deque
from concurrent.futures import Future
from typing import Any, Iterable, Iterator, Optional

from ..._io import RangeFile, in_memory, is_archive_name
from ...core import UnreadableKind
from ...diagnosis import one_line
from .._row import UNREADABLE
from .._units import Run
from ._end_marker import TAIL_BYTES
from ._file import READ_BUFFER, _failed_status, bare_row, probe_file

HEAD_BYTES = 64 << 10  # what a header read may need: JPEG markers, PNG chunks before IDAT, EXIF
AHEAD = 4  # parts whose heads are being fetched while an earlier one is probed


class Fetched:
    """The head and tail bytes of an object, or the error fetching them."""

    __slots__ = ("head", "tail", "error")

    def __init__(self, head: bytes = b"", tail: bytes = b"", error: Optional[BaseException] = None) -> None:
        self.head, self.tail, self.error = head, tail, error


def size_of(fs: Any, path: str, name: str) -> int:
    size = getattr(name, "size", None)
    return int(fs.size(path)) if size is None else int(size)


def part_heads(part: list[Run]) -> list[dict[str, Fetched]]:
    """Heads and tails of the remote files of a plain part (archives aside: they are read
    member by member), one dict per run (empty for a local run), in one concurrent batch of
    ranged requests per store."""
    out: list[dict[str, Fetched]] = [{} for _ in part]
    batches: dict[int, tuple[Any, list, list, list, list]] = {}  # id(fs) -> fs, paths, starts, ends, owners
    for i, run in enumerate(part):
        if run.fs is None:
            continue
        fs, paths, starts, ends, owners = batches.setdefault(id(run.fs), (run.fs, [], [], [], []))
        for name in run.names:
            size = getattr(name, "size", None)
            if is_archive_name(name) or not size:
                continue
            head = min(size, HEAD_BYTES)
            # a tuple of appends (each None) as one statement: the four lists stay in step
            paths.append(run.folder + name), starts.append(0), ends.append(head), owners.append((i, name, "head"))  # type: ignore[func-returns-value]
            if size > head:
                paths.append(run.folder + name), starts.append(max(head, size - TAIL_BYTES)), ends.append(size)  # type: ignore[func-returns-value]
                owners.append((i, name, "tail"))
    for fs, paths, starts, ends, owners in batches.values():
        try:
            results = fs.cat_ranges(paths, starts, ends, on_error="return")
        except Exception as exc:  # the whole batch failed (the store went away): every file says so
            results = [exc] * len(paths)
        for (i, name, which), data in zip(owners, results):
            got = out[i].setdefault(name, Fetched())
            if isinstance(data, BaseException):
                got.error = got.error or data
            else:
                setattr(got, which, bytes(data))
    return out


def heads_ahead(parts: Iterable[list[Run]], ahead: Optional[int] = None) -> Iterator[tuple[list[Run], Optional[list]]]:
    """Each part with its remote files' heads (:func:`part_heads`; ``None`` for a part of local
    files), fetched in a thread while the parts before it are probed: ``ahead`` parts of
    requests in flight, so the store's round trip is paid while Pillow reads, not between
    parts (a 20 ms round trip per part of 128 files would otherwise cost as much as reading
    them). ``ahead``: :data:`AHEAD` by default; 0 fetches each part's heads as it is probed.
    The threads are daemons: a scan stopped while a store is slow to answer is not held up
    by fetches nobody will read."""
    ahead = AHEAD if ahead is None else ahead
    queue: deque = deque()
    for part in parts:
        remote = ahead > 0 and any(run.fs is not None for run in part)
        queue.append((part, _in_background(part_heads, part) if remote else None))
        if len(queue) > ahead:
            yield _done(*queue.popleft())
    while queue:
        yield _done(*queue.popleft())


def _in_background(fn: Any, *args: Any) -> Future:
    """``fn(*args)`` in a daemon thread of its own, as a future."""
    future: Future = Future()

    def run() -> None:
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits on the future
            future.set_exception(exc)

    threading.Thread(target=run, name="pipeguard-heads", daemon=True).start()
    return future


def _done(part: list[Run], heads: Optional[Future]) -> tuple[list[Run], Optional[list]]:
    return part, None if heads is None else heads.result()


def _server(fs: Any, path: str, size: int, fetched: Fetched):
    """``fetch(offset, n)`` over the bytes fetched up front, with a ranged request for the rest."""
    head, tail = fetched.head, fetched.tail
    tail_at = size - len(tail)

    def fetch(offset: int, n: int) -> bytes:
        end = offset + n
        if end <= len(head):
            return head[offset:end]
        if offset >= tail_at and tail:
            return tail[offset - tail_at:end - tail_at]
        return fs.cat_file(path, start=offset, end=min(end, size))

    return fetch


def remote_row(fs: Any, path: str, rel: str, name: str, cls: Optional[str], hidden: bool, deep: bool,
               fetched: Optional[Fetched]):
    """One object's row; never raises. ``fetched`` holds its head and tail (plain scan)."""
    error = getattr(name, "error", None)  # known from the listing (see sources' ``Key``)
    if error is not None and rel.endswith("/"):  # a folder whose listing failed
        denied = getattr(name, "denied", False)
        return bare_row(rel, cls, hidden, None, UNREADABLE, f"cannot list the folder: {error}; its files were not "
                        "scanned", UnreadableKind.PERMISSION_DENIED if denied else UnreadableKind.CANNOT_OPEN)
    if error is not None:
        return bare_row(rel, cls, hidden, None, _failed_status(rel), f"cannot read: {error}",
                        UnreadableKind.READ_ERROR)
    try:
        size = size_of(fs, path, name)
        if deep:
            raw = in_memory(fs.cat_file(path) if size else b"", rel)  # downloaded in this worker
        else:
            if fetched is not None and fetched.error is not None:
                raise fetched.error
            raw = RangeFile(_server(fs, path, size, fetched or Fetched()), size, rel)
    except Exception as exc:
        return bare_row(rel, cls, hidden, getattr(name, "size", None), _failed_status(rel),
                        f"cannot read: {one_line(exc)}", UnreadableKind.READ_ERROR)
    with io.BufferedReader(raw, buffer_size=READ_BUFFER) as f:
        try:
            return probe_file(f, size, rel, cls, hidden, deep)
        except Exception as exc:  # a ranged request failing inside Pillow's read
            return bare_row(rel, cls, hidden, size, _failed_status(rel), f"cannot read: {one_line(exc)}",
                        UnreadableKind.READ_ERROR)

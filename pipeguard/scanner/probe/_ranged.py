"""Reading objects of a remote run (see :mod:`..sources._remote`) in ranges, many at once.

A plain scan fetches each file's head (at most :data:`HEAD_BYTES`) and tail (for the end
marker) for a whole run with one ``fs.cat_ranges`` call, which an async filesystem
(s3fs, gcsfs, adlfs) sends concurrently; it never downloads a whole file. The probe then
reads the file through a :class:`~..._io._member_file.RangeFile` served from those bytes, with a
ranged request for anything else Pillow asks for. ``--deep`` downloads each file in the
worker that decodes it. A request that fails or times out is that file's ``unreadable``
row, with the error; a folder whose listing failed (a name ending in ``/``) is its own.
"""

from __future__ import annotations

import io
from typing import Any, Optional

from ..._io import RangeFile, in_memory
from ...core import UnreadableKind
from ...diagnosis import one_line
from .._row import UNREADABLE
from ._end_marker import TAIL_BYTES
from ._file import READ_BUFFER, _failed_status, bare_row, probe_file

HEAD_BYTES = 64 << 10  # what a header read may need: JPEG markers, PNG chunks before IDAT, EXIF


class Fetched:
    """The head and tail bytes of an object, or the error fetching them."""

    __slots__ = ("head", "tail", "error")

    def __init__(self, head: bytes = b"", tail: bytes = b"", error: Optional[BaseException] = None) -> None:
        self.head, self.tail, self.error = head, tail, error


def size_of(fs: Any, path: str, name: str) -> int:
    size = getattr(name, "size", None)
    return int(fs.size(path)) if size is None else int(size)


def fetch_heads(fs: Any, folder: str, names: list, skip: Any) -> dict[str, Fetched]:
    """Heads and tails of the files ``names`` of ``folder`` (but those ``skip(name)`` is true
    for), in one concurrent batch of ranged requests."""
    paths, starts, ends, owners = [], [], [], []
    for name in names:
        size = getattr(name, "size", None)
        if skip(name) or not size:
            continue
        head = min(size, HEAD_BYTES)
        # a tuple of appends (each None) as one statement: the four lists stay in step
        paths.append(folder + name), starts.append(0), ends.append(head), owners.append((name, "head"))  # type: ignore[func-returns-value]
        if size > head:
            paths.append(folder + name), starts.append(max(head, size - TAIL_BYTES)), ends.append(size)  # type: ignore[func-returns-value]
            owners.append((name, "tail"))
    if not paths:
        return {}
    try:
        results = fs.cat_ranges(paths, starts, ends, on_error="return")
    except Exception as exc:  # the whole batch failed (the store went away): every file says so
        results = [exc] * len(paths)
    fetched: dict[str, Fetched] = {}
    for (name, which), data in zip(owners, results):
        got = fetched.setdefault(name, Fetched())
        if isinstance(data, BaseException):
            got.error = got.error or data
        else:
            setattr(got, which, bytes(data))
    return fetched


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

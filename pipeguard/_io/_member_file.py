"""A read-only file over bytes that live elsewhere: an archive member read in place, or a
decompressed member held in memory. Pillow reads it like any file; :func:`read_at` reads
its tail without moving the position."""

from __future__ import annotations

import io
import os
import time
from typing import Callable, Optional

Fetch = Callable[[int, int], bytes]  # (offset, n) -> up to n bytes from offset


class RangeFile(io.RawIOBase):
    """``size`` bytes that ``fetch(offset, n)`` returns, as a seekable raw file.

    Args:
        fetch: returns up to ``n`` bytes from ``offset`` (fewer only at the end of the data
            actually present, e.g. a member cut short by a truncated archive).
        size: the length the container declares.
        name: what ``repr`` and Pillow's messages show.
    """

    def __init__(self, fetch: Fetch, size: int, name: str = "") -> None:
        super().__init__()
        self._fetch = fetch
        self._size = size
        self._pos = 0
        self.name = name

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = max(0, min(len(buffer), self._size - self._pos))
        data = self._fetch(self._pos, n) if n else b""
        buffer[:len(data)] = data
        self._pos += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise OSError(22, "negative seek position")
        self._pos = base + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read_at(self, offset: int, n: int) -> bytes:
        n = max(0, min(n, self._size - offset))
        return self._fetch(offset, n) if n else b""


def in_memory(data: bytes, name: str = "") -> RangeFile:
    """A member decompressed into memory (gzip tar, deflated zip): one member at a time."""
    view = memoryview(data)
    return RangeFile(lambda offset, n: bytes(view[offset:offset + n]), len(data), name)


WHOLE_UP_TO = 64 << 20  # a decompressed member up to this size is held whole
TAIL_KEPT = 1 << 20  # of a larger one, the head (its first WHOLE_UP_TO bytes) and this tail
_CHUNK = 1 << 20  # bytes decompressed per read


class MemberTimeout(OSError):
    """A compressed member still inflating when its time ran out (a zip bomb's member)."""


def read_bounded(read: Callable[[int], bytes], name: str = "", time_limit: Optional[float] = None) -> RangeFile:
    """A decompressing stream (``read(n)``: up to ``n`` bytes, ``b""`` at its end) read through
    in chunks into a file of what it gave: held whole up to :data:`WHOLE_UP_TO` bytes; past
    that, its head and its last :data:`TAIL_KEPT` bytes, the middle decompressed and dropped,
    so memory stays bounded whatever the member declares or inflates to (a header read needs
    the head, the end-marker check the tail). Reading the middle raises ``OSError``.

    Raises:
        MemberTimeout: the stream was still giving bytes after ``time_limit`` seconds (checked
            between chunks, so it holds in a scan's own process, where no worker is killed).
    """
    give_up = None if time_limit is None else time.monotonic() + time_limit
    head = bytearray()
    while len(head) < WHOLE_UP_TO:
        chunk = read(min(_CHUNK, WHOLE_UP_TO - len(head)))
        if not chunk:
            return in_memory(head, name)  # type: ignore[arg-type]  # a bytearray serves as well, uncopied
        head += chunk
        _check_time(give_up, time_limit, len(head))
    tail = bytearray()
    size = len(head)
    while True:
        chunk = read(_CHUNK)
        if not chunk:
            break
        size += len(chunk)
        tail += chunk
        if len(tail) > 2 * TAIL_KEPT:
            del tail[:-TAIL_KEPT]
            _check_time(give_up, time_limit, size)
    return RangeFile(_head_and_tail(head, bytes(tail[-TAIL_KEPT:]), size, name), size, name)


def _check_time(give_up: Optional[float], time_limit: Optional[float], inflated: int) -> None:
    if give_up is not None and time.monotonic() > give_up:
        raise MemberTimeout(f"timed out: still decompressing after {time_limit:g} s, {inflated:,} bytes so far "
                            "(a zip bomb, or a member too large for --timeout)")


def _head_and_tail(head: bytearray, tail: bytes, size: int, name: str) -> Fetch:
    tail_at = size - len(tail)

    def fetch(offset: int, n: int) -> bytes:
        end = offset + n
        if end <= len(head):
            return bytes(head[offset:end])
        if offset >= tail_at:
            return tail[offset - tail_at:end - tail_at]
        raise OSError(f"{name or 'member'}: {size:,} bytes decompressed, only the first {len(head):,} "
                      f"and the last {len(tail):,} are held (bytes {offset:,} to {end:,} were asked for)")

    return fetch

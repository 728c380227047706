"""Opening a listed path only if it is a regular file: a FIFO would block the reader forever.

Used by the scanner (every file it reads) and by the HTML page (the files it previews).
"""

from __future__ import annotations

import errno
import os
import stat
from typing import Any

_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class NotRegularFile(OSError):
    """A FIFO, socket or device where a file was listed: never read (a FIFO would block forever)."""


def open_regular(path: str, buffering: int = -1) -> Any:
    """``path`` opened for buffered binary reading, if it is a regular file (after symlinks).

    ``O_NONBLOCK`` keeps a FIFO from blocking the open (it is then closed unread); an
    ``fstat`` on the open file, not a ``stat`` before it, so a file swapped for a FIFO in
    between is caught too (``O_NONBLOCK`` means nothing to a regular file's reads, so it
    stays set). Raises :class:`NotRegularFile` for anything but a regular file.
    """
    fd, _ = open_regular_fd(path)
    try:
        return open(fd, "rb", buffering=buffering)
    except BaseException:
        os.close(fd)
        raise


def open_regular_fd(path: str) -> tuple[int, int]:
    """:func:`open_regular` as a bare descriptor and the file's size: for positional reads
    (``os.pread``) that need no file object. The caller closes the descriptor."""
    fd = os.open(path, os.O_RDONLY | _NONBLOCK | _CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(errno.EINVAL, file_type(st.st_mode))
        return fd, st.st_size
    except BaseException:
        os.close(fd)
        raise


class Descriptor:
    """An open descriptor as :func:`~._file_read.read_at` reads it (``fileno()``), without the
    file object (and its buffer) that each file of a scan would otherwise cost."""

    __slots__ = ("fd",)

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def fileno(self) -> int:
        return self.fd


def file_type(mode: int) -> str:
    """What a special file is, in words ("a FIFO (named pipe)", "a socket", ...)."""
    for test, what in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):
        if test(mode):
            return what
    return "a special file"

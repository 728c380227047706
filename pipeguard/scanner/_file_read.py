"""Positional reads: bytes at an offset, leaving the file position (and Pillow's buffer) alone."""

from __future__ import annotations

import io
import os
from typing import Any


def read_at(f: Any, offset: int, n: int) -> bytes:
    """Up to ``n`` bytes of ``f`` from ``offset`` (fewer at the end of the file).

    A real file is read with ``pread``; a file with no descriptor (an archive member, a
    remote object: see :mod:`._member_file`) reads through its raw ``read_at``.
    """
    try:
        fd = f.fileno()
    except (AttributeError, io.UnsupportedOperation):
        raw = getattr(f, "raw", f)
        return raw.read_at(offset, n)
    if hasattr(os, "pread"):
        return os.pread(fd, n, offset)
    at = f.tell()  # pragma: no cover - Windows
    f.seek(offset)
    data = f.read(n)
    f.seek(at)
    return data

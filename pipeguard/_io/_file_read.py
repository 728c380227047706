"""Positional reads: bytes at an offset, leaving the file position (and Pillow's buffer) alone."""

from __future__ import annotations

import io
import os
from typing import Any


def read_at(f: Any, offset: int, n: int) -> bytes:
    """Up to ``n`` bytes of ``f`` from ``offset`` (fewer at the end of the file).

    A real file is read with ``pread``; a file with no descriptor reads through its raw
    ``read_at`` (an archive member, a remote object: see :mod:`._member_file`) or, for
    an in-memory file (a Hugging Face dataset's bytes), by seeking and seeking back.
    """
    try:
        fd = f.fileno()
    except (AttributeError, io.UnsupportedOperation):
        raw = getattr(f, "raw", f)
        if hasattr(raw, "read_at"):
            return raw.read_at(offset, n)
        return _read_seeking(f, offset, n)
    if hasattr(os, "pread"):
        return os.pread(fd, n, offset)
    return _read_seeking(f, offset, n)  # pragma: no cover - Windows


def _read_seeking(f: Any, offset: int, n: int) -> bytes:
    at = f.tell()
    f.seek(offset)
    data = f.read(n)
    f.seek(at)
    return data

"""Positional reads: bytes at an offset, leaving the file position (and Pillow's buffer) alone."""

from __future__ import annotations

import io
import os
from typing import Any


def _read_seeking(f: Any, offset: int, n: int) -> bytes:
    """Up to ``n`` bytes of ``f`` from ``offset`` (fewer at the end of the file)."""
    at = f.tell()
    f.seek(offset)
    data = f.read(n)
    f.seek(at)
    return data


if hasattr(os, "pread"):
    def read_at(f: Any, offset: int, n: int) -> bytes:
        """Up to ``n`` bytes of ``f`` from ``offset`` (fewer at the end of the file)."""
        try:
            fd = f.fileno()
        except io.UnsupportedOperation:  # an in-memory file (a Hugging Face dataset's bytes)
            return _read_seeking(f, offset, n)
        return os.pread(fd, n, offset)
else:  # pragma: no cover - Windows
    read_at = _read_seeking

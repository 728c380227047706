"""Positional reads: bytes at an offset, leaving the file position (and Pillow's buffer) alone."""

from __future__ import annotations

import os
from typing import Any

if hasattr(os, "pread"):
    def read_at(f: Any, offset: int, n: int) -> bytes:
        """Up to ``n`` bytes of ``f`` from ``offset`` (fewer at the end of the file)."""
        return os.pread(f.fileno(), n, offset)
else:  # pragma: no cover - Windows
    def read_at(f: Any, offset: int, n: int) -> bytes:
        """Up to ``n`` bytes of ``f`` from ``offset`` (fewer at the end of the file)."""
        at = f.tell()
        f.seek(offset)
        data = f.read(n)
        f.seek(at)
        return data

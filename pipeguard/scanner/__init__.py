"""Scanning image folders: every file a row, checked against a contract from its header.

``scan(path, contract=None, deep=False, workers=None) -> ScanReport``. Submodules,
one job each: ``walk`` (file discovery), ``row`` (``ScanRow``, one file's named
fields), ``probe`` (one file's header, in any process), ``jpeg_header`` (plain JPEG headers without Pillow's parser), ``file_read``
(positional reads), ``end_marker`` (truncation from the tail), ``raw_extent``
(truncation of uncompressed pixel data, from the header), ``workers`` (the supervised
pool: time limits, crashes), ``schema`` (the contract as a pandera schema), ``infer``
(the dominant contract), ``report`` (the table and its summary), ``cache`` (rows of
unchanged files kept between scans, in SQLite), ``run`` (``scan`` itself). pandas and pandera load only when a scan finishes, so worker
processes import Pillow alone.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ScanReport", "scan"]


def __getattr__(name: str) -> Any:
    if name == "scan":
        from ._run import scan

        return scan
    if name == "ScanReport":
        from ._report import ScanReport

        return ScanReport
    raise AttributeError(f"module 'pipeguard.scanner' has no attribute {name!r}")

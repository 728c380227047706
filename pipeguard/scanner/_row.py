"""One scan row: a file's fields, named, in the column order of the report.

A row is a :class:`typing.NamedTuple`: as cheap to build, send through a pipe and
unpack into columns as a plain tuple, and read by name. The first ten fields are fixed
by DESIGN.md (``path`` ... ``violations``), then ``member`` (archives); the rest follow.
"""

from __future__ import annotations

from typing import NamedTuple, Optional


class ScanRow(NamedTuple):
    """One file of a scan.

    Attributes:
        path: relative to the scanned folder, ``/``-separated.
        status: ``ok``, ``violation``, ``unreadable`` or ``not-image``.
        format: Pillow's format name (``JPEG``, ``PNG``), or ``None`` when no header was read.
        mode: Pillow's mode (``RGB``, ``L``, ``P``, ...).
        channels: the mode's band count (what ``pil_to_tensor`` gives).
        height: stored height (EXIF orientation not applied, as ``ImageFolder`` does not).
        width: stored width.
        bytes: file size.
        error: why the file cannot be read, as text.
        violations: the contract's failed checks, as text.
        member: the name inside the archive for an archive member (``path`` is then the
            archive's); ``None`` for a plain file and for an archive that cannot be opened.
        error_kind: why an ``unreadable`` row is (the value of an
            :class:`~pipeguard.core._errors.UnreadableKind`); ``None`` for other statuses.
        cls: the ``ImageFolder`` class (the ``class`` column): the path's first part.
        n_frames: frames in the file (GIF, TIFF, WebP animations).
        orientation: EXIF orientation, 1-8, where the header holds it.
        fix: the pipeguard transforms that would fix a violation.
        hidden: the file or a folder on its path starts with ``.``.
        warnings: what Pillow or the probe noted without failing.
    """

    path: str
    status: str
    format: Optional[str] = None
    mode: Optional[str] = None
    channels: Optional[int] = None
    height: Optional[int] = None
    width: Optional[int] = None
    bytes: Optional[int] = None
    error: Optional[str] = None
    violations: tuple = ()
    member: Optional[str] = None
    error_kind: Optional[str] = None
    cls: Optional[str] = None
    n_frames: Optional[int] = None
    orientation: Optional[int] = None
    fix: Optional[str] = None
    hidden: bool = False
    warnings: tuple = ()


# the report's column names: the fields, with ``class`` spelled out (a keyword in Python)
COLUMNS = tuple("class" if name == "cls" else name for name in ScanRow._fields)

# the columns of whole numbers (nullable) and of lists of text, in every format
INT_COLUMNS = ("channels", "height", "width", "bytes", "n_frames", "orientation")
LIST_COLUMNS = ("violations", "warnings")

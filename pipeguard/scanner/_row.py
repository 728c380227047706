"""One scan row: a file's fields, named, in the column order of the report.

A probe makes each row a :class:`typing.NamedTuple`: as cheap to build and unpack into
columns as a plain tuple, and read by name. Rows cross a pipe or Dask (and go into the
cache) as ``marshal`` data of plain tuples, since pickling a NamedTuple calls its
``__new__`` per row, and they stay plain tuples in ScanRow's field order when they come
back: the table is built by position, and making each a ScanRow again cost a re-scan
from the cache a call per row. A batch of rows may thus hold both, and nothing reads them
by name until they are a table (built by position). The first ten fields are fixed by DESIGN.md (``path``
... ``violations``), then ``member`` (archives); the rest follow.
"""

from __future__ import annotations

import marshal
from typing import Any, NamedTuple, Optional, Union

from ..core import Status


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


# the statuses as plain text, which rows hold (marshal, which carries rows across pipes,
# takes exact str only); values of :class:`~pipeguard.Status`
OK, VIOLATION, UNREADABLE, NOT_IMAGE = (status.value for status in Status)
PROBLEMS = (VIOLATION, UNREADABLE)  # the statuses that fail a scan (exit status 1)
STATUSES = (OK, VIOLATION, UNREADABLE, NOT_IMAGE)  # in report order

# the report's column names: the fields, with ``class`` spelled out (a keyword in Python)
COLUMNS = tuple("class" if name == "cls" else name for name in ScanRow._fields)

# the columns of whole numbers (nullable) and of lists of text, in every format
INT_COLUMNS = ("channels", "height", "width", "bytes", "n_frames", "orientation")
LIST_COLUMNS = ("violations", "warnings")


def item_values(item: Any) -> Any:
    """A probe's item (a file's row, or an archive's list of member rows) as plain tuples."""
    return [tuple(row) for row in item] if type(item) is list else tuple(item)


def packed(items: list) -> Union[bytes, list]:
    """``items`` as one ``marshal`` blob to send through a pipe; ``items`` themselves when a
    value cannot be marshalled (they are pickled then). Probes fill rows with Python's own
    str, int, bool, None and tuples only: marshal would write a numpy number as bytes."""
    try:
        return marshal.dumps([item_values(item) for item in items])
    except ValueError:
        return items


def unpacked(payload: Union[bytes, list]) -> list:
    """The items of :func:`packed`, their rows as plain tuples.

    Raises:
        ValueError: the rows have another number of fields (a Dask worker running another
            version of pipeguard than the client).
    """
    if type(payload) is not bytes:
        return payload  # type: ignore[return-value]  # not bytes: the list (`type() is not` does not narrow)
    values = marshal.loads(payload)
    first = next((v[0] if type(v) is list else v for v in values if v), None)
    if first is not None and len(first) != len(ScanRow._fields):
        raise ValueError(f"rows of {len(first)} fields where this pipeguard has {len(ScanRow._fields)}: "
                         "the workers run another version of pipeguard")
    return values

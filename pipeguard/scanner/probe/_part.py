"""Probe one part of the listing: its files in order, and each archive's members.

An archive (``.tar``, ``.tar.gz``, ``.zip``; see :mod:`..._io._archive`) is one item of a part
that gives a list of rows, one per member, read where it lies; the pool and the scan
flatten those lists in place (:func:`flatten`). An archive that cannot be opened or
listed is one ``unreadable`` row with a null ``member``; a member that cannot be read is
its own row; damage past the last readable member is one more row for the archive.

A remote run (one with a filesystem, see :mod:`..sources._remote`) is read through
:mod:`._ranged`: the heads and tails of its files in one concurrent batch of ranged
requests, archives through ranged reads too.
"""

from __future__ import annotations

import io
import warnings
from functools import partial
from typing import Any, Callable, Iterable, Optional, Union

from PIL import Image

from ..._io import (
    OVERLAPS,
    ArchiveError,
    Member,
    MemberTimeout,
    is_archive_name,
    list_members,
    opened,
    streamed_members,
)
from ...core import UnreadableKind
from ...diagnosis import one_line
from .._row import UNREADABLE, ScanRow
from .._units import Run
from ._file import (
    READ_BUFFER,
    _open_error,
    bare_row,
    is_hidden,
    open_regular,
    probe_file,
    probe_row,
)
from ._ranged import part_heads, remote_row

Item = Union[ScanRow, list]  # a file's row, or an archive's rows


def probe_part(part: Iterable[Run], deep: bool = False, on_start: Any = None, cache: Any = None,
               time_limit: Optional[float] = None, heads: Optional[list] = None) -> list[Item]:
    """Probe the files of ``part`` (runs from :func:`~..sources._walk.walk_runs`), in order.

    With a ``cache`` (a :class:`~..engine._cache.RowCache`), the items of unchanged files are
    taken from it and only the others are read.

    Python warnings raised while reading a file (``Corrupt EXIF data``,
    ``DecompressionBombWarning``) are attached to that file's ``warnings`` instead of
    being printed. ``on_start(i)`` is called before the ``i``-th file (worker progress),
    and again before each member of an archive, so a time limit holds per member. A
    compressed member still inflating after ``time_limit`` seconds is a ``timeout`` row: that
    bound holds here, in whatever process probes (a plain scan's own), not only in a worker
    the pool kills.

    ``heads``: the remote files' heads and tails, fetched ahead (see
    :func:`~._ranged.heads_ahead`); without them a plain part of remote files fetches its own.

    Returns:
        One item per file: its row, or for an archive the list of its members' rows.
    """
    if cache is not None:
        return cache.probe(part, deep, on_start, partial(probe_part, time_limit=time_limit))
    part = list(part)
    if heads is None and not deep and any(run.fs is not None for run in part):
        heads = part_heads(part)
    items: list[Item] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", DeprecationWarning)  # about Pillow, not the file
        for k, run in enumerate(part):
            folder, prefix, names, _, fs = run  # ``fs``: a remote run, read in ranges
            cls, hidden = run.flags()  # the same for every file of the folder
            fetched = heads[k] if heads is not None else {}
            for name in names:
                if on_start is not None:
                    on_start(len(items))
                hide = hidden or name.startswith(".")
                if is_archive_name(name):
                    again = _nothing if on_start is None else partial(on_start, len(items))  # per member
                    items.append(probe_archive(folder + name, prefix + name, cls, hide, deep, again, caught, fs,
                                               time_limit))
                elif fs is not None:
                    row = remote_row(fs, folder + name, prefix + name, name, cls, hide, deep, fetched.get(name))
                    items.append(with_warnings(row, caught))
                else:
                    items.append(with_warnings(probe_row(folder + name, prefix + name, cls, hide, deep), caught))
    return items


def flatten(items: list[Item]) -> list[ScanRow]:
    """Rows in order, an archive's member rows where the archive stood."""
    if list not in map(type, items):  # no archive: the usual case, found without a Python loop
        return items  # type: ignore[return-value]  # no list among them: all rows
    out: list[ScanRow] = []
    for item in items:
        if type(item) is list:
            out.extend(item)
        else:
            out.append(item)  # type: ignore[arg-type]  # not a list: a row (`type() is` does not narrow)
    return out


def _nothing() -> None:
    return None


def with_warnings(row: ScanRow, caught: list) -> ScanRow:
    if not caught:
        return row
    found = dict.fromkeys(f"{w.category.__name__}: {str(w.message).strip()}" for w in caught
                          if not issubclass(w.category, Image.DecompressionBombWarning))  # noted already
    caught.clear()
    return row._replace(warnings=row.warnings + tuple(found))


def probe_archive(path: str, rel: str, cls: Optional[str], hidden: bool, deep: bool = False,
                  started: Callable[[], None] = _nothing, caught: Optional[list] = None, fs: Any = None,
                  time_limit: Optional[float] = None) -> list[ScanRow]:
    """The rows of an archive's members (``path`` = ``rel``, ``member`` = the name inside);
    ``fs``: the fsspec filesystem of an archive in an object store; ``time_limit``: seconds a
    compressed member may take to inflate."""
    caught = [] if caught is None else caught
    whole = ScanRow(rel, UNREADABLE, cls=cls, hidden=hidden)  # the archive's own row, if it needs one
    try:
        if fs is None:
            open_regular(path).close()  # a FIFO named .tar would block the archive reader forever
    except OSError as exc:
        error, kind = _open_error(path, exc)
        return [whole._replace(error=error, error_kind=kind.value)]
    try:
        listing = list_members(path, fs)
    except (ArchiveError, OSError) as exc:
        return [_archive_failure(whole, exc)]
    if listing is None:  # a compressed tar: read front to back, once
        return _streamed(path, whole, deep, started, caught, fs, time_limit)
    rows = []
    try:
        with opened(path, fs, time_limit) as archive:
            for member in listing.members:
                started()
                rows.append(with_warnings(_member_row(archive, member, whole, deep), caught))
    except OSError as exc:
        rows.append(_archive_failure(whole, exc))
    if listing.damage is not None:
        rows.append(whole._replace(error=listing.damage, error_kind=UnreadableKind.DAMAGED_ARCHIVE.value))
    return rows


def _member_row(archive: Any, member: Member, whole: ScanRow, deep: bool) -> ScanRow:
    hidden = whole.hidden or is_hidden(member.name)
    if member.error is not None:
        return whole._replace(member=member.name, bytes=_declared(member.size), error=member.error,
                              error_kind=_member_kind(member.error).value, hidden=hidden)
    try:
        raw = archive.open(member)
    except MemberTimeout as exc:
        return whole._replace(member=member.name, bytes=_declared(member.size), hidden=hidden,
                              error=str(exc), error_kind=UnreadableKind.TIMEOUT.value)
    except Exception as exc:  # zipfile raises BadZipFile, zlib.error, EOFError, NotImplementedError...
        return whole._replace(member=member.name, bytes=_declared(member.size), hidden=hidden,
                              error=f"damaged member: {one_line(exc)}", error_kind=UnreadableKind.READ_ERROR.value)
    return _in_archive(raw, member.size, member.name, whole, hidden, deep)


def _member_kind(error: str) -> UnreadableKind:
    """The kind of a member the listing or the stream already found unreadable."""
    if error.startswith("truncated"):
        return UnreadableKind.TRUNCATED
    if error.startswith("timed out"):
        return UnreadableKind.TIMEOUT
    if error.startswith(OVERLAPS):
        return UnreadableKind.DAMAGED_ARCHIVE
    return UnreadableKind.ENCRYPTED if "encrypted" in error else UnreadableKind.NOT_A_FILE


def _declared(size: int) -> Optional[int]:
    """A member's declared size for the ``bytes`` column: ``None`` past what an int64 holds
    (a hostile header can declare 10**20 bytes)."""
    return size if 0 <= size < 1 << 63 else None


def _in_archive(raw: Any, size: int, name: str, whole: ScanRow, hidden: bool, deep: bool) -> ScanRow:
    with (raw if isinstance(raw, io.BytesIO) else io.BufferedReader(raw, buffer_size=READ_BUFFER)) as f:
        row = probe_file(f, size, name, whole.cls, hidden, deep)
    return row._replace(path=whole.path, member=name, bytes=_declared(size))


def _streamed(path: str, whole: ScanRow, deep: bool, started: Callable[[], None], caught: list,
              fs: Any = None, time_limit: Optional[float] = None) -> list[ScanRow]:
    rows = []
    try:
        for member, raw in streamed_members(path, fs, time_limit):
            started()
            if raw is None:
                rows.append(_member_row(None, member, whole, deep))
            else:
                rows.append(with_warnings(_in_archive(raw, member.size, member.name, whole,
                                               whole.hidden or is_hidden(member.name), deep), caught))
    except ArchiveError as exc:
        rows.append(whole._replace(error=str(exc), error_kind=UnreadableKind.DAMAGED_ARCHIVE.value))
    return rows


def _archive_failure(whole: ScanRow, exc: Union[ArchiveError, OSError]) -> ScanRow:
    if isinstance(exc, ArchiveError):
        return whole._replace(error=str(exc), error_kind=UnreadableKind.DAMAGED_ARCHIVE.value)
    probed = bare_row(whole.path, whole.cls, whole.hidden, None, UNREADABLE, f"cannot open: {exc.strerror or exc}",
                  UnreadableKind.CANNOT_OPEN)
    return probed

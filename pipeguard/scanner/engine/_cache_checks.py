"""What the scan cache (:mod:`._cache`) trusts, checked: the cache file it opens, what it
reads back, and who may reuse a row.

* The cache file is opened only as a regular file of this user, never through a symlink
  (one planted in a shared cache folder would have the scan write into another file).
* An entry read back is used only when it is what the cache writes: a file's row (or an
  archive's rows) of the right fields and types, its path the file's own; a folder's
  listing of plain names (no ``/``, no ``..``), sorted. Anything else (a damaged or
  crafted entry) is a miss: the file is read again, the folder listed again.
* A row is reused only by a process that may read the file now: one kept by a user who
  could read it would otherwise be shown to one who cannot (without the cache, that file
  is ``unreadable``, permission denied).
"""

from __future__ import annotations

import itertools
import marshal
import os
import stat
import typing
from typing import Any, Optional

from ...core import UnreadableKind
from .._row import STATUSES, ScanRow

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_SIDE_FILES = ("-wal", "-shm", "-journal")


def claim_file(path: str) -> os.stat_result:
    """The cache file at ``path``, created if missing, as a regular file of this user that
    is not a symlink; raises ``OSError`` (with a message saying why) when it is not one."""
    try:
        st: Optional[os.stat_result] = os.lstat(path)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):  # a link, a folder, a FIFO, a device
        raise OSError(f"{path} is not a regular file (a symlink?): not opening it")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | _NOFOLLOW, 0o644)  # O_NOFOLLOW: a link swapped in fails
    try:
        st = os.fstat(fd)
    finally:
        os.close(fd)
    if not stat.S_ISREG(st.st_mode):
        raise OSError(f"{path} is not a regular file: not opening it")
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        raise OSError(f"{path} belongs to another user (uid {st.st_uid}): not writing into it")
    for side in _SIDE_FILES:
        if os.path.islink(path + side):
            raise OSError(f"{path + side} is a symlink: not writing through it")
    return st


def same_file(path: str, st: os.stat_result) -> None:
    """Raise ``OSError`` unless ``path`` (not followed) is still the file ``st`` describes:
    checked after SQLite opened it, before anything is written."""
    now = os.lstat(path)
    if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino) or not stat.S_ISREG(now.st_mode):
        raise OSError(f"{path} was replaced while it was opened: not using it")


def readable_stats(folder: str, names: list[str], stats: list) -> list:
    """``stats`` with ``None`` for each file this process may not read now (its row is then
    not reused: the probe says what it is). Free for root and for the files' owner (the mode
    says it); one ``access`` call per file of another user."""
    if not hasattr(os, "geteuid"):
        return stats
    euid = os.geteuid()
    if euid == 0:
        return stats
    if all(st is None or (st.st_uid == euid and st.st_mode & stat.S_IRUSR) for st in stats):
        return stats  # the usual case: one's own readable files
    out = []
    for name, st in zip(names, stats):
        if st is not None and st.st_uid == euid:
            mine = bool(st.st_mode & stat.S_IRUSR)
        else:
            mine = st is not None and os.access(folder + name, os.R_OK)
        out.append(st if mine else None)
    return out


def _allowed_types() -> tuple[tuple[frozenset, ...], tuple[int, ...]]:
    """For each field of :class:`ScanRow`, the exact types its value may have (from its
    annotation); and the fields holding tuples of text."""
    hints = typing.get_type_hints(ScanRow)
    allowed, tuples = [], []
    for i, name in enumerate(ScanRow._fields):
        hint = hints[name]
        kinds = frozenset(typing.get_args(hint)) if typing.get_origin(hint) is typing.Union else frozenset([hint])
        allowed.append(frozenset(typing.get_origin(k) or k for k in kinds))
        if tuple in allowed[-1]:
            tuples.append(i)
    return tuple(allowed), tuple(tuples)


_ALLOWED, _TEXT_TUPLES = _allowed_types()
_STATUS, _KIND = ScanRow._fields.index("status"), ScanRow._fields.index("error_kind")
_STATUSES = frozenset(STATUSES)
_KINDS = frozenset(kind.value for kind in UnreadableKind)
_KINDS_OR_NONE = _KINDS | {None}
_SIGNATURES: dict = {}  # a row's value types -> whether they fit the fields (a few distinct ones)


def _good_types(signature: tuple) -> bool:
    ok = len(signature) == len(_ALLOWED) and all(t in a for t, a in zip(signature, _ALLOWED))
    if len(_SIGNATURES) < 4096:
        _SIGNATURES[signature] = ok
    return ok


def _good_row(row: Any, path: str) -> bool:
    """Whether ``row`` is a row of the file shown as ``path``: its fields' types, its status
    and error kind known ones (the usual row costs a dict lookup and a few comparisons)."""
    if type(row) is not tuple:
        return False
    signature = tuple(map(type, row))
    ok = _SIGNATURES.get(signature)
    if not (ok or (ok is None and _good_types(signature))):
        return False
    if row[0] != path or row[_STATUS] not in _STATUSES or (row[_KIND] is not None and row[_KIND] not in _KINDS):
        return False
    return all(type(text) is str for i in _TEXT_TUPLES if row[i] for text in row[i])


def cached_item(blob: Any, path: str) -> Any:
    """The item (a row, or an archive's list of rows) an entry holds for the file shown as
    ``path``; ``None`` when the entry is not one the cache writes."""
    try:
        item = marshal.loads(blob)
    except Exception:  # bad marshal data, not bytes: a miss  # noqa: BLE001
        return None
    if type(item) is list:
        return item if all(_good_row(row, path) for row in item) else None
    return item if _good_row(item, path) else None


def cached_items(blobs: list, paths: list[str]) -> Optional[list]:
    """The items of a run's entries (``paths``: the files shown as), checked as columns (one
    type test per field and run, not per row: a re-scan's usual case costs little more than
    decoding); ``None`` when one is not a plain row of the right fields (an archive's rows,
    or a damaged entry): then each is checked by :func:`cached_item`."""
    try:
        items = list(map(marshal.loads, blobs))
    except Exception:  # noqa: BLE001
        return None
    if not items:
        return items
    if set(map(type, items)) != {tuple} or set(map(len, items)) != {len(_ALLOWED)}:
        return None
    columns = list(zip(*items))
    if list(columns[0]) != paths:
        return None
    for column, allowed in zip(columns, _ALLOWED):
        if not set(map(type, column)) <= allowed:
            return None
    if not set(columns[_STATUS]) <= _STATUSES or not set(columns[_KIND]) <= _KINDS_OR_NONE:
        return None
    for i in _TEXT_TUPLES:
        if not set(map(type, itertools.chain.from_iterable(columns[i]))) <= {str}:
            return None
    return items


def _good_name(name: Any) -> bool:
    return (type(name) is str and name not in ("", ".", "..") and "/" not in name and "\0" not in name
            and os.sep not in name and (os.altsep is None or os.altsep not in name))


def cached_listing(blob: Any) -> Optional[tuple[list[str], list[str]]]:
    """A kept folder listing: its files and its subfolders as ``name/``, each sorted, every
    name a plain name of that folder; ``None`` when the entry is anything else."""
    try:
        value = marshal.loads(blob)
    except Exception:  # noqa: BLE001
        return None
    if type(value) is not tuple or len(value) != 2 or type(value[0]) is not list or type(value[1]) is not list:
        return None
    files, dirs = value
    if not all(map(_good_name, files)):
        return None
    if not all(type(d) is str and d.endswith("/") and _good_name(d[:-1]) for d in dirs):
        return None
    if files != sorted(files) or dirs != sorted(dirs):
        return None
    return files, dirs

"""The scan cache (``scan(cache=DIR)``, ``--cache DIR``): rows of unchanged files are reused.

A probe's rows are a function of the file's bytes, its path relative to the scanned
folder, the ``deep`` flag and the code that reads it; the contract's verdict is applied
later, so rows are cached before it and any contract can be checked against them.

One SQLite file in the cache folder holds one entry per file and per ``deep`` flag,
keyed by the scanned folder's absolute path, the file's path as shown and, for a
folder in a list of sources, where its class starts (the rows differ there). An entry
keeps the file's stamp (size, ``st_mtime_ns``, ``st_ctime_ns``, inode) and a version
tag (pipeguard's version, Pillow's, ``Image.MAX_IMAGE_PIXELS``, the row's fields),
and is reused only when all of them match. The change time catches what size and
modification time miss: a file rewritten with the same size and its mtime restored
(``os.utime``, ``cp -p``, ``rsync -t``), a ``chmod``; the inode catches a file
replaced by another through a rename. An archive is one entry holding all its
member rows. A folder's listing is kept the same way, under the folder's own stamp:
adding, removing or renaming an entry changes a folder's modification time, so a folder
whose stamp is unchanged holds the same names. Not kept: a folder holding a symlink (the
link's target may turn from a file into a folder without the folder changing), one with
an entry whose type could not be read, one on a filesystem not known to keep that
promise (FUSE and network mounts, see :mod:`..sources._mounts`); and a kept listing is reused only
by a process that may list the folder itself.

It never lies:

* the stamp is taken *before* the file is read, so a file changed while it is being
  read is stored under its old stamp and re-read by the next scan;
* a file changed less than ``RACY_NS`` before it was looked at is not stored
  (racy-git's rule): a filesystem keeps times in ticks (a few ms on Linux, 1-2 s on
  some), and a second write in the same tick would leave the stamp unchanged;
* rows that describe the moment rather than the bytes (cannot open, permission
  denied, read error, a memory error while decoding) and anything that is not a
  regular file are never stored;
* each part's entries are written in one transaction (WAL mode), so a scan killed
  halfway leaves whole entries or none;
* a row is reused only by a process that may read the file now, an entry only when it is
  one the cache writes (the file's own path, fields of the right types; a listing of plain
  names), and the cache file is written only when it is a regular file of this user, not
  reached through a symlink: see :mod:`._cache_checks`.

Lookups cost one range query per run of a part (the walk's runs are in key order), one
``stat`` per file (two when one has gone) and one ``marshal.loads`` per row (reused rows are
plain tuples, see :mod:`.._row`). When a run's entries are exactly its
files with their current stamps (a re-scan's usual case), the keys and stamps are
compared as two lists, not file by file. Workers read and write the file
themselves (WAL lets them, ``busy_timeout`` queues their writes). A cache that cannot
be created or written is logged once and the scan runs without it; a corrupt file is
rebuilt. Entries of files that no longer exist stay (a run whose key range holds one is
matched file by file, not as two lists) until the cache file is deleted.
"""

from __future__ import annotations

import hashlib
import logging
import marshal
import os
import sqlite3
import stat
import struct
import sys
import time
from typing import Any, Callable, Iterator, Optional, Union

from ...core import UnreadableKind
from .._row import ScanRow, item_values
from .._units import Run, with_names
from ._cache_checks import cached_item, cached_items, cached_listing, claim_file, readable_stats, same_file

log = logging.getLogger(__name__)

FILE_NAME = "pipeguard-scan-cache.sqlite3"
SCHEMA = 4               # 3: keys hold where a run's class starts; 4: folder listings
RACY_NS = 2_000_000_000   # files changed this recently are not stored (see the module docstring)
BUSY_MS = 30_000          # how long a writer waits for another process's transaction
FLUSH_ROWS, FLUSH_NS = 2048, 2_000_000_000  # entries are written in transactions of this many, or this often
FLUSH_NAMES = 50_000      # names of kept folder listings held before they are written
_FS_ENCODING, _FS_ERRORS = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()
_UNSTABLE = frozenset(kind.value for kind in (
    UnreadableKind.PERMISSION_DENIED, UnreadableKind.CANNOT_OPEN, UnreadableKind.READ_ERROR,
    UnreadableKind.BROKEN_LINK, UnreadableKind.NOT_A_FILE, UnreadableKind.TIMEOUT, UnreadableKind.CRASH))
_INHERITED: list = []     # connections a forked worker copied from its parent: never used, never closed
_LOOKUP = "SELECT key, stamp, item FROM rows WHERE deep = ? AND key BETWEEN ? AND ? ORDER BY key"
_STORE = "INSERT OR REPLACE INTO rows VALUES (?, ?, ?, ?)"
_LISTING = "SELECT stamp, names FROM listings WHERE folder = ?"
_KEEP_LISTING = "INSERT OR REPLACE INTO listings VALUES (?, ?, ?)"
_STAMP = struct.Struct("<qqqQq").pack  # size, mtime_ns, ctime_ns, inode, version tag: compared as one value
_STAT_DIR_FD = os.stat in os.supports_dir_fd
_DIR_FLAGS = getattr(os, "O_PATH", os.O_RDONLY) | getattr(os, "O_DIRECTORY", 0)  # O_PATH: no read permission needed

Probe = Callable[..., list]  # probe_part(part, deep, on_start) -> one item per file


def version_tag() -> int:
    """What the rows depend on besides the file: the code reading it and its settings, hashed."""
    import PIL
    from PIL import Image

    import pipeguard

    text = (f"pipeguard {pipeguard.__version__}; Pillow {PIL.__version__}; MAX_IMAGE_PIXELS "
            f"{Image.MAX_IMAGE_PIXELS}; marshal {marshal.version}; fields {','.join(ScanRow._fields)}")
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big", signed=True)


def open_cache(folder: Union[str, os.PathLike[str]],
               root: Union[str, os.PathLike[str], None]) -> Optional[RowCache]:
    """The cache in ``folder`` (created if missing) for a scan of ``root``; ``None``, with one
    warning, when it cannot be used: the scan then runs without it."""
    if not os.fspath(folder):
        raise ValueError("cache: an empty path; give the cache's folder (e.g. '.pipeguard-cache')")
    folder = os.path.abspath(os.fspath(folder))
    if root is not None and _inside(os.path.realpath(folder), os.path.realpath(root)):
        log.warning("not using the cache %s: it is inside the scanned folder %s (its files would be rows)",
                    folder, os.fspath(root))
        return None
    cache = RowCache(os.path.join(folder, FILE_NAME))
    try:
        os.makedirs(folder, exist_ok=True)
        cache.connect()
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, sqlite3.OperationalError) or not os.path.isfile(cache.path):
            return _unusable(cache, exc)
        log.warning("the cache %s is damaged (%s): rebuilding it", cache.path, exc)
        try:
            _remove(cache.path)
            cache.connect()
        except (OSError, sqlite3.Error) as again:
            return _unusable(cache, again)
    except OSError as exc:
        return _unusable(cache, exc)
    return cache


def _inside(path: str, folder: str) -> bool:
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:  # different drives
        return False


def _unusable(cache: RowCache, exc: BaseException) -> Optional[RowCache]:  # open_cache's "no cache"
    log.warning("scanning without the cache %s: %s", cache.path, exc)
    cache.close()
    return None


def _remove(path: str) -> None:
    for name in (path, path + "-wal", path + "-shm", path + "-journal"):
        if os.path.lexists(name):
            os.remove(name)


def _connect(path: str) -> sqlite3.Connection:
    """A connection to the cache file, its tables made, and a write done: a cache that
    cannot be written fails here, not in the middle of a scan. The file must be a regular
    file of this user, not a symlink (:func:`._cache_checks.claim_file`); raises ``OSError``
    when it is not."""
    st = claim_file(path)
    con = sqlite3.connect(path, timeout=BUSY_MS / 1000, isolation_level=None)
    try:
        same_file(path, st)  # still that file now that SQLite has it open, before any write
        con.execute("PRAGMA journal_mode = WAL")   # readers beside one writer; falls back where WAL cannot be
        con.execute("PRAGMA synchronous = NORMAL")  # a killed process loses nothing committed
        con.execute("BEGIN IMMEDIATE")
        con.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value)")
        found = con.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()
        if found is None or found[0] != SCHEMA:
            con.execute("DROP TABLE IF EXISTS rows")
            con.execute("DROP TABLE IF EXISTS listings")
        con.execute("CREATE TABLE IF NOT EXISTS rows (deep INTEGER NOT NULL, key BLOB NOT NULL, stamp BLOB, "
                    "item BLOB, PRIMARY KEY (deep, key)) WITHOUT ROWID")
        con.execute("CREATE TABLE IF NOT EXISTS listings (folder BLOB PRIMARY KEY, stamp BLOB, names BLOB) "
                    "WITHOUT ROWID")
        con.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (SCHEMA,))
        con.execute("COMMIT")
    except BaseException:
        con.close()
        raise
    return con


class RowCache:
    """The cache file of one scan, usable in the parent and in its worker processes.

    A worker (forked or spawned) opens its own connection on first use; a connection is
    never used in another process than the one that opened it.

    Args:
        path: the SQLite file.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.tag = version_tag()
        self._con: Optional[sqlite3.Connection] = None
        self._pid = os.getpid()
        self._broken = False
        self._base: tuple[Any, bytes] = (None, b"")  # the last run's (folder, prefix, class start) and key prefix
        self._pending: list = []  # entries not yet written
        self._listings: list = []  # folder listings not yet written
        self._listed_names = 0     # names in them
        self._flushed = time.monotonic_ns()

    def __getstate__(self) -> dict:
        return {"path": self.path, "tag": self.tag}

    def __setstate__(self, state: dict) -> None:
        self.path, self.tag = state["path"], state["tag"]
        self._con, self._pid, self._broken, self._base = None, os.getpid(), False, (None, b"")
        self._pending, self._listings, self._listed_names, self._flushed = [], [], 0, time.monotonic_ns()

    def connect(self) -> None:
        """Open (or create) the file now; raises what :func:`sqlite3.connect` raises."""
        self._con, self._pid = _connect(self.path), os.getpid()

    def close(self) -> None:
        """Write the pending entries and close this process's connection."""
        self._adopt()
        if self._con is not None:
            self._flush(self._con)
            self._con.close()
        self._con = None

    def _adopt(self) -> None:
        """In a forked worker, set the parent's connection aside: neither used nor closed
        (closing it here could undo the parent's locks)."""
        if self._pid != os.getpid():
            if self._con is not None:
                _INHERITED.append(self._con)
            self._con, self._pid, self._pending, self._listings, self._listed_names = None, os.getpid(), [], [], 0

    def _connection(self) -> Optional[sqlite3.Connection]:
        self._adopt()
        if self._con is None and not self._broken:
            try:
                self.connect()
            except (OSError, sqlite3.Error):
                self._broken = True
        return None if self._broken else self._con

    def probe(self, part: list[Run], deep: bool, on_start: Any, probe: Probe) -> list:
        """:func:`~..probe._part.probe_part` through the cache: hits are decoded, misses probed
        (``on_start`` still gets each file's index in ``part``) and stored."""
        con = self._connection()
        if con is None:
            return probe(part, deep, on_start)
        items: list = []
        missed: list[Run] = []
        where: list[int] = []     # the index in ``part`` of each missed file
        stamps: list = []         # (key, stamp or None) of each missed file
        now = time.time_ns()
        for run in part:
            found, keys = self._lookup(con, deep, run)
            missed_here = self._reuse(run, keys, found, now, items, where, stamps)
            if missed_here:
                missed.append(with_names(run, missed_here))  # a listed folder's class offset kept
        if where:
            started = None if on_start is None else (lambda j: on_start(where[j]))
            fresh = probe(missed, deep, started)
            for i, item in zip(where, fresh):
                items[i] = item
            self._store(con, deep, stamps, fresh)
        return items

    def _reuse(self, run: Run, keys: list[bytes], found: list, now: int,
               items: list, where: list, stamps: list) -> list[str]:
        """Append the cached item of each file whose stamp matches (``None`` for the others,
        noted in ``where`` and ``stamps``); return the names of the files to read.

        ``found`` holds the entries in the run's key range, in key order: when they are
        exactly the run's files, all unchanged (a re-scan's common case), they are compared
        as two lists, not file by file. A file this process may not read is a miss (another
        user's entry is not shown to who cannot read the file), and so is an entry that is not
        what the cache writes (see :mod:`._cache_checks`).
        """
        folder, prefix, names = run.folder, run.prefix, run.names
        stats = readable_stats(folder, names, _stats(folder, names))
        tag, pack = self.tag, _STAMP
        now_stamps = [None if st is None else pack(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, tag)
                      for st in stats]
        if len(found) == len(keys) and [e[0] for e in found] == keys and [e[1] for e in found] == now_stamps:
            got = cached_items([e[2] for e in found], [prefix + name for name in names])
            if got is not None:
                items.extend(got)
                return []
        missed = []
        racy, by_key = now - RACY_NS, {e[0]: e for e in found}
        for name, key, st, stamp in zip(names, keys, stats, now_stamps):
            hit = by_key.get(key)
            if stamp is not None and hit is not None and hit[1] == stamp:
                item = cached_item(hit[2], prefix + name)
                if item is not None:
                    items.append(item)
                    continue
            if st is not None and (not stat.S_ISREG(st.st_mode) or max(st.st_mtime_ns, st.st_ctime_ns) > racy):
                stamp = None
            where.append(len(items))
            items.append(None)
            stamps.append((key, stamp))
            missed.append(name)
        return missed

    def _lookup(self, con: sqlite3.Connection, deep: bool, run: Run) -> tuple[list, list[bytes]]:
        """The stored entries ``(key, stamp, item)`` in the range of a run's files, in key
        order (one range query), and the files' keys.

        A key is the scanned folder's absolute path, the run's shown prefix, where its class
        starts (a folder in a list of sources), and the file's name: everything a row holds
        besides what the file's bytes give.
        """
        folder, prefix, names, class_at, _ = run
        if self._base[0] != (folder, prefix, class_at):
            root = folder[:len(folder) - len(prefix)] if prefix else folder
            base = b"\0".join((os.path.abspath(root).encode(_FS_ENCODING, _FS_ERRORS),
                               prefix.encode(_FS_ENCODING, _FS_ERRORS), b"%d" % class_at, b""))
            self._base = ((folder, prefix, class_at), base)
        base = self._base[1]
        keys = [base + name.encode(_FS_ENCODING, _FS_ERRORS) for name in names]
        if self._broken:
            return [], keys
        try:
            return con.execute(_LOOKUP, (int(deep), min(keys), max(keys))).fetchall(), keys
        except sqlite3.Error as exc:
            self._give_up("read", exc)
            return [], keys

    def _store(self, con: sqlite3.Connection, deep: bool, stamps: list, fresh: list) -> None:
        """Queue the entries of the files just read; write them when enough are queued
        (a few transactions per scan and process, not one per part)."""
        entries = self._pending
        for (key, stamp), item in zip(stamps, fresh):
            if stamp is not None and _stable(item):
                try:
                    entries.append((int(deep), key, stamp, _encode(item)))
                except ValueError:  # a value marshal cannot write: not stored
                    continue
        if len(entries) >= FLUSH_ROWS or time.monotonic_ns() - self._flushed > FLUSH_NS:
            self._flush(con)

    def _flush(self, con: sqlite3.Connection) -> None:
        """Write the pending entries (and listings) in one transaction."""
        entries, self._pending, self._flushed = self._pending, [], time.monotonic_ns()
        listings, self._listings, self._listed_names = self._listings, [], 0
        if not (entries or listings) or self._broken:
            return
        try:
            con.execute("BEGIN IMMEDIATE")
            con.executemany(_STORE, entries)
            con.executemany(_KEEP_LISTING, listings)
            con.execute("COMMIT")
        except sqlite3.Error as exc:
            if con.in_transaction:
                con.execute("ROLLBACK")
            self._give_up("write", exc)

    def listing(self, folder: str, st: os.stat_result) -> Optional[tuple[list[str], list[str]]]:
        """The kept listing of ``folder`` (its files, and its subfolders as ``name/``), if its
        stat ``st`` is the one it was kept under; else ``None``."""
        con = self._connection()
        if con is None:
            return None
        try:
            found = con.execute(_LISTING, (_folder_key(folder),)).fetchone()
        except sqlite3.Error as exc:
            self._give_up("read", exc)
            return None
        if found is None or found[0] != self._folder_stamp(st):
            return None
        return cached_listing(found[1])  # None when not what keep_listing wrote: it is listed again

    def keep_listing(self, folder: str, st: os.stat_result, taken: int, files: list[str], dirs: list[str]) -> None:
        """Keep a folder's listing (written with the next entries), unless the folder changed
        within ``RACY_NS`` before ``taken``, the clock read before ``st`` was (a change later in
        the same clock tick would leave the stamp as it is)."""
        if self._broken or max(st.st_mtime_ns, st.st_ctime_ns) > taken - RACY_NS:
            return
        self._listings.append((_folder_key(folder), self._folder_stamp(st), marshal.dumps((files, dirs))))
        self._listed_names += len(files) + len(dirs)
        if self._listed_names >= FLUSH_NAMES:  # a --deep scan's parent stores no rows: write them now
            con = self._connection()
            if con is not None:
                self._flush(con)

    def _folder_stamp(self, st: os.stat_result) -> bytes:
        return _STAMP(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, self.tag)

    def _give_up(self, action: str, exc: BaseException) -> None:
        """Scan on without the cache in this process: a miss is always right."""
        self._broken = True
        log.warning("cannot %s the cache %s (%s): scanning on without it", action, self.path, exc)


def _folder_key(folder: str) -> bytes:
    return os.path.abspath(folder).encode(_FS_ENCODING, _FS_ERRORS)


def _stats(folder: str, names: list[str]) -> list:
    """Each file's ``os.stat``; ``None`` for one that is gone or a broken link (the probe
    then says what it is)."""
    try:
        return _stats_in(folder, names)  # the common case: every file is there
    except OSError:
        return [_stat_or_none(folder + name) for name in names]


def _stats_in(folder: str, names: list[str]) -> list:
    """Each file's ``os.stat``, looked up from the folder's descriptor where the system
    allows (``fstatat``: the kernel does not walk the folder's path again for every file,
    which saved a fifth of each stat here); raises ``OSError`` if one fails."""
    if not folder or not _STAT_DIR_FD:
        return [os.stat(folder + name) for name in names]
    fd = os.open(folder, _DIR_FLAGS)
    try:
        return [os.stat(name, dir_fd=fd) for name in names]
    finally:
        os.close(fd)


def _stat_or_none(path: str) -> Optional[os.stat_result]:
    try:
        return os.stat(path)
    except OSError:
        return None


def _stable(item: Any) -> bool:
    """Whether an item's rows come from the file's bytes alone (not from this moment's
    permissions, I/O errors or memory)."""
    rows = item if type(item) is list else (item,)
    for row in rows:
        kind = row.error_kind
        if kind is not None and (kind in _UNSTABLE or "MemoryError" in (row.error or "")):
            return False
    return True


def _encode(item: Any) -> bytes:
    return marshal.dumps(item_values(item))




def cached_parts(parts: Iterator[list[Run]], cache: RowCache,
                 time_limit: Optional[float] = None) -> Iterator[list[ScanRow]]:
    """The rows of each part, read through ``cache`` in this process; at the end (or when
    the scan stops early) the entries still pending are written."""
    from ..probe import flatten, probe_part

    try:
        for part in parts:
            yield flatten(probe_part(part, cache=cache, time_limit=time_limit))
    finally:
        cache.close()

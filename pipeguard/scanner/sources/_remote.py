"""Sources in object stores: an fsspec URL (``s3://bucket/train/``, ``gs://``, ``az://``,
``memory://``, ``file://``) listed into runs like a local folder.

The listing follows :mod:`._walk`'s order (sorted relative paths, one listing per folder
level, never the whole tree in memory). A remote run is a local one with a fifth element,
the filesystem: ``(folder, prefix, names, root, fs)``, so parts, workers and Dask tasks
carry it along (fsspec filesystems pickle as their options). Each name is a
:class:`Key`, a ``str`` that also knows the object's size from the listing, so a file's
tail can be fetched without asking for its size first. Reading is in :mod:`..probe._ranged`.

Every object listed is a row, as every file of a local folder is: a key with an empty
folder name (``d//x.png``) too, and a prefix whose listing fails is an ``unreadable`` row
ending in ``/`` (a :class:`Key` with the ``error``), as a local folder that cannot be listed is.
With ``time_limit``, connecting and each answer of the store are bounded by it (see
:func:`pipeguard._io.filesystem`).

Credentials and endpoints come from ``storage_options`` or the store's usual environment
(``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ``GOOGLE_APPLICATION_CREDENTIALS``...).
"""

from __future__ import annotations

import logging
from typing import Any, Iterator, Optional

from ..._io import filesystem
from ...diagnosis import one_line
from .._units import Run
from ._walk import WalkStats

log = logging.getLogger(__name__)


class Key(str):
    """An object's name in its folder, with its ``size`` in bytes from the listing; ``error``:
    why it could not be reached (then its row says so, without asking the store again), or
    for a name ending in ``/``, why that folder could not be listed (``denied``: refused)."""

    size: Optional[int]
    error: Optional[str]
    denied: bool

    def __new__(cls, name: str, size: Optional[int], error: Optional[str] = None, denied: bool = False) -> "Key":
        key = super().__new__(cls, name)
        key.size, key.error, key.denied = size, error, denied
        return key

    def __reduce__(self) -> tuple:
        if self.error is None:
            return Key, (str(self), self.size)
        return Key, (str(self), self.size, self.error, self.denied)


def local_path(url: str) -> Optional[str]:
    """The path on this machine that a ``file://`` (or ``local://``) URL names, as fsspec
    reads it; ``None`` for any other URL.

    Raises:
        ImportError: fsspec is not installed (the message names the extra).
    """
    if not url.lower().startswith(("file:", "local:")):
        return None
    fs, path = filesystem(url)
    from fsspec.implementations.local import LocalFileSystem

    return path if isinstance(fs, LocalFileSystem) else None


def open_source(url: str, storage_options: Optional[dict] = None,
                time_limit: Optional[float] = None) -> tuple[Any, str]:
    """The filesystem and folder path of a URL source, checked to be a folder one can list;
    ``time_limit``: seconds to connect and to wait for each answer of the store.

    Raises:
        ImportError: the extra for the protocol is not installed.
        FileNotFoundError: no such bucket or folder. PermissionError: access denied.
        NotADirectoryError: the URL names an object, not a folder.
        OSError: the store cannot be reached; every message names the URL, on one line.
    """
    fs, path = filesystem(url, storage_options, time_limit)
    try:
        if fs.isdir(path):
            return fs, path.rstrip("/")
        is_file = fs.isfile(path)
    except PermissionError as exc:
        raise PermissionError(f"access denied to {url}: {one_line(exc)}") from None
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"no such bucket or folder: {url} ({one_line(exc)})") from None
    except Exception as exc:  # botocore/aiohttp errors: endpoint down, bad credentials, no answer...
        raise OSError(f"cannot read {url}: {one_line(exc)}") from None
    if is_file:
        raise NotADirectoryError(f"not a folder: {url} (to scan one file, pass a list: [url])")
    raise FileNotFoundError(f"no such bucket or folder: {url}")


def remote_runs(url: str, storage_options: Optional[dict], stats: WalkStats, shown_as: str = "",
                time_limit: Optional[float] = None) -> Iterator[Run]:
    """The runs of a URL folder in path order, paths relative to it (after ``shown_as``)."""
    fs, root = open_source(url, storage_options, time_limit)
    return _walk_remote(fs, root, "", stats, shown_as, url)


def _walk_remote(fs: Any, folder: str, rel: str, stats: WalkStats, shown_as: str,
                 url: Optional[str] = None) -> Iterator[Run]:
    """The runs under ``folder`` (``rel`` ending in ``/``: its path as reported); ``url``:
    the scanned folder itself, whose listing failing is an error rather than a row."""
    try:
        entries = fs.ls(folder, detail=True)
    except Exception as exc:
        yield _unlisted(fs, folder, rel, stats, shown_as, exc, url)
        return
    files: dict[str, Key] = {}
    dirs: list[str] = []
    for entry in entries:
        name = entry["name"].rstrip("/").rsplit("/", 1)[-1]
        if entry.get("type") == "directory":
            # the folder itself named as a subfolder: keys under ``folder//`` (an empty name)
            dirs.append("/" if entry["name"].rstrip("/") == folder else name + "/")  # sorts as its paths do
        elif name and entry["name"].rstrip("/") != folder:  # not the folder's own marker object
            files[name] = Key(name, entry.get("size"))
    pending: list[Key] = []
    for key in sorted([*files, *dict.fromkeys(dirs)]):
        if key in files:
            pending.append(files[key])
            continue
        if pending:
            yield _run(fs, folder, rel, pending, shown_as)
            pending = []
        if key == "/":
            yield from _empty_named(fs, folder, rel, stats, shown_as)
        else:
            yield from _walk_remote(fs, f"{folder}/{key[:-1]}", rel + key, stats, shown_as)
    if pending:
        yield _run(fs, folder, rel, pending, shown_as)


def _empty_named(fs: Any, folder: str, rel: str, stats: WalkStats, shown_as: str) -> Iterator[Run]:
    """The objects whose keys go on with ``folder//`` (``d//x.png``): fsspec drops trailing
    slashes, so no listing by folder reaches them; they are found at once (a rare tree, held
    whole), in path order, a run per folder."""
    base = folder + "//"
    try:
        found = fs.find(folder, detail=True, prefix="/")  # s3fs and gcsfs: only keys under folder//
    except TypeError:  # a filesystem without prefix=: all of folder, filtered below
        found = fs.find(folder, detail=True)
    except Exception as exc:
        yield _unlisted(fs, base[:-1], rel + "/", stats, shown_as, exc)
        return
    run: Optional[Run] = None
    for path in sorted(p for p in found if p.startswith(base)):
        parent, _, name = path.rpartition("/")
        if not name or found[path].get("type") == "directory":
            continue  # a folder marker (``d//sub/``), as in a listing
        if run is not None and run.folder != parent + "/":
            yield run
            run = None
        if run is None:
            run = _run(fs, parent, rel + parent[len(folder) + 1:] + "/", [], shown_as)
        run.names.append(Key(name, found[path].get("size")))
    if run is not None:
        yield run


def _unlisted(fs: Any, folder: str, rel: str, stats: WalkStats, shown_as: str, exc: Exception,
              url: Optional[str] = None) -> Run:
    """The run of a folder whose listing failed: its ``unreadable`` row (a name ending in
    ``/``, read by no one: see :func:`..probe._ranged.remote_row`), so its files are not
    left out unsaid."""
    reason = one_line(exc)
    log.warning("cannot list %s: %s", folder, reason)
    if url is not None:  # the scanned folder itself, as a local scan raises for it
        raise OSError(f"cannot list {url}: {reason}")
    stats.unreadable_dirs.append((rel[:-1] or ".", reason))
    denied = isinstance(exc, PermissionError)
    if not rel:  # a folder of a list, named as given
        return Run("", "", [Key(shown_as, None, reason, denied)], 0, fs)
    name = rel[:-1].rsplit("/", 1)[-1]
    parent = folder[:len(folder) - len(name)]
    return Run(parent, shown_as + rel[:len(rel) - len(name) - 1], [Key(name + "/", None, reason, denied)],
               len(shown_as), fs)


def _run(fs: Any, folder: str, rel: str, names: list, shown_as: str) -> Run:
    return Run(folder + "/", shown_as + rel, names, len(shown_as), fs)


def remote_file_run(url: str, storage_options: Optional[dict], stats: WalkStats,
                    time_limit: Optional[float] = None) -> Iterator[Run]:
    """A URL in a list: a folder's runs (paths after the URL as given), or one object's run
    (its path the URL as given; a missing or unreachable object is an ``unreadable`` row,
    with the error, without asking the store again)."""
    fs, path = filesystem(url, storage_options, time_limit)
    shown, name = url.rsplit("/", 1)
    try:
        folder = fs.isdir(path)
        key = None if folder else Key(name, fs.size(path))
    except Exception as exc:  # missing, refused, no answer: its row says so
        folder, key = False, Key(name, None, one_line(exc))
    if folder:
        yield from _walk_remote(fs, path.rstrip("/"), "", stats, url.rstrip("/") + "/")
        return
    yield Run(path[:len(path) - len(name)], shown + "/", [key], len(shown) + 1, fs)

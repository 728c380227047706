"""Sources in object stores: an fsspec URL (``s3://bucket/train/``, ``gs://``, ``az://``,
``memory://``, ``file://``) listed into runs like a local folder.

The listing follows :mod:`._walk`'s order (sorted relative paths, one listing per folder
level, never the whole tree in memory). A remote run is a local one with a fifth element,
the filesystem: ``(folder, prefix, names, root, fs)``, so parts, workers and Dask tasks
carry it along (fsspec filesystems pickle as their options). Each name is a
:class:`Key`, a ``str`` that also knows the object's size from the listing, so a file's
tail can be fetched without asking for its size first. Reading is in :mod:`..probe._ranged`.

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
    """An object's name in its folder, with its ``size`` in bytes from the listing."""

    size: Optional[int]

    def __new__(cls, name: str, size: Optional[int]) -> "Key":
        key = super().__new__(cls, name)
        key.size = size
        return key

    def __reduce__(self) -> tuple:
        return Key, (str(self), self.size)


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


def open_source(url: str, storage_options: Optional[dict] = None) -> tuple[Any, str]:
    """The filesystem and folder path of a URL source, checked to be a folder one can list.

    Raises:
        ImportError: the extra for the protocol is not installed.
        FileNotFoundError: no such bucket or folder. PermissionError: access denied.
        NotADirectoryError: the URL names an object, not a folder.
        OSError: the store cannot be reached; every message names the URL, on one line.
    """
    fs, path = filesystem(url, storage_options)
    try:
        if fs.isdir(path):
            return fs, path.rstrip("/")
        is_file = fs.isfile(path)
    except PermissionError as exc:
        raise PermissionError(f"access denied to {url}: {one_line(exc)}") from None
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"no such bucket or folder: {url} ({one_line(exc)})") from None
    except Exception as exc:  # botocore/aiohttp errors: endpoint down, bad credentials...
        raise OSError(f"cannot read {url}: {one_line(exc)}") from None
    if is_file:
        raise NotADirectoryError(f"not a folder: {url} (to scan one file, pass a list: [url])")
    raise FileNotFoundError(f"no such bucket or folder: {url}")


def remote_runs(url: str, storage_options: Optional[dict], stats: WalkStats, shown_as: str = "") -> Iterator[Run]:
    """The runs of a URL folder in path order, paths relative to it (after ``shown_as``)."""
    fs, root = open_source(url, storage_options)
    return _walk_remote(fs, root, "", stats, shown_as)


def _walk_remote(fs: Any, folder: str, rel: str, stats: WalkStats, shown_as: str) -> Iterator[Run]:
    try:
        entries = fs.ls(folder, detail=True)
    except Exception as exc:
        stats.unreadable_dirs.append((rel[:-1] or ".", one_line(exc)))
        log.warning("cannot list %s: %s", folder, exc)
        return
    files: dict[str, Key] = {}
    dirs: list[str] = []
    for entry in entries:
        name = entry["name"].rstrip("/").rsplit("/", 1)[-1]
        if entry["name"].rstrip("/") == folder or not name:  # the folder's own marker object
            continue
        if entry.get("type") == "directory":
            dirs.append(name + "/")  # sorts as its paths do
        else:
            files[name] = Key(name, entry.get("size"))
    order = sorted([*files, *dirs])
    pending: list[Key] = []
    for key in order:
        if key in files:
            pending.append(files[key])
            continue
        if pending:
            yield _run(fs, folder, rel, pending, shown_as)
            pending = []
        yield from _walk_remote(fs, f"{folder}/{key[:-1]}", rel + key, stats, shown_as)
    if pending:
        yield _run(fs, folder, rel, pending, shown_as)


def _run(fs: Any, folder: str, rel: str, names: list, shown_as: str) -> Run:
    return Run(folder + "/", shown_as + rel, names, len(shown_as), fs)


def remote_file_run(url: str, storage_options: Optional[dict], stats: WalkStats) -> Iterator[Run]:
    """A URL in a list: a folder's runs (paths after the URL as given), or one object's run
    (its path the URL as given; a missing object is an ``unreadable`` row)."""
    fs, path = filesystem(url, storage_options)
    try:
        if fs.isdir(path):
            yield from _walk_remote(fs, path.rstrip("/"), "", stats, url.rstrip("/") + "/")
            return
        size = fs.size(path)
    except Exception:  # the probe reads it again and words the error in the row
        size = None
    shown, name = url.rsplit("/", 1)
    folder = path[:len(path) - len(name)]
    yield Run(folder, shown + "/", [Key(name, size)], len(shown) + 1, fs)

"""What a scan reads: one folder, or a list of files and folders, as runs for the probe.

A folder is walked (see :mod:`._walk`) and its rows' paths are relative to it. A list
(``pg.scan([...])``, ``--files-from``, several ``SOURCE`` arguments) is read in the given
order: a file is one row whose ``path`` is the entry as given (a missing one is an
``unreadable`` row, never skipped), a folder in the list is walked with its rows' paths
joined to the entry as given, and an archive is opened like anywhere else.

An fsspec URL (``s3://bucket/train/``) is a folder in an object store, listed by
:mod:`._remote`; in a list, a URL is a remote file or folder like a local one. A
``file://`` URL is the local path it names (:func:`localized`), so it is walked and read
as one: links, FIFOs, ``follow_symlinks``, the cache and the HTML previews work as there.
"""

from __future__ import annotations

import os
import posixpath
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Optional, Union

from ..._io import is_url
from .._units import Run
from ._entries import Entries, local_entries
from ._remote import local_path, remote_file_run, remote_runs
from ._walk import WalkStats, walk_runs

if TYPE_CHECKING:
    from typing_extensions import TypeIs

PathLike = Union[str, "os.PathLike[str]"]


def is_list_source(source: object) -> TypeIs[Union[list, tuple]]:
    return isinstance(source, (list, tuple))


def localized(source: object) -> object:
    """``source`` with its ``file://`` URLs (the source itself, or entries of a list)
    replaced by the local paths they name."""
    if is_url(source):
        return local_path(source) or source
    if is_list_source(source):
        return [(local_path(e) or e) if is_url(e) else e for e in source]
    return source


def has_urls(source: object) -> bool:
    """Whether a source is, or lists, an fsspec URL."""
    return is_url(source) or (is_list_source(source) and any(is_url(e) for e in source))


def source_runs(source: Union[PathLike, list[PathLike], tuple[PathLike, ...]], follow_symlinks: bool,
                stats: WalkStats, storage_options: Optional[dict] = None, listings: Any = None,
                entries: Optional[Entries] = None, time_limit: Optional[float] = None) -> Iterator[Run]:
    """The runs of a folder (paths relative to it), or of a list of entries (paths as given);
    ``listings``: the scan cache, which keeps folder listings (see :func:`~._walk.walk_runs`);
    ``entries``: :func:`local_entries` of the list, when known (else each entry is looked at);
    ``time_limit``: bounds connecting to a store and each of its answers (URLs)."""
    if is_url(source):
        return remote_runs(source, storage_options, stats, time_limit=time_limit)
    if not is_list_source(source):
        return walk_runs(source, follow_symlinks, stats, listings=listings)
    folders = set((entries if entries is not None else local_entries(source)).folders)
    return _listed_runs(source, follow_symlinks, stats, folders, storage_options, listings, time_limit)


def _listed_runs(entries: Iterable[PathLike], follow_symlinks: bool, stats: WalkStats, folders: set[str],
                 storage_options: Optional[dict] = None, listings: Any = None,
                 time_limit: Optional[float] = None) -> Iterator[Run]:
    pending: list = []  # consecutive files of one folder: one run
    for entry in entries:
        text = os.fspath(entry)
        if is_url(text):
            if pending:
                yield _run_of(pending)
                pending = []
            yield from remote_file_run(text, storage_options, stats, time_limit)
            continue
        if text in folders:
            if pending:
                yield _run_of(pending)
                pending = []
            shown = posixpath.join(text.replace(os.sep, "/"), "")
            yield from walk_runs(text, follow_symlinks, stats, shown_as=shown, listings=listings)
            continue
        folder, name = os.path.split(text)
        if pending and pending[0] != folder:
            yield _run_of(pending)
            pending = []
        if not pending:
            pending = [folder, []]
        pending[1].append(name)
    if pending:
        yield _run_of(pending)


def _run_of(pending: list) -> Run:
    folder, names = pending
    prefix = os.path.join(folder, "") if folder else ""
    shown = prefix.replace(os.sep, "/")
    return Run(prefix, shown, names, len(shown))  # the class is read after the listed folder: none


def read_list(lines: Iterable[str]) -> list[str]:
    """Entries of a ``--files-from`` list: one path a line, blank lines skipped, nothing stripped
    but the line end (a path may start or end with spaces)."""
    return [line.rstrip("\r\n") for line in lines if line.strip()]

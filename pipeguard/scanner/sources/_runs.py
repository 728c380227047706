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
import stat
from typing import TYPE_CHECKING, Any, Iterable, Iterator, NamedTuple, Optional, Union, cast

from ..._io import is_url
from .._units import Run
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
                entries: Optional[Entries] = None) -> Iterator[Run]:
    """The runs of a folder (paths relative to it), or of a list of entries (paths as given);
    ``listings``: the scan cache, which keeps folder listings (see :func:`~._walk.walk_runs`);
    ``entries``: :func:`local_entries` of the list, when known (else each entry is looked at)."""
    if is_url(source):
        return remote_runs(source, storage_options, stats)
    if not is_list_source(source):
        return walk_runs(source, follow_symlinks, stats, listings=listings)
    folders = set((entries if entries is not None else local_entries(source)).folders)
    return _listed_runs(source, follow_symlinks, stats, folders, storage_options, listings)


def _listed_runs(entries: Iterable[PathLike], follow_symlinks: bool, stats: WalkStats, folders: set[str],
                 storage_options: Optional[dict] = None, listings: Any = None) -> Iterator[Run]:
    pending: list = []  # consecutive files of one folder: one run
    for entry in entries:
        text = os.fspath(entry)
        if is_url(text):
            if pending:
                yield _run_of(pending)
                pending = []
            yield from remote_file_run(text, storage_options, stats)
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


class Entries(NamedTuple):
    """What a local source names: its files as ``(st_dev, st_ino)``, and its folders (as given)."""

    files: set[tuple[int, int]]
    folders: list[str]


def local_entries(source: object) -> Entries:
    """The files and folders a local source names, each entry of a list ``stat``-ed once:
    what :func:`refuse_output` checks outputs against and how :func:`source_runs` tells a
    listed folder (walked) from a file (probed). A folder source is one folder, not looked at."""
    if not is_list_source(source):
        return Entries(set(), [os.fspath(cast("PathLike", source))]
                       if isinstance(source, (str, os.PathLike)) and not is_url(source) else [])
    files, folders = set(), []
    for entry in source:
        if is_url(entry):
            continue
        try:
            st = os.stat(entry)
        except (OSError, ValueError, TypeError):  # missing, unreadable, or no path at all: nothing to clobber
            continue
        if stat.S_ISDIR(st.st_mode):
            folders.append(os.fspath(entry))
        else:
            files.add((st.st_dev, st.st_ino))
    return Entries(files, folders)


def _holding(folders: list[str], path: str) -> Optional[str]:
    """The first of ``folders`` that ``path`` would lie in (symlinks resolved), if any."""
    where = os.path.realpath(path)
    for folder in folders:
        real = os.path.realpath(folder)
        if os.path.commonpath([where, real]) == real:
            return folder
    return None


class OutputClobbers(ValueError):
    """A report would be written over a file the scan reads, or (while scanning) into a
    folder the scan walks, where it would read its own half-written file."""


def refuse_output(source: object, output: Union[str, "os.PathLike[str]"], streamed: bool,
                  more: Iterable[Union[str, "os.PathLike[str]"]] = (), entries: Optional[Entries] = None) -> None:
    """The one rule for where a report (or a page, or a contract file) may be written.

    ``more``: further outputs written after the scan (a page, a contract file), checked
    against the same entries; ``entries``: :func:`local_entries` of ``source``, when known.

    Raises:
        OutputClobbers: an output is one of the files ``source`` lists, or an existing file
            inside a folder it scans; or ``output``, ``streamed`` (written while the scan
            runs), lies inside such a folder at all.
    """
    files, folders = entries if entries is not None else local_entries(source)
    for k, out in enumerate([os.fspath(output), *(os.fspath(m) for m in more)]):
        try:
            st = os.stat(out)
        except OSError:
            st = None
        inside = _holding(folders, out)
        if (st is not None and (st.st_dev, st.st_ino) in files) or (inside and st is not None):
            raise OutputClobbers(f"refusing to write {out}: it is a file the scan reads; write the report elsewhere")
        if inside and streamed and k == 0:
            raise OutputClobbers(f"refusing to write {out} while scanning {inside}, which holds it; "
                                 "write the report elsewhere")


def read_list(lines: Iterable[str]) -> list[str]:
    """Entries of a ``--files-from`` list: one path a line, blank lines skipped, nothing stripped
    but the line end (a path may start or end with spaces)."""
    return [line.rstrip("\r\n") for line in lines if line.strip()]

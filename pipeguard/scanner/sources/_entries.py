"""What a list of paths names, looked at once, and where a report may be written beside it.

A listed folder is walked and a listed file probed: telling them apart took a ``stat`` of
every entry, and checking an output against the list a ``realpath`` of every entry (a
``lstat`` per part of its path), for each output. Entries are grouped by their folder
instead, and each folder is listed once (``os.scandir``: the kind of every name, without
a ``stat``); only a symlink, a name the listing lacks, or an entry of a large folder that
holds few of the entries is ``stat``-ed on its own.
"""

from __future__ import annotations

import os
import stat
from typing import TYPE_CHECKING, Iterable, NamedTuple, Optional, Union, cast

from ..._io import is_url

if TYPE_CHECKING:
    PathLike = Union[str, "os.PathLike[str]"]

# a folder is listed for its named entries while it holds at most this many names per entry
# (plus a few): a list naming 10 files of a folder of 1,000,000 stats those 10 instead
LISTING_PER_ENTRY, LISTING_SLACK = 4, 256


class Entries(NamedTuple):
    """The local entries of a source: the files (as given), those of them whose final part is
    a symlink or was not listed (compared by ``realpath``), and the folders (walked)."""

    files: list[str]
    links: set[str]
    folders: list[str]


def local_entries(source: object) -> Entries:
    """The files and folders a local source names. A folder source is one folder, not looked
    at; a list's entries are grouped by folder and each folder listed once (see the module)."""
    if not isinstance(source, (list, tuple)):
        one = [os.fspath(cast("PathLike", source))] if isinstance(source, (str, os.PathLike)) and not is_url(source) \
            else []
        return Entries([], set(), one)
    by_folder: dict[str, list[tuple[str, str]]] = {}
    odd: list[str] = []  # not a str path (bytes, another object): looked at one by one
    for entry in source:
        text = os.fspath(entry) if isinstance(entry, (str, os.PathLike)) else entry
        if not isinstance(text, str):
            odd.append(text)
        elif not is_url(text):
            folder, name = os.path.split(text)
            by_folder.setdefault(folder, []).append((text, name))
    found = Entries([], set(), [])
    for folder, named in by_folder.items():
        kinds = _listing(folder, len(named))
        for text, name in named:
            _sort(found, text, None if kinds is None else kinds.get(name))
    for text in odd:
        _sort(found, text, None)
    return found


def _listing(folder: str, wanted: int) -> Optional[dict[str, os.DirEntry]]:
    """``folder``'s names and their entries, or ``None`` when it cannot be listed or holds
    many more names than ``wanted`` (its entries are then looked at one by one)."""
    most = LISTING_PER_ENTRY * wanted + LISTING_SLACK
    try:
        with os.scandir(folder or ".") as found:
            out = {}
            for d in found:
                out[d.name] = d
                if len(out) > most:
                    return None
            return out
    except OSError:
        return None


def _sort(found: Entries, text: object, listed: Optional[os.DirEntry]) -> None:
    """File ``text`` among the files or the folders: by its listed kind, else by a ``stat``."""
    if listed is not None and not listed.is_symlink():
        try:
            folder = listed.is_dir(follow_symlinks=False)
        except OSError:
            folder = False
        if folder:
            found.folders.append(cast(str, text))
        else:
            found.files.append(cast(str, text))
        return
    try:
        is_folder = stat.S_ISDIR(os.stat(cast("PathLike", text)).st_mode)
    except (OSError, ValueError, TypeError):  # missing, unreadable, no path at all: a file (its row says so)
        is_folder = False
    if is_folder:
        found.folders.append(cast(str, text))
    elif isinstance(text, str):
        found.files.append(text)
        found.links.add(text)


def _holding(folders: list[str], path: str) -> Optional[str]:
    """The first of ``folders`` that ``path`` would lie in (symlinks resolved), if any."""
    where = os.path.realpath(path)
    for folder in folders:
        real = os.path.realpath(folder)
        if os.path.commonpath([where, real]) == real:
            return folder
    return None


def _listed(files: list[str], links: set[str], path: str) -> bool:
    """Whether ``path`` is one of ``files`` (symlinks resolved). Only an entry named as the
    path's target is, or one whose final part is a link (or was not listed), can be: those
    few are resolved, not every entry."""
    where = os.path.realpath(path)
    names = {os.path.basename(where), os.path.basename(path)}
    return any(os.path.realpath(f) == where for f in files if f in links or os.path.basename(f) in names)


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
    files, links, folders = entries if entries is not None else local_entries(source)
    for k, out in enumerate([os.fspath(output), *(os.fspath(m) for m in more)]):
        inside = _holding(folders, out)
        if _listed(files, links, out) or (inside and os.path.exists(out)):
            raise OutputClobbers(f"refusing to write {out}: it is a file the scan reads; write the report elsewhere")
        if inside and streamed and k == 0:
            raise OutputClobbers(f"refusing to write {out} while scanning {inside}, which holds it; "
                                 "write the report elsewhere")

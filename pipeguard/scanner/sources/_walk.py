"""File discovery: every file under a folder, streamed in path order.

Order is the sorted order of the relative POSIX paths (``cats/a.png`` before
``cats/a/b.png`` because ``.`` sorts before ``/``), produced without sorting the
whole tree: each directory is listed once, its entries sorted with a ``/`` appended
to directory names, and walked depth-first. Memory holds one directory listing per
level, never the whole tree.

Files come out in *runs*: ``(folder, prefix, names)``, consecutive files of one
directory, so what is the same for all of them (the folder path, the class, whether
the folder is hidden) is worked out once per directory, not once per file, and a run
crosses a process boundary as a list of bare names.

A folder that cannot be listed is yielded as a name ending in ``/`` (``locked/``), so the
probe makes it an ``unreadable`` row; the scanned folder itself raises instead.

Symlinks: a symlink to a file is always a file (``open`` follows it, as torchvision's
loader does; a broken one is still yielded, so it becomes a row). A symlink to a
directory is descended only with ``follow_symlinks=True``; cycles are cut by
remembering each directory's ``(st_dev, st_ino)``.

With ``listings`` (the scan cache, :class:`~..engine._cache.RowCache`), a directory whose own
stat is unchanged since it was last listed is not listed again: adding, removing or
renaming an entry changes a directory's modification time (see :mod:`..engine._cache`). Only
directories on local filesystems (:mod:`._mounts`), readable now, are kept and reused.
"""

from __future__ import annotations

import bisect
import logging
import os
import time
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, Iterator, Optional, Union

from .._units import Run

log = logging.getLogger(__name__)

@dataclass
class WalkStats:
    """What the walk saw besides files: skipped directory links and unreadable folders."""

    skipped_dir_links: list[str] = field(default_factory=list)
    unreadable_dirs: list[tuple[str, str]] = field(default_factory=list)  # (relpath, reason)
    cycles: list[str] = field(default_factory=list)


def walk(root: str | os.PathLike[str], follow_symlinks: bool = False,
         stats: WalkStats | None = None) -> Iterator[tuple[str, str]]:
    """Yield ``(relative_posix_path, path)`` for every file under ``root``.

    Args:
        root: the folder to walk.
        follow_symlinks: descend into symlinked directories (files behind symlinks are
            always yielded).
        stats: filled in with what was skipped, if given.
    """
    for folder, prefix, names, _, _ in walk_runs(root, follow_symlinks, stats):
        for name in names:
            yield prefix + name, folder + name


def walk_runs(root: str | os.PathLike[str], follow_symlinks: bool = False,
              stats: WalkStats | None = None, shown_as: str = "", listings: Any = None) -> Iterator[Run]:
    """Like :func:`walk`, but yield :class:`~.._units.Run` tuples: the files of one directory
    between two of its subdirectories (in path order), together. ``shown_as`` (ending in
    ``/``) is put before every reported path, for a folder that is one of several sources;
    ``listings`` keeps directory listings between scans (see the module docstring)."""
    stats = stats if stats is not None else WalkStats()
    root = os.fspath(root)
    taken = time.time_ns()
    st: Optional[os.stat_result]
    try:
        st = os.stat(root)
        seen = {(st.st_dev, st.st_ino)}
    except OSError:
        st, seen = None, set()
    top = os.path.join(root, "")
    walked = _Walk(follow_symlinks, seen, stats, listings)
    listed = walked.listing(top, "", st, taken, strict=not shown_as)
    if not shown_as or not isinstance(listed, _Level):  # unlisted: the folder's row, named as given
        yield from walked.runs(listed)
        return
    for run in walked.runs(listed):
        yield run._replace(prefix=shown_as + run.prefix, root=len(shown_as))


class _Level:
    """One listed directory on the way down: its files (sorted), its subfolders (sorted as
    their paths do, with a ``/`` appended), the next subfolder to descend into, and how
    many of its files are yielded."""

    __slots__ = ("folder", "prefix", "files", "dirs", "next_dir", "done")

    def __init__(self, folder: str, prefix: str, files: list[str], dirs: list) -> None:
        self.folder, self.prefix = folder, prefix
        self.files, self.dirs = files, dirs
        self.next_dir = self.done = 0

    def files_before(self, key: str) -> Optional[Run]:
        """The run of files that sort before the subfolder ``key`` (``None`` if none are left)."""
        before = bisect.bisect_left(self.files, key, self.done)
        if before <= self.done:
            return None
        run = Run(self.folder, self.prefix, self.files[self.done:before])
        self.done = before
        return run

    def rest(self) -> Optional[Run]:
        if self.done >= len(self.files):
            return None
        return Run(self.folder, self.prefix, self.files[self.done:] if self.done else self.files)


class _Walk:
    """One walk's settings and state: whether links to folders are followed, the folders
    seen (to cut cycles), what was skipped, and the listings kept between scans."""

    def __init__(self, follow: bool, seen: set, stats: WalkStats, listings: Any) -> None:
        self.follow, self.seen, self.stats, self.listings = follow, seen, stats, listings
        self._local: Optional[frozenset[int]] = None  # devices whose listings may be kept

    def _kept_here(self, st: Optional[os.stat_result]) -> bool:
        """Whether the listing of a folder with stat ``st`` may be kept or reused."""
        if self.listings is None or st is None:
            return False
        if self._local is None:
            from ._mounts import local_devices

            self._local = local_devices()
        return st.st_dev in self._local

    def runs(self, top: Union[_Level, Run]) -> Iterator[Run]:
        """Depth-first from the listing ``top``, with a stack of :class:`_Level` rather than
        recursion: a tree thousands of folders deep walks as a shallow one does (memory: one
        listing per level). ``top`` may be the run of an unlistable folder: yielded as it is."""
        if not isinstance(top, _Level):
            yield top
            return
        stack = [top]
        while stack:
            level = stack[-1]
            if level.next_dir == len(level.dirs):
                run = level.rest()
                if run is not None:
                    yield run
                stack.pop()
                continue
            key, is_link = level.dirs[level.next_dir]
            level.next_dir += 1
            run = level.files_before(key)
            if run is not None:
                yield run
            child = self._descend(level, key, is_link)
            if isinstance(child, _Level):
                stack.append(child)
            elif child is not None:
                yield child

    def _descend(self, level: _Level, key: str, is_link: bool) -> Union[_Level, Run, None]:
        """The listing of subfolder ``key``; ``None`` when it is skipped (a link not followed, a
        cycle); a run of the folder itself (``key``, ending in ``/``) when it cannot be listed,
        so that it is a row and fails the scan."""
        rel = level.prefix + key[:-1]
        if is_link and not self.follow:
            self.stats.skipped_dir_links.append(rel)
            return None
        path = level.folder + key[:-1]
        taken = time.time_ns()
        try:
            st = os.stat(path)
            ident = (st.st_dev, st.st_ino)
        except OSError as exc:
            self.stats.unreadable_dirs.append((rel, exc.strerror or str(exc)))
            return Run(level.folder, level.prefix, [key])
        if ident in self.seen:  # a link back to an ancestor (or a second route to a followed folder)
            self.stats.cycles.append(rel)
            return None
        self.seen.add(ident)  # kept: a folder reached twice through links is scanned once
        child = self.listing(path + os.sep, rel + "/", st, taken)
        return child if isinstance(child, _Level) else Run(level.folder, level.prefix, [key])

    def listing(self, folder: str, prefix: str, st: Optional[os.stat_result], taken: int,
                strict: bool = False) -> Union[_Level, Run]:
        """A folder's sorted listing (``st``: its stat, taken after the clock read ``taken``
        ns and before the listing): the one kept from the last scan when the folder is
        unchanged and this process may list it. One that cannot be listed is noted in
        ``stats`` and becomes the run of the folder itself (a name ending in a separator: an
        ``unreadable`` row, see :func:`~..probe._file.probe_row`), or with ``strict`` (the
        scanned folder) raises."""
        keep = self._kept_here(st)
        if keep and _may_list(folder):  # a listing kept by one who could read it
            kept = self.listings.listing(folder, st)
            if kept is not None:
                files, dirs = kept
                return _Level(folder, prefix, files, [(key, False) for key in dirs])
        try:
            files, dirs, unsure = _listed(folder, note_links=keep)
        except OSError as exc:
            if strict:
                raise
            self.stats.unreadable_dirs.append((prefix[:-1] or ".", exc.strerror or str(exc)))
            log.warning("cannot list %s: %s", folder, exc)
            return Run("", "", [folder])  # the folder as given, with its separator
        if keep and not unsure:
            self.listings.keep_listing(folder, st, taken, files, [key for key, _ in dirs])
        return _Level(folder, prefix, files, dirs)


def _may_list(folder: str) -> bool:
    """Whether this process may list ``folder`` and look inside it now."""
    return os.access(folder, os.R_OK | os.X_OK)


def _listed(folder: str, note_links: bool = False) -> tuple[list[str], list[tuple[str, bool]], bool]:
    """The folder's file names, sorted; its subfolders as ``(name + "/", is a link)``, sorted
    as their paths do; and whether the listing may change while the folder does not: an
    entry whose type could not be read, or a symlink, whose target may turn from a file
    into a folder (files are looked at only with ``note_links``). Raises ``OSError``."""
    files: list[str] = []
    dirs: list[tuple[str, bool]] = []
    unsure = False
    with os.scandir(folder) as it:
        for entry in it:
            try:
                is_dir = entry.is_dir(follow_symlinks=True)  # no stat unless it is a link
            except OSError:  # e.g. a symlink loop: treat as a (broken) file
                is_dir, unsure = False, True
            if is_dir:
                is_link = entry.is_symlink()
                unsure = unsure or is_link
                dirs.append((entry.name + "/", is_link))  # sorts as its paths do
            else:
                if note_links and not unsure:
                    unsure = entry.is_symlink()
                files.append(entry.name)
    files.sort()
    dirs.sort(key=itemgetter(0))
    return files, dirs, unsure

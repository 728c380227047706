"""File discovery: every file under a folder, streamed in path order.

Order is the sorted order of the relative POSIX paths (``cats/a.png`` before
``cats/a/b.png`` because ``.`` sorts before ``/``), produced without sorting the
whole tree: each directory is listed once, its entries sorted with a ``/`` appended
to directory names, and walked depth-first. Memory holds one directory listing per
level, never the whole tree.

Symlinks: a symlink to a file is always a file (``open`` follows it, as torchvision's
loader does; a broken one is still yielded, so it becomes a row). A symlink to a
directory is descended only with ``follow_symlinks=True``; cycles are cut by
remembering each directory's ``(st_dev, st_ino)``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Iterator

log = logging.getLogger(__name__)


@dataclass
class WalkStats:
    """What the walk saw besides files: skipped directory links and unreadable folders."""

    skipped_dir_links: list[str] = field(default_factory=list)
    unreadable_dirs: list[tuple[str, str]] = field(default_factory=list)  # (relpath, reason)
    cycles: list[str] = field(default_factory=list)


def walk(root: str | os.PathLike[str], follow_symlinks: bool = False,
         stats: WalkStats | None = None) -> Iterator[tuple[str, str]]:
    """Yield ``(relative_posix_path, absolute_path)`` for every file under ``root``.

    Args:
        root: the folder to walk.
        follow_symlinks: descend into symlinked directories (files behind symlinks are
            always yielded).
        stats: filled in with what was skipped, if given.
    """
    stats = stats if stats is not None else WalkStats()
    root = os.fspath(root)
    try:
        st = os.stat(root)
        seen = {(st.st_dev, st.st_ino)}
    except OSError:
        seen = set()
    yield from _walk_dir(root, "", follow_symlinks, seen, stats)


def _walk_dir(path: str, rel: str, follow: bool, seen: set, stats: WalkStats) -> Iterator[tuple[str, str]]:
    try:
        with os.scandir(path) as it:
            entries = []
            for entry in it:
                try:
                    is_dir = entry.is_dir(follow_symlinks=True)
                except OSError:  # e.g. a symlink loop: treat as a (broken) file
                    is_dir = False
                entries.append((entry.name + "/" if is_dir else entry.name, entry.name, is_dir, entry))
    except OSError as exc:
        stats.unreadable_dirs.append((rel or ".", exc.strerror or str(exc)))
        log.warning("cannot list %s: %s", path, exc)
        return
    entries.sort(key=lambda e: e[0])
    for _, name, is_dir, entry in entries:
        child_rel = f"{rel}/{name}" if rel else name
        if not is_dir:
            yield child_rel, entry.path
            continue
        if entry.is_symlink():
            if not follow:
                stats.skipped_dir_links.append(child_rel)
                continue
        try:
            st = entry.stat(follow_symlinks=True)
            key = (st.st_dev, st.st_ino)
        except OSError as exc:
            stats.unreadable_dirs.append((child_rel, exc.strerror or str(exc)))
            continue
        if key in seen:  # a link back to an ancestor (or a second route to a followed folder)
            stats.cycles.append(child_rel)
            continue
        seen.add(key)  # kept: a folder reached twice through links is scanned once
        yield from _walk_dir(entry.path, child_rel, follow, seen, stats)

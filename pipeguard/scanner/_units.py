"""The units of work a scan passes along: runs of files and the parts they are grouped into.

A **run** is consecutive files of one folder, as the walk yields them; a **part** is a list
of runs holding at most a part size of files, the unit a worker (or a Dask task) probes and
the scan reports progress by. See ARCHITECTURE.md's glossary.
"""

from __future__ import annotations

import sys
from typing import Any, Iterator, NamedTuple, Optional

from .._io import any_archive_name, is_archive_name


class Run(NamedTuple):
    """Consecutive files of one folder, in path order.

    Attributes:
        folder: the folder's path ending in a separator (``""`` for a list's files in the
            working folder; a remote folder's path in its filesystem); a file's path is
            ``folder + name``.
        prefix: the folder's POSIX path as reported (``""`` or ``"cats/"``); a file's
            reported path is ``prefix + name``.
        names: the file names, in path order (a remote name is a ``Key``, which knows its size).
        root: how much of ``prefix`` names the scanned source itself rather than a folder
            inside it (a scan of several sources reports ``"data/train/cats/a.png"``): the
            ImageFolder class is read after it.
        fs: the fsspec filesystem of a run in an object store (read in ranges); ``None``
            for local files.
    """

    folder: str
    prefix: str
    names: list
    root: int = 0
    fs: Any = None

    def flags(self) -> tuple[Optional[str], bool]:
        """``(class, hidden)`` of the run's files: the ImageFolder class (read after
        ``root``) and whether a folder on the way is hidden; a hidden file name adds its own."""
        return class_of(self.prefix[self.root:]), is_hidden(self.prefix)


def class_of(rel: str) -> Optional[str]:
    """The ``ImageFolder`` class of a relative path: its first part, when it has two or more."""
    cut = rel.find("/")
    return sys.intern(rel[:cut]) if cut > 0 else None  # one string per class, not per file


def is_hidden(rel: str) -> bool:
    """Whether the file or any folder on its path is hidden (a name starting with ``.``); the
    ``.`` and ``..`` of a path as given (``./cats/a.png`` from ``find .``) are not names."""
    if rel[:1] != "." and "/." not in rel:
        return False  # the usual case, without splitting the path
    return any(part[:1] == "." and part not in (".", "..") for part in rel.split("/"))


def parts(runs: Iterator[Run], size: int) -> Iterator[list[Run]]:
    """Group runs into parts of at most ``size`` files (a long run is cut, short ones are
    packed together), the unit a worker probes and the scan reports progress by.

    An archive is a part of its own: it holds many files, read by one worker.
    """
    part: list[Run] = []
    room = size
    for run in runs:
        for piece, archive in _split_archives(run.names):
            if archive:
                if part:
                    yield part
                    part, room = [], size
                yield [with_names(run, piece)]
                continue
            start = 0
            while start < len(piece):
                cut = piece[start:start + room]
                part.append(with_names(run, cut))
                start += len(cut)
                room -= len(cut)
                if room == 0:
                    yield part
                    part, room = [], size
    if part:
        yield part


def with_names(run: Run, names: list[str]) -> Run:
    """``run`` with other names (a slice of its own)."""
    return run._replace(names=names)


def _split_archives(names: list[str]) -> Iterator[tuple[list[str], bool]]:
    """``names`` as runs of plain files and single archives, in order: ``(names, is_archive)``."""
    if not any_archive_name(names):
        yield names, False
        return
    start = 0
    for k, name in enumerate(names):
        if is_archive_name(name):
            if k > start:
                yield names[start:k], False
            yield [name], True
            start = k + 1
    if start == 0:
        yield names, False
    elif start < len(names):
        yield names[start:], False


def split_part(part: list[Run], index: int) -> tuple[list[Run], tuple[Run, str], list[Run]]:
    """``(files before, (its run, name) of the file at index, files after)`` of a part."""
    for k, run in enumerate(part):
        names = run.names
        if index < len(names):
            before = part[:k] + ([with_names(run, names[:index])] if index else [])
            after = ([with_names(run, names[index + 1:])] if index + 1 < len(names) else []) + part[k + 1:]
            return before, (run, names[index]), after
        index -= len(names)
    raise IndexError("part index out of range")


def part_size(part: list[Run]) -> int:
    """The number of files in a part."""
    return sum(len(run.names) for run in part)

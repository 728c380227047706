"""The units of work a scan passes along: runs of files and the parts they are grouped into.

A **run** is consecutive files of one folder, as the walk yields them; a **part** is a list
of runs holding at most a part size of files, the unit a worker (or a Dask task) probes and
the scan reports progress by. See ARCHITECTURE.md's glossary.
"""

from __future__ import annotations

from typing import Iterator

from .._io import any_archive_name, is_archive_name

# (folder, prefix, names[, root]): ``folder`` is the directory's path ending in a separator,
# ``prefix`` its POSIX path as reported ("" or "cats/"), ``names`` file names in path
# order; a file's path is ``folder + name``, its reported path ``prefix + name``. ``root``
# (0 when absent) is how much of ``prefix`` names the scanned folder itself rather than a
# folder inside it (a scan of several sources reports "data/train/cats/a.png"): the
# ImageFolder class is read after it.
Run = tuple


def parts(runs: Iterator[Run], size: int) -> Iterator[list[Run]]:
    """Group runs into parts of at most ``size`` files (a long run is cut, short ones are
    packed together), the unit a worker probes and the scan reports progress by.

    An archive is a part of its own: it holds many files, read by one worker.
    """
    part: list[Run] = []
    room = size
    for run in runs:
        for piece, archive in _split_archives(run[2]):
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
    return (run[0], run[1], names, *run[3:])


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


def split_part(part: list[Run], index: int) -> tuple[list[Run], tuple[str, str], list[Run]]:
    """``(files before, (rel, path) of the file at index, files after)`` of a part."""
    for k, run in enumerate(part):
        folder, prefix, names = run[:3]
        if index < len(names):
            name = names[index]
            before = part[:k] + ([with_names(run, names[:index])] if index else [])
            after = ([with_names(run, names[index + 1:])] if index + 1 < len(names) else []) + part[k + 1:]
            return before, (prefix + name, folder + name), after
        index -= len(names)
    raise IndexError("part index out of range")


def part_size(part: list[Run]) -> int:
    """The number of files in a part."""
    return sum(len(run[2]) for run in part)

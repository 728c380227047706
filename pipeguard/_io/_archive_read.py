"""The wanted members of an archive, each read whole into memory: what the HTML page
previews. (The scanner reads every member where it lies, through :mod:`._archive`.)

An archive is opened once for all of its wanted members, which are read in archive order:
a plain tar header by header, seeking past the members nobody asked for; a compressed
tar front to back once, as a stream (there is no cheaper way through it), the members
passed over decompressed a block at a time and dropped, never held whole; a zip through
its central directory. A name that repeats is its first entry, the one a scan lists first.

A member's bytes are bounded by ``limit``: its declared size is checked before anything is
read, and no read asks for more than ``limit + 1`` bytes.
"""

from __future__ import annotations

import tarfile
import zipfile
from typing import Any, Iterable, Iterator, Union

from ._archive import _COMPRESSED_MAGIC, _open

Read = Union[bytes, Exception]  # a member's bytes, or the exception reading it


def read_members(path: str, wanted: Iterable[str], fs: Any = None, *, limit: int) -> Iterator[tuple[str, Read]]:
    """``(name, bytes or the exception reading it)`` of the ``wanted`` members of the archive at
    ``path`` (``fs``: the fsspec filesystem of one in an object store), in archive order, each
    name once (its first entry); stops once all are found. A name not in the archive comes
    last, with a ``KeyError``; a member over ``limit`` bytes with an ``OSError``, unread.

    A local archive is opened only if it is a regular file (a FIFO would block).

    Raises:
        OSError, tarfile.TarError, zipfile.BadZipFile: the archive cannot be opened or read
            (any further): the members not yielded yet share that error.
    """
    left = set(wanted)
    if left:
        with _open(path, fs) as f:
            yield from (_zip_read if path.lower().endswith(".zip") else _tar_read)(f, left, limit)
    for name in sorted(left):
        yield name, KeyError(f"there is no item named {name!r} in the archive")


def _tar_read(f: Any, left: set[str], limit: int) -> Iterator[tuple[str, Read]]:
    """Takes each name out of ``left`` as it is found."""
    compressed = f.read(6).startswith(_COMPRESSED_MAGIC)
    f.seek(0)
    # a member not read is skipped when tarfile reads the next header: by a seek in a plain
    # tar; in a stream ("r|*") by decompressing its data in small blocks that are dropped
    with tarfile.open(fileobj=f, mode="r|*" if compressed else "r:") as archive:
        for info in archive:
            if info.isdir() or info.name not in left:
                continue
            left.discard(info.name)
            yield info.name, _tar_data(archive, info, limit)
            if not left:
                return


def _tar_data(archive: tarfile.TarFile, info: tarfile.TarInfo, limit: int) -> Read:
    if not info.isfile():
        return OSError(f"{info.name} is not a file in the archive")
    if info.size > limit:
        return _over(limit)  # left unread: skipped like a member nobody asked for
    try:
        # its declared size, at most limit: read(limit + 1) would make a buffer that large up front
        return archive.extractfile(info).read(info.size)  # type: ignore[union-attr]  # a regular file: never None
    except Exception as exc:  # the archive ends inside this member: that member's error
        return exc


def _zip_read(f: Any, left: set[str], limit: int) -> Iterator[tuple[str, Read]]:
    with zipfile.ZipFile(f) as archive:
        first: dict[str, zipfile.ZipInfo] = {}  # getinfo() gives the last entry of a name: the first is wanted
        for info in archive.infolist():  # in directory order, which is the archive's
            if info.filename in left:
                first.setdefault(info.filename, info)
        for name, info in first.items():
            left.discard(name)
            yield name, _zip_data(archive, info, limit)


def _zip_data(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> Read:
    if info.file_size > limit:
        return _over(limit)  # never decompressed
    try:
        with archive.open(info) as member:  # stops at the declared size; checks the CRC at the end
            data = member.read(limit + 1)
    except Exception as exc:  # an encrypted or damaged member: that member's error
        return exc
    return data if len(data) <= limit else _over(limit)


def _over(limit: int) -> OSError:
    return OSError(f"over {limit >> 20} MiB: not previewed")

"""Archives as folders: the members of ``.tar`` (WebDataset shards), ``.tar.gz`` and ``.zip``
files, each opened where it lies, never extracted to disk.

Uncompressed members (plain tar, stored zip entries) are read in place with ``pread`` at
their data offset, so a header read costs what it costs for a loose file and a shard can
be cut into slices for several workers. Compressed members are decompressed one at a time
into memory (a ``.tar.gz`` is read once, front to back, in one part).
"""

from __future__ import annotations

import io
import os
import struct
import tarfile
import zipfile
from contextlib import contextmanager
from typing import Iterator, NamedTuple, Optional, Union

from ._member_file import RangeFile, in_memory, in_place
from ._tar_index import plain_members

ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".zip")
_COMPRESSED_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ")
WHOLE_BELOW = 64 << 10  # a stored member up to this size is read in one go
_END_BLOCKS = 1024  # two zero blocks end a tar archive
_ZIP_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature ... file name length, extra length


class ArchiveError(Exception):
    """An archive that cannot be listed: not an archive at all, or damaged in its index."""


class Member(NamedTuple):
    """One entry of an archive: its name, declared size, and where its bytes start when they
    are stored uncompressed (``None``: decompress to read). ``error`` is set for an entry
    that cannot be read as a file (a link, an encrypted entry, data past the archive's end)."""

    name: str
    size: int
    offset: Optional[int] = None
    error: Optional[str] = None


def is_archive_name(name: str) -> bool:
    return name.lower().endswith(ARCHIVE_SUFFIXES)


class Listing(NamedTuple):
    """An archive's file members in archive order, and ``damage``: why the listing stopped
    early (``None`` when it read to the end), for an archive damaged after its first member."""

    members: list[Member]
    damage: Optional[str] = None


def list_members(path: str) -> Optional[Listing]:
    """The file members of an archive; ``None`` for a compressed tar, whose members are only
    known by reading it through (see :func:`streamed_members`).

    Raises:
        ArchiveError: the file is not a readable archive of its kind.
        OSError: the file cannot be opened or read.
    """
    if path.lower().endswith(".zip"):
        return _zip_members(path)
    with open(path, "rb") as f:
        head = f.read(6)
    if head.startswith(_COMPRESSED_MAGIC):
        return None
    return _tar_members(path)


def _tar_members(path: str) -> Listing:
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        plain = plain_members(f.fileno(), size)
    if plain is not None:
        return Listing([_indexed_member(*entry, size) for entry in plain if entry[3] != "dir"])
    try:
        tf = tarfile.open(path, "r:")
    except tarfile.TarError as exc:
        raise ArchiveError(f"not a readable tar archive ({exc})") from None
    members: list[Member] = []
    with tf:
        while True:
            try:
                m = tf.next()
            except tarfile.TarError as exc:  # damaged past the members read so far
                return _damaged(members, f"damaged tar archive ({exc})")
            if m is None:
                return _ended(tf, members)
            if not m.isdir():
                members.append(_tar_member(m, size))


def _ended(tf: tarfile.TarFile, members: list[Member]) -> Listing:
    """tarfile ends quietly at a bad header past the first: what follows must be the zero blocks
    that close an archive, or the rest was not listed."""
    rest = os.pread(tf.fileobj.fileno(), _END_BLOCKS, tf.offset)
    if rest.count(0) == len(rest):
        return Listing(members)
    return _damaged(members, f"damaged tar archive: no valid header at byte {tf.offset:,}, "
                             "the rest of the archive is not listed")


def _damaged(members: list[Member], damage: str) -> Listing:
    if not members:
        raise ArchiveError(damage)
    if members[-1].error is not None and members[-1].error.startswith("truncated archive"):
        return Listing(members)  # the cut member says it already
    return Listing(members, damage)


def _indexed_member(name: str, size: int, offset: int, kind: str, archive_size: float) -> Member:
    if kind != "file":
        return Member(name, 0, None, f"a {'link' if kind == 'link' else 'special entry'} inside the archive, "
                                     "not a file")
    if offset + size > archive_size:
        cut = max(0, archive_size - offset)
        return Member(name, size, offset, f"truncated archive: it ends {cut:,} bytes into this member's {size:,}")
    return Member(name, size, offset)


def _tar_member(m: tarfile.TarInfo, archive_size: float) -> Member:
    kind = "file" if m.isfile() else "link" if (m.issym() or m.islnk()) else "special"
    return _indexed_member(m.name, m.size, m.offset_data, kind, archive_size)


def _zip_members(path: str) -> Listing:
    try:
        with zipfile.ZipFile(path) as zf, open(path, "rb") as f:
            return Listing([_zip_member(info, f.fileno()) for info in zf.infolist() if not info.is_dir()])
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise ArchiveError(f"not a readable zip archive ({exc})") from None


def _zip_member(info: zipfile.ZipInfo, fd: int) -> Member:
    if info.flag_bits & 0x1:
        return Member(info.filename, info.file_size, None, "an encrypted member, not readable without its password")
    if info.compress_type != zipfile.ZIP_STORED:
        return Member(info.filename, info.file_size)
    header = os.pread(fd, _ZIP_LOCAL_HEADER.size, info.header_offset)
    if len(header) < _ZIP_LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        return Member(info.filename, info.file_size, None, "damaged member: no local header where the index points")
    _, name_len, extra_len = _ZIP_LOCAL_HEADER.unpack(header)
    return Member(info.filename, info.file_size, info.header_offset + _ZIP_LOCAL_HEADER.size + name_len + extra_len)


class OpenArchive:
    """An archive opened once for the members of one part; :meth:`open` gives a member's file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._file = open(path, "rb")
        self._zip: Optional[zipfile.ZipFile] = None

    def open(self, member: Member) -> Union[RangeFile, io.BytesIO]:
        """The member's bytes as a file; raises ``OSError``/``zipfile.BadZipFile`` for a damaged one.

        A small stored member is read whole with one positional read (a C ``BytesIO`` serves
        Pillow faster than a Python raw file); a large one is read in place.
        """
        if member.offset is not None and member.size <= WHOLE_BELOW:
            return io.BytesIO(os.pread(self._file.fileno(), member.size, member.offset))
        if member.offset is not None:
            return in_place(self._file.fileno(), member.offset, member.size, member.name)
        if self._zip is None:
            self._zip = zipfile.ZipFile(self._file)
        with self._zip.open(member.name) as f:  # checks the CRC as it reads to the end
            return in_memory(f.read(), member.name)

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
        self._file.close()


@contextmanager
def opened(path: str) -> Iterator[OpenArchive]:
    archive = OpenArchive(path)
    try:
        yield archive
    finally:
        archive.close()


def streamed_members(path: str) -> Iterator[tuple[Member, Optional[RangeFile]]]:
    """Every member of a compressed tar with its bytes, read front to back once.

    Yields ``(member, file)``; ``file`` is ``None`` for a member with an ``error``. A damage
    part-way is raised as :class:`ArchiveError` after the members before it were yielded.
    """
    try:
        with tarfile.open(path, "r:*") as tf:
            for m in tf:
                if m.isdir():
                    continue
                if not m.isfile():
                    yield _tar_member(m, float("inf")), None
                    continue
                data = tf.extractfile(m).read()
                member = Member(m.name, m.size)
                if len(data) < m.size:
                    yield member._replace(error=f"truncated archive: it ends {len(data):,} bytes "
                                                f"into this member's {m.size:,}"), None
                    return
                yield member, in_memory(data, m.name)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ArchiveError(f"damaged compressed archive ({exc})") from None

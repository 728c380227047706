"""Archives as folders: the members of ``.tar`` (WebDataset shards), ``.tar.gz`` and ``.zip``
files, each opened where it lies, never extracted to disk.

Uncompressed members (plain tar, stored zip entries) are read in place with ``pread`` at
their data offset, so a header read costs what it costs for a loose file and a shard can
be cut into slices for several workers. Compressed members are decompressed one at a time
into memory, in bounded chunks: a member over 64 MiB keeps only its head and tail
(:func:`._member_file.read_bounded`), whatever it declares or inflates to, and a member still
inflating after the scan's time limit is a ``timed out`` error (a ``.tar.gz`` is read once, front
to back, in one part, so its members after that one are not read). Zip directory entries whose
bytes lie inside another entry's (how zip bombs multiply one member) are errors, never
inflated again. A hostile header (a garbage GNU sparse map, a pax size
of 10**20, a zip name flagged UTF-8 that is not) is an :class:`ArchiveError`, never a traceback.

An archive in an object store (``fs``: the fsspec filesystem its caller made of the URL)
is read the same way through ``fs.open``: the listing and each member come in ranged
requests. A local archive is opened only if it is a regular file (a FIFO named ``x.tar``
would block).

Used by the scanner, which reads every member (``list_members`` and ``opened``, or
``streamed_members``), and by the HTML page, which reads only the members it previews
(:mod:`._archive_read`, built on the same listing and readers over one open file).
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator, NamedTuple, Optional, Union

from ._file_read import read_at
from ._member_file import MemberTimeout, RangeFile, read_bounded
from ._regular_file import open_regular
from ._tar_index import plain_members

if TYPE_CHECKING:  # tarfile and zipfile load when an archive is read (a scan of no archive needs neither)
    import tarfile
    import zipfile

REMOTE_BLOCK = 1 << 20  # bytes per ranged request when an archive in an object store is read
WHOLE_BELOW = 64 << 10  # a stored member up to this size is read in one go

ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".zip")
_COMPRESSED_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ")
_END_BLOCKS = 1024  # two zero blocks end a tar archive
_ZIP_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature ... file name length, extra length
OVERLAPS = "overlaps"  # how the error of a zip entry inside another entry's bytes begins
# what tarfile and zipfile raise besides their own errors for a hostile header: ValueError for a
# GNU sparse map of garbage, OverflowError for a pax size of 10**20, UnicodeDecodeError (a
# ValueError) for a zip name flagged UTF-8 that is not
_HOSTILE = (ValueError, OverflowError, EOFError, struct.error, zlib.error)


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
    entry: Optional[int] = None  # a compressed zip member's place in the directory (names may repeat)


def is_archive_name(name: str) -> bool:
    return name.lower().endswith(ARCHIVE_SUFFIXES)


def any_archive_name(names: list[str]) -> bool:
    """Whether any of ``names`` is an archive's: one search over them all (no name holds a NUL)."""
    joined = "\0".join(names).lower() + "\0"
    return any(suffix + "\0" in joined for suffix in ARCHIVE_SUFFIXES)


class Listing(NamedTuple):
    """An archive's file members in archive order, and ``damage``: why the listing stopped
    early (``None`` when it read to the end), for an archive damaged after its first member."""

    members: list[Member]
    damage: Optional[str] = None


def _open(path: str, fs: Any = None) -> Any:
    """A local regular file, or an object's bytes read in ranged requests (``fs``: fsspec).

    Raises:
        NotRegularFile: a FIFO, socket or device where an archive was listed.
    """
    if fs is None:
        return open_regular(path)  # even if the caller checked it: it may have been swapped since
    return fs.open(path, "rb", block_size=REMOTE_BLOCK, cache_type="readahead")


def _size(f: Any, path: str, fs: Any = None) -> int:
    """The size of the archive open as ``f``."""
    return os.fstat(f.fileno()).st_size if fs is None else int(fs.size(path))


def list_members(path: str, fs: Any = None) -> Optional[Listing]:
    """The file members of an archive; ``None`` for a compressed tar, whose members are only
    known by reading it through (see :func:`streamed_members`).

    Raises:
        ArchiveError: the file is not a readable archive of its kind.
        OSError: the file cannot be opened or read.
    """
    with _open(path, fs) as f:
        return listing_of(f, path, fs)


def listing_of(f: Any, path: str, fs: Any = None) -> Optional[Listing]:
    """:func:`list_members` of the archive at ``path``, already open as ``f``."""
    if path.lower().endswith(".zip"):
        return _zip_members(f)
    head = f.read(6)
    f.seek(0)
    if head.startswith(_COMPRESSED_MAGIC):
        return None
    return _tar_members(f, _size(f, path, fs))


def _tar_members(f: Any, size: int) -> Listing:
    plain = plain_members(lambda offset, n: read_at(f, offset, n), size)
    if plain is not None:
        return Listing([_indexed_member(*entry, size) for entry in plain if entry[3] != "dir"])
    import tarfile  # a tar the index cannot read plainly

    try:
        tf = tarfile.open(fileobj=f, mode="r:")  # noqa: SIM115 - closed by the with below, once opened
    except (tarfile.TarError, *_HOSTILE) as exc:
        raise ArchiveError(f"not a readable tar archive ({_short(exc)})") from None
    members: list[Member] = []
    with tf:
        while True:
            try:
                m = tf.next()
            except (tarfile.TarError, *_HOSTILE) as exc:  # damaged past the members read so far
                return _damaged(members, f"damaged tar archive ({_short(exc)})")
            if m is None:
                return _ended(tf, members)
            if not m.isdir():
                members.append(_tar_member(m, size))


def _short(exc: BaseException) -> str:
    """An error's message on one line, and short: a hostile header can make it long."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:199] + "…"


def _ended(tf: tarfile.TarFile, members: list[Member]) -> Listing:
    """tarfile ends quietly at a bad header past the first: what follows must be the zero blocks
    that close an archive, or the rest was not listed."""
    rest = read_at(tf.fileobj, tf.offset, _END_BLOCKS)
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


def _zip_members(f: Any) -> Listing:
    import zipfile

    try:
        with zipfile.ZipFile(f) as zf:  # closing it leaves f open: zipfile did not open it
            infos = zf.infolist()
            inside = _overlapping(infos)
            return Listing([_zip_member(info, f, k, inside.get(k)) for k, info in enumerate(infos)
                            if not info.is_dir()])
    except (zipfile.BadZipFile, zipfile.LargeZipFile, *_HOSTILE) as exc:
        raise ArchiveError(f"not a readable zip archive ({_short(exc)})") from None


def _overlapping(infos: list[zipfile.ZipInfo]) -> dict[int, str]:
    """Directory entries whose bytes start inside an earlier entry's: their index -> that entry's
    name. No zip tool writes them; a zip bomb points thousands of entries at one member's data,
    so each would inflate it again (200 entries at one 100 MiB member: minutes of CPU)."""
    inside: dict[int, str] = {}
    end, owner = -1, ""
    for start, k in sorted((info.header_offset, k) for k, info in enumerate(infos)):
        info = infos[k]
        if start < end:
            inside[k] = owner
        # at least its local header's fixed 30 bytes and its data: a lower bound, so no false alarm
        if start + 30 + info.compress_size > end:
            end, owner = start + 30 + info.compress_size, info.filename
    return inside


def _zip_member(info: zipfile.ZipInfo, f: Any, entry: int, inside: Optional[str] = None) -> Member:
    import zipfile

    if inside is not None:
        return Member(info.filename, info.file_size, None,
                      f"{OVERLAPS} member {inside!r}: its directory entry points into that member's bytes, "
                      "as a zip bomb's do; not inflated again")
    if info.flag_bits & 0x1:
        return Member(info.filename, info.file_size, None, "an encrypted member, not readable without its password")
    if info.compress_type != zipfile.ZIP_STORED:
        return Member(info.filename, info.file_size, entry=entry)
    header = read_at(f, info.header_offset, _ZIP_LOCAL_HEADER.size)
    if len(header) < _ZIP_LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        return Member(info.filename, info.file_size, None, "damaged member: no local header where the index points")
    _, name_len, extra_len = _ZIP_LOCAL_HEADER.unpack(header)
    return Member(info.filename, info.file_size, info.header_offset + _ZIP_LOCAL_HEADER.size + name_len + extra_len)


class OpenArchive:
    """An archive opened once for the members of one part; :meth:`open` gives a member's file.

    ``file``: the archive already open (its listing was read from it); it is left open.
    """

    def __init__(self, path: str, fs: Any = None, file: Any = None, time_limit: Optional[float] = None) -> None:
        self.path = path
        self.time_limit = time_limit  # seconds a compressed member may take to inflate
        self._owned = file is None
        self._file = _open(path, fs) if file is None else file
        self._zip: Optional[zipfile.ZipFile] = None

    def open(self, member: Member) -> Union[RangeFile, io.BytesIO]:
        """The member's bytes as a file; raises ``OSError``/``zipfile.BadZipFile`` for a damaged one,
        :class:`MemberTimeout` for one still inflating after :attr:`time_limit` seconds.

        A small stored member is read whole with one positional read (a C ``BytesIO`` serves
        Pillow faster than a Python raw file); a large one is read in place.
        """
        import zipfile

        if member.offset is not None:
            start, f = member.offset, self._file
            if member.size <= WHOLE_BELOW:
                return io.BytesIO(read_at(f, start, member.size))
            return RangeFile(lambda offset, n: read_at(f, start + offset, n), member.size, member.name)
        if self._zip is None:
            self._zip = zipfile.ZipFile(self._file)
        # by its directory entry: a name that repeats would give the last entry of that name
        target = member.name if member.entry is None else self._zip.infolist()[member.entry]
        with self._zip.open(target) as f:  # checks the CRC as it reads to the end
            return read_bounded(f.read, member.name, self.time_limit)

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
        if self._owned:
            self._file.close()


@contextmanager
def opened(path: str, fs: Any = None, time_limit: Optional[float] = None) -> Iterator[OpenArchive]:
    archive = OpenArchive(path, fs, time_limit=time_limit)
    try:
        yield archive
    finally:
        archive.close()


def streamed_members(path: str, fs: Any = None,
                     time_limit: Optional[float] = None) -> Iterator[tuple[Member, Optional[RangeFile]]]:
    """Every member of a compressed tar with its bytes, read front to back once.

    Yields ``(member, file)``; ``file`` is ``None`` for a member with an ``error``. A damage
    part-way is raised as :class:`ArchiveError` after the members before it were yielded. A
    member still inflating after ``time_limit`` seconds is the last one yielded: the stream
    cannot reach the members after it any sooner.
    """
    try:
        f = _open(path, fs)
    except OSError as exc:  # gone or swapped since it was listed
        raise ArchiveError(f"damaged compressed archive ({exc})") from None
    with f:
        yield from streamed_from(f, time_limit=time_limit)


def streamed_from(f: Any, wanted: Optional[set] = None, limit: Optional[int] = None,
                  time_limit: Optional[float] = None) -> Iterator[tuple[Member, Optional[RangeFile]]]:
    """:func:`streamed_members` of a compressed tar open as ``f``. With ``wanted``, only the
    members so named (while they are in it) are read: the others are skipped as tarfile
    moves to the next header, decompressed a block at a time and dropped, never held whole.
    A member over ``limit`` bytes is not read: its ``error`` says so.

    Raises:
        ArchiveError: the archive is damaged (after the members before the damage).
    """
    import tarfile

    try:
        with tarfile.open(fileobj=f, mode="r:*") as tf:
            for m in tf:
                if m.isdir() or (wanted is not None and m.name not in wanted):
                    continue
                if not m.isfile():
                    yield _tar_member(m, float("inf")), None
                    continue
                member = Member(m.name, m.size)
                if limit is not None and m.size > limit:
                    yield member._replace(error=over_limit(limit)), None
                    continue
                try:
                    data = read_bounded(tf.extractfile(m).read, m.name, time_limit)  # type: ignore[union-attr]  # a file
                except MemberTimeout as exc:
                    yield member._replace(error=f"{exc}; the members after it were not read"), None
                    return
                got = data.seek(0, os.SEEK_END)  # what the stream held of it
                data.seek(0)
                if got < m.size:
                    yield member._replace(error=f"truncated archive: it ends {got:,} bytes "
                                                f"into this member's {m.size:,}"), None
                    return
                yield member, data
    except (tarfile.TarError, OSError, *_HOSTILE) as exc:
        raise ArchiveError(f"damaged compressed archive ({_short(exc)})") from None


def over_limit(limit: int) -> str:
    """Why a member larger than ``limit`` bytes is not read whole."""
    return f"over {limit >> 20} MiB: not previewed"

"""A plain tar archive's member list from its headers, without ``tarfile``'s Python parser.

``tarfile`` spends about 17 µs a member parsing each header field by field, as long as
pipeguard's whole probe of a small image; a WebDataset shard has thousands of members.
This reads each 512-byte header with one positional read (or ranged request) and takes only what a listing
needs (name, type, size, where the data starts). It gives ``tarfile``'s answer or none:
anything beyond a plain POSIX/GNU header (a pax or GNU long-name header, a base-256 size,
a bad checksum, a non-ASCII-octal field) returns ``None`` and the caller asks ``tarfile``.
Tests check the two agree on every archive they make.
"""

from __future__ import annotations

from typing import Callable, Optional

BLOCK = 512
_REGULAR = (b"0", b"\x00", b"7")   # regular file, old-style regular, contiguous file
_LINKS = (b"1", b"2")
_SPECIAL = (b"3", b"4", b"6")      # character and block devices, FIFOs
_POSIX_MAGIC = b"ustar\x0000"
_GNU_MAGIC = b"ustar  \x00"


def plain_members(read: Callable[[int, int], bytes], archive_size: int) -> Optional[list[tuple[str, int, int, str]]]:
    """``(name, size, data offset, kind)`` per entry, ``kind`` one of ``file``, ``dir``, ``link``,
    ``special``; ``None`` when any header needs ``tarfile`` (or the archive ends unexpectedly).
    ``read(offset, n)`` reads the archive's bytes (a positional read, or a ranged request)."""
    out: list[tuple[str, int, int, str]] = []
    offset = 0
    while True:
        header = read(offset, BLOCK)
        if len(header) < BLOCK:
            return None  # a cut header: tarfile words what is wrong
        if header.count(0) == BLOCK:
            return out if out else None  # the end of the archive (an empty one: tarfile decides)
        entry = _entry(header)
        if entry is None:
            return None
        name, size, kind = entry
        out.append((name, size, offset + BLOCK, kind))
        offset += BLOCK + -(-size // BLOCK) * BLOCK
        if offset > archive_size:
            return out  # the last member runs past the end: the caller flags it truncated


def _entry(header: bytes) -> Optional[tuple[str, int, str]]:
    if header[257:265] not in (_POSIX_MAGIC, _GNU_MAGIC):
        return None
    if _octal(header[148:156]) != sum(header[:148]) + 256 + sum(header[156:]):
        return None  # tarfile also takes a signed sum: let it judge
    size = _octal(header[124:136])
    if size is None:
        return None
    flag = header[156:157]
    name = header[:100].split(b"\x00", 1)[0]
    prefix = header[345:500].split(b"\x00", 1)[0]  # tarfile reads it whatever the magic
    if prefix:
        name = prefix + b"/" + name
    text = name.decode("utf-8", "surrogateescape")
    if flag in _REGULAR:
        return (text, size, "dir" if text.endswith("/") else "file")
    if flag == b"5":
        return (text, 0, "dir")  # tarfile skips no data after a directory
    if flag in _LINKS:
        return (text, 0, "link")
    if flag in _SPECIAL:
        return (text, 0, "special")
    return None  # pax, GNU long names, sparse files, anything else: tarfile's


def _octal(field: bytes) -> Optional[int]:
    text = field.split(b"\x00", 1)[0].strip()  # as tarfile's nti reads it
    try:
        return int(text or b"0", 8)
    except ValueError:
        return None

"""The wanted members of an archive, each read whole into memory: what the HTML page
previews. (The scanner reads every member, through :mod:`._archive`.)

The archive is opened once and read with the scanner's own listing and readers
(:mod:`._archive`): a plain tar or a zip is listed (a plain tar from its headers, a zip
from its central directory) and the wanted members are read where they lie, in archive
order; a compressed tar is read front to back once, as a stream, the members passed over
decompressed a block at a time and dropped, never held whole. A name that repeats is its
first entry, the one a scan lists first.

A member's bytes are bounded by ``limit``: its declared size is checked before anything
is read.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator, Optional, Union

from ._archive import Listing, Member, OpenArchive, _open, listing_of, over_limit, streamed_from

Read = Union[bytes, Exception]  # a member's bytes, or the exception reading it


def read_members(path: str, wanted: Iterable[str], fs: Any = None, *, limit: int) -> Iterator[tuple[str, Read]]:
    """``(name, bytes or the exception reading it)`` of the ``wanted`` members of the archive at
    ``path`` (``fs``: the fsspec filesystem of one in an object store), in archive order, each
    name once (its first entry); stops once all are found. A name not in the archive comes
    last, with a ``KeyError``; a member over ``limit`` bytes with an ``OSError``, unread.

    A local archive is opened only if it is a regular file (a FIFO would block).

    Raises:
        ArchiveError: the archive cannot be listed, or a compressed one is damaged before
            the members not yielded yet (they share that error). OSError: it cannot be read.
    """
    left = set(wanted)
    if left:
        with _open(path, fs) as f:
            listing = listing_of(f, path, fs)
            found = _streamed(f, left, limit) if listing is None else _listed(path, f, listing, left, limit)
            yield from found
    for name in sorted(left):
        yield name, KeyError(f"there is no item named {name!r} in the archive")


def _listed(path: str, f: Any, listing: Listing, left: set[str], limit: int) -> Iterator[tuple[str, Read]]:
    """Takes each name out of ``left`` as it is found."""
    archive = OpenArchive(path, file=f)
    try:
        for member in listing.members:
            if member.name in left:
                left.discard(member.name)
                yield member.name, _bytes(archive, member, limit)
                if not left:
                    return
    finally:
        archive.close()


def _bytes(archive: OpenArchive, member: Member, limit: int) -> Read:
    if member.error is not None:
        return OSError(member.error)
    if member.size > limit:
        return OSError(over_limit(limit))  # never opened, never decompressed
    try:
        with archive.open(member) as raw:
            return raw.read()
    except Exception as exc:  # an encrypted or damaged member: that member's error
        return exc


def _streamed(f: Any, left: set[str], limit: int) -> Iterator[tuple[str, Read]]:
    """Takes each name out of ``left`` as it is found (a later entry of a name is skipped)."""
    raw: Optional[Any]
    for member, raw in streamed_from(f, wanted=left, limit=limit):
        left.discard(member.name)
        yield member.name, OSError(member.error) if raw is None else raw.read()
        if not left:
            return

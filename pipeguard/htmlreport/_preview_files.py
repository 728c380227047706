"""Where a preview's bytes come from: a local file, an object in a store, an archive's
members, or bytes already in memory (an image stored in a Hugging Face dataset).

A local file is opened only if it is a regular file (a FIFO would block the worker until
its time limit). An object in a store (an fsspec URL) is read whole, up to ``MAX_BYTES``,
with the scan's storage options. An archive is read once for all of its members that are
listed on the page, in archive order (a ``.tar.gz`` or an object in a store cannot be
read cheaply out of order): a tar as a stream, a zip through its central directory. A
member that appears twice is the first of its name, the one listed first in the report.
"""

from __future__ import annotations

import io
from typing import Any, Iterator, Optional

from .._io import is_url, open_regular

MAX_BYTES = 256 << 20      # an archive member or remote object read whole for its preview


def opened(path: str, storage_options: Optional[dict] = None) -> Any:
    """A binary file to read ``path`` from: the local file itself, or a remote object's
    bytes (at most :data:`MAX_BYTES`)."""
    if not is_url(path):
        return open_regular(path)
    with _remote(path, storage_options) as f:
        return io.BytesIO(limited(f.read(MAX_BYTES + 1)))


def in_memory(data: Any) -> Any:
    """A binary file over ``data`` (bytes or a buffer, at most :data:`MAX_BYTES`)."""
    return io.BytesIO(limited(data))


def members(path: str, wanted: set[str], storage_options: Optional[dict] = None) -> Iterator[tuple[str, Any]]:
    """``(name, bytes or the exception reading it)`` of the ``wanted`` members of the
    archive at ``path``, in archive order, each name once; stops when all are found."""
    with (_remote(path, storage_options) if is_url(path) else open_regular(path)) as f:
        if path.lower().endswith(".zip"):
            yield from _zip_members(f, wanted)
        else:
            yield from _tar_members(f, wanted)


def _remote(path: str, storage_options: Optional[dict]) -> Any:
    import fsspec

    return fsspec.open(path, "rb", **(storage_options or {}))


def _zip_members(f: Any, wanted: set[str]) -> Iterator[tuple[str, Any]]:
    import zipfile

    with zipfile.ZipFile(f) as archive:
        first: dict[str, Any] = {}  # getinfo() gives the last entry of a name: the first is wanted
        for info in archive.infolist():  # in directory order, which is the archive's
            first.setdefault(info.filename, info)
        for name, info in first.items():
            if name not in wanted:
                continue
            try:
                with archive.open(info) as member:
                    yield name, limited(member.read(MAX_BYTES + 1))
            except Exception as exc:  # an encrypted or damaged member: that member's error
                yield name, exc
        for name in sorted(wanted - first.keys()):
            yield name, KeyError(f"there is no item named {name!r} in the archive")


def _tar_members(f: Any, wanted: set[str]) -> Iterator[tuple[str, Any]]:
    import tarfile

    left = set(wanted)
    with tarfile.open(fileobj=f, mode="r|*") as archive:  # a stream: one pass, gzip or not
        for info in archive:
            if info.name not in left:
                continue
            left.discard(info.name)
            member = archive.extractfile(info) if info.isfile() else None
            if member is None:
                yield info.name, OSError(f"{info.name} is not a file in the archive")
            else:
                try:
                    yield info.name, limited(member.read(MAX_BYTES + 1))
                except Exception as exc:  # the archive ends inside this member
                    yield info.name, exc
            if not left:
                return


def limited(data: Any) -> Any:
    """``data`` itself; ``OSError`` when it is over :data:`MAX_BYTES`."""
    if len(data) > MAX_BYTES:
        raise OSError(f"over {MAX_BYTES >> 20} MiB: not previewed")
    return data

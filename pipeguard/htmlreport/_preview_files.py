"""Where a preview's bytes come from: a local file, an object in a store, an archive's
members, or bytes already in memory (an image stored in a Hugging Face dataset).

A local file is opened only if it is a regular file (a FIFO would block the worker until
its time limit). An object in a store (an fsspec URL) is read whole, up to ``MAX_BYTES``,
with the scan's storage options. An archive's members are read by
:func:`pipeguard._io.read_members`, the I/O layer's reader (this module has none of its
own): once for all of its members listed on the page, in archive order (a ``.tar.gz`` or
an object in a store cannot be read cheaply out of order), a ``.tar.gz`` as a stream, a
zip through its central directory. A member that appears twice is the first of its
name, the one listed first in the report; one over ``MAX_BYTES`` is refused unread.
"""

from __future__ import annotations

import io
from typing import Any, Iterator, Optional

from .._io import filesystem, is_url, open_regular, over_limit, read_members

MAX_BYTES = 256 << 20      # an archive member or remote object read whole for its preview


def opened(path: str, storage_options: Optional[dict] = None) -> Any:
    """A binary file to read ``path`` from: the local file itself, or a remote object's
    bytes (at most :data:`MAX_BYTES`)."""
    if not is_url(path):
        return open_regular(path)
    fs, where = filesystem(path, storage_options)
    with fs.open(where, "rb") as f:
        return io.BytesIO(limited(f.read(MAX_BYTES + 1)))


def in_memory(data: Any) -> Any:
    """A binary file over ``data`` (bytes or a buffer, at most :data:`MAX_BYTES`)."""
    return io.BytesIO(limited(data))


def members(path: str, wanted: set[str], storage_options: Optional[dict] = None) -> Iterator[tuple[str, Any]]:
    """``(name, bytes or the exception reading it)`` of the ``wanted`` members of the
    archive at ``path`` (a local path or a URL), in archive order, each name once; stops
    when all are found. Read by :func:`pipeguard._io.read_members`; raises when the
    archive itself cannot be read (:func:`._thumbnails.run` gives every member its error)."""
    fs, where = filesystem(path, storage_options) if is_url(path) else (None, path)
    return read_members(where, wanted, fs, limit=MAX_BYTES)


def limited(data: Any) -> Any:
    """``data`` itself; ``OSError`` when it is over :data:`MAX_BYTES`."""
    if len(data) > MAX_BYTES:
        raise OSError(over_limit(MAX_BYTES))
    return data

"""The private I/O layer below every package: how pipeguard opens and reads the bytes of
files, archive members and ranges. The scanner and the HTML page both read through it.

Modules, one job each: ``regular_file`` (opening only regular files: a FIFO would block),
``url`` (what counts as a URL), ``file_read`` (positional reads), ``member_file`` (a
read-only file over a byte range or bytes in memory), ``tar_index`` (a plain tar's
members from its headers), ``archive`` (tar, tar.gz and zip members, listed and read
where they lie: the scanner's), ``archive_read`` (the wanted members of an archive read
whole, in one pass: the HTML page's previews) and ``remote_fs`` (a URL's fsspec filesystem,
naming the extra to install when it is missing). It imports nothing of pipeguard's: every
package may import it.
"""

from __future__ import annotations

from ._archive import (
    ARCHIVE_SUFFIXES,
    OVERLAPS,
    ArchiveError,
    Listing,
    Member,
    any_archive_name,
    is_archive_name,
    list_members,
    opened,
    over_limit,
    streamed_members,
)
from ._archive_read import read_members
from ._file_read import read_at
from ._member_file import MemberTimeout, RangeFile, in_memory
from ._regular_file import Descriptor, NotRegularFile, file_type, open_regular, open_regular_fd
from ._remote_fs import filesystem
from ._tar_index import plain_members
from ._url import is_url

__all__ = ["ARCHIVE_SUFFIXES", "OVERLAPS", "ArchiveError", "Descriptor", "Listing", "Member", "MemberTimeout",
           "NotRegularFile", "RangeFile", "any_archive_name", "file_type", "filesystem", "in_memory",
           "is_archive_name", "is_url", "list_members", "open_regular", "open_regular_fd", "opened", "over_limit",
           "plain_members", "read_at", "read_members", "streamed_members"]

"""Truncation from the file's last bytes, without decoding.

A lazy ``Image.open`` reports the right mode and size for a truncated file, and
``verify()`` passes truncated JPEGs; only a full decode (tens of times slower) fails.
The end marker catches the common case, a download or copy cut short, from one small
read of the tail:

* JPEG (and MPO): the end-of-image marker ``FF D9``. Entropy-coded data can never
  contain ``FF D9`` (``FF`` is stuffed as ``FF 00``), so a marker anywhere in the
  tail window means the stream ended; trailing padding or a short trailer after it is
  allowed.
* PNG (and APNG): the ``IEND`` chunk (``00 00 00 00 'IEND' AE 42 60 82``).
* GIF: the trailer ``3B``, preceded by the ``00`` that terminates the last block.

Uncompressed formats are checked from their header instead (:mod:`._raw_extent`); other
formats are not checked without decoding (``--deep`` decodes them).
"""

from __future__ import annotations

from typing import Callable, Optional

TAIL_BYTES = 512  # one small read; enough for padding or a short trailer after the marker
# The marker is nearly always in the very last bytes: read these first, and the whole
# window only when they lack it. A marker found in a suffix is found in any longer one.
SHORT_TAIL = 32

_PNG_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"
_CHECKED = {"JPEG": "jpeg", "MPO": "jpeg", "PNG": "png", "GIF": "gif"}


def checked_formats() -> frozenset[str]:
    """Pillow format names whose end marker is checked."""
    return frozenset(_CHECKED)


def missing_end_marker(fmt: Optional[str], tail: bytes) -> Optional[str]:
    """Why ``tail`` (the file's last bytes) shows a truncated ``fmt`` file, or ``None``.

    Args:
        fmt: Pillow's format name (``im.format``), e.g. ``"JPEG"``.
        tail: up to :data:`TAIL_BYTES` from the end of the file.

    Returns:
        A sentence fragment naming the missing marker, or ``None`` when the marker is
        present or ``fmt`` is not checked.
    """
    kind = _CHECKED.get(fmt or "")
    # rfind: the marker is almost always at the very end, so search from there
    if kind == "jpeg":
        if tail.rfind(b"\xff\xd9") >= 0:
            return None
        return f"truncated: no JPEG end-of-image marker (FF D9) in the last {len(tail)} bytes"
    if kind == "png":
        if tail.rfind(_PNG_IEND) >= 0:
            return None
        return f"truncated: no PNG IEND chunk in the last {len(tail)} bytes"
    if kind == "gif":
        if tail.rstrip(b"\x00").endswith(b"\x00\x3b") or tail.endswith(b"\x00\x3b"):
            return None
        return "truncated: no GIF trailer (3B) at the end of the file"
    return None


# When the tail lacks the marker: where the image really ends, found from its start, so that
# data appended after a whole image (a phone's "motion photo" appends an MP4 to its JPEG; tools
# append ZIPs or padding to PNGs) is a note, not a truncation. Reads are bounded in size.
_SCAN_CHUNK = 1 << 20
_MAX_PNG_CHUNKS = 1 << 20


def end_of_image(fmt: Optional[str], read: Callable[[int, int], bytes], size: int) -> Optional[int]:
    """Where a JPEG's or PNG's data ends (the offset just past its end marker), found by walking
    the file from its start; ``None`` when the file ends first (truncated) or ``fmt`` is not
    one walked. ``read(offset, n)`` reads the file's bytes (fewer at its end)."""
    kind = _CHECKED.get(fmt or "")
    if kind == "jpeg":
        start = _jpeg_scan_start(read, size)
        return None if start is None else _find_forward(read, size, start, b"\xff\xd9")
    if kind == "png":
        return _png_end(read, size)
    return None


def trailing_data(fmt: Optional[str], read: Callable[[int, int], bytes], size: int,
                  tail: bytes) -> tuple[Optional[str], Optional[str]]:
    """``(problem, note)`` for a ``fmt`` file whose last bytes are ``tail``: as
    :func:`missing_end_marker`, but a whole image followed by other data is not truncated:
    its problem is ``None`` and ``note`` says how many bytes follow the end marker."""
    problem = missing_end_marker(fmt, tail)
    if problem is None:
        return None, None
    end = end_of_image(fmt, read, size)
    if end is None or end >= size:  # no end, or one at the very end that the tail check did not accept
        return problem, None
    marker = "JPEG end-of-image marker (FF D9)" if _CHECKED[fmt or ""] == "jpeg" else "PNG IEND chunk"
    return None, f"{size - end:,} bytes after the {marker}: data appended to the image (a motion photo's video?)"


def _jpeg_scan_start(read: Callable[[int, int], bytes], size: int) -> Optional[int]:
    """The offset of the first start-of-scan's data, past the marker segments before it (an
    EXIF thumbnail's own FF D9 among them is skipped)."""
    offset = 2
    while offset + 4 <= size:
        head = read(offset, 4)
        if len(head) < 4 or head[0] != 0xFF:
            return None
        if head[1] == 0xFF:  # fill bytes before a marker
            offset += 1
            continue
        length = int.from_bytes(head[2:4], "big")
        if head[1] in (0xD8, 0x01) or 0xD0 <= head[1] <= 0xD7:  # markers without a length
            offset += 2
            continue
        if length < 2:
            return None
        offset += 2 + length
        if head[1] == 0xDA:
            return offset
    return None


def _find_forward(read: Callable[[int, int], bytes], size: int, start: int, marker: bytes) -> Optional[int]:
    """The offset just past the first ``marker`` at or after ``start``, read a chunk at a time."""
    offset, carry = start, b""
    while offset < size:
        chunk = carry + read(offset, _SCAN_CHUNK)
        if len(chunk) == len(carry):
            return None
        found = chunk.find(marker)
        if found >= 0:
            return offset - len(carry) + found + len(marker)
        offset += len(chunk) - len(carry)
        carry = chunk[-(len(marker) - 1):]
    return None


def _png_end(read: Callable[[int, int], bytes], size: int) -> Optional[int]:
    """The offset just past a PNG's IEND chunk, walking its chunks from the signature."""
    offset = 8
    for _ in range(_MAX_PNG_CHUNKS):
        head = read(offset, 8)
        if len(head) < 8:
            return None
        end = offset + 12 + int.from_bytes(head[:4], "big")
        if end > size:
            return None
        if head[4:8] == b"IEND":
            return end
        offset = end
    return None

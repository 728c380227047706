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

from typing import Optional

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

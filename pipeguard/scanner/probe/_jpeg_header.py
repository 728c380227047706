"""Plain JPEG headers read by a marker walk: the scan's fast path, Pillow's answer or none.

Pillow's ``JpegImageFile._open`` parses every segment before the scan data in Python
(quantization tables value by value, application segments into ``info``); for a scan
that wants only format, mode and size, that is most of the cost of a file. This walk
steps over segments by their lengths and looks inside only the frame header (SOF),
the quantization tables (to fail where Pillow fails) and the first bytes of
application segments, from one 4 KiB read.

It answers only where Pillow's answer is certain and needs nothing else from the
file: a well-formed marker sequence from ``SOI`` to ``SOS``, one 8-bit frame of 1, 3 or
4 components, no segment whose content Pillow acts on beyond ``info`` (EXIF and XMP
carry the orientation and EXIF warnings; ``MPF`` makes an MPO; a Photoshop block), and
no format that ``Image.open`` tries before JPEG claiming the file. Anything else (fill
bytes, short segments, other markers, a size over ``Image.MAX_IMAGE_PIXELS``, a header
cut short) returns ``None``, and the caller asks Pillow.
``tests/test_scan_jpeg_header.py`` holds it to Pillow's answer on generated
files, on the Pillow corpus, and on randomly damaged headers.
"""

from __future__ import annotations

from typing import Any, Optional

from PIL import Image

from ..._io import read_at
from ._claims import any_claims, formats_before

HEAD_BYTES = 4096  # a typical header (tables, JFIF, a small ICC profile) is well inside
MODES = {1: "L", 3: "RGB", 4: "CMYK"}  # components -> mode, as Pillow maps them
_FRAMES = frozenset((0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF))
# segments Pillow reads past without looking inside: Huffman and arithmetic tables,
# number of lines, restart interval, expand, comment
_PASSED = frozenset((0xC4, 0xCC, 0xDC, 0xDD, 0xDF, 0xFE))
_SOS, _DQT = 0xDA, 0xDB
_SIGNATURE = 16  # bytes of an application segment looked at


def read_jpeg_header(f: Any, size: int, head: Optional[bytes] = None) -> Optional[tuple[str, int, int]]:
    """``(mode, width, height)`` of a plain JPEG, as ``Image.open`` would report them, or
    ``None`` when the file is not one (Pillow must decide).

    Args:
        f: the file, opened in binary mode (its position is left alone where ``os.pread``
            exists).
        size: the file's length in bytes.
    """
    window = read_at(f, 0, HEAD_BYTES) if head is None else head  # the probe may have read it
    if window[:3] != b"\xff\xd8\xff" or _claimed_before_jpeg(window[:16]):
        return None
    base, pos = 0, 2  # window holds the file from ``base``; ``pos`` is the next marker
    found = None
    while True:
        at = pos - base
        if at + 4 > len(window):
            window, base, at = read_at(f, pos, HEAD_BYTES), pos, 0
            if len(window) < 4:
                return None
        if window[at] != 0xFF:
            return None  # junk between segments: Pillow skips it, so let Pillow
        marker = window[at + 1]
        length = window[at + 2] << 8 | window[at + 3]
        end = pos + 2 + length
        if length < 2 or end > size:  # Pillow would read short (or misread a length below 2)
            return None
        if marker == _SOS:
            break
        if marker not in _PASSED:
            n = length - 2 if marker in _FRAMES or marker == _DQT else min(length - 2, _SIGNATURE)
            if at + 4 + n > len(window):
                window, base, at = read_at(f, pos, 4 + max(n, HEAD_BYTES)), pos, 0
            body = window[at + 4:at + 4 + n]
            if len(body) < n:
                return None
            if marker in _FRAMES:
                if found is not None:
                    return None  # a second frame header: Pillow keeps the last, with merged layers
                found = _frame(body)
                if found is None:
                    return None
            elif marker == _DQT:
                if not _tables_whole(body):
                    return None
            elif not _plain_application(marker, body, length - 2):
                return None
        pos = end
    if found is None:
        return None
    mode, w, h = found
    limit = Image.MAX_IMAGE_PIXELS
    if w <= 0 or h <= 0 or (limit is not None and w * h > limit):  # Pillow checks any limit but None, 0 too
        return None  # Pillow refuses, warns or raises: its words, not ours
    return found


def _claimed_before_jpeg(prefix: bytes) -> bool:
    """Whether a format ``Image.open`` tries before JPEG might take this file.

    ``Image.open`` tries formats in registration order. When every plugin is loaded
    before ``Image.open`` first runs (``Image.init()`` first, as the probe's sniffing of
    unnamed files or a user's code may do), FLI and AVIF, among others, come before
    JPEG, and a JPEG whose first segment's length and bytes spell FLI's magic opens as
    an FLI animation. ``preinit()`` first, as ``Image.open`` does, so that the walk
    leaves Pillow's registration order as Pillow itself would.
    """
    before = formats_before("JPEG")
    return before is None or any_claims(before, prefix)


def _frame(body: bytes) -> Optional[tuple[str, int, int]]:
    """The SOF segment: 8-bit samples and 1, 3 or 4 components, whole component entries."""
    if len(body) < 6 or (len(body) - 6) % 3 or body[0] != 8:
        return None
    mode = MODES.get(body[5])
    if mode is None:
        return None
    return mode, body[3] << 8 | body[4], body[1] << 8 | body[2]


def _tables_whole(body: bytes) -> bool:
    """Whether every quantization table in a DQT segment is complete (Pillow raises otherwise)."""
    at = 0
    while at < len(body):
        at += 1 + (64 if body[at] < 16 else 128)  # 8-bit or 16-bit entries
        if at > len(body):
            return False
    return True


def _plain_application(marker: int, head: bytes, n: int) -> bool:
    """Whether an application (or other) segment is one Pillow only files away in ``info``."""
    if marker == 0xE0:
        return not (head.startswith(b"JFIF") and n < 7)  # Pillow reads the version at 5
    if marker == 0xE2:
        if head.startswith(b"MPF\0"):
            return False  # may be an MPO: Pillow decides, and counts its frames
        return not (head.startswith(b"ICC_PROFILE\0") and n < 14)  # Pillow reads byte 13
    if marker == 0xEE:
        return not (head.startswith(b"Adobe") and n < 7)
    # APP1 (EXIF, XMP: orientation and warnings) and APP13 (Photoshop) go to Pillow;
    # any marker that is not an application segment is unusual here: so does it
    return 0xE3 <= marker <= 0xEF and marker != 0xED

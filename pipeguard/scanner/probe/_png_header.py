"""Plain PNG headers read by a chunk walk: the scan's fast path, Pillow's answer or none.

Pillow's ``PngImageFile._open`` is cheap per chunk but not per file: plugin dispatch,
a chunk stream object, a handler call and a CRC read per chunk, ``info`` filled in,
a palette object built. For a folder of small PNGs (icon themes: RGBA, P, LA, L and
16-bit files of a few hundred bytes), that is most of the probe's cost. This walk reads
the chunks before the first ``IDAT`` from one 4 KiB read (more only for a longer
header), checks each one's CRC where Pillow checks it, and maps bit depth and colour
type to the mode with Pillow's own table.

It answers only where Pillow's answer is certain: the signature, then ``IHDR`` first
(13 bytes, a bit depth and colour type Pillow reads, filter method 0), then only chunks
Pillow reads without failing, warning or changing the row (``PLTE``, ``tRNS``, ``gAMA``,
``cHRM``, ``sRGB``, ``pHYs``, text and ``iCCP`` chunks it decompresses without error,
one ``acTL`` and one ``fcTL`` that it accepts, and unknown ancillary chunks), every CRC
right, up to an ``IDAT`` whose chunk header is in the file. It leaves to Pillow an
``eXIf`` chunk or a text chunk that may hold the orientation (``exif``, ``xmp`` keys),
a text key that is one of Pillow's own ``info`` keys (``default_image`` changes an
APNG's frame count), unknown critical chunks, a size over ``Image.MAX_IMAGE_PIXELS``,
``ImageFile.LOAD_TRUNCATED_IMAGES`` (which changes what Pillow checks), and anything
malformed or cut short: ``None``, and the caller asks Pillow.
``tests/test_scan_png_header.py`` holds it to Pillow's answer on generated files, on
the Pillow corpus, and on randomly damaged headers.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any, Optional

from PIL import Image, ImageFile

from ..._io import read_at
from ._claims import any_claims, formats_before

HEAD_BYTES = 4096  # signature, IHDR and the usual small chunks of a small PNG, often the whole file
MAX_CHUNK = 1 << 20  # a larger chunk before IDAT (a big ICC profile or text): Pillow reads it
MAGIC = b"\x89PNG\r\n\x1a\n"
_START = MAGIC + b"\x00\x00\x00\x0dIHDR"  # what Image.open's format sniffing sees of a plain PNG
_IHDR = struct.Struct(">IIBBBBBI")  # width, height, bit depth, colour type, compression, filter, interlace; CRC
_CHUNK = struct.Struct(">I4s")  # a chunk's length and type
_CRC = struct.Struct(">I")
# (bit depth, colour type) -> mode: PngImagePlugin._MODES
MODES = {
    (1, 0): "1", (2, 0): "L", (4, 0): "L", (8, 0): "L", (16, 0): "I;16",
    (8, 2): "RGB", (16, 2): "RGB",
    (1, 3): "P", (2, 3): "P", (4, 3): "P", (8, 3): "P",
    (8, 4): "LA", (16, 4): "RGBA",
    (8, 6): "RGBA", (16, 6): "RGBA",
}
# chunks Pillow checks only for a minimum length before filing them in ``info``
_MIN_LENGTH = {b"gAMA": 4, b"cHRM": 32, b"sRGB": 1, b"pHYs": 9, b"PLTE": 0}
_TRNS_MIN = {"1": 2, "L": 2, "I;16": 2, "RGB": 6}  # shorter raises; other modes ignore tRNS
_TEXT = frozenset((b"tEXt", b"zTXt", b"iTXt"))
# the chunks PngStream has a handler for, as this walk knows them
KNOWN = frozenset((b"IHDR", b"IDAT", b"IEND", b"PLTE", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"pHYs", b"tEXt",
                   b"zTXt", b"iTXt", b"iCCP", b"eXIf", b"acTL", b"fcTL", b"fdAT"))
# text keys left to Pillow: where the probe looks for the orientation (_file._EXIF_KEYS), and
# the keys Pillow's reader puts in ``info`` itself, which a text chunk of that name overwrites
RESERVED_KEYS = frozenset(("exif", "Raw profile type exif", "XML:com.adobe.xmp", "xmp", "icc_profile",
                           "interlace", "transparency", "gamma", "chromaticity", "srgb", "dpi", "aspect",
                           "loop", "bbox", "duration", "disposal", "blend", "default_image"))
_handled: list = []  # the chunk types Pillow's PngStream handles, found once


def read_png_header(f: Any, size: int, head: Optional[bytes] = None) -> Optional[tuple[str, int, int, int]]:
    """``(mode, width, height, n_frames)`` of a plain PNG, as ``Image.open`` would report
    them, or ``None`` when the file is not one (Pillow must decide).

    Args:
        f: the file, opened in binary mode (its position is left alone where ``os.pread``
            exists).
        size: the file's length in bytes.
    """
    window = read_at(f, 0, HEAD_BYTES) if head is None else head  # the probe may have read it
    if window[:16] != _START or len(window) < 41 or ImageFile.LOAD_TRUNCATED_IMAGES:
        return None  # 41: signature, IHDR and the next chunk's header
    w, h, depth, colour, _, filtering, _, crc = _IHDR.unpack_from(window, 16)
    mode = MODES.get((depth, colour))
    if mode is None or filtering or not 0 < w < 1 << 31 or not 0 < h < 1 << 31:
        return None  # Pillow refuses (no mode, filter method, no pixels), or a size PNG does not allow
    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and w * h > limit:  # Pillow checks any limit but None, 0 too
        return None  # Pillow warns or raises: its words, not ours
    if _crc(window, 12, 13) != crc or _claimed_before_png():
        return None
    n_frames = _walk(f, size, window, mode, (w, h))
    return None if n_frames is None else (mode, w, h, n_frames)


class _Walk:
    """What the chunks before IDAT set that the row depends on, as Pillow's PngStream keeps it."""

    __slots__ = ("n_frames", "framed", "text")

    def __init__(self) -> None:
        self.n_frames: Optional[int] = None  # acTL's frame count
        self.framed = False  # an fcTL came before IDAT (Pillow's ``bbox``)
        self.text = 0  # decoded text so far, an upper bound of Pillow's ``text_memory``


def _walk(f: Any, size: int, window: bytes, mode: str, dims: tuple[int, int]) -> Optional[int]:
    """The frame count ``Image.open`` gives, from the chunks after IHDR up to the first IDAT;
    ``None`` when one of them is not plain (see the module's docstring)."""
    state = _Walk()
    base, pos = 0, 33  # window holds the file from ``base``; ``pos`` is the next chunk
    while True:
        at = pos - base
        if at + 8 > len(window):
            window, base, at = read_at(f, pos, HEAD_BYTES), pos, 0
            if len(window) < 8:
                return None  # Pillow reads a short chunk header and fails
        length, cid = _CHUNK.unpack_from(window, at)
        if cid == b"IDAT":
            break
        end = pos + 12 + length
        if length > MAX_CHUNK or end > size:
            return None
        if at + 12 + length > len(window):
            # the chunk, its CRC and the next chunk's header
            window, base, at = read_at(f, pos, max(20 + length, HEAD_BYTES)), pos, 0
            if len(window) < 12 + length:
                return None
        data = window[at + 8:at + 8 + length]
        if _crc(window, at + 4, length) != _CRC.unpack_from(window, at + 8 + length)[0]:
            return None  # Pillow: "broken PNG file (bad header checksum ...)"
        if not _plain_chunk(cid, data, mode, dims, state):
            return None
        pos = end
    if state.n_frames is None:
        return 1
    return state.n_frames + (not state.framed)  # an IDAT before any fcTL is a default image, not a frame


def _crc(buf: bytes, at: int, length: int) -> int:
    """The CRC of the chunk whose type starts at ``at`` of ``buf``, over its type and ``length`` bytes of data."""
    return zlib.crc32(memoryview(buf)[at:at + 4 + length])


def _plain_chunk(cid: bytes, data: bytes, mode: str, dims: tuple[int, int], state: _Walk) -> bool:
    """Whether Pillow reads this chunk (before IDAT) without failing, warning or changing the row."""
    minimum = _MIN_LENGTH.get(cid)
    if minimum is not None:
        return len(data) >= minimum
    if cid == b"tRNS":
        return len(data) >= _TRNS_MIN.get(mode, 0)
    if cid in _TEXT:
        return _plain_text(cid, data, state)
    if cid == b"iCCP":
        i = data.find(b"\0")
        # Pillow reads the compression method after the name (a missing one raises) and inflates the rest
        return i + 1 < len(data) and data[i + 1] == 0 and _inflated(data[i + 2:]) is not None
    if cid == b"acTL":
        return _animation(data, state)
    if cid == b"fcTL":
        return _first_frame(data, dims, state)
    if cid in KNOWN:
        return False  # a second IHDR, IEND or fdAT before IDAT, eXIf (orientation)
    # an unknown chunk: Pillow reads past an ancillary one (lower-case first letter), whose name
    # is letters, unless a newer Pillow than this walk knows handles it
    return cid.isalpha() and cid[0] >= 0x61 and cid not in _handled_chunks()


def _plain_text(cid: bytes, data: bytes, state: _Walk) -> bool:
    """A tEXt, zTXt or iTXt chunk Pillow files in ``info`` without failing, under a key the row
    does not depend on; ``state.text`` counts what it adds to ``text_memory``."""
    key, sep, rest = data.partition(b"\0")
    if key.decode("latin-1") in RESERVED_KEYS:
        return False
    if cid == b"tEXt":
        state.text += len(rest)
    elif cid == b"zTXt":
        if rest and rest[0] != 0:
            return False  # an unknown compression method: Pillow raises
        n = _inflated(rest[1:])
        if n is None:
            return False
        state.text += n
    else:  # iTXt
        if len(rest) >= 2 and rest[0] and rest[1] == 0 and rest[2:].count(b"\0") >= 2:
            n = _inflated(rest[2:].split(b"\0", 2)[2])  # Pillow inflates only then
            if n is None:
                return False
            state.text += n
        else:
            state.text += len(rest)
    limit = _png_plugin().MAX_TEXT_MEMORY
    return state.text <= limit


def _inflated(data: bytes) -> Optional[int]:
    """The length Pillow's ``_safe_zlib_decompress`` gives ``data`` (0 where it fails and Pillow
    drops the value), or ``None`` where it raises (more than ``MAX_TEXT_CHUNK``)."""
    inflate = zlib.decompressobj()
    try:
        plain = inflate.decompress(data, _png_plugin().MAX_TEXT_CHUNK)
    except zlib.error:
        return 0
    return None if inflate.unconsumed_tail else len(plain)


def _animation(data: bytes, state: _Walk) -> bool:
    """An acTL chunk Pillow takes: the first, whole, with a frame count it accepts (else it warns)."""
    if len(data) < 8 or state.n_frames is not None:
        return False
    n = int.from_bytes(data[:4], "big")
    if n == 0 or n > 0x80000000:
        return False
    state.n_frames = n
    return True


def _first_frame(data: bytes, dims: tuple[int, int], state: _Walk) -> bool:
    """An fcTL chunk before IDAT that Pillow takes: the first, whole, sequence number 0, inside the image."""
    if len(data) < 26 or state.framed or data[:4] != b"\0\0\0\0":
        return False
    w, h, x, y = (int.from_bytes(data[i:i + 4], "big") for i in (4, 8, 12, 16))
    state.framed = True
    return x + w <= dims[0] and y + h <= dims[1]


def _png_plugin() -> Any:
    """Pillow's PNG plugin, imported where ``Image.open`` would have imported it (``preinit``)."""
    from PIL import PngImagePlugin

    return PngImagePlugin


def _handled_chunks() -> frozenset:
    if not _handled:
        stream = _png_plugin().PngStream
        _handled.append(frozenset(name[6:].encode("latin-1") for name in dir(stream)
                                  if name.startswith("chunk_") and len(name) == 10))
    return _handled[0]


def _claimed_before_png() -> bool:
    """Whether a format ``Image.open`` tries before PNG might take a plain PNG (one that
    starts with :data:`_START`).

    ``Image.open`` tries formats in registration order, which depends on what was loaded
    first (``preinit()``: BMP, GIF, JPEG, PPM, PNG; ``Image.init()`` first: every plugin
    in name order). ``preinit()`` here, as ``Image.open`` does, so that the walk leaves
    Pillow's registration order as Pillow itself would. The answer depends only on the
    formats before PNG, so it is kept until they change.
    """
    before = formats_before("PNG")
    if before is None:
        return True
    if before != _order[0]:
        _order[:] = [before, any_claims(before, _START)]
    return _order[1]


_order: list = [None, True]  # the formats tried before PNG when last asked, and the answer for them



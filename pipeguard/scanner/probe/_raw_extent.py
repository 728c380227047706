"""Truncation of uncompressed pixel data, from the header's numbers alone.

BMP, PPM/PGM, TGA, SGI, IM and uncompressed TIFF store pixels raw. Pillow's header read
already lays out each block of them (``im.tile``: offset, rows, row stride, raw
mode), so the bytes its decoder will need are known before one pixel is read; a file
shorter than that fails to decode with "image file is truncated". Compressed blocks
(JPEG, PNG, LZW, RLE...) have no length in the header: those formats are left to the
end marker (:mod:`._end_marker`) or to ``--deep``.
"""

from __future__ import annotations

from typing import Any, Optional

# bits per pixel of the raw modes Pillow's readers of uncompressed formats use; a block
# in any other raw mode is not checked (no guess: a wrong width would flag good files)
RAW_BITS = {
    "1": 1, "1;I": 1, "1;R": 1, "1;IR": 1,
    "L": 8, "P": 8, "R": 8, "G": 8, "B": 8, "A": 8,
    "LA": 16, "PA": 16, "I;16": 16, "I;16B": 16, "I;16L": 16, "I;16N": 16,
    "RGB": 24, "BGR": 24, "RGB;L": 24, "YCbCr": 24, "LAB": 24, "HSV": 24,
    "RGBA": 32, "BGRA": 32, "RGBX": 32, "BGRX": 32, "CMYK": 32,
    "I": 32, "I;32": 32, "I;32S": 32, "I;32B": 32, "I;32BS": 32, "F": 32, "F;32F": 32, "F;32BF": 32,
}


def missing_pixel_data(tiles: Any, size: int) -> Optional[str]:
    """Why a file of ``size`` bytes is too short for its raw pixel blocks, or ``None``.

    Args:
        tiles: the opened image's ``tile`` list: ``(codec, (x0, y0, x1, y1), offset, args)``
            with ``args`` the raw mode or ``(raw mode, stride, ystep)``.
        size: the file's length in bytes.

    Returns:
        ``"truncated: ..."`` with the bytes needed and present, or ``None`` when the file
        is long enough, or any block is compressed, in a raw mode not known here, or not
        in the file (offset 0: a decoded buffer, as AVIF's) or laid out with other than ints.
    """
    need = 0
    try:
        for codec, (x0, y0, x1, y1), offset, args in tiles:
            if codec != "raw":
                return None
            rawmode, stride = (args, 0) if isinstance(args, str) else (args[0], args[1] if len(args) > 1 else 0)
            bits = RAW_BITS.get(rawmode)
            if bits is None or not all(type(v) is int for v in (x0, y0, x1, y1, offset, stride)):
                return None  # numbers read from a damaged header (a TIFF rational offset): no judgment
            if stride < 0 or offset <= 0:
                # at offset 0 the pixels are not the file's: AVIF (and FTEX, DDS) decode into
                # a buffer of their own and describe that; real pixel data follows a header
                return None
            row = ((x1 - x0) * bits + 7) // 8
            if y1 <= y0 or row <= 0:
                continue
            # every row but the last takes a whole stride; the decoder stops after the last row's pixels
            need = max(need, offset + (stride or row) * (y1 - y0 - 1) + row)
    except (TypeError, ValueError, IndexError):  # a tile laid out some other way
        return None
    if need <= size:
        return None
    return f"truncated: the pixel data needs {need:,} bytes, the file has {size:,} ({need - size:,} missing)"

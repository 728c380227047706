"""The PNG chunk walk answers exactly as Pillow does, or leaves the file to Pillow.

The oracle is the probe itself with the fast path switched off: for any file, the row
with the walk and the row without it must be equal (every column, warnings included).
"""

import io
import itertools
import os
import struct
import tempfile
import zlib
from unittest import mock

import pytest
from conftest import make_image
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile, PngImagePlugin, UnidentifiedImageError
from scan_folders import cut, encoded, probed_in_fresh_processes

from pipeguard.scanner._units import Run
from pipeguard.scanner.probe import _file as probe_module
from pipeguard.scanner.probe import _png_header as png_header
from pipeguard.scanner.probe._part import probe_part
from pipeguard.scanner.probe._png_header import HEAD_BYTES, MAGIC, read_png_header

# --- PNGs built chunk by chunk -------------------------------------------------------------


def _chunk(cid: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + cid + data + struct.pack(">I", zlib.crc32(cid + data))


def _ihdr(w: int, h: int, depth: int, colour: int, interlace: int = 0) -> bytes:
    return _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, interlace))


_SAMPLES = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type -> samples per pixel
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
LEGAL = [(d, c) for c, depths in ((0, (1, 2, 4, 8, 16)), (2, (8, 16)), (3, (1, 2, 4, 8)), (4, (8, 16)),
                                  (6, (8, 16))) for d in depths]


def _scanlines(w: int, h: int, depth: int, colour: int, interlace: int) -> bytes:
    """Pixel data that decodes: each (sub)image's rows, filter byte 0, a pattern."""
    bits = depth * _SAMPLES.get(colour, 1)
    raw = bytearray()
    for x0, y0, dx, dy in (_ADAM7 if interlace else ((0, 0, 1, 1),)):
        pw, ph = (w - x0 + dx - 1) // dx, (h - y0 + dy - 1) // dy
        if pw > 0 and ph > 0:
            row = (pw * bits + 7) // 8
            for y in range(ph):
                raw += b"\0" + bytes((x * 7 + y) & (0x01 if colour == 3 and depth == 1 else 0xFF) for x in range(row))
    return zlib.compress(bytes(raw))


def png(depth: int = 8, colour: int = 6, size=(5, 3), interlace: int = 0, before=(), after=(),
        idat: bytes = b"") -> bytes:
    """A PNG: IHDR, a PLTE for palette images (unless ``before`` has one), the ``before`` chunks,
    IDAT, the ``after`` chunks, IEND."""
    parts = [MAGIC, _ihdr(*size, depth, colour, interlace)]
    if colour == 3 and not any(c[4:8] == b"PLTE" for c in before):
        parts.append(PLTE)
    parts += before
    parts.append(_chunk(b"IDAT", idat or _scanlines(*size, depth, colour, interlace)))
    parts += after
    parts.append(_chunk(b"IEND", b""))
    return b"".join(parts)


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = exif.tobytes()
    return data[6:] if data.startswith(b"Exif\0\0") else data


PLTE = _chunk(b"PLTE", bytes(range(48)))
GAMA = _chunk(b"gAMA", struct.pack(">I", 45455))
CHRM = _chunk(b"cHRM", struct.pack(">8I", 31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000))
SRGB = _chunk(b"sRGB", b"\0")
PHYS = _chunk(b"pHYs", struct.pack(">IIB", 2835, 2835, 1))
TEXT = _chunk(b"tEXt", b"Software\0pipeguard tests")
ZTXT = _chunk(b"zTXt", b"Comment\0\0" + zlib.compress(b"squeezed " * 20))
ITXT = _chunk(b"iTXt", "Title\0\0\0fr\0Titre\0été".encode())
ITXT_Z = _chunk(b"iTXt", b"Description\0\1\0en\0\0" + zlib.compress("long text ".encode() * 50))
ICCP = _chunk(b"iCCP", b"profile\0\0" + zlib.compress(bytes(range(256)) * 8))
EXIF = _chunk(b"eXIf", _exif(6))
BKGD = _chunk(b"bKGD", b"\0\0")
TIME = _chunk(b"tIME", struct.pack(">HBBBBB", 2024, 1, 2, 3, 4, 5))
PRIVATE = _chunk(b"prVt", b"anything")
TRNS = {0: _chunk(b"tRNS", b"\0\x07"), 2: _chunk(b"tRNS", b"\0\1\0\2\0\3"), 3: _chunk(b"tRNS", b"\0\x80\xff"),
        4: _chunk(b"tRNS", b"\0\0"), 6: _chunk(b"tRNS", b"\0\0")}  # ignored by Pillow for 4 and 6


def _actl(frames: int, plays: int = 0) -> bytes:
    return _chunk(b"acTL", struct.pack(">II", frames, plays))


def _fctl(seq: int, w: int, h: int, x: int = 0, y: int = 0) -> bytes:
    return _chunk(b"fcTL", struct.pack(">IIIIIHHBB", seq, w, h, x, y, 1, 10, 0, 0))


def _apng(default_image: bool = False) -> bytes:
    frames = [make_image("RGBA", (12, 10)), make_image("RGBA", (12, 10)).rotate(90)]
    return encoded(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=100,
                   default_image=default_image)


def _header(data: bytes):
    f = io.BytesIO(data)
    with mock.patch.object(png_header, "read_at", lambda f, at, n: f.getvalue()[at:at + n]):
        return read_png_header(f, len(data))


def _rows_of(folder: str, names: list, deep: bool = False) -> tuple:
    part = [Run(folder + os.sep, "", names)]
    fast = probe_part(part, deep)
    with mock.patch.object(probe_module, "read_png_header", lambda f, size, head=None: None):
        slow = probe_part(part, deep)
    return fast, slow


def _rows(path: str) -> tuple:
    """The probe's row (warnings included) with the walk and without it."""
    folder, name = os.path.split(path)
    return _rows_of(folder, [name])


def _same_rows(tmp_path, data: bytes, name: str = "x.png"):
    path = tmp_path / name
    path.write_bytes(data)
    fast, slow = _rows(str(path))
    assert fast == slow
    return fast[0]


# --- (a) generated PNGs ---------------------------------------------------------------------


@pytest.mark.parametrize("interlace", [0, 1])
@pytest.mark.parametrize("depth,colour", LEGAL)
def test_every_colour_type_and_bit_depth_gets_pillows_row(tmp_path, depth, colour, interlace):
    for extra in ((), (TRNS[colour],), (GAMA, TRNS[colour], PHYS)):
        data = png(depth, colour, (7, 5), interlace, before=(PLTE, *extra) if colour == 3 else extra)
        with Image.open(io.BytesIO(data)) as im:
            want = (im.mode, *im.size, 1)
            assert im.format == "PNG"
            im.load()  # the generated file is a real PNG
        assert _header(data) == want  # tRNS never changes the mode: gray stays L, RGB stays RGB
        row = _same_rows(tmp_path, data)
        assert (row.status, row.format) == ("ok", "PNG")


ANCILLARY = {"gAMA": GAMA, "cHRM": CHRM, "sRGB": SRGB, "pHYs": PHYS, "tEXt": TEXT, "zTXt": ZTXT, "iTXt": ITXT,
             "compressed iTXt": ITXT_Z, "iCCP": ICCP, "bKGD": BKGD, "tIME": TIME, "private": PRIVATE}


@pytest.mark.parametrize("name", list(ANCILLARY))
def test_each_ancillary_chunk_is_walked_past(tmp_path, name):
    for colour in (6, 3, 0):
        data = png(colour=colour, before=(ANCILLARY[name],))
        assert _header(data) is not None
        _same_rows(tmp_path, data)


@pytest.mark.parametrize("order", list(itertools.permutations((GAMA, CHRM, SRGB, PHYS, TEXT, ZTXT, ICCP), 3)))
def test_chunks_in_any_order(tmp_path, order):
    data = png(colour=3, before=(*order[:2], PLTE, TRNS[3], order[2]))
    assert _header(data) == ("P", 5, 3, 1)
    _same_rows(tmp_path, data)


def test_chunks_after_idat_do_not_matter(tmp_path):
    data = png(after=(TEXT, EXIF, ITXT_Z, _chunk(b"IDAT", b"more")))
    assert _header(data) == ("RGBA", 5, 3, 1)
    _same_rows(tmp_path, data)


def _pillow_png(mode: str, size=(20, 16), **kw) -> bytes:
    return encoded(make_image(mode, size), "PNG", **kw)


def _info(*pairs, z: bool = False) -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    for k, v in pairs:
        info.add_text(k, v, zip=z)
    return info


LEFT_TO_PILLOW = {
    "eXIf (orientation)": png(before=(EXIF,)),
    "eXIf written by Pillow": _pillow_png("RGB", exif=Image.Exif().tobytes()),
    "tEXt 'Raw profile type exif'": png(before=(_chunk(b"tEXt", b"Raw profile type exif\0\nexif\n  10\n"),)),
    "zTXt 'Raw profile type exif'": png(before=(_chunk(b"zTXt", b"Raw profile type exif\0\0" + zlib.compress(b"x")),)),
    "XMP in iTXt": png(before=(_chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0<x:xmpmeta "
                                       b"tiff:Orientation='6'/>"),)),
    "tEXt 'exif'": png(before=(_chunk(b"tEXt", b"exif\0Exif\0\0II*\0"),)),
    "tEXt 'default_image' in an APNG": png(before=(_actl(2), _chunk(b"tEXt", b"default_image\0yes"), _fctl(0, 5, 3))),
    "zTXt with compression method 1": png(before=(_chunk(b"zTXt", b"Comment\0\1abc"),)),
    "zTXt over MAX_TEXT_CHUNK": png(before=(_chunk(b"zTXt", b"Bomb\0\0" + zlib.compress(bytes(2 << 20))),)),
    "iTXt over MAX_TEXT_CHUNK": png(before=(_chunk(b"iTXt", b"Bomb\0\1\0\0\0" + zlib.compress(bytes(2 << 20))),)),
    "iCCP over MAX_TEXT_CHUNK": png(before=(_chunk(b"iCCP", b"big\0\0" + zlib.compress(bytes(2 << 20))),)),
    "iCCP with compression method 1": png(before=(_chunk(b"iCCP", b"icc\0\1" + zlib.compress(b"x")),)),
    "iCCP without a compression method": png(before=(_chunk(b"iCCP", b"icc\0"),)),
    "acTL with 0 frames": png(before=(_actl(0),)),
    "acTL with too many frames": png(before=(_actl(0x80000001),)),
    "two acTL": png(before=(_actl(2), _actl(3))),
    "short acTL": png(before=(_chunk(b"acTL", b"\0\0\0\2"),)),
    "fcTL out of the image": png(before=(_actl(1), _fctl(0, 5, 3, x=1))),
    "fcTL sequence not 0": png(before=(_actl(1), _fctl(1, 5, 3))),
    "two fcTL before IDAT": png(before=(_actl(2), _fctl(0, 5, 3), _fctl(1, 5, 3))),
    "short fcTL": png(before=(_actl(1), _chunk(b"fcTL", bytes(20)))),
    "fdAT before IDAT": png(before=(_actl(1), _fctl(0, 5, 3), _chunk(b"fdAT", b"\0\0\0\1xx"))),
    "IEND before IDAT": png(before=(_chunk(b"IEND", b""),)),
    "a second IHDR": png(before=(_ihdr(9, 9, 8, 6),)),
    "unknown critical chunk": png(before=(_chunk(b"CRIT", b"data"),)),
    "chunk type not letters": png(before=(_chunk(b"ab_1", b"data"),)),
    "short tRNS (gray)": png(colour=0, before=(_chunk(b"tRNS", b"\0"),)),
    "short tRNS (RGB)": png(colour=2, before=(_chunk(b"tRNS", b"\0\0\0\0"),)),
    "short gAMA": png(before=(_chunk(b"gAMA", b"\0\0\1"),)),
    "short cHRM": png(before=(_chunk(b"cHRM", bytes(31)),)),
    "empty sRGB": png(before=(_chunk(b"sRGB", b""),)),
    "short pHYs": png(before=(_chunk(b"pHYs", bytes(8)),)),
    "IHDR not first": MAGIC + TEXT + png()[8:],
    "long IHDR": MAGIC + _chunk(b"IHDR", png()[16:29] + b"\0") + png()[33:],
    "illegal bit depth": png(depth=16, colour=3),
    "illegal colour type": png(colour=5),
    "filter method 1": MAGIC + _chunk(b"IHDR", struct.pack(">IIBBBBB", 5, 3, 8, 6, 0, 1, 0)) + png()[33:],
    "zero width": MAGIC + _ihdr(0, 3, 8, 6) + png()[33:],
    "over MAX_IMAGE_PIXELS": MAGIC + _ihdr(10000, 10000, 8, 6) + png()[33:],
    "far over MAX_IMAGE_PIXELS (bomb)": MAGIC + _ihdr(100000, 100000, 8, 6) + png()[33:],
    "width over 2**31": MAGIC + _ihdr(1 << 31, 1, 8, 0) + png()[33:],
    "ICC profile over MAX_CHUNK": png(before=(_chunk(b"iCCP", b"icc\0\0" + b"\xab" * png_header.MAX_CHUNK),)),
    "IHDR with a bad CRC": png()[:29] + b"\0\0\0\0" + png()[33:],
    "gAMA with a bad CRC": png(before=(GAMA[:-1] + bytes([GAMA[-1] ^ 1]),)),
    "just the signature and IHDR": png()[:33],
    "cut inside IHDR": png()[:20],
    "cut inside a chunk before IDAT": png(before=(ICCP,))[:60],
    "cut inside the IDAT chunk header": png()[:37],
    "not a PNG": encoded(make_image("RGB", (8, 8)), "JPEG"),
    "MNG signature": b"\x8aMNG\r\n\x1a\n" + png()[8:],
}


@pytest.mark.parametrize("name", list(LEFT_TO_PILLOW))
def test_anything_unusual_is_left_to_pillow(tmp_path, name):
    data = LEFT_TO_PILLOW[name]
    assert _header(data) is None
    _same_rows(tmp_path, data)


PLAIN = {
    "RGBA": _pillow_png("RGBA"),
    "RGB": _pillow_png("RGB"),
    "P": _pillow_png("P"),
    "P with transparency": _pillow_png("P", transparency=3),
    "LA": _pillow_png("LA"),
    "L": _pillow_png("L"),
    "1": _pillow_png("1"),
    "I;16": _pillow_png("I;16"),
    "16-bit RGBA": png(16, 6),
    "16-bit RGB": png(16, 2),
    "16-bit LA (RGBA)": png(16, 4),
    "16-bit gray with tRNS": png(16, 0, before=(TRNS[0],)),
    "4-bit palette": png(4, 3, before=(PLTE, TRNS[3])),
    "L with transparency": _pillow_png("L", transparency=7),
    "RGB with transparency": _pillow_png("RGB", transparency=(1, 2, 3)),
    "interlaced RGBA": png(8, 6, (13, 11), 1),
    "1 pixel": png(8, 6, (1, 1)),
    "1 pixel, 1 bit": png(1, 0, (1, 1)),
    "dpi, text, ICC profile": _pillow_png("RGBA", dpi=(72, 72), pnginfo=_info(("Software", "gimp")),
                                          icc_profile=bytes(range(256)) * 4),
    "compressed text": _pillow_png("RGB", pnginfo=_info(("Comment", "x" * 3000), z=True)),
    "international text": _pillow_png("RGB", pnginfo=_info(("Title", "Ünïcödé ✓"))),
    "bad zlib data in iCCP": png(before=(_chunk(b"iCCP", b"icc\0\0not zlib"),)),
    "bad zlib data in zTXt": png(before=(_chunk(b"zTXt", b"Comment\0\0not zlib"),)),
    "bad zlib data in iTXt": png(before=(_chunk(b"iTXt", b"Title\0\1\0\0\0not zlib"),)),
    "iTXt not UTF-8": png(before=(_chunk(b"iTXt", b"Title\0\0\0\0\0\xff\xfe"),)),
    "iTXt with an unknown compression method": png(before=(_chunk(b"iTXt", b"Title\0\1\7\0\0xx"),)),
    "tEXt without a value": png(before=(_chunk(b"tEXt", b"Keyonly"),)),
    "iCCP without a name": png(before=(_chunk(b"iCCP", b"\0\0" + zlib.compress(b"x")),)),
    "large width, one row": MAGIC + _ihdr(80_000_000, 1, 8, 0) + png()[33:],
    "a long header past one read": png(before=(_chunk(b"tEXt", b"Comment\0" + b"x" * 3 * HEAD_BYTES), PHYS)),
    "APNG (acTL, fcTL)": _apng(),
    "APNG with a default image": _apng(default_image=True),
    "APNG by hand": png(before=(_actl(3), _fctl(0, 5, 3))),
    "APNG, default image by hand": png(before=(_actl(3),)),
    "fcTL without acTL": png(before=(_fctl(0, 2, 2, 1, 1),)),
}


@pytest.mark.parametrize("name", list(PLAIN))
def test_plain_pngs_are_read_by_the_walk_as_pillow_reads_them(tmp_path, name):
    data = PLAIN[name]
    with Image.open(io.BytesIO(data)) as im:
        want = (im.mode, *im.size, getattr(im, "n_frames", 1))
        assert im.format == "PNG"
    assert _header(data) == want
    _same_rows(tmp_path, data)


def test_the_walk_pays_for_the_common_modes():
    # an icon theme's files: if the walk stopped answering, scans would silently slow down
    for mode in ("RGBA", "P", "LA", "L", "I;16", "RGB", "1"):
        for kw in ({}, {"optimize": True}, {"dpi": (96, 96)}, {"pnginfo": _info(("Software", "inkscape"))}):
            data = _pillow_png(mode, (24, 24), **kw)
            found = _header(data)
            assert found is not None and found[0] == Image.open(io.BytesIO(data)).mode, (mode, kw)


def test_the_probe_takes_the_walk(tmp_path):
    names = []
    for i, mode in enumerate(("RGBA", "P", "LA", "L", "I;16")):
        (tmp_path / f"{i}.png").write_bytes(_pillow_png(mode))
        names.append(f"{i}.png")
    answered = []
    real = probe_module.read_png_header

    def counted(f, size, head=None):
        found = real(f, size, head)
        answered.append(found is not None)
        return found

    with mock.patch.object(probe_module, "read_png_header", counted), \
            mock.patch.object(probe_module, "_read_image", side_effect=AssertionError("Pillow was asked")):
        rows = probe_part([Run(str(tmp_path) + os.sep, "", names)])
    assert answered == [True] * len(names)
    assert [r.mode for r in rows] == ["RGBA", "P", "LA", "L", "I;16"]


def test_a_large_size_with_no_pixel_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    data = MAGIC + _ihdr((1 << 31) - 1, 3, 8, 6) + png()[33:]
    assert _header(data) == ("RGBA", (1 << 31) - 1, 3, 1)
    _same_rows(tmp_path, data)


@pytest.mark.parametrize("limit", [0, 5 * 3 - 1, 5 * 3])
def test_the_pixel_limit_is_pillows(tmp_path, monkeypatch, limit):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", limit)
    assert (_header(png()) is None) == (limit < 15)
    _same_rows(tmp_path, png())


def test_text_memory_over_pillows_limit_is_left_to_pillow(tmp_path, monkeypatch):
    monkeypatch.setattr(PngImagePlugin, "MAX_TEXT_MEMORY", 100)
    data = png(before=(TEXT, _chunk(b"tEXt", b"Comment\0" + b"x" * 90)))
    assert _header(data) is None
    assert "Too much memory" in _same_rows(tmp_path, data).error
    assert _header(png(before=(TEXT,))) is not None


def test_load_truncated_images_is_left_to_pillow(tmp_path, monkeypatch):
    # Pillow then skips ancillary CRCs and reads broken chunk types: not this walk's rules
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    assert _header(png()) is None
    _same_rows(tmp_path, LEFT_TO_PILLOW["gAMA with a bad CRC"])


def test_the_walk_knows_every_chunk_pillow_handles():
    # a Pillow with a new chunk handler: the walk must learn what it does before passing it
    handled = {name[6:].encode() for name in dir(PngImagePlugin.PngStream) if name.startswith("chunk_")}
    assert handled == png_header.KNOWN
    assert {k: mode for k, (mode, _) in PngImagePlugin._MODES.items()} == png_header.MODES
    assert png_header.RESERVED_KEYS >= probe_module._EXIF_KEYS


def test_a_misnamed_image_keeps_its_imagefolder_note(tmp_path):
    # a file ImageFolder skips (not an image extension) goes to Pillow, whose row has the note
    (tmp_path / "a.dat").write_bytes(png())
    (tmp_path / "b.dat").write_bytes(encoded(make_image("RGB", (8, 8)), "JPEG"))
    part = [Run(str(tmp_path) + os.sep, "", ["a.dat", "b.dat"])]
    fast = probe_part(part)
    with mock.patch.object(probe_module, "read_png_header", lambda f, size, head=None: None), \
            mock.patch.object(probe_module, "read_jpeg_header", lambda f, size, head=None: None):
        slow = probe_part(part)
    assert fast == slow
    assert [row.format for row in fast] == ["PNG", "JPEG"]
    assert all("ImageFolder skips this file" in row.warnings[0] for row in fast)


def test_a_png_named_jpg_and_a_jpeg_named_png(tmp_path):
    (tmp_path / "a.jpg").write_bytes(png())
    (tmp_path / "b.png").write_bytes(encoded(make_image("RGB", (8, 8)), "JPEG"))
    fast, slow = _rows_of(str(tmp_path), ["a.jpg", "b.png"])
    assert fast == slow
    assert [r.format for r in fast] == ["PNG", "JPEG"]


def test_a_deep_scan_goes_through_pillow(tmp_path):
    (tmp_path / "x.png").write_bytes(png())
    with mock.patch.object(probe_module, "read_png_header", side_effect=AssertionError("walked")):
        rows = probe_part([Run(str(tmp_path) + os.sep, "", ["x.png"])], deep=True)
    assert rows[0].status == "ok"


# --- (b) truncated and damaged files --------------------------------------------------------


def test_every_cut_of_a_png_gets_pillows_row(tmp_path):
    data = png(colour=3, before=(GAMA, PLTE, TRNS[3], TEXT, ITXT_Z), after=(TIME,))
    answered = 0
    for keep in range(len(data) + 1):
        row = _same_rows(tmp_path, data[:keep])
        answered += _header(data[:keep]) is not None
        if keep > data.index(b"IDAT") + 4:  # the header is whole: only the end is missing
            assert row.format == "PNG" and row.mode == "P"
            assert (row.status == "ok") == (keep == len(data)), keep
    assert answered == len(data) - data.index(b"IDAT") - 3


def test_a_truncated_file_is_truncated_either_way(tmp_path):
    row = _same_rows(tmp_path, cut(_pillow_png("RGBA", (64, 64))))
    assert (row.status, row.error_kind) == ("unreadable", "truncated")
    assert _header(cut(_pillow_png("RGBA", (64, 64)))) is not None  # answered, then checked from the tail


def _damage_crc(data: bytes, cid: bytes, nth: int = 0) -> bytes:
    at = -1
    for _ in range(nth + 1):
        at = data.index(cid, at + 1)
    length = struct.unpack(">I", data[at - 4:at])[0]
    crc_at = at + 4 + length
    return data[:crc_at] + bytes([data[crc_at] ^ 0x40]) + data[crc_at + 1:]


@pytest.mark.parametrize("cid,answered", [(b"IHDR", False), (b"gAMA", False), (b"tEXt", False), (b"iCCP", False),
                                          (b"IDAT", True), (b"tIME", True), (b"IEND", True)])
def test_a_damaged_crc_before_idat_is_left_to_pillow_and_after_it_changes_nothing(tmp_path, cid, answered):
    data = _damage_crc(png(before=(GAMA, TEXT, ICCP), after=(TIME,)), cid)
    assert (_header(data) is not None) == answered
    row = _same_rows(tmp_path, data)
    # a bad CRC in IEND is a missing end marker for the tail check, either way
    assert row.status == ("unreadable" if cid in (b"IHDR", b"gAMA", b"tEXt", b"iCCP", b"IEND") else "ok"), row


# --- (c) the Pillow corpus ------------------------------------------------------------------


def test_rows_match_on_every_file_of_the_pillow_corpus(pillow_corpus):
    walked = 0
    for path in sorted(pillow_corpus.iterdir()):
        fast, slow = _rows(str(path))
        assert fast == slow, path.name
        with open(path, "rb") as f:
            walked += read_png_header(f, path.stat().st_size) is not None
    assert walked >= 8  # hopper.png, transparent.png, pil123p.png, delay.png, ... at least


# --- (d) randomly damaged headers -----------------------------------------------------------


def _recrc(buf: bytearray) -> None:
    """Fix the CRC of every chunk before IDAT whose bytes are all in ``buf``, as read from ``buf``."""
    at = 8
    while at + 8 <= len(buf) and buf[at + 4:at + 8] != b"IDAT":
        length = struct.unpack_from(">I", buf, at)[0]
        end = at + 12 + length
        if end > len(buf):
            return
        struct.pack_into(">I", buf, end - 4, zlib.crc32(bytes(buf[at + 4:end - 4])))
        at = end


SEEDS = [PLAIN["dpi, text, ICC profile"], PLAIN["P with transparency"], PLAIN["APNG with a default image"],
         png(16, 0, before=(TRNS[0], ZTXT, ITXT)), png(8, 4, (9, 9), 1, before=(SRGB, CHRM, PRIVATE)),
         png(before=(_actl(2), _fctl(0, 5, 3), ITXT_Z))]
_BYTES = sorted(set(b"IDATPLTEtRNSacTLfcTLfdATeXIfiCCPzTXtiTXtIEND") | {0, 1, 2, 3, 4, 6, 8, 0x0D, 0x10, 0x1A,
                                                                        0x7F, 0x80, 0x89, 0xFF})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(range(len(SEEDS))), data=st.data())
def test_damaged_headers_get_pillows_answer_or_none(seed, data):
    original = SEEDS[seed]
    header_end = original.index(b"IDAT") + 4
    buf = bytearray(original)
    for _ in range(data.draw(st.integers(1, 4), label="changes")):
        at = data.draw(st.integers(0, header_end), label="at")
        buf[at] = data.draw(st.sampled_from(_BYTES), label="byte")
    if data.draw(st.booleans(), label="fix CRCs"):  # so that the damage reaches past the CRC checks
        _recrc(buf)
    if data.draw(st.booleans(), label="cut"):
        buf = buf[:data.draw(st.integers(0, len(buf)), label="keep")]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "x.png")
        with open(path, "wb") as f:
            f.write(bytes(buf))
        fast, slow = _rows(path)
    assert fast == slow


# --- formats Image.open tries before PNG ----------------------------------------------------


def test_formats_without_a_signature_the_walks_trust_do_not_open_a_png_or_a_jpeg():
    from pipeguard.scanner.probe._claims import SIGNATURELESS_NOT_JPEG_OR_PNG

    jpeg = io.BytesIO()
    Image.new("RGB", (4, 4)).save(jpeg, "JPEG")
    for fmt in SIGNATURELESS_NOT_JPEG_OR_PNG:
        for data in (png(), jpeg.getvalue()):
            with pytest.raises(UnidentifiedImageError):
                Image.open(io.BytesIO(data), formats=[fmt])


def test_a_format_tried_before_png_that_claims_the_file_gets_it_first(tmp_path, monkeypatch):
    Image.init()
    for fmt in ("TGA", "SPIDER"):  # no signature: they may take any file
        order = [f for f in Image.ID if f != "PNG"]
        order.insert(order.index(fmt) + 1, "PNG")
        monkeypatch.setattr(Image, "ID", order)
        assert _header(png()) is None
        _same_rows(tmp_path, png())
    monkeypatch.setattr(Image, "ID", ["PNG", *[f for f in Image.ID if f != "PNG"]])
    assert _header(png()) is not None  # the answer is kept per order, and follows it
    monkeypatch.setattr(Image, "ID", [f for f in Image.ID if f != "PNG"])
    assert _header(png()) is None


def _claimed_by_fli(data: bytes) -> bytes:
    """A JPEG whose first APP3 segment's length (0x11AF) and zero bytes spell an FLI header,
    with an EXIF segment so that the JPEG walk leaves it to Pillow."""
    body = bytearray(0x11AF - 2)
    body[0:8] = struct.pack("<HHHH", 1, 48, 32, 8)
    exif = b"\xff\xe1" + struct.pack(">H", 16) + b"Exif\x00\x00II*\x00\x08\x00\x00\x00"
    return data[:2] + b"\xff\xe3" + struct.pack(">H", 0x11AF) + bytes(body) + exif + data[2:]


def test_the_walk_leaves_pillows_plugin_order_as_pillow_would(tmp_path):
    # as for the JPEG walk: a walked PNG never reached Image.open; unless the walk runs
    # preinit() as Image.open does, the next unnamed file's sniffing (Image.init()) puts FLI
    # ahead of JPEG and a later JPEG comes out FLI. A fresh process is a clean registry.
    (tmp_path / "a.png").write_bytes(png())
    (tmp_path / "b.txt").write_text("notes\n")
    (tmp_path / "c.jpg").write_bytes(_claimed_by_fli(encoded(make_image("RGB", (48, 32)), "JPEG")))
    rows = probed_in_fresh_processes(tmp_path, ['a.png', 'b.txt', 'c.jpg'], "read_png_header")
    assert "'JPEG'" in rows[1] and "'FLI'" not in rows[1]
    assert rows[0] == rows[1]

"""The JPEG marker walk answers exactly as Pillow does, or leaves the file to Pillow.

The oracle is the probe itself with the fast path switched off: for any file, the row
with the walk and the row without it must be equal.
"""

import io
import os
import struct
import tempfile
from unittest import mock

import pytest
from conftest import make_image
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from scan_folders import cut, encoded, probed_in_fresh_processes, with_orientation

from pipeguard.scanner._units import Run
from pipeguard.scanner.probe import _file as probe_module
from pipeguard.scanner.probe._jpeg_header import HEAD_BYTES, read_jpeg_header
from pipeguard.scanner.probe._part import probe_part


def _header(data: bytes):
    f = io.BytesIO(data)
    with mock.patch("pipeguard.scanner.probe._jpeg_header.read_at", lambda f, at, n: f.getvalue()[at:at + n]):
        return read_jpeg_header(f, len(data))


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def _after_soi(data: bytes, *segments: bytes) -> bytes:
    return data[:2] + b"".join(segments) + data[2:]


def _sof_at(data: bytes) -> int:
    """Offset of the first SOF segment's marker."""
    return next(i for i in range(2, len(data) - 1) if data[i] == 0xFF and data[i + 1] in (0xC0, 0xC1, 0xC2))


def _jpeg(mode="RGB", size=(48, 32), **kw) -> bytes:
    return encoded(make_image(mode, size), "JPEG", **kw)


def _wide_tables(data: bytes) -> bytes:
    """``data`` with its quantization tables rewritten with 16-bit entries (same values)."""
    out, at = bytearray(data[:2]), 2
    while data[at + 1] != 0xDA:
        length = struct.unpack_from(">H", data, at + 2)[0]
        body = data[at + 4:at + 2 + length]
        if data[at + 1] == 0xDB:
            wide = b"".join(bytes([0x10 | body[k] & 15]) + struct.pack(">64H", *body[k + 1:k + 65])
                            for k in range(0, len(body), 65))
            out += _segment(0xDB, wide)
        else:
            out += data[at:at + 2 + length]
        at += 2 + length
    return bytes(out + data[at:])


PLAIN = {
    "baseline RGB": _jpeg(),
    "grayscale": _jpeg("L"),
    "CMYK (Adobe APP14)": _jpeg("CMYK"),
    "progressive": _jpeg(progressive=True),
    "optimized, 4:4:4": _jpeg(optimize=True, subsampling=0),
    "restart intervals (DRI)": _jpeg(restart_marker_blocks=1),
    "16-bit quantization tables": _wide_tables(_jpeg()),
    "JFIF density": _jpeg(dpi=(300, 300)),
    "comment": _jpeg(comment=b"made by a test"),
    "ICC profile past the first read": _jpeg(icc_profile=bytes(range(256)) * 40),
    "odd size": _jpeg(size=(1, 4097)),
}


@pytest.mark.parametrize("name", list(PLAIN))
def test_plain_jpegs_are_read_by_the_walk_as_pillow_reads_them(name):
    data = PLAIN[name]
    with Image.open(io.BytesIO(data)) as im:
        want = (im.mode, *im.size)
        assert im.format == "JPEG"
    assert _header(data) == want


def test_a_header_longer_than_one_read_is_followed():
    data = _after_soi(_jpeg(), _segment(0xFE, b"x" * 3 * HEAD_BYTES))  # the frame header lies beyond
    assert _sof_at(data) > 3 * HEAD_BYTES
    assert _header(data) == ("RGB", 48, 32)


def _set(data: bytes, at: int, new: bytes) -> bytes:
    return data[:at] + new + data[at + len(new):]


LEFT_TO_PILLOW = {
    "EXIF (orientation)": with_orientation("JPEG", 6),
    "XMP": _after_soi(_jpeg(), _segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta/>")),
    "Photoshop block": _after_soi(_jpeg(), _segment(0xED, b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x00")),
    "MPF (maybe MPO)": _after_soi(_jpeg(), _segment(0xE2, b"MPF\x00II*\x00")),
    "12-bit samples": _set(_jpeg(), _sof_at(_jpeg()) + 4, b"\x0c"),
    "two components": _set(_jpeg("L"), _sof_at(_jpeg("L")) + 9, b"\x02"),
    "zero height": _set(_jpeg(), _sof_at(_jpeg()) + 5, b"\x00\x00"),
    "fill bytes before a marker": _jpeg()[:2] + b"\xff" + _jpeg()[2:],
    "a short JFIF segment": _jpeg()[:2] + _segment(0xE0, b"JFIF\x00") + _jpeg()[20:],
    "a short ICC segment": _after_soi(_jpeg(), _segment(0xE2, b"ICC_PROFILE\x00\x01")),
    "a short Adobe segment": _after_soi(_jpeg(), _segment(0xEE, b"Adobe")),
    "a cut quantization table": _after_soi(_jpeg(), _segment(0xDB, b"\x00" + b"\x01" * 40)),
    "a second frame header": _after_soi(_jpeg(), _jpeg()[_sof_at(_jpeg()):_sof_at(_jpeg()) + 19]),
    "cut inside the header": _jpeg()[:_sof_at(_jpeg()) + 30],
    "not a JPEG": encoded(make_image("RGB", (8, 8)), "PNG"),
}


@pytest.mark.parametrize("name", list(LEFT_TO_PILLOW))
def test_anything_unusual_is_left_to_pillow(name):
    assert _header(LEFT_TO_PILLOW[name]) is None


def test_a_possible_decompression_bomb_is_left_to_pillow(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 48 * 32 - 1)
    assert _header(_jpeg()) is None
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 48 * 32)
    assert _header(_jpeg()) == ("RGB", 48, 32)


def _rows(path: str) -> tuple:
    """The probe's row (warnings included) with the walk and without it."""
    folder, name = os.path.split(path)
    part = [Run(folder + os.sep, "", [name])]
    fast = probe_part(part)
    with mock.patch.object(probe_module, "read_jpeg_header", lambda f, size, head=None: None):
        slow = probe_part(part)
    return fast, slow


@pytest.mark.parametrize("name", list(PLAIN) + list(LEFT_TO_PILLOW) + ["truncated"])
def test_rows_are_the_same_with_and_without_the_walk(tmp_path, name):
    data = {**PLAIN, **LEFT_TO_PILLOW, "truncated": cut(_jpeg())}[name]
    path = tmp_path / "x.jpg"
    path.write_bytes(data)
    fast, slow = _rows(str(path))
    assert fast == slow


def test_rows_match_on_every_file_of_the_pillow_corpus(pillow_corpus):
    walked = 0
    for path in sorted(pillow_corpus.iterdir()):
        fast, slow = _rows(str(path))
        assert fast == slow, path.name
        with open(path, "rb") as f:
            walked += read_jpeg_header(f, path.stat().st_size) is not None
    assert walked >= 2  # hopper.jpg, hopper_gray.jpg, truncated_jpeg.jpg at least


SEEDS = [PLAIN["baseline RGB"], PLAIN["CMYK (Adobe APP14)"], PLAIN["progressive"],
         PLAIN["restart intervals (DRI)"], LEFT_TO_PILLOW["EXIF (orientation)"]]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(range(len(SEEDS))), data=st.data())
def test_damaged_headers_get_pillows_answer_or_none(seed, data):
    original = SEEDS[seed]
    header_end = original.index(b"\xff\xda") + 16  # through the scan header
    buf = bytearray(original)
    for _ in range(data.draw(st.integers(1, 4), label="changes")):
        at = data.draw(st.integers(2, header_end), label="at")
        buf[at] = data.draw(st.sampled_from([0x00, 0x01, 0x02, 0x03, 0x08, 0x0C, 0x10, 0x7F, 0xC0, 0xC2,
                                             0xC4, 0xD8, 0xD9, 0xDA, 0xDB, 0xE0, 0xE1, 0xE2, 0xEE, 0xFE, 0xFF]),
                            label="byte")
    if data.draw(st.booleans(), label="cut"):
        buf = buf[:data.draw(st.integers(2, len(buf)), label="keep")]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "x.jpg")
        with open(path, "wb") as f:
            f.write(bytes(buf))
        fast, slow = _rows(path)
    assert fast == slow


def _claimed_by_fli(data: bytes, exif: bool = False) -> bytes:
    """``data`` with a first APP3 segment whose length (0x11AF) and zero bytes spell an FLI header."""
    body = bytearray(0x11AF - 2)  # file bytes 6 on: frames, width, height, depth
    body[0:8] = struct.pack("<HHHH", 1, 48, 32, 8)
    extra = _segment(0xE1, b"Exif\x00\x00II*\x00\x08\x00\x00\x00") if exif else b""
    return _after_soi(data, _segment(0xE3, bytes(body)) + extra)


def test_a_format_pillow_tries_before_jpeg_gets_the_file_first(tmp_path, monkeypatch):
    # once every plugin is loaded (Image.init(), which the probe calls to sniff a file
    # without an image extension), FLI comes before JPEG: Pillow opens this file as FLI
    Image.init()
    order = [fmt for fmt in Image.ID if fmt != "JPEG"]
    order.insert(order.index("FLI") + 1, "JPEG")
    monkeypatch.setattr(Image, "ID", order)
    path = tmp_path / "x.jpg"
    path.write_bytes(_claimed_by_fli(_jpeg()))
    fast, slow = _rows(str(path))
    assert slow[0].format == "FLI"
    assert fast == slow


def test_the_walk_leaves_pillows_plugin_order_as_pillow_would(tmp_path):
    # a walked JPEG never reached Image.open, so Pillow's preinit() (BMP, GIF, JPEG first)
    # did not run; the next unnamed file's sniffing ran Image.init() instead, FLI went
    # ahead of JPEG, and a later file the walk leaves to Pillow came out FLI: a fresh
    # process is the only clean plugin registry
    (tmp_path / "a.jpg").write_bytes(_jpeg())
    (tmp_path / "b.txt").write_text("notes\n")
    (tmp_path / "c.jpg").write_bytes(_claimed_by_fli(_jpeg(), exif=True))
    rows = probed_in_fresh_processes(tmp_path, ['a.jpg', 'b.txt', 'c.jpg'], "read_jpeg_header")
    assert "'JPEG'" in rows[1] and "'FLI'" not in rows[1]
    assert rows[0] == rows[1]


def test_a_pixel_limit_of_zero_is_left_to_pillow(tmp_path, monkeypatch):
    # Pillow treats any limit but None as a limit: with 0, every image is a bomb
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 0)
    assert _header(_jpeg()) is None
    path = tmp_path / "x.jpg"
    path.write_bytes(_jpeg())
    fast, slow = _rows(str(path))
    assert fast == slow

"""Truncated uncompressed images are caught from the header's numbers, exactly where Pillow's decode fails."""

import csv
import io
import struct
import warnings

import pytest
from conftest import make_image
from PIL import Image
from scan_folders import encoded

from pipeguard.scanner.probe._file import probe
from pipeguard.scanner.probe._raw_extent import missing_pixel_data

RAW = [("BMP", "1"), ("BMP", "P"), ("BMP", "RGB"), ("BMP", "RGBA"), ("PPM", "1"), ("PPM", "L"), ("PPM", "RGB"),
       ("PPM", "I;16"), ("TGA", "L"), ("TGA", "RGBA"), ("TIFF", "1"), ("TIFF", "LA"), ("TIFF", "CMYK"),
       ("TIFF", "I;16"), ("TIFF", "F"), ("SGI", "RGB"), ("TIFF", "RGB")]
SHAPES = [(37, 30), (300, 300)]  # odd row lengths (padding); TIFF strips and SGI planes


def _decodes(data: bytes) -> bool:
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
        return True
    except OSError:
        return False


def _row(tmp_path, fmt, data):
    path = tmp_path / f"x.{fmt.lower()}"
    path.write_bytes(data)
    return probe(str(path), path.name)


@pytest.mark.parametrize("fmt, mode", RAW)
@pytest.mark.parametrize("shape", SHAPES)
def test_a_short_file_is_truncated_where_pillow_cannot_decode_it(tmp_path, fmt, mode, shape):
    data = encoded(make_image(mode, shape), fmt)
    assert _row(tmp_path, fmt, data)["status"] == "ok"
    cut = data[:len(data) * 6 // 10]
    row = _row(tmp_path, fmt, cut)
    assert row["status"] == "unreadable" and row["error"].startswith("truncated: the pixel data needs"), row
    assert row["mode"] is not None  # the header is still reported
    assert not _decodes(cut)


@pytest.mark.parametrize("fmt, mode", RAW)
def test_one_byte_short_is_flagged_exactly_when_the_decode_fails(tmp_path, fmt, mode):
    # some writers pad the last row or add a footer: a byte less may still decode
    data = encoded(make_image(mode, (37, 30)), fmt)[:-1]
    flagged = _row(tmp_path, fmt, data)["status"] == "unreadable"
    assert flagged == (not _decodes(data))


def test_the_message_gives_the_bytes():
    tiles = [("raw", (0, 0, 10, 4), 54, ("BGR", 32, -1))]  # 3 strides of 32 and a last row of 30
    assert missing_pixel_data(tiles, 54 + 3 * 32 + 30) is None
    assert missing_pixel_data(tiles, 54 + 3 * 32 + 29) == (
        "truncated: the pixel data needs 180 bytes, the file has 179 (1 missing)")


def test_compressed_or_unknown_blocks_are_not_judged():
    assert missing_pixel_data([("tiff_lzw", (0, 0, 10, 10), 8, ("RGB",))], 9) is None
    assert missing_pixel_data([("raw", (0, 0, 10, 10), 8, ("RGB;5x", 0, 1))], 9) is None  # raw mode not known
    assert missing_pixel_data([("raw", None, 8, "L")], 9) is None  # laid out some other way
    rle = encoded(make_image("RGB", (64, 64)), "PCX")[:-200]  # run-length coded: no length in the header
    with Image.open(io.BytesIO(rle)) as im:
        assert missing_pixel_data(im.tile, len(rle)) is None  # --deep's to find
    assert not _decodes(rle)


def test_flagged_corpus_files_are_the_ones_that_do_not_decode(pillow_corpus):
    with open(pillow_corpus / "MANIFEST.csv", newline="") as f:
        manifest = {row["filename"]: row for row in csv.DictReader(f)}
    flagged = []
    for name, m in manifest.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the corpus's corrupt EXIF and bombs: not this test's subject
            row = probe(str(pillow_corpus / name), name)
        if (row["error"] or "").startswith("truncated: the pixel data"):
            flagged.append(name)
            assert m["probe_status"] in ("open_error", "load_error"), name
    assert "shortfile.bmp" in flagged


def test_an_avif_file_is_not_judged_by_its_decoded_size(tmp_path):
    # AVIF's tile is Pillow's own buffer (raw pixels at offset 0), not the file: every
    # AVIF bigger than a few pixels was reported truncated though it decodes
    from PIL import features
    assert missing_pixel_data([("raw", (0, 0, 224, 224), 0, "RGB")], 339) is None
    if not features.check("avif"):
        pytest.skip("Pillow built without AVIF")
    data = encoded(make_image("RGB", (224, 224)), "AVIF")
    assert _decodes(data)
    with Image.open(io.BytesIO(data)) as im:
        assert missing_pixel_data(im.tile, len(data)) is None
    row = _row(tmp_path, "AVIF", data)
    assert row["status"] == "ok" and row["error"] is None, row


def _with_strip_offsets_as_rational(data: bytes) -> bytes:
    """A little-endian TIFF whose StripOffsets entry is retyped RATIONAL (pointing at byte 8)."""
    data = bytearray(data)
    ifd = struct.unpack_from("<I", data, 4)[0]
    for i in range(struct.unpack_from("<H", data, ifd)[0]):
        at = ifd + 2 + 12 * i
        if struct.unpack_from("<H", data, at)[0] == 273:
            struct.pack_into("<HHII", data, at, 273, 5, 1, 8)
    return bytes(data)


def test_a_damaged_number_in_the_header_is_not_judged_and_does_not_raise(tmp_path):
    # a TIFF tag retyped RATIONAL gives a Fraction offset: formatting the message raised
    # TypeError out of the probe (which must never raise)
    from fractions import Fraction
    assert missing_pixel_data([("raw", (0, 0, 4, 4), Fraction(10**6, 3), ("L", 0, 1))], 100) is None
    data = _with_strip_offsets_as_rational(encoded(make_image("L", (4, 4)), "TIFF"))
    with Image.open(io.BytesIO(data)) as im:
        assert not isinstance(im.tile[0].offset, int)
        assert missing_pixel_data(im.tile, len(data)) is None
    row = _row(tmp_path, "TIFF", data)
    assert not (row["error"] or "").startswith("truncated"), row


def test_a_multipage_tiff_cut_after_its_first_page_is_judged_by_that_page(tmp_path):
    # counting frames fails on the cut page and leaves the image there; the row (and
    # --deep's decode) must still describe frame 0, which ImageFolder loads and which decodes
    frames = [Image.new("L", (20, 20), c) for c in (10, 100, 200)]
    buf = io.BytesIO()
    frames[0].save(buf, "TIFF", save_all=True, append_images=frames[1:])
    data = buf.getvalue()[:700]
    assert _decodes(data)
    path = tmp_path / "pages.tif"
    path.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain, deep = probe(str(path), path.name), probe(str(path), path.name, deep=True)
    for row in (plain, deep):
        assert row["status"] == "ok" and row["error"] is None, row
        assert any(w.startswith("frame count unreadable") for w in row["warnings"])

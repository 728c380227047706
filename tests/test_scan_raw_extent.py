"""Truncated uncompressed images are caught from the header's numbers, exactly where Pillow's decode fails."""

import csv
import io
import warnings

import pytest
from PIL import Image

from conftest import make_image
from scan_folders import encoded
from pipeguard.scanner.probe import probe
from pipeguard.scanner.raw_extent import missing_pixel_data

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

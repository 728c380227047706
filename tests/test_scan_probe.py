import pytest
from conftest import make_image
from PIL import Image
from scan_folders import (
    SIDE,
    cut,
    encoded,
    gif_claiming,
    multi_frame_gif,
    png_bytes,
    png_claiming,
    with_orientation,
)

from pipeguard.core._errors import UnreadableKind
from pipeguard.scanner._row import COLUMNS, ScanRow
from pipeguard.scanner._units import Run
from pipeguard.scanner.probe import _end_marker as end_marker
from pipeguard.scanner.probe import _file as probe_module
from pipeguard.scanner.probe._file import IMG_EXTENSIONS, probe
from pipeguard.scanner.probe._part import probe_part


def _probe(tmp_path, name, data, deep=False):
    path = tmp_path / name
    path.write_bytes(data)
    return probe(str(path), name, deep=deep)


def test_image_extensions_are_torchvisions():
    from torchvision.datasets.folder import IMG_EXTENSIONS as TV

    assert IMG_EXTENSIONS == TV


def test_a_good_image_reads_from_the_header(tmp_path):
    rec = _probe(tmp_path, "a.png", png_bytes(make_image("RGB", (20, 10))))
    assert list(rec) == list(COLUMNS)
    assert rec["status"] == "ok" and rec["error"] is None
    assert (rec["format"], rec["mode"], rec["channels"], rec["height"], rec["width"]) == ("PNG", "RGB", 3, 10, 20)
    assert rec["bytes"] == (tmp_path / "a.png").stat().st_size
    assert rec["n_frames"] == 1 and rec["orientation"] is None and rec["class"] is None


@pytest.mark.parametrize("mode, channels", [("L", 1), ("P", 1), ("PA", 2), ("LA", 2), ("RGBA", 4),
                                            ("CMYK", 4), ("I;16", 1), ("I", 1), ("F", 1), ("1", 1)])
def test_channels_are_the_mode_band_count(tmp_path, mode, channels):
    fmt = "TIFF" if mode in ("PA", "CMYK", "F", "I") else "PNG"
    rec = _probe(tmp_path, f"x.{fmt.lower()}", encoded(make_image(mode, (8, 8)), fmt))
    assert rec["status"] == "ok" and rec["mode"] == mode and rec["channels"] == channels


@pytest.mark.parametrize("fmt, name", [("JPEG", "t.jpg"), ("PNG", "t.png")])
def test_truncation_is_caught_from_the_tail_without_decoding(tmp_path, fmt, name, monkeypatch):
    data = cut(encoded(make_image("RGB", (64, 64)), fmt))
    # a plain probe must never decode: make decoding impossible and probe anyway
    monkeypatch.setattr(Image.Image, "load", lambda self: pytest.fail("decoded during a plain scan"))
    from PIL import ImageFile
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: pytest.fail("decoded during a plain scan"))
    rec = _probe(tmp_path, name, data)
    assert rec["status"] == "unreadable" and rec["error"].startswith("truncated")
    assert rec["mode"] == "RGB" and rec["height"] == 64  # the header is still reported


def test_truncated_gif_and_the_end_marker_rules():
    assert end_marker.missing_end_marker("GIF", cut(multi_frame_gif()))
    assert end_marker.missing_end_marker("GIF", multi_frame_gif()) is None
    assert end_marker.missing_end_marker("GIF", multi_frame_gif() + b"\x00\x00") is None  # padding
    jpeg = encoded(make_image("RGB", (8, 8)), "JPEG")
    assert end_marker.missing_end_marker("JPEG", jpeg[-64:]) is None
    assert end_marker.missing_end_marker("JPEG", jpeg[-64:] + b"\x00" * 40) is None  # trailing padding
    assert "FF D9" in end_marker.missing_end_marker("JPEG", jpeg[-64:-2])
    assert "IEND" in end_marker.missing_end_marker("PNG", png_bytes(make_image("L", (4, 4)))[:-1])
    assert end_marker.missing_end_marker("BMP", b"anything") is None  # not checked without decoding


def test_deep_decodes_and_keeps_the_decoder_error(tmp_path):
    rec = _probe(tmp_path, "t.jpg", cut(encoded(make_image("RGB", (64, 64)), "JPEG")), deep=True)
    assert rec["status"] == "unreadable" and rec["error"].startswith("decode failed: OSError")
    good = _probe(tmp_path, "g.jpg", encoded(make_image("RGB", (8, 8)), "JPEG"), deep=True)
    assert good["status"] == "ok"


def test_files_that_are_not_images(tmp_path):
    empty = _probe(tmp_path, "e.jpg", b"")
    assert (empty["status"], empty["error"], empty["bytes"]) == ("unreadable", "empty file (0 bytes)", 0)
    assert empty["error_kind"] == UnreadableKind.EMPTY
    assert _probe(tmp_path, "e.txt", b"")["error_kind"] is None  # not-image: no kind
    text = _probe(tmp_path, "t.jpg", b"hello\n")
    assert text["status"] == "unreadable" and "not an image" in text["error"]
    notes = _probe(tmp_path, "notes.txt", b"hello\n")
    assert (notes["status"], notes["error"], notes["format"]) == ("not-image", None, None)
    sniffed = _probe(tmp_path, "image.bin", png_bytes(make_image("RGB", (4, 4))))
    assert sniffed["status"] == "ok" and sniffed["format"] == "PNG"


def test_decompression_bombs_are_flagged_from_the_header(tmp_path):
    for name, data in (("b.png", png_claiming(20000, 20000)), ("b.gif", gif_claiming(65535, 65535))):
        rec = _probe(tmp_path, name, data)
        assert rec["status"] == "unreadable", name
        assert rec["error"].startswith("decompression bomb, not decoded"), name
    with pytest.warns(Image.DecompressionBombWarning):  # over the limit, under twice it: Pillow warns
        big = _probe(tmp_path, "big.png", png_claiming(10000, 10000))
    assert big["status"] == "ok" and big["height"] == 10000
    assert "MAX_IMAGE_PIXELS" in big["warnings"][0]


def test_frames_orientation_and_class(tmp_path):
    (tmp_path / "cats").mkdir()
    rec = _probe(tmp_path, "cats/a.gif", multi_frame_gif(4))
    assert (rec["n_frames"], rec["mode"], rec["class"]) == (4, "P", "cats")
    assert _probe(tmp_path, "r.jpg", with_orientation("JPEG", 6))["orientation"] == 6
    assert _probe(tmp_path, "r.png", with_orientation("PNG", 3))["orientation"] == 3
    assert _probe(tmp_path, "r.webp", with_orientation("WEBP", 8))["orientation"] == 8
    tiff = _probe(tmp_path, "r.tif", encoded(make_image("RGB", (SIDE, SIDE)), "TIFF"))
    assert tiff["orientation"] is None


def test_metadata_that_raises_is_a_warning_not_a_crash(tmp_path, monkeypatch):
    from PIL import PngImagePlugin

    def boom(self):
        import sys

        if sys._getframe(1).f_globals["__name__"] == "pipeguard.scanner.probe._file":  # Pillow's own use works
            raise SyntaxError("bad frame table")
        return 1

    monkeypatch.setattr(PngImagePlugin.PngImageFile, "n_frames", property(boom, lambda self, value: None), raising=False)
    monkeypatch.setattr(probe_module, "read_png_header", lambda f, size, head=None: None)  # Pillow reads it, not the PNG walk
    rec = _probe(tmp_path, "a.png", png_bytes(make_image("RGB", (4, 4))))
    assert rec["status"] == "ok" and rec["n_frames"] is None
    assert rec["warnings"] == ("frame count unreadable: SyntaxError: bad frame table",)


def test_probe_part_attaches_python_warnings_to_the_row(tmp_path, monkeypatch):
    import warnings

    from pipeguard.scanner.probe import _part as part_module

    real = part_module.probe_row

    def noisy(path, *args):
        if path.endswith("a.png"):
            warnings.warn("Corrupt EXIF data", UserWarning)
        return real(path, *args)

    monkeypatch.setattr(part_module, "probe_row", noisy)
    for name in ("a.png", "b.png"):
        (tmp_path / name).write_bytes(png_bytes(make_image("RGB", (4, 4))))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing may escape
        a, b = probe_part([Run(f"{tmp_path}/", "", ["a.png", "b.png"])])
    assert a.warnings == ("UserWarning: Corrupt EXIF data",)
    assert b.warnings == ()  # the next file starts clean


def test_pillows_own_deprecations_are_not_a_files_warnings(tmp_path):
    """Pillow warns that its IM reader is deprecated while it tries a text file with an IM
    header line: that is about Pillow, and was every such text file's warning."""
    (tmp_path / "notes.im").write_bytes(b"Image type: RGB image\nname: x\n")
    (row,) = probe_part([Run(f"{tmp_path}/", "", ["notes.im"])])
    assert row.status == "not-image" and row.warnings == ()


def test_an_xpm_variant_pillow_cannot_read_is_named_so_not_called_damaged(tmp_path):
    named = b'/* XPM */\nstatic char *x[] = {\n"2 1 2 1",\n"a c red",\n"b c None",\n"ab"};\n'
    row = _probe(tmp_path, "icon.xpm", named)
    assert row["status"] == "unreadable" and row["error_kind"] == UnreadableKind.UNSUPPORTED
    assert row["error"].startswith("Pillow cannot read this XPM variant: its reader takes only 'c #RRGGBB'")
    hex_colours = named.replace(b"c red", b"c #FF0000")  # the same file as Pillow reads it
    assert _probe(tmp_path, "ok.xpm", hex_colours)["status"] == "ok"


def test_probe_part_rows_match_probe_per_file(tmp_path):
    (tmp_path / "cats" / ".h").mkdir(parents=True)
    data = png_bytes(make_image("RGB", (4, 4)))
    for rel in ("cats/a.png", "cats/.b.png", "cats/.h/c.png", "top.png"):
        (tmp_path / rel).write_bytes(data)
    runs = [Run(f"{tmp_path}/cats/", "cats/", ["a.png", ".b.png"]), Run(f"{tmp_path}/cats/.h/", "cats/.h/", ["c.png"]),
            Run(f"{tmp_path}/", "", ["top.png"])]
    rows = probe_part(runs)
    rels = ["cats/a.png", "cats/.b.png", "cats/.h/c.png", "top.png"]
    assert rows == [ScanRow(*probe(str(tmp_path / rel), rel).values()) for rel in rels]
    assert [(r.cls, r.hidden) for r in rows] == [
        ("cats", False), ("cats", True), ("cats", True), (None, False)]


def test_unreadable_and_missing_files(tmp_path):
    import os

    os.symlink("nowhere.png", tmp_path / "l.png")
    rec = probe(str(tmp_path / "l.png"), "l.png")
    assert rec["status"] == "unreadable" and rec["error"].startswith("broken symlink")
    assert rec["error_kind"] == UnreadableKind.BROKEN_LINK
    gone = probe(str(tmp_path / "gone.txt"), "gone.txt")
    assert gone["status"] == "not-image" and "cannot open" in gone["error"] and gone["error_kind"] is None
    (tmp_path / "dir.png").mkdir()
    folder = probe(str(tmp_path / "dir.png"), "dir.png")
    assert (folder["error"], folder["error_kind"]) == ("a directory, not a file", UnreadableKind.NOT_A_FILE)


def test_a_file_without_read_permission(tmp_path):
    import os

    locked = tmp_path / "locked.png"
    locked.write_bytes(b"x")
    locked.chmod(0)
    if os.access(locked, os.R_OK):
        pytest.skip("running as root: permissions do not stop a read")
    denied = probe(str(locked), "locked.png")
    assert denied["error_kind"] == UnreadableKind.PERMISSION_DENIED and "Permission denied" in denied["error"]


def test_a_marker_found_in_the_short_tail_is_found_in_the_whole_window():
    # the probe reads SHORT_TAIL bytes first and trusts a marker found there
    from hypothesis import given, settings
    from hypothesis import strategies as st

    pieces = st.sampled_from([b"\x00", b"\xff", b"\xd9", b"\x3b", b"IEND", b"\xaeB`\x82", b"\x00\x00\x00\x00", b"x"])

    @settings(max_examples=300, deadline=None)
    @given(st.lists(pieces, max_size=200).map(b"".join))
    def check(data):
        window = data[-end_marker.TAIL_BYTES:]
        for fmt in ("JPEG", "PNG", "GIF"):
            if end_marker.missing_end_marker(fmt, window[-end_marker.SHORT_TAIL:]) is None:
                assert end_marker.missing_end_marker(fmt, window) is None, (fmt, data)

    check()


def test_truncation_needs_the_whole_window_when_the_marker_is_not_last(tmp_path):
    data = encoded(make_image("RGB", (64, 64)), "JPEG") + b"\x00" * 100  # padding after FF D9
    rec = _probe(tmp_path, "padded.jpg", data)
    assert rec["status"] == "ok"
    rec = _probe(tmp_path, "cut.jpg", cut(data[:-100]) + b"\x00" * 100)
    assert rec["status"] == "unreadable" and rec["error"].endswith("in the last 512 bytes")

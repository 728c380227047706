"""The page's placeholders for files it cannot preview: what the file is, never a Python repr;
0-byte files are never opened; small images are scaled up to the thumbnail's size."""

from __future__ import annotations

import io
import re
from base64 import b64decode

import pytest
from conftest import FIXTURES
from PIL import Image

import pipeguard as pg
from pipeguard.htmlreport._page import _jobs
from pipeguard.htmlreport._problems import problem_groups
from pipeguard.htmlreport._text import plain
from pipeguard.htmlreport._thumbnails import SIDE, Job, previews, render

pytest.importorskip("jinja2")

REPR = re.compile(r"<_io\.|object at 0x|&lt;_io\.|BufferedReader|BytesIO")
UNIDENTIFIED = "Pillow cannot identify this file as an image"


@pytest.mark.parametrize("text, said", [
    ("UnidentifiedImageError: cannot identify image file <_io.BufferedReader name=4>", UNIDENTIFIED),
    ("UnidentifiedImageError: cannot identify image file <_io.BytesIO object at 0x7f3a2c1d0e50>", UNIDENTIFIED),
    ("UnidentifiedImageError: cannot identify image file '/data/x.png'", UNIDENTIFIED),
    ("ValueError: cannot read from <_io.BufferedReader name='/data/x.png'>",
     "ValueError: cannot read from '/data/x.png'"),
    ("ValueError: cannot read from <_io.BufferedRandom mode='rb+' name=4>", "ValueError: cannot read from the file"),
    ("TypeError: bad <PIL.PngImagePlugin.PngImageFile image mode=RGB size=1x1 at 0x7F00AA>",
     "TypeError: bad PngImageFile"),
    ("OSError: wrong <foo.Bar object at 0xdeadbeef> here", "OSError: wrong here"),
    ("OSError: image file is truncated (81 bytes not processed)",
     "OSError: image file is truncated (81 bytes not processed)"),
])
def test_errors_are_said_without_reprs(text, said):
    assert plain(text) == said


def test_a_file_pillow_cannot_identify_is_said_so_whether_read_from_disk_or_memory(tmp_path):
    (tmp_path / "notes.png").write_bytes(b"This is a text file saved as .png\n")
    (tmp_path / "noise.png").write_bytes(bytes(range(256)) * 2)
    got = previews([Job(0, str(tmp_path / "notes.png"), ("file",)), Job(1, "x.png", ("file",), data=b"\x00\x01junk"),
                    Job(2, str(tmp_path / "noise.png"), ("file",))], workers=1, time_limit=30)
    assert got[0].error == UNIDENTIFIED + " (it looks like text)"
    assert got[1].error == got[2].error == UNIDENTIFIED
    assert not any(REPR.search(p.error) for p in got.values())


def test_the_page_says_what_an_unpreviewable_file_is_never_a_repr(tmp_path):
    page = tmp_path / "r.html"
    pg.scan(FIXTURES, contract=pg.Contract(channels=3, size=(64, 64))).to_html(page)
    html = page.read_text()
    assert not REPR.search(html)
    placeholders = dict(re.findall(r'data-path="([^"]+)"[^>]*>\s*<div class="views">\s*'
                                   r'<div class="placeholder" data-placeholder="file">(.*?)</div>', html, re.S))
    assert UNIDENTIFIED in placeholders["dogs/dog_not_really.jpg"] and "34 bytes" in placeholders[
        "dogs/dog_not_really.jpg"]
    assert "1,325 bytes, JPEG" in placeholders["cats/cat_truncated.jpg"]


def test_an_empty_file_is_never_opened_and_its_placeholder_says_so(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "empty.png").write_bytes(b"")
    Image.new("L", (8, 8)).save(folder / "gray.png")
    report = pg.scan(folder, contract=pg.Contract(channels=3))
    groups = problem_groups(report, report.summary())
    decided: dict = {}
    jobs = _jobs(report, groups, decided)
    empty = next(r["key"] for g in groups for r in g.rows if r["path"] == "empty.png")
    assert empty not in [k for job in jobs for k in job.keys]  # no job: the file is not opened
    assert decided[empty].error == "empty file (0 bytes)"
    page = tmp_path / "r.html"
    report.to_html(page)
    assert ('data-placeholder="file">cannot preview: empty file (0 bytes)</div>' in page.read_text())

    def refuse(*args, **kwargs):
        raise AssertionError("Pillow was handed an empty file")

    monkeypatch.setattr(Image, "open", refuse)  # a job for a file emptied since the scan: not decoded either
    assert render(Job(0, str(folder / "empty.png"), ("file",))).error == "empty file (0 bytes)"
    assert render(Job(0, "x.png", ("file",), data=b"")).error == "empty file (0 bytes)"


@pytest.mark.parametrize("size, shown", [((16, 16), (SIDE, SIDE)), ((16, 8), (SIDE, SIDE // 2)),
                                         ((300, 150), (SIDE, SIDE // 2))])
def test_a_small_image_is_shown_scaled_up_to_the_thumbnail_pixel_by_pixel(tmp_path, size, shown):
    Image.new("RGBA", size, (200, 0, 0, 128)).save(tmp_path / "icon.png")
    preview = render(Job(0, str(tmp_path / "icon.png"), ("file",)))
    assert (preview.width, preview.height) == shown
    assert preview.pixelated == (max(size) < SIDE)
    natural = Image.open(io.BytesIO(b64decode(preview.images["file"].split(",", 1)[1]))).size
    assert natural == (size if max(size) < SIDE else shown)  # the data stays small: the browser scales it

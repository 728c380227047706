"""The HTML scan report without a browser: previews, grouping, escaping, the CLI flag.

The page in a real browser is tested in test_htmlreport_browser.py.
"""

from __future__ import annotations

import io
import json
import re
from base64 import b64decode

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import FIXTURES
from PIL import Image

import pipeguard as pg
from pipeguard.cli import main
from pipeguard.htmlreport._problems import problem_groups
from pipeguard.htmlreport._thumbnails import CHANNEL_VIEWS, SIDE, Job, previews, render

pytest.importorskip("jinja2")

SCRIPT_NAME = "<script>alert(1)</script>.png"  # a folder "<script>alert(1)<" holding "script>.png"
CHANNEL_FIXTURES = ["cats/cat_gray.png", "cats/cat_gray16.png", "cats/cat_palette.png", "cats/cat_rgba.png",
                    "dogs/dog_bilevel.png", "dogs/dog_cmyk.jpg", "dogs/dog_float.tiff", "dogs/dog_la.png",
                    "dogs/dog_palette_alpha.tiff"]


def _decoded(uri: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(b64decode(uri.split(",", 1)[1]))).convert("RGB"), dtype=np.float64)


def _mode(uri: str) -> str:
    return Image.open(io.BytesIO(b64decode(uri.split(",", 1)[1]))).mode


def _thumb(image: Image.Image, side: int = SIDE) -> np.ndarray:
    image = image.copy()
    image.thumbnail((side, side), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(image.convert("RGB"), dtype=np.float64)


@pytest.mark.parametrize("name", CHANNEL_FIXTURES)
def test_previews_show_the_default_loader_and_ensure_channels(name):
    path = FIXTURES / name
    preview = render(Job(0, str(path), CHANNEL_VIEWS, 3))
    assert preview.error is None and set(preview.images) == set(CHANNEL_VIEWS)
    with Image.open(path) as im:
        im.load()
        loader = _thumb(im.convert("RGB"))           # torchvision's pil_loader
        fixed = _thumb(pg.EnsureChannels(3)(im))     # the real transform, torch and all
    # the previews are JPEG-encoded thumbnails of noisy images: compare each channel's mean
    # level, which a wrong conversion (inverted CMYK, black alpha, white 16-bit) moves by far more
    for view, want in (("default-loader", loader), ("fixed", fixed)):
        got = _decoded(preview.images[view])
        assert np.abs(got.mean(axis=(0, 1)) - want.mean(axis=(0, 1))).max() < 3, view
    assert _decoded(preview.images["file"]).shape == loader.shape  # side by side at one size


def test_a_16_bit_image_turns_white_in_the_default_loader_and_not_when_fixed():
    preview = render(Job(0, str(FIXTURES / "cats/cat_gray16.png"), CHANNEL_VIEWS, 3))
    assert _decoded(preview.images["default-loader"]).mean() > 250
    assert _decoded(preview.images["fixed"]).mean() < 200


def test_views_that_come_out_the_same_share_one_encoding_and_different_ones_do_not(tmp_path):
    Image.new("L", (200, 100), 90).save(tmp_path / "gray.png")  # L: loader and fix both replicate it
    gray = render(Job(0, str(tmp_path / "gray.png"), CHANNEL_VIEWS, 3))
    assert gray.images["default-loader"] is gray.images["fixed"]
    sixteen = render(Job(0, str(FIXTURES / "cats/cat_gray16.png"), CHANNEL_VIEWS, 3))
    assert sixteen.images["default-loader"] != sixteen.images["fixed"]


def test_files_that_cannot_be_decoded_get_their_error_not_a_crash(tmp_path):
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    jobs = [Job(0, str(FIXTURES / "cats/cat_truncated.jpg"), ("file",)), Job(1, str(garbage), ("file",)),
            Job(2, str(tmp_path / "gone.png"), ("file",)), Job(3, str(FIXTURES / "cats/cat_rgb_01.png"), ("file",))]
    got = previews(jobs, workers=2, time_limit=30)
    for key in (0, 1, 2):
        assert got[key].error and not got[key].images
    assert "truncated" in got[0].error
    assert got[3].error is None and got[3].images["file"].startswith("data:image/")


def test_a_fifo_is_refused_at_once_never_waited_on(tmp_path):
    import os

    os.mkfifo(tmp_path / "pipe.png")
    got = previews([Job(0, str(tmp_path / "pipe.png"), ("file",))], workers=1, time_limit=30)
    assert "FIFO" in got[0].error and "timed out" not in got[0].error


def test_a_file_past_the_time_limit_is_a_timed_out_preview_and_the_rest_go_on():
    jobs = [Job(k, str(FIXTURES / "cats/cat_gray16.png"), CHANNEL_VIEWS) for k in range(4)]
    got = previews(jobs, workers=1, time_limit=1e-9)  # nothing decodes in a nanosecond
    assert sorted(got) == [0, 1, 2, 3]
    assert got[0].error.startswith("timed out")


def _planted(root, n_gray: int = 0):
    """fixtures/ plus a script-named grayscale file and ``n_gray`` more grayscale files."""
    import shutil

    shutil.copytree(FIXTURES, root)
    (root / "<script>alert(1)<").mkdir()
    Image.new("L", (64, 64), 90).save(root / SCRIPT_NAME)
    if n_gray:
        (root / "gray").mkdir()
        for i in range(n_gray):
            Image.new("L", (8, 8), i % 256).save(root / "gray" / f"{i:04d}.png")
    return root


def test_page_escapes_paths_and_fetches_nothing(tmp_path):
    report = pg.scan(_planted(tmp_path / "data"), contract=pg.Contract(channels=3, size=(64, 64)))
    out = tmp_path / "report.html"
    report.to_html(out)
    html = out.read_text()
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;.png" in html
    assert not re.search(r"<script|<link|(src|href)=\"(https?:)?//|url\(", html, re.I)
    for status, n in report.counts.items():
        assert f'data-count="{status}">{n}<' in html
    assert html.count("<svg") >= 2


def test_at_most_100_files_per_reason(tmp_path):
    report = pg.scan(_planted(tmp_path / "data", n_gray=1500), contract=pg.Contract(channels=3, size=(64, 64)))
    groups = problem_groups(report, report.summary())
    channels = next(g for g in groups if g.key == "channels")
    assert channels.count == 1500 + 1 + 9 and len(channels.rows) == 100 and channels.rest == 1410
    size = next(g for g in groups if g.key == "size")
    assert size.count == 1501 and len(size.rows) == 100  # the 8×8 files fail the size too


def test_unreadable_files_are_grouped_by_kind():
    report = pg.scan(FIXTURES, contract=pg.Contract(channels=3, size=(64, 64)))
    groups = {g.key: g for g in problem_groups(report, report.summary())}
    assert groups["truncated"].status == "unreadable" and groups["truncated"].count == 1
    assert groups["empty"].count == 2 and "0 bytes" in groups["empty"].fix
    assert [r["path"] for r in groups["not-image"].rows] == ["dogs/notes.txt"]


def test_cli_writes_the_page_beside_the_json(tmp_path):
    page = tmp_path / "report.html"
    run = CliRunner().invoke(main, ["scan", str(FIXTURES), "--channels", "3", "--size", "64x64", "--format", "json",
                                    "--html", str(page)])
    assert run.exit_code == 1, run.stderr
    assert json.loads(run.stdout)["summary"]["status"]["violation"] == 10
    assert 'data-path="cats/cat_gray16.png" data-status="violation"' in page.read_text()


def test_cli_cannot_write_the_page_is_a_usage_error(tmp_path):
    run = CliRunner().invoke(main, ["scan", str(FIXTURES), "--html", str(tmp_path / "missing" / "r.html")])
    assert run.exit_code == 2
    assert run.stderr.startswith("Error: cannot write") and len(run.stderr.strip().splitlines()) == 1


def test_archive_members_are_previewed_from_tar_tar_gz_and_zip(tmp_path):
    import zipfile

    from archive_support import planted_members, write_tar, write_zip

    from pipeguard.htmlreport._page import _previews

    root = tmp_path / "shards"
    root.mkdir()
    write_tar(root / "a.tar", planted_members())
    write_tar(root / "b.tar.gz", planted_members(), "w:gz")
    write_zip(root / "c.zip", planted_members(), zipfile.ZIP_DEFLATED)
    report = pg.scan(root, contract=pg.Contract(channels=3))
    groups = problem_groups(report, report.summary())
    channels = next(g for g in groups if g.key == "channels")  # members of one archive share its path
    assert [(r["path"], r["member"]) for r in channels.rows] == [
        (archive, member) for archive in ("a.tar", "b.tar.gz", "c.zip") for member in ("000001.png", "000004.png")]
    shown = _previews(report, groups, 1, 10.0, SIDE)
    previews_of = {(r["path"], r["member"]): shown.get(r["key"]) for g in groups for r in g.rows}
    for archive in ("a.tar", "b.tar.gz", "c.zip"):
        gray = previews_of[(archive, "000001.png")]
        assert gray.error is None and set(gray.images) == set(CHANNEL_VIEWS)
        assert (_mode(gray.images["file"]), _mode(gray.images["fixed"])) == ("L", "RGB")
        assert gray.images["file"].startswith("data:image/jpeg")
        assert previews_of[(archive, "000004.png")].images["file"].startswith("data:image/png")  # RGBA: alpha kept
        assert previews_of[(archive, "000003.jpg")].error == "empty file (0 bytes)"  # an empty member: never opened


def test_an_archive_is_read_once_for_its_members_and_a_name_twice_shows_the_first(tmp_path, monkeypatch):
    import tarfile

    from archive_support import write_tar

    from pipeguard._io import _archive
    from pipeguard.htmlreport._page import _previews

    gray, rgb = io.BytesIO(), io.BytesIO()
    Image.new("L", (32, 32), 40).save(gray, "PNG")
    Image.new("RGB", (32, 32), (200, 0, 0)).save(rgb, "PNG")
    path = tmp_path / "data" / "dup.tar"
    path.parent.mkdir()
    write_tar(path, {f"{i:03d}.png": (gray.getvalue(), "") for i in range(30)})
    with tarfile.open(path, "a") as tf:  # a second x.png after the first: tar allows it
        for data in (gray.getvalue(), rgb.getvalue()):
            info = tarfile.TarInfo("x.png")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    report = pg.scan(path.parent, contract=pg.Contract(channels=3))
    groups = problem_groups(report, report.summary())
    assert sum(r["member"] is not None for g in groups for r in g.rows) == 31  # 30 gray + the first x.png
    log = tmp_path / "opened.log"  # written by the (forked) preview workers
    real = _archive.open_regular  # how pipeguard._io opens every local archive (read_members too)

    def logged(p, *args):
        with open(log, "a") as f:
            f.write(p + "\n")
        return real(p, *args)

    monkeypatch.setattr(_archive, "open_regular", logged)  # after the scan: the page's opens only
    shown = _previews(report, groups, 1, 10.0, SIDE)
    assert log.read_text().splitlines() == [str(path)]  # one open, one pass for the 31 listed members
    assert all(p.error is None for p in shown.values())
    rows = [r for g in groups for r in g.rows if r["member"] == "x.png"]
    assert len(rows) == 1 and _mode(shown[rows[0]["key"]].images["file"]) == "L"  # the first x.png, gray


def test_a_streamed_report_gets_the_same_groups_without_being_read_back_whole(tmp_path, monkeypatch):
    from pipeguard.scanner.output._report import ScanReport

    folder = _planted(tmp_path / "data", n_gray=30)
    contract = pg.Contract(channels=3, size=(64, 64))
    held = pg.scan(folder, contract=contract)
    want = [(g.key, g.count, [(r["key"], r["path"], r["status"]) for r in g.rows])
            for g in problem_groups(held, held.summary(), per_reason=20)]
    streamed = pg.scan(folder, contract=contract, output=tmp_path / "rows.jsonl")
    chunks = ScanReport.chunks
    monkeypatch.setattr(ScanReport, "chunks", lambda self, size=20_000: chunks(self, 7))  # many small parts
    monkeypatch.setattr(ScanReport, "frame", property(lambda self: pytest.fail("the whole table was read back")))
    got = [(g.key, g.count, [(r["key"], r["path"], r["status"]) for r in g.rows])
           for g in problem_groups(streamed, streamed.summary(), per_reason=20)]
    assert got == want
    streamed.to_html(tmp_path / "page.html")  # the size chart comes from the tally, not the table
    assert 'data-count="violation">' in (tmp_path / "page.html").read_text()


def test_a_zip_with_a_name_twice_shows_the_first_and_a_name_in_two_groups_gets_both(tmp_path):
    import zipfile

    from pipeguard.htmlreport._thumbnails import run

    gray, rgb = io.BytesIO(), io.BytesIO()
    Image.new("L", (32, 32), 40).save(gray, "PNG")
    Image.new("RGB", (32, 32), (200, 0, 0)).save(rgb, "PNG")
    path = tmp_path / "dup.zip"
    with zipfile.ZipFile(path, "w") as z, pytest.warns(UserWarning, match="Duplicate name"):
        z.writestr("x.png", gray.getvalue())
        z.writestr("x.png", rgb.getvalue())
    got = run(Job(1, str(path), (), members=((1, "x.png", ("file",)), (2, "x.png", CHANNEL_VIEWS),
                                             (3, "gone.png", ("file",)))))
    assert _mode(got[1].images["file"]) == "L" and set(got[2].images) == set(CHANNEL_VIEWS)
    assert "gone.png" in got[3].error

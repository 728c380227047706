"""pg.scan / pipeguard scan over an object store: a real S3 server (moto, over HTTP) and fsspec URLs."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import pipeguard as pg

pytest.importorskip("s3fs")
pytest.importorskip("moto")

from archive_support import planted_members, write_tar, write_zip  # noqa: E402
from s3_server import s3_with_credentials  # noqa: E402
from scan_folders import SIDE, build  # noqa: E402

CONTRACT = {"channels": 3, "size": (SIDE, SIDE)}
COMPARED = ["path", "member", "status", "format", "mode", "channels", "height", "width", "bytes", "error_kind"]


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    with s3_with_credentials() as server:
        yield server


@pytest.fixture(scope="module")
def planted(tmp_path_factory, s3):
    """The planted folder with two archives, locally (the broken symlink removed: a bucket
    holds no links) and uploaded to s3://planted/train/."""
    root = tmp_path_factory.mktemp("planted")
    build(root)
    os.unlink(root / "dogs" / "broken_link.png")
    (root / "shards").mkdir()
    write_tar(root / "shards" / "shard-000.tar", planted_members())
    write_zip(root / "shards" / "shard-001.zip", planted_members())
    write_tar(root / "shards" / "shard-002.tar.gz", planted_members(), mode="w:gz")
    return root, s3.upload(root, "planted", "train")


def options(s3):
    return {"endpoint_url": s3.endpoint}


def rows(report):
    frame = report.frame[COMPARED].astype(object)
    return [tuple(None if pd.isna(v) else v for v in r) for r in frame.itertuples(index=False)]


def test_a_bucket_scans_to_the_rows_of_its_local_copy(planted, s3):
    local_root, url = planted
    local = pg.scan(local_root, contract=CONTRACT, workers=1)
    remote = pg.scan(url, contract=CONTRACT, storage_options=options(s3))
    assert remote.root == url
    assert rows(remote) == rows(local)
    assert remote.frame["member"].notna().sum() == 3 * len(planted_members())  # archives member by member
    assert {**remote.summary(), "root": None} == {**local.summary(), "root": None}
    assert remote.exit_code == local.exit_code == 1


def _big_jpeg(seed: int) -> bytes:
    noise = np.random.default_rng(seed).integers(0, 256, (1500, 2000, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, "JPEG", quality=95)
    return buf.getvalue()


def test_large_files_are_read_in_ranges_never_whole(s3, monkeypatch):
    import s3fs

    fs = s3.filesystem()
    fs.mkdir("big")
    sizes = []
    for i in range(6):
        data = _big_jpeg(i)
        sizes.append(len(data))
        fs.pipe_file(f"big/photos/{i}.jpg", data)
    assert min(sizes) > 2_000_000
    fetched = []
    real = s3fs.S3FileSystem._cat_file

    async def counted(self, path, version_id=None, start=None, end=None, **kw):
        data = await real(self, path, version_id=version_id, start=start, end=end, **kw)
        fetched.append(len(data))
        return data

    monkeypatch.setattr(s3fs.S3FileSystem, "_cat_file", counted)
    report = pg.scan("s3://big/photos", storage_options=options(s3))
    assert list(report.frame["status"]) == ["ok"] * 6
    assert list(report.frame["bytes"]) == sizes
    assert len(fetched) == 12  # a head and a tail per file
    assert sum(fetched) <= 6 * (64 * 1024 + 512)


def test_a_request_that_fails_is_that_files_unreadable_row(s3):
    from pipeguard.scanner._units import Run
    from pipeguard.scanner.probe._part import flatten, probe_part
    from pipeguard.scanner.sources._remote import Key

    fs = s3.filesystem()
    fs.mkdir("gone")
    fs.pipe_file("gone/kept.png", b"x")
    run = Run("gone/", "", [Key("deleted.jpg", 5000), Key("kept.png", 1)], 0, fs)
    deleted, kept = flatten(probe_part([run]))
    assert deleted.status == "unreadable" and deleted.error_kind == "read error"
    assert "FileNotFoundError" in deleted.error
    assert kept.status == "unreadable" and kept.path == "kept.png"  # one byte: read, and not an image


def test_a_list_of_urls_is_scanned_as_given(planted, s3):
    _, url = planted
    listed = [url + "cats/rgb.png", url + "cats/missing.png", url + "dogs"]
    report = pg.scan(listed, contract=CONTRACT, storage_options=options(s3))
    paths = list(report.frame["path"])
    assert paths[:2] == listed[:2]
    assert report.frame["status"].iloc[1] == "unreadable"
    assert all(p.startswith(url + "dogs/") for p in paths[2:]) and len(paths) > 10


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "pipeguard", "scan", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)


def test_cli_scans_a_bucket_with_aws_endpoint_url(planted, s3):
    local_root, url = planted
    done = _cli(url.rstrip("/"), "--channels", "3", "--size", "16x16", "--format", "json",
                env={"AWS_ENDPOINT_URL": s3.endpoint})
    assert done.returncode == 1, done.stderr
    got = json.loads(done.stdout)
    local = pg.scan(local_root, contract=CONTRACT, workers=1)
    assert [r["path"] for r in got["files"]] == list(local.frame["path"])
    assert got["summary"]["root"] == url.rstrip("/")
    assert {**got["summary"], "root": None} == json.loads(json.dumps({**local.summary(), "root": None}))


def test_cli_storage_options_and_a_missing_bucket(planted, s3):
    _, url = planted
    done = _cli(url, "--storage-option", f"endpoint_url={s3.endpoint}", "--storage-option", "anon=false",
                "--format", "csv")
    assert done.returncode == 1 and done.stdout.startswith("path,"), done.stderr
    missing = _cli("s3://no-such-bucket/train", "--storage-option", f"endpoint_url={s3.endpoint}")
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1 and "s3://no-such-bucket/train" in missing.stderr
    assert missing.stderr.startswith("Error: ") and "Traceback" not in missing.stderr


def test_memory_urls_go_through_the_same_code(tmp_path):
    import fsspec

    fs = fsspec.filesystem("memory")
    rgb = io.BytesIO()
    Image.new("RGB", (SIDE, SIDE)).save(rgb, "PNG")
    fs.pipe({"/pg-mem/a/x.png": rgb.getvalue(), "/pg-mem/a/y.txt": b"hello", "/pg-mem/b.png": rgb.getvalue()[:40]})
    report = pg.scan("memory://pg-mem", contract=CONTRACT)
    assert list(report.frame["path"]) == ["a/x.png", "a/y.txt", "b.png"]
    assert list(report.frame["status"]) == ["ok", "not-image", "unreadable"]
    assert [c if isinstance(c, str) else "-" for c in report.frame["class"]] == ["a", "a", "-"]


def test_a_file_url_scans_as_the_local_folder_it_names(tmp_path):
    """file:// is the local folder: a broken link, a FIFO and an empty file keep their own
    rows, a link to a folder is skipped (or followed) as locally, and the page shows previews."""
    root = tmp_path / "data"
    root.mkdir()
    build(root)
    os.mkfifo(root / "cats" / "pipe.png")
    (root / "cats" / "empty.png").write_bytes(b"")
    os.symlink(root / "cats", root / "cats_link")
    for follow in (False, True):
        url = pg.scan(root.as_uri(), contract=CONTRACT, follow_symlinks=follow)
        local = pg.scan(root, contract=CONTRACT, follow_symlinks=follow)
        assert rows(url) == rows(local) and url.walk == local.walk
    kinds = dict(zip(url.frame["path"], url.frame["error_kind"]))
    assert (kinds["dogs/broken_link.png"], kinds["cats/pipe.png"], kinds["cats/empty.png"]) == (
        "broken link", "not a file", "empty")
    listed = pg.scan([(root / "cats" / "rgb.png").as_uri(), (root / "dogs").as_uri()], contract=CONTRACT)
    assert list(listed.frame["path"])[0] == str(root / "cats" / "rgb.png")  # the local path it names
    pytest.importorskip("jinja2")
    url.to_html(tmp_path / "page.html")
    assert "data:image/" in (tmp_path / "page.html").read_text()  # previews read the local files


def test_the_page_previews_objects_and_shard_members_in_the_bucket(planted, s3):
    pytest.importorskip("jinja2")
    from pipeguard.htmlreport._page import _previews
    from pipeguard.htmlreport._problems import problem_groups

    report = pg.scan(planted[1], contract=CONTRACT, storage_options=options(s3))
    groups = problem_groups(report, report.summary())
    shown = _previews(report, groups, 1, 10.0, 64)
    previews_of = {(r["path"], r["member"]): shown.get(r["key"]) for g in groups for r in g.rows}
    for place in (("cats/gray.png", None), ("shards/shard-000.tar", "000001.png"),
                  ("shards/shard-001.zip", "000001.png"), ("shards/shard-002.tar.gz", "000004.png")):
        assert previews_of[place].error is None and previews_of[place].images, place

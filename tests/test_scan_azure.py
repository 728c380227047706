"""pg.scan / pipeguard scan over Azure Blob storage: ``az://`` URLs through adlfs, against a
real Azurite server (see azure_server.py) reached with its development connection string."""

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

pytest.importorskip("adlfs")

from archive_support import planted_members, write_tar  # noqa: E402
from azure_server import azurite  # noqa: E402, F401 (a fixture)
from scan_folders import SIDE, build  # noqa: E402

CONTRACT = {"channels": 3, "size": (SIDE, SIDE)}
COMPARED = ["path", "member", "status", "format", "mode", "channels", "height", "width", "bytes", "error_kind"]
HEAD = 64 * 1024  # what the probe reads of a large object's start (and at most of its end)


@pytest.fixture(scope="module")
def planted(tmp_path_factory, azurite):  # noqa: F811
    """The planted folder (images, broken and not-image files, nested folders) with a
    WebDataset shard, locally (the broken symlink removed: a container holds no links) and
    uploaded to az://planted/train/."""
    root = tmp_path_factory.mktemp("planted")
    build(root)
    os.unlink(root / "dogs" / "broken_link.png")
    (root / "shards" / "deeper").mkdir(parents=True)
    write_tar(root / "shards" / "shard-000.tar", planted_members())
    write_tar(root / "shards" / "deeper" / "shard-001.tar", planted_members())
    return root, azurite.upload(root, "planted", "train")


def rows(report):
    frame = report.frame[COMPARED].astype(object)
    return [tuple(None if pd.isna(v) else v for v in r) for r in frame.itertuples(index=False)]


def test_a_container_scans_to_the_rows_of_its_local_copy(planted, azurite):  # noqa: F811
    local_root, url = planted
    local = pg.scan(local_root, contract=CONTRACT, workers=1)
    remote = pg.scan(url, contract=CONTRACT, storage_options=azurite.options())
    assert remote.root == url
    assert rows(remote) == rows(local)
    assert remote.frame["member"].notna().sum() == 2 * len(planted_members())  # the shards member by member
    assert {"ok", "violation", "unreadable", "not-image"} <= set(remote.frame["status"])
    assert {**remote.summary(), "root": None} == {**local.summary(), "root": None}
    assert remote.exit_code == local.exit_code == 1


def _cli(*args, timeout=180, env=None):
    return subprocess.run([sys.executable, "-m", "pipeguard", "scan", *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=timeout, env={**os.environ, **(env or {})})


@pytest.mark.parametrize("given_by", ["--storage-option", "AZURE_STORAGE_CONNECTION_STRING"])
def test_cli_scans_a_container_with_a_connection_string(planted, azurite, given_by):  # noqa: F811
    local_root, url = planted
    if given_by == "--storage-option":
        how = {"args": ["--storage-option", f"connection_string={azurite.connection_string}"]}
    else:  # the environment variable adlfs reads
        how = {"args": [], "env": {"AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string}}
    done = _cli(url, "--channels", "3", "--size", "16x16", "--format", "json", *how["args"], env=how.get("env"))
    assert done.returncode == 1, done.stderr[-2000:]
    got = json.loads(done.stdout)
    local = pg.scan(local_root, contract=CONTRACT, workers=1)
    fields = ["path", "member", "status", "channels", "height", "width", "error_kind"]
    expected = json.loads(local.frame[fields].to_json(orient="records"))
    assert [{k: r.get(k) for k in fields} for r in got["files"]] == expected
    assert {**got["summary"], "root": None} == json.loads(json.dumps({**local.summary(), "root": None}))


def test_a_missing_container_is_one_error_line(azurite):  # noqa: F811
    missing = _cli("az://no-such-container/train", "--storage-option",
                   f"connection_string={azurite.connection_string}", timeout=120)
    assert missing.returncode == 2, missing.stderr[-2000:]
    assert missing.stdout == ""
    assert missing.stderr.startswith("Error: ") and missing.stderr.count("\n") == 1, missing.stderr[-2000:]
    assert "no such" in missing.stderr and "az://no-such-container/train" in missing.stderr


def test_a_wrong_account_key_is_one_error_line(planted, azurite):  # noqa: F811
    _, url = planted
    wrong = azurite.connection_string.replace("AccountKey=Eby8", "AccountKey=Xby8")
    refused = _cli(url, "--storage-option", f"connection_string={wrong}", timeout=120)
    assert refused.returncode == 2 and refused.stdout == "", refused.stderr[-2000:]
    assert refused.stderr.startswith("Error: ") and refused.stderr.count("\n") == 1 and url in refused.stderr
    assert "AuthorizationFailure" in refused.stderr and "Traceback" not in refused.stderr


def _big_jpeg(seed: int) -> bytes:
    noise = np.random.default_rng(seed).integers(0, 256, (1500, 2000, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, "JPEG", quality=95)
    return buf.getvalue()


def test_large_objects_are_read_in_ranges_never_whole(azurite, monkeypatch):  # noqa: F811
    """At most two ranged reads (head, tail) of a large object, counted both where adlfs
    reads (``_cat_file``, which its ``_cat_ranges`` calls once per range) and as HTTP GETs."""
    import adlfs
    from azure.core.pipeline.transport import AioHttpTransport

    fs = azurite.filesystem()
    fs.mkdir("big")
    sizes = {}
    for i in range(4):
        data = _big_jpeg(i)
        sizes[f"{i}.jpg"] = len(data)
        fs.pipe_file(f"big/photos/{i}.jpg", data)
    fs.pipe_file("big/photos/small.txt", (small := b"labels checked by hand\n" * 100))  # under the head: read once
    assert min(sizes.values()) > 2_000_000
    reads: list[tuple[str, object, object, int]] = []
    gets: list[str] = []
    real_cat, real_send = adlfs.AzureBlobFileSystem._cat_file, AioHttpTransport.send

    async def counted_cat(self, path, start=None, end=None, **kw):
        data = await real_cat(self, path, start=start, end=end, **kw)
        reads.append((path.rsplit("/", 1)[-1], start, end, len(data)))
        return data

    async def counted_send(self, request, **kw):
        if request.method == "GET" and "/big/photos/" in request.url:
            gets.append(request.url.split("?")[0].rsplit("/", 1)[-1])
        return await real_send(self, request, **kw)

    monkeypatch.setattr(adlfs.AzureBlobFileSystem, "_cat_file", counted_cat)
    monkeypatch.setattr(AioHttpTransport, "send", counted_send)
    report = pg.scan("az://big/photos", storage_options=azurite.options())
    assert list(report.frame["path"]) == [*sizes, "small.txt"]
    assert list(report.frame["status"]) == ["ok"] * 4 + ["not-image"]
    assert list(report.frame["bytes"]) == [*sizes.values(), len(small)]
    for name, size in sizes.items():
        mine = [r for r in reads if r[0] == name]
        assert 1 <= len(mine) <= 2 and gets.count(name) == len(mine), (name, mine, gets)
        assert all(start is not None and read <= HEAD + 512 for _, start, _, read in mine), mine
        assert sum(read for *_, read in mine) < size // 10
    assert [r[3] for r in reads if r[0] == "small.txt"] == [len(small)] and gets.count("small.txt") == 1
    print(f"\nazure ranged reads: {len(reads)} reads, {len(gets)} GETs, "
          f"{sum(r[3] for r in reads)} bytes for {sum(sizes.values()) + len(small)} stored")


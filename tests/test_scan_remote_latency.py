"""A bucket 20 ms away (issue 26): the real S3 server (moto) behind ``shared/tools/latency_proxy.py``.
The scan through the proxy gives the rows of the local copy, with one request for a small
object and at most two for a large one, and keeps several parts' requests in flight."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import pipeguard as pg

pytest.importorskip("moto")
pytest.importorskip("s3fs")

from archive_support import planted_members, write_tar  # noqa: E402
from s3_server import free_port, s3_with_credentials  # noqa: E402
from scan_folders import SIDE, build  # noqa: E402

CONTRACT = {"channels": 3, "size": (SIDE, SIDE)}
COMPARED = ["path", "member", "status", "format", "mode", "channels", "height", "width", "bytes", "error_kind"]
# the proxy lives in the shared tools beside the clone; .ci/run names it
PROXY = Path(os.environ.get("PIPEGUARD_LATENCY_PROXY", Path(__file__).resolve().parents[2] / "shared" / "tools"
                            / "latency_proxy.py"))


@pytest.fixture(scope="module")
def far(tmp_path_factory):
    """The planted folder (and a WebDataset shard, and large photos) locally and in a bucket
    reached through the proxy at a 20 ms round trip: ``(local root, url, options)``."""
    if not PROXY.is_file():
        pytest.skip(f"no latency proxy at {PROXY} (set PIPEGUARD_LATENCY_PROXY)")
    with s3_with_credentials() as server:
        port = free_port()
        proxy = subprocess.Popen([sys.executable, str(PROXY), str(port), str(server.port), "--rtt-ms", "20"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            assert proxy.stdout.readline().startswith("proxy:")  # listening
            root = _far_folder(tmp_path_factory.mktemp("far"))
            yield root, server.upload(root, "far", "train"), {"endpoint_url": f"http://127.0.0.1:{port}"}
        finally:
            proxy.send_signal(signal.SIGTERM)
            proxy.communicate(timeout=30)


def _far_folder(root: Path) -> Path:
    build(root)
    os.unlink(root / "dogs" / "broken_link.png")  # a bucket holds no links
    (root / "shards").mkdir()
    write_tar(root / "shards" / "shard-000.tar", planted_members())
    (root / "photos").mkdir()
    for i in range(3):
        noise = np.random.default_rng(i).integers(0, 256, (900, 1200, 3), dtype=np.uint8)
        buf = io.BytesIO()
        Image.fromarray(noise).save(buf, "JPEG", quality=95)
        (root / "photos" / f"{i}.jpg").write_bytes(buf.getvalue())
    return root


def rows(report):
    frame = report.frame[COMPARED].astype(object)
    return [tuple(None if pd.isna(v) else v for v in r) for r in frame.itertuples(index=False)]


def test_a_scan_through_the_latency_proxy_gives_the_local_rows(far):
    root, url, options = far
    local = pg.scan(root, contract=CONTRACT, workers=1)
    remote = pg.scan(url, contract=CONTRACT, storage_options=options)
    assert rows(remote) == rows(local)
    assert {**remote.summary(), "root": None} == {**local.summary(), "root": None}


def test_one_request_for_a_small_object_at_most_two_for_a_large_one(far, monkeypatch):
    import s3fs

    from pipeguard.scanner.probe._ranged import HEAD_BYTES

    root, url, options = far
    reads: dict[str, list[int]] = {}
    real = s3fs.S3FileSystem._cat_file

    async def counted(self, path, version_id=None, start=None, end=None, **kw):
        data = await real(self, path, version_id=version_id, start=start, end=end, **kw)
        reads.setdefault(path.split("/train/", 1)[1], []).append(len(data))
        return data

    monkeypatch.setattr(s3fs.S3FileSystem, "_cat_file", counted)
    pg.scan(url + "photos/", storage_options=options)
    pg.scan(url + "cats/", storage_options=options)
    sizes = {p.relative_to(root).as_posix(): p.stat().st_size for d in ("photos", "cats") for p in (root / d).iterdir()
             if p.is_file() and not p.is_symlink()}
    for path, size in sizes.items():
        got = reads.get(path, [])
        if 0 < size <= HEAD_BYTES:
            assert got == [size], path  # one request, the whole small object
        elif size:
            assert len(got) == 2 and sum(got) < 2 * HEAD_BYTES, (path, size, got)  # head and tail, never whole
    assert any(size > 1 << 20 for size in sizes.values())


def test_several_parts_requests_are_in_flight_at_once(far, monkeypatch):
    """Requests stay in flight across parts: a part's heads are fetched while earlier parts
    are probed, not one part's batch waited on at a time."""
    from pipeguard.scanner.engine import _local
    from pipeguard.scanner.probe import _ranged

    _, url, options = far
    monkeypatch.setattr(_local, "PLAIN_PART", 4)  # parts of 4 files: the planted folder makes a dozen
    lock, now, most = threading.Lock(), [0], [0]
    real = _ranged.part_heads

    def tracked(part):
        with lock:
            now[0] += 1
            most[0] = max(most[0], now[0])
        try:
            return real(part)
        finally:
            with lock:
                now[0] -= 1

    monkeypatch.setattr(_ranged, "part_heads", tracked)
    report = pg.scan(url, contract=CONTRACT, storage_options=options)
    assert len(report.frame) > 20
    assert most[0] >= 2, most[0]

"""Object stores that misbehave (issue 24): odd keys, listings that fail mid-scan, stores
that accept connections and never answer, and storage options for URLs in a list.

The stores are real servers on this machine: moto over HTTP, and an HTTP server in a
thread that answers a listing (or nothing) and then never answers. Every scan against a
store that hangs runs in a subprocess with a timeout, so a regression fails, never hangs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional

import pytest
from PIL import Image

import pipeguard as pg

pytest.importorskip("s3fs")
pytest.importorskip("moto")

from s3_server import CREDENTIALS, s3_with_credentials  # noqa: E402
from scan_folders import png_bytes  # noqa: E402

BOUND = 60  # seconds any subprocess may take: far above the few timeouts a fixed scan needs


@pytest.fixture(scope="module")
def s3():
    with s3_with_credentials() as server:
        yield server


def _png() -> bytes:
    return png_bytes(Image.new("RGB", (16, 16), (200, 10, 10)))


def _cli(*args: str, stdin: Optional[str] = None, env: Optional[dict] = None
         ) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "pipeguard", "scan", *args], capture_output=True, text=True,
                          input=stdin, env={**os.environ, **CREDENTIALS, **(env or {})}, timeout=BOUND)
    return done, time.monotonic() - started


def _one_line_error(done: subprocess.CompletedProcess) -> bool:
    return done.returncode == 2 and done.stderr.startswith("Error: ") and done.stderr.count("\n") == 1 \
        and "Traceback" not in done.stderr


# --- every object listed is a row -------------------------------------------------------


def test_keys_with_an_empty_folder_name_are_rows(s3):
    """``d//double.png`` is an object like any other: listed by folder, fsspec never reaches
    it (``ls('b/d//')`` is ``ls('b/d')``), so it was left out without a row."""
    fs = s3.filesystem()
    fs.mkdir("dbl")
    keys = ["d/a.png", "d//double.png", "d//sub/deep.png", "d///triple.png", "//top.png", "e/x.png"]
    for key in keys:
        fs.pipe_file(f"dbl/{key}", _png())
    fs.pipe_file("dbl/e/", b"")  # a folder marker, as the console makes: not an object of the data
    report = pg.scan("s3://dbl", storage_options={"endpoint_url": s3.endpoint})
    assert list(report.frame["path"]) == sorted(keys)  # path order, every object a row
    assert list(report.frame["status"]) == ["ok"] * len(keys)  # and read back
    assert list(report.frame["class"])[1:5] == ["d"] * 4
    listed = pg.scan(["s3://dbl/d"], storage_options={"endpoint_url": s3.endpoint})
    assert list(listed.frame["path"]) == ["s3://dbl/d/" + k[2:] for k in sorted(keys) if k.startswith("d/")]


# --- a prefix whose listing fails is a row ----------------------------------------------


class _FailingListing:
    """Listings of ``flaky/train/dogs`` fail once ``allowed`` of them went through."""

    def __init__(self) -> None:
        self.error: Exception = OSError()
        self.allowed = self.seen = 0


@pytest.fixture
def failing_listing(s3, monkeypatch):
    """A bucket whose ``train/dogs`` prefix cannot be listed (the store refuses, or the
    connection drops) during the scan: the other listings and every read go to the store."""
    import s3fs

    fs = s3.filesystem()
    if not fs.exists("flaky"):
        fs.mkdir("flaky")
    for key in ("train/cats/a.png", "train/dogs/b.png", "train/dogs/c.png", "train/zebras/d.png"):
        fs.pipe_file(f"flaky/{key}", _png())
    real = s3fs.S3FileSystem._lsdir  # what ls and isdir ask the store through
    failing = _FailingListing()

    async def flaky_lsdir(self, path, *args, **kwargs):
        if self._strip_protocol(path).rstrip("/") == "flaky/train/dogs":
            failing.seen += 1
            if failing.seen > failing.allowed:
                raise failing.error
        return await real(self, path, *args, **kwargs)

    monkeypatch.setattr(s3fs.S3FileSystem, "_lsdir", flaky_lsdir)
    return failing


@pytest.mark.parametrize("error, kind", [(PermissionError("Access Denied"), "permission denied"),
                                         (ConnectionResetError("Connection reset by peer"), "cannot open")])
def test_a_prefix_whose_listing_fails_is_an_unreadable_row(s3, failing_listing, error, kind):
    failing_listing.error = error
    options = {"endpoint_url": s3.endpoint, "skip_instance_cache": True}  # no listing kept from before
    report = pg.scan("s3://flaky/train", storage_options=options)
    frame = report.frame
    assert list(frame["path"]) == ["cats/a.png", "dogs/", "zebras/d.png"]  # as a local folder it cannot list
    assert list(frame["status"]) == ["ok", "unreadable", "ok"]
    dogs = frame.iloc[1]
    assert dogs["error_kind"] == kind and not isinstance(dogs["class"], str)  # no class, as locally
    assert dogs["error"].startswith("cannot list the folder: ") and str(error) in dogs["error"]
    assert [p for p, _ in report.walk.unreadable_dirs] == ["dogs"]
    assert report.exit_code == 1
    failing_listing.seen, failing_listing.allowed = 0, 1  # in a list: found a folder, then its listing fails
    listed = pg.scan(["s3://flaky/train/dogs", "s3://flaky/train/cats/a.png"], storage_options=options)
    assert list(listed.frame["path"]) == ["s3://flaky/train/dogs/", "s3://flaky/train/cats/a.png"]
    assert list(listed.frame["status"]) == ["unreadable", "ok"]


# --- a store that never answers ---------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
        listing = self.server.listing  # type: ignore[attr-defined]
        if listing is not None and "list-type=2" in self.path:
            body = listing.encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.server.stop.wait(300)  # type: ignore[attr-defined]  # accepted, never answered

    do_HEAD = do_GET

    def log_message(self, *args) -> None:
        pass


def _listing(keys: dict[str, int]) -> str:
    contents = "".join(f"<Contents><Key>train/{k}</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified>"
                       f"<ETag>&quot;0&quot;</ETag><Size>{n}</Size><StorageClass>STANDARD</StorageClass></Contents>"
                       for k, n in keys.items())
    return ('<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            f"<Name>b</Name><Prefix>train/</Prefix><KeyCount>{len(keys)}</KeyCount><MaxKeys>1000</MaxKeys>"
            f"<Delimiter>/</Delimiter><IsTruncated>false</IsTruncated>{contents}</ListBucketResult>")


def _store(listing: Optional[str]):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.listing, server.stop = listing, threading.Event()  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def silent():
    """An S3 endpoint that accepts every connection and never answers."""
    server = _store(None)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.stop.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def lists_then_hangs():
    """An S3 endpoint that lists ``s3://b/train`` (two images) and never answers a read."""
    server = _store(_listing({"a.png": 5000, "b.jpg": 90000}))
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.stop.set()
    server.shutdown()
    server.server_close()


def test_a_silent_store_is_a_one_line_error_within_the_timeout(silent):
    """It took 421 s (s3fs retries of botocore retries of 15 s reads), whatever --timeout said."""
    done, took = _cli("s3://b/train", "--storage-option", f"endpoint_url={silent}", "--timeout", "1")
    assert _one_line_error(done), done.stderr
    assert "s3://b/train" in done.stderr and "timeout" in done.stderr.lower()
    assert took < 20, took


def test_objects_of_a_silent_store_are_unreadable_rows_within_the_timeout(silent):
    done, took = _cli("s3://b/x.png", "s3://b/y.jpg", "--storage-option", f"endpoint_url={silent}",
                      "--timeout", "1", "--format", "json")
    assert done.returncode == 1, done.stderr
    files = json.loads(done.stdout)["files"]
    assert [(f["path"], f["status"]) for f in files] == [("s3://b/x.png", "unreadable"), ("s3://b/y.jpg", "unreadable")]
    assert all("timeout" in f["error"].lower() for f in files)
    assert took < 30, took


def test_reads_that_never_answer_are_unreadable_rows_within_the_timeout(lists_then_hangs):
    done, took = _cli("s3://b/train", "--storage-option", f"endpoint_url={lists_then_hangs}",
                      "--timeout", "1", "--format", "json")
    assert done.returncode == 1, done.stderr
    files = json.loads(done.stdout)["files"]
    assert [(f["path"], f["status"], f["error_kind"]) for f in files] == [
        ("a.png", "unreadable", "read error"), ("b.jpg", "unreadable", "read error")]
    assert took < 20, took


def test_the_timeouts_leave_the_users_storage_options_alone():
    from pipeguard._io import filesystem

    given = {"endpoint_url": "http://127.0.0.1:9", "config_kwargs": {"read_timeout": 30}}
    fs, _ = filesystem("s3://b/train", given, timeout=2)
    assert fs.config_kwargs["read_timeout"] == 30 and fs.config_kwargs["connect_timeout"] == 2
    assert given == {"endpoint_url": "http://127.0.0.1:9", "config_kwargs": {"read_timeout": 30}}  # not changed
    mine = {"endpoint_url": "http://127.0.0.1:9", "config_kwargs": {"retries": {"max_attempts": 9}}}
    fs, _ = filesystem("s3://b/train", mine, timeout=2)
    assert fs.config_kwargs["retries"] == {"max_attempts": 9} and fs.retries == 5  # s3fs's own, as given


# --- URLs in a list take storage options ------------------------------------------------


def test_urls_in_a_files_from_list_take_storage_options(s3, tmp_path):
    fs = s3.filesystem()
    fs.mkdir("listed")
    fs.pipe_file("listed/train/a.png", _png())
    fs.pipe_file("listed/train/b.png", _png()[:30])
    urls = ["s3://listed/train/a.png", "s3://listed/train/b.png"]
    (tmp_path / "urls.txt").write_text("\n".join(urls) + "\n")
    option = f"endpoint_url={s3.endpoint}"
    for args, stdin in (([str(tmp_path / "urls.txt")], None), (["-"], "\n".join(urls) + "\n")):
        done, _ = _cli("--files-from", *args, "--storage-option", option, "--format", "json", stdin=stdin)
        assert done.returncode == 1, done.stderr  # the truncated one
        files = json.loads(done.stdout)["files"]
        assert [(f["path"], f["status"]) for f in files] == [(urls[0], "ok"), (urls[1], "unreadable")]

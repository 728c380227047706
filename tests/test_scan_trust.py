"""Bad input never hangs, crashes or hides a file: special files, deep trees, unreadable folders."""

import os
import socket
import threading

import pytest
from conftest import make_image
from scan_folders import png_bytes

import pipeguard as pg


def _finished(fn, seconds=20.0):
    """``fn()``'s result, or a failure when it does not return in time (a FIFO blocks forever)."""
    out = []
    thread = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert out, f"still running after {seconds} s"
    return out[0]


@pytest.fixture
def specials(tmp_path):
    (tmp_path / "a.png").write_bytes(png_bytes(make_image("RGB", (4, 4))))
    for name in ("fifo.png", "fifo.txt", "fifo.tar"):
        os.mkfifo(tmp_path / name)
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "sock.jpg"))
    yield tmp_path
    sock.close()


def test_fifos_and_sockets_are_unreadable_rows_never_opened(specials):
    report = _finished(lambda: pg.scan(specials, workers=1))
    rows = {r["path"]: r for r in report.rows()}
    assert rows["a.png"]["status"] == "ok"
    for name in ("fifo.png", "fifo.txt", "fifo.tar", "sock.jpg"):
        assert (rows[name]["status"], rows[name]["error_kind"]) == ("unreadable", "not a file"), rows[name]
    assert "FIFO" in rows["fifo.png"]["error"] and "socket" in rows["sock.jpg"]["error"]
    assert report.exit_code == 1


def test_a_listed_fifo_is_a_row_in_the_parent_and_in_workers(specials):
    listed = [str(specials / "fifo.png"), str(specials / "a.png")]
    for deep in (False, True):
        report = _finished(lambda deep=deep: pg.scan(listed, deep=deep, workers=2))
        assert [r["status"] for r in report.rows()] == ["unreadable", "ok"]


def test_a_device_is_not_a_file():
    from pipeguard.scanner.probe._file import probe

    row = probe("/dev/null", "null.png")
    assert (row["status"], row["error_kind"]) == ("unreadable", "not a file")
    assert "character device" in row["error"]


def _unlistable(monkeypatch, *folders):
    """``os.scandir`` refuses ``folders`` as it would without read permission (tests run as root)."""
    real = os.scandir
    refused = {os.path.join(str(f), "") for f in folders}

    def scandir(path="."):
        if os.path.join(os.fspath(path), "") in refused:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)


def _images(root, *rels):
    for rel in rels:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(png_bytes(make_image("RGB", (4, 4))))


def test_an_unreadable_folder_is_a_row_and_fails_the_scan(tmp_path, monkeypatch):
    _images(tmp_path, "a/1.png", "b/secret/2.png", "b/x.png", "c.png")
    _unlistable(monkeypatch, tmp_path / "b" / "secret")
    report = pg.scan(tmp_path, workers=1)
    rows = [(r["path"], r["status"], r["error_kind"]) for r in report.rows()]
    assert rows == [("a/1.png", "ok", None), ("b/secret/", "unreadable", "permission denied"),
                    ("b/x.png", "ok", None), ("c.png", "ok", None)]
    assert report.exit_code == 1


def test_an_unreadable_root_is_an_error_and_a_listed_one_a_row(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from pipeguard.cli import main

    _images(tmp_path, "data/1.png", "other.png")
    _unlistable(monkeypatch, tmp_path / "data")
    with pytest.raises(PermissionError):
        pg.scan(tmp_path / "data", workers=1)
    result = CliRunner().invoke(main, ["scan", str(tmp_path / "data")])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and "Permission denied" in result.stderr
    listed = pg.scan([str(tmp_path / "data"), str(tmp_path / "other.png")], workers=1)
    assert [(r["path"], r["status"], r["error_kind"]) for r in listed.rows()] == [
        (str(tmp_path / "data") + "/", "unreadable", "permission denied"), (str(tmp_path / "other.png"), "ok", None)]
    assert listed.exit_code == 1


def test_csv_keeps_carriage_returns_and_newlines_in_names_inside_one_record(tmp_path):
    import csv
    import io

    import pandas as pd

    data = tmp_path / "data"
    names = ["a\rb.png", "c\nd.png", "e\r\nf.png", "plain.png"]
    _images(data, *names)
    out = tmp_path / "scan.csv"
    streamed = pg.scan(data, workers=1, output=out)
    with open(out, encoding="utf-8", newline="") as f:
        texts = {"in memory": streamed.to_csv(), "streamed": f.read()}
    for how, text in texts.items():
        rows = list(csv.reader(io.StringIO(text, newline="")))
        assert [r[0] for r in rows[1:]] == sorted(names), how
        frame = pd.read_csv(io.StringIO(text, newline=""), keep_default_na=False)
        assert list(frame["path"]) == sorted(names) and set(frame["status"]) == {"ok"}, how
    assert [r.path for r in pg.scan(data, workers=1, output=tmp_path / "again.csv").frame.itertuples()] == sorted(names)


@pytest.mark.parametrize("fmt, mode, name", [
    ("SPIDER", "F", "x.spi"), ("SPIDER", "F", "x.dat"), ("IM", "RGB", "x.data"), ("TGA", "RGB", "noext"),
    ("GIF", "P", "x.gif"), ("PCX", "RGB", "x.pcx"),
])
def test_every_file_pillow_reads_is_probed_whatever_its_extension(tmp_path, fmt, mode, name):
    from PIL import Image

    from pipeguard.scanner.probe._file import probe

    noise = Image.frombytes("L", (64, 48), os.urandom(64 * 48)).convert(mode)
    noise.save(tmp_path / name, format=fmt)
    row = probe(str(tmp_path / name), name)
    assert (row["status"], row["format"], row["height"], row["width"]) == ("ok", fmt, 48, 64), row
    assert any("ImageFolder skips this file" in w for w in row["warnings"])
    cut = tmp_path / ("cut-" + name)
    data = (tmp_path / name).read_bytes()
    cut.write_bytes(data[:len(data) // 2])
    assert probe(str(cut), "cut-" + name, deep=True)["status"] == "unreadable"  # as its decoder says
    text = tmp_path / ("text-" + name)
    text.write_text("just some notes, not an image\n" * 3)
    assert probe(str(text), "text-" + name)["status"] == "not-image"


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads the address space from /proc")
def test_deep_workers_of_a_process_with_a_large_address_space_still_decode(tmp_path):
    import mmap

    make_image("RGB", (4000, 3000)).save(tmp_path / "a.png")  # 36 MB decoded: new memory, whatever the heap holds
    for name in ("b.png", "c.png"):
        os.link(tmp_path / "a.png", tmp_path / name)
    # what initialising CUDA does to a process: gigabytes of address space reserved, none used
    reserved = mmap.mmap(-1, 6 << 30, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | 0x4000,  # MAP_NORESERVE
                         prot=0)  # PROT_NONE
    try:
        report = pg.scan(tmp_path, deep=True, workers=2)
    finally:
        reserved.close()
    assert [(r["path"], r["status"], r["error"]) for r in report.rows()] == [
        ("a.png", "ok", None), ("b.png", "ok", None), ("c.png", "ok", None)]


# The worker's own memory set-up, run in a fresh interpreter (no thread: a fork of pytest-xdist's
# worker, which runs threads, may copy a lock another thread holds and hang), so the test process
# keeps its limit. Exit status 0: the cap held, relative to the address space the process had.
_BOMB = r"""
import os, resource
from pipeguard.scanner.engine._worker import DEEP_MEMORY_CAP, _address_space, _cap_memory

start = _address_space()
_cap_memory()
soft = resource.getrlimit(resource.RLIMIT_AS)[0]
try:
    bytearray(DEEP_MEMORY_CAP + (1 << 30))
    os._exit(3)  # the cap did not hold
except MemoryError:
    os._exit(0 if start < soft <= start + DEEP_MEMORY_CAP + (64 << 20) else 4)
"""


def test_a_decompression_bomb_still_fails_in_a_deep_worker():
    import resource
    import subprocess
    import sys

    before = resource.getrlimit(resource.RLIMIT_AS)
    done = subprocess.run([sys.executable, "-c", _BOMB], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (done.returncode, done.stderr)
    assert resource.getrlimit(resource.RLIMIT_AS) == before

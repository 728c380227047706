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
        report = _finished(lambda: pg.scan(listed, deep=deep, workers=2))
        assert [r["status"] for r in report.rows()] == ["unreadable", "ok"]


def test_a_device_is_not_a_file():
    from pipeguard.scanner._probe import probe

    row = probe("/dev/null", "null.png")
    assert (row["status"], row["error_kind"]) == ("unreadable", "not a file")
    assert "character device" in row["error"]

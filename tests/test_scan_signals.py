"""A scan that is interrupted or killed leaves no process behind, and says so in one line."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import make_image

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads processes from /proc")
COMMAND = Path(sys.executable).with_name("pipeguard")


@pytest.fixture(scope="module")
def slow_folder(tmp_path_factory):
    """Many files that each take a while to decode (one big PNG, linked under many names)."""
    root = tmp_path_factory.mktemp("slow")
    make_image("RGB", (3000, 3000)).save(root / "000.png")
    for k in range(1, 200):
        os.link(root / "000.png", root / f"{k:03d}.png")
    return root


def _children(pid):
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                kids.append(int(entry))
    return kids


def _alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its parent's wait is missing


def _deep_scan_with_workers(folder):
    proc = subprocess.Popen([str(COMMAND), "scan", str(folder), "--deep", "--workers", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while len(_children(proc.pid)) < 2:  # the workers are up: the scan is under way
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.02)
    return proc, _children(proc.pid)


def _gone_within(pids, seconds):
    deadline = time.monotonic() + seconds
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    return [p for p in pids if _alive(p)]


def test_ctrl_c_exits_130_with_one_line_and_no_workers_left(slow_folder):
    proc, workers = _deep_scan_with_workers(slow_folder)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert err.strip() == "pipeguard: interrupted" and out == ""
    assert _gone_within(workers, 5) == []


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_workers_die_with_a_killed_scan(slow_folder, sig):
    proc, workers = _deep_scan_with_workers(slow_folder)
    proc.send_signal(sig)
    proc.wait(timeout=30)
    assert _gone_within(workers, 5) == []

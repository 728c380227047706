"""Scans on a Dask cluster that already runs: ``dask scheduler`` and ``dask worker`` started
as separate processes (as a user starts them), reached by address through ``--dask
tcp://...`` and ``pg.scan(cluster="tcp://...")``; a worker process killed mid-scan."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import pipeguard as pg

distributed = pytest.importorskip("distributed")

from cluster_support import class_folders, same, timeless  # noqa: E402
from conftest import make_image  # noqa: E402
from s3_server import free_port  # noqa: E402
from scan_folders import SIDE, png_bytes  # noqa: E402

CONTRACT = {"channels": 3, "size": (SIDE, SIDE)}
CLI_CONTRACT = ["--channels", "3", "--size", f"{SIDE}x{SIDE}"]
DASK = str(Path(sys.executable).with_name("dask"))
START_SECONDS = 90  # a loaded 2-core machine: the scheduler and two worker processes import distributed


def _stop(process: subprocess.Popen) -> None:
    """``process`` and whatever it started (its own session) stopped: politely, then by force."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # the nanny's worker processes, if any are left
    except ProcessLookupError:
        pass
    if process.poll() is None:
        process.wait(10)


class ExternalCluster:
    """``dask scheduler`` on a free port and ``dask worker --nworkers 2 --nthreads 1`` (two
    worker processes under their nannies), each a process of its own session."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen] = []
        self._start("scheduler", [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(self.port),
                                  "--no-dashboard"])
        self._start("worker", [DASK, "worker", self.address, "--nworkers", "2", "--nthreads", "1",
                               "--no-dashboard", "--host", "127.0.0.1"])
        self.client = None
        try:
            self.client = distributed.Client(self.address, timeout=START_SECONDS)
            self.client.wait_for_workers(2, timeout=START_SECONDS)
        except Exception as exc:
            self.stop()
            raise RuntimeError(f"the Dask cluster did not start: {exc!r}\n{self.logs()}") from None

    def _start(self, name: str, args: list[str]) -> None:
        log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 (the process holds it)
        with log:
            self.processes.append(subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                                   start_new_session=True))

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n" + p.read_text(errors="replace")[-3000:]
                         for p in sorted(self.log_dir.glob("*.log")))

    def worker_pids(self) -> dict[str, int]:
        """``{worker address: pid}`` of the worker processes (the nannies' children)."""
        return self.client.run(os.getpid)

    def stop(self) -> None:
        if self.client is not None:
            self.client.close(timeout=10)
        for process in reversed(self.processes):  # the workers first, then the scheduler
            _stop(process)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    running = ExternalCluster(tmp_path_factory.mktemp("dask-logs"))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def four_folders(tmp_path_factory):
    """4 class folders of 60 files each (a few gray ones), plus the planted problems (broken
    files, not-images, nested folders, links) in class0/planted."""
    return class_folders(tmp_path_factory.mktemp("four"), 4, 60, 17)


def _many_pages_tiff(pages: int = 200) -> bytes:
    """A TIFF whose plain probe walks every page (about 30 ms here): slow enough per file to
    give a cluster scan seconds of running tasks."""
    rng = np.random.default_rng(0)
    frames = [Image.fromarray(rng.integers(0, 256, (SIDE, SIDE, 3), dtype=np.uint8)) for _ in range(pages)]
    buf = io.BytesIO()
    frames[0].save(buf, "TIFF", save_all=True, append_images=frames[1:])
    return buf.getvalue()


@pytest.fixture(scope="module")
def slow_folder(tmp_path_factory):
    """12 class folders of 34 files each (12 many-page TIFFs, the rest small PNGs, a few gray):
    12 cluster tasks of about half a second each."""
    root = tmp_path_factory.mktemp("slow")
    tiff = _many_pages_tiff()
    rgb, gray = png_bytes(make_image("RGB", (SIDE, SIDE))), png_bytes(make_image("L", (SIDE, SIDE)))
    for c in range(12):
        folder = root / f"class{c:02d}"
        folder.mkdir()
        for i in range(34):
            (folder / f"{i:03d}.{'tif' if i % 3 == 0 else 'png'}").write_bytes(
                tiff if i % 3 == 0 else gray if i % 11 == c % 11 else rgb)
    (root / "class05" / "broken.png").write_bytes(png_bytes(make_image("RGB", (SIDE, SIDE)))[:40])
    return root


def _cli(folder: Path, *extra: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeguard", "scan", str(folder), *CLI_CONTRACT, "--format", "json",
                           *extra], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=timeout)


def test_pg_scan_on_a_running_scheduler_equals_the_local_scan(cluster, four_folders):
    local = pg.scan(four_folders, contract=CONTRACT, workers=1)
    with distributed.get_task_stream(cluster.client) as stream:  # the scheduler's record of every client's tasks
        remote = pg.scan(four_folders, contract=CONTRACT, cluster=cluster.address)
    same(remote, local)
    assert (remote.frame["status"] == "violation").sum() > 4 and (remote.frame["status"] == "unreadable").any()
    workers = {task["worker"] for task in stream.data if "probe_task" in task["key"]}
    assert workers == set(cluster.worker_pids())  # both worker processes probed
    # the scan's client left; the cluster it did not start is still there, whole
    assert len(cluster.client.scheduler_info()["workers"]) == 2


def test_deep_on_a_running_scheduler_equals_a_local_deep_scan(cluster, four_folders):
    planted = four_folders / "class0" / "planted"
    local = pg.scan(planted, contract=CONTRACT, deep=True, workers=1)
    same(pg.scan(planted, contract=CONTRACT, deep=True, cluster=cluster.address), local)


@pytest.mark.slow
def test_cli_dask_tcp_equals_the_local_cli(cluster, four_folders):
    local = _cli(four_folders)
    on_dask = _cli(four_folders, "--dask", cluster.address)
    assert local.returncode == 1, local.stderr[-2000:]
    assert on_dask.returncode == 1, on_dask.stderr[-2000:] + cluster.logs()
    a, b = json.loads(local.stdout), json.loads(on_dask.stdout)
    assert len(a["files"]) > 240 and a["files"] == b["files"]
    assert timeless(a["summary"]) == timeless(b["summary"])
    assert len(cluster.client.scheduler_info()["workers"]) == 2


def _probing(client) -> dict[str, list[str]]:
    """``{worker address: keys of the probe tasks it runs now}``, for the workers running some."""
    return {w: [k for k in keys if "probe_task" in str(k)] for w, keys in client.processing().items()
            if any("probe_task" in str(k) for k in keys)}


@pytest.mark.slow
def test_a_worker_process_killed_mid_scan_still_gives_the_full_report(cluster, slow_folder, tmp_path):
    """SIGKILL to one worker process (its nanny starts another) while the CLI's scan runs
    tasks on it: Dask runs them again, and the report is the local one, row for row."""
    local = _cli(slow_folder, "--workers", "2")
    assert local.returncode == 1, local.stderr[-2000:]
    out = (tmp_path / "out.json").open("w+")
    err = (tmp_path / "err.txt").open("w+")
    with out, err:
        scan = subprocess.Popen([sys.executable, "-m", "pipeguard", "scan", str(slow_folder), *CLI_CONTRACT,
                                 "--format", "json", "--dask", cluster.address],
                                stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        try:
            pids = cluster.worker_pids()
            deadline = time.monotonic() + 120
            while not (busy := _probing(cluster.client)):
                assert scan.poll() is None, "the scan ended before any task was seen running"
                assert time.monotonic() < deadline, "no probe task ran within 120 s"
                time.sleep(0.02)
            victim = sorted(busy)[0]
            os.kill(pids[victim], signal.SIGKILL)
            assert scan.poll() is None  # mid-scan: it had not finished
            lost = busy[victim]
            code = scan.wait(300)
        finally:
            if scan.poll() is None:
                scan.kill()
                scan.wait()
        out.seek(0), err.seek(0)
        said, report = err.read(), out.read()
    assert code == 1, said[-2000:] + cluster.logs()
    a, b = json.loads(local.stdout), json.loads(report)
    assert len(a["files"]) == 12 * 34 + 1 and a["files"] == b["files"]
    assert timeless(a["summary"]) == timeless(b["summary"])
    assert not any(f["error_kind"] == "crash" for f in b["files"])  # no part given up
    assert lost  # the killed worker was running a task of the scan
    cluster.client.wait_for_workers(2, timeout=START_SECONDS)  # its nanny started another
    assert victim not in cluster.worker_pids()

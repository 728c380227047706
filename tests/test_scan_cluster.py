"""pg.scan on a Dask cluster: a real LocalCluster with 2 worker processes; the report equals a local scan."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import pipeguard as pg

distributed = pytest.importorskip("distributed")

from cluster_support import class_folders, local_client, same, timeless  # noqa: E402
from scan_folders import SIDE  # noqa: E402

CONTRACT = {"channels": 3, "size": (SIDE, SIDE)}


@pytest.fixture(scope="module")
def client():
    with local_client() as c:
        yield c


@pytest.fixture(scope="module")
def four_folders(tmp_path_factory):
    """4 class folders of 60 files each (a few gray and wide ones), plus the planted problems."""
    return class_folders(tmp_path_factory.mktemp("four"), 4, 60, 17)


def test_four_folders_run_on_both_workers_and_equal_the_local_scan(client, four_folders):
    local = pg.scan(four_folders, contract=CONTRACT, workers=1)
    with distributed.get_task_stream(client) as stream:
        remote = pg.scan(four_folders, contract=CONTRACT, cluster=client)
    same(remote, local)
    workers = {task["worker"] for task in stream.data if "probe_task" in task["key"]}
    assert len(workers) == 2
    assert (remote.frame["status"] == "violation").sum() > 4


def test_deep_on_the_cluster_equals_a_local_deep_scan(client, four_folders):
    planted = four_folders / "class0" / "planted"
    local = pg.scan(planted, contract=CONTRACT, deep=True, workers=2)
    same(pg.scan(planted, contract=CONTRACT, deep=True, cluster=client), local)


def _dies_once(part, deep, time_limit):
    """A probe that kills its own worker process the first time it meets ``class2``."""
    from pipeguard.scanner.engine._cluster import probe_task

    marker = os.environ.get("PG_KILL_MARKER", "")
    if any(run[1].startswith("class2") for run in part) and marker and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
    return probe_task(part, deep, time_limit)


def test_a_worker_killed_mid_scan_still_gives_the_full_report(client, four_folders, tmp_path):
    import cloudpickle
    from scan_folders import named

    from pipeguard.scanner.engine._cluster import cluster_batches
    from pipeguard.scanner.sources._runs import source_runs
    from pipeguard.scanner.sources._walk import WalkStats

    marker = tmp_path / "killed"
    client.run(lambda m: os.environ.__setitem__("PG_KILL_MARKER", m), str(marker))
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        runs = source_runs(four_folders, False, WalkStats())
        rows = named([r for batch in cluster_batches(client, runs, False, 10.0, probe=_dies_once) for r in batch])
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert marker.exists()  # a worker did die
    local = pg.scan(four_folders, contract=CONTRACT, workers=1)
    assert [r.path for r in rows] == list(local.frame["path"])
    assert [r.status for r in rows] == [s if s != "violation" else "ok" for s in local.frame["status"]]
    client.wait_for_workers(2, timeout=60)


@pytest.mark.slow
def test_cli_dask_local_2(four_folders):
    args = [sys.executable, "-m", "pipeguard", "scan", str(four_folders), "--channels", "3", "--size", "16x16",
            "--format", "json"]
    local = subprocess.run(args, capture_output=True, text=True, timeout=120)
    on_dask = subprocess.run(args + ["--dask", "local:2"], capture_output=True, text=True, timeout=300)
    assert on_dask.returncode == local.returncode == 1, on_dask.stderr[-2000:]
    a, b = json.loads(local.stdout), json.loads(on_dask.stdout)
    assert a["files"] == b["files"]
    assert timeless(a["summary"]) == timeless(b["summary"])


def test_cli_rejects_a_bad_dask_value(four_folders):
    done = subprocess.run([sys.executable, "-m", "pipeguard", "scan", str(four_folders), "--dask", "lokal"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stderr.startswith("Error: ") and done.stderr.count("\n") == 1


def test_a_cluster_scan_says_it_runs_without_the_cache(client, four_folders, tmp_path, caplog):
    import logging

    with caplog.at_level(logging.WARNING, logger="pipeguard.scanner"):
        pg.scan(four_folders / "class1", contract=CONTRACT, cluster=client, cache=tmp_path / "cache")
    assert any("not using the cache" in r.getMessage() and "Dask" in r.getMessage() for r in caplog.records)


@pytest.mark.slow
def test_a_scheduler_that_cannot_be_reached_is_one_line_naming_it_not_a_write_failure(tmp_path, monkeypatch):
    """The CLI mapped every OSError of a scan to 'cannot write OUTPUT' ('cannot write None')."""
    import socket

    from pipeguard.scanner.engine import _cluster

    monkeypatch.setattr(_cluster, "CONNECT_TIMEOUT", "1s")  # Dask retries a refused port until then

    from click.testing import CliRunner

    from pipeguard.cli import main

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (tmp_path / "a.txt").write_text("x")
    result = CliRunner().invoke(main, ["scan", str(tmp_path), "--dask", f"tcp://127.0.0.1:{port}"])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"Error: cannot reach the Dask scheduler at tcp://127.0.0.1:{port}")
    assert "cannot write" not in result.stderr and result.stderr.count("\n") == 1


@pytest.mark.parametrize("address, message", [
    ("local:abc", "local:N needs a whole number of workers, at least 1"),
    ("local:1.5", "local:N needs a whole number of workers, at least 1"),
    ("local:-1", "local:N needs a whole number of workers, at least 1"),
    ("tcp://host:notaport", "a scheduler address needs a port from 1 to 65535"),
    ("tcp://host:70000", "a scheduler address needs a port from 1 to 65535"),
    ("http://host:80", "a scheduler address starts with tcp://"),
    ("host", "--dask should be local, local:N or a scheduler address"),
])
def test_a_cluster_address_is_checked_before_anything_connects(tmp_path, address, message):
    """local:abc, local:1.5 and tcp://host:notaport were tracebacks; local:-1 was tried as a host."""
    from click.testing import CliRunner

    from pipeguard.cli import main

    (tmp_path / "a.txt").write_text("x")
    result = CliRunner().invoke(main, ["scan", str(tmp_path), "--dask", address])
    assert result.exit_code == 2 and result.stdout == "", result.output
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


def test_local_n_is_capped_as_workers_are(monkeypatch, caplog):
    """local:1000 started a thousand worker processes (and failed on open files)."""
    import distributed

    from pipeguard._child import usable_cores
    from pipeguard.scanner.engine import _cluster

    started = {}

    class Stop(Exception):
        pass

    def local_cluster(**options):
        started.update(options)
        raise Stop

    monkeypatch.setattr(distributed, "LocalCluster", local_cluster)
    with pytest.raises(Stop), _cluster.connected("local:1000"):
        pass
    assert started["n_workers"] == 4 * usable_cores()
    assert f"--dask local:1000 is more than 4 per core; using {4 * usable_cores()}" in caplog.text

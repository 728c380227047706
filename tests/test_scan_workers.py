"""The supervised pool: a file that hangs or kills its worker becomes a row; the scan goes on."""

import multiprocessing as mp
import os
import signal
import time

import pytest

from pipeguard.scanner import probe as probe_module
from pipeguard.scanner.probe import COLUMNS
from pipeguard.scanner.workers import SupervisedPool

pytestmark = pytest.mark.skipif("fork" not in mp.get_all_start_methods(),
                                reason="the patched probe reaches workers through fork")


def _files(tmp_path, names, per_run=5):
    """The files as walk runs of ``per_run`` names, so parts span several runs."""
    for name in names:
        (tmp_path / name).write_bytes(b"hello")
    return [(f"{tmp_path}/", "", names[k:k + per_run]) for k in range(0, len(names), per_run)]


def _rows(pool, runs):
    return [row for batch in pool.map(runs) for row in batch]


def test_hung_and_crashing_files_become_rows(tmp_path, monkeypatch):
    real = probe_module.probe_row

    def evil(path, rel, *args):
        if rel.startswith("hang"):
            time.sleep(60)
        if rel.startswith("segv"):
            os.kill(os.getpid(), signal.SIGSEGV)
        if rel.startswith("exit"):
            os._exit(3)
        return real(path, rel, *args)

    monkeypatch.setattr(probe_module, "probe_row", evil)
    names = [f"{i:02d}.txt" for i in range(12)]
    names[2], names[5], names[9] = "hang.txt", "segv.txt", "exit.txt"
    runs = _files(tmp_path, names)
    pool = SupervisedPool(2, deep=True, time_limit=0.5, chunk=4)
    started = time.monotonic()
    rows = [dict(zip(COLUMNS, r)) for r in _rows(pool, runs)]
    assert time.monotonic() - started < 30
    assert [r["path"] for r in rows] == names
    by = {r["path"]: r for r in rows}
    assert by["hang.txt"]["status"] == "unreadable" and "timed out" in by["hang.txt"]["error"]
    assert by["segv.txt"]["error"] == "crashed its worker (SIGSEGV)"
    assert by["exit.txt"]["error"] == "its worker exited with status 3"
    assert all(by[n]["status"] == "not-image" for n in names if n[0].isdigit())
    assert pool.restarts == 3


def test_pool_preserves_order_across_many_chunks(tmp_path):
    names = [f"{i:03d}.txt" for i in range(50)]
    rows = _rows(SupervisedPool(2, chunk=3), _files(tmp_path, names))
    assert [r[0] for r in rows] == names


def test_empty_input(tmp_path):
    assert _rows(SupervisedPool(2), []) == []


def test_workers_that_cannot_start_raise_instead_of_looping(tmp_path, monkeypatch):
    from pipeguard.scanner import workers

    monkeypatch.setattr(workers, "_worker_main", lambda *args: os._exit(7))
    runs = _files(tmp_path, ["a.txt", "b.txt"])
    with pytest.raises(RuntimeError, match="keep dying before reading a file .*status 7"):
        _rows(SupervisedPool(1, chunk=1), runs)


def test_a_slow_file_pauses_feeding_without_losing_order(tmp_path, monkeypatch):
    from pipeguard.scanner import workers

    real = probe_module.probe_row

    def slow(path, rel, *args):
        if rel == "03.txt":
            time.sleep(0.3)
        return real(path, rel, *args)

    monkeypatch.setattr(probe_module, "probe_row", slow)
    monkeypatch.setattr(workers, "MAX_PENDING", 2)  # finished chunks that may wait behind 03.txt
    names = [f"{i:02d}.txt" for i in range(20)]
    rows = _rows(SupervisedPool(2, chunk=1), _files(tmp_path, names))
    assert [r[0] for r in rows] == names

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


def _files(tmp_path, names):
    items = []
    for name in names:
        (tmp_path / name).write_bytes(b"hello")
        items.append((name, str(tmp_path / name)))
    return items


def test_hung_and_crashing_files_become_rows(tmp_path, monkeypatch):
    real = probe_module.probe

    def evil(path, rel=None, deep=False):
        if rel.startswith("hang"):
            time.sleep(60)
        if rel.startswith("segv"):
            os.kill(os.getpid(), signal.SIGSEGV)
        if rel.startswith("exit"):
            os._exit(3)
        return real(path, rel, deep)

    monkeypatch.setattr(probe_module, "probe", evil)
    names = [f"{i:02d}.txt" for i in range(12)]
    names[2], names[5], names[9] = "hang.txt", "segv.txt", "exit.txt"
    items = _files(tmp_path, names)
    pool = SupervisedPool(2, deep=True, time_limit=0.5, chunk=4)
    started = time.monotonic()
    rows = [dict(zip(COLUMNS, r)) for r in pool.map(items)]
    assert time.monotonic() - started < 30
    assert [r["path"] for r in rows] == names
    by = {r["path"]: r for r in rows}
    assert by["hang.txt"]["status"] == "unreadable" and "timed out" in by["hang.txt"]["error"]
    assert by["segv.txt"]["error"] == "crashed its worker (SIGSEGV)"
    assert by["exit.txt"]["error"] == "its worker exited with status 3"
    assert all(by[n]["status"] == "not-image" for n in names if n[0].isdigit())
    assert pool.restarts == 3


def test_pool_preserves_order_across_many_chunks(tmp_path):
    items = _files(tmp_path, [f"{i:03d}.txt" for i in range(50)])
    rows = list(SupervisedPool(2, chunk=3).map(items))
    assert [r[0] for r in rows] == [rel for rel, _ in items]


def test_empty_input(tmp_path):
    assert list(SupervisedPool(2).map([])) == []


def test_workers_that_cannot_start_raise_instead_of_looping(tmp_path, monkeypatch):
    from pipeguard.scanner import workers

    monkeypatch.setattr(workers, "_worker_main", lambda *args: os._exit(7))
    items = _files(tmp_path, ["a.txt", "b.txt"])
    with pytest.raises(RuntimeError, match="keep dying before reading a file .*status 7"):
        list(SupervisedPool(1, chunk=1).map(items))


def test_a_slow_file_pauses_feeding_without_losing_order(tmp_path, monkeypatch):
    from pipeguard.scanner import workers

    real = probe_module.probe

    def slow(path, rel=None, deep=False):
        if rel == "03.txt":
            time.sleep(0.3)
        return real(path, rel, deep)

    monkeypatch.setattr(probe_module, "probe", slow)
    monkeypatch.setattr(workers, "MAX_PENDING", 2)  # finished chunks that may wait behind 03.txt
    items = _files(tmp_path, [f"{i:02d}.txt" for i in range(20)])
    rows = list(SupervisedPool(2, chunk=1).map(items))
    assert [r[0] for r in rows] == [rel for rel, _ in items]

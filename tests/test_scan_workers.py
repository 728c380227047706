"""The supervised pool: a file that hangs or kills its worker becomes a row; the scan goes on."""

import multiprocessing as mp
import os
import signal
import time

import pytest

from pipeguard.core._errors import UnreadableKind
from pipeguard.scanner._units import Run
from pipeguard.scanner.engine._pool import SupervisedPool
from pipeguard.scanner.probe import _part as probe_module

pytestmark = pytest.mark.skipif("fork" not in mp.get_all_start_methods(),
                                reason="the patched probe reaches workers through fork")


def _files(tmp_path, names, per_run=5):
    """The files as walk runs of ``per_run`` names, so parts span several runs."""
    for name in names:
        (tmp_path / name).write_bytes(b"hello")
    return [Run(f"{tmp_path}/", "", names[k:k + per_run]) for k in range(0, len(names), per_run)]


def _rows(pool, runs):
    from scan_folders import named

    return named([row for batch in pool.map(runs) for row in batch])


def _evil_probe(part, deep=False, on_start=None, cache=None):
    """A probe (the pool's seam) that hangs on, crashes on or exits on the files so named."""
    items, k = [], 0
    for run in part:
        for name in run.names:
            on_start(k)
            if name.startswith("hang"):
                time.sleep(60)
            if name.startswith("segv"):
                os.kill(os.getpid(), signal.SIGSEGV)
            if name.startswith("exit"):
                os._exit(3)
            items += probe_module.probe_part([run._replace(names=[name])], deep)
            k += 1
    return items


def test_hung_and_crashing_files_become_rows(tmp_path):
    names = [f"{i:02d}.txt" for i in range(12)]
    names[2], names[5], names[9] = "hang.txt", "segv.txt", "exit.txt"
    runs = _files(tmp_path, names)
    pool = SupervisedPool(2, deep=True, time_limit=0.5, part_size=4, probe=_evil_probe)
    rows = _rows(pool, runs)
    assert [r.path for r in rows] == names
    by = {r.path: r for r in rows}
    assert by["hang.txt"].status == "unreadable" and "timed out" in by["hang.txt"].error
    assert by["segv.txt"].error == "crashed its worker (SIGSEGV)"
    assert by["exit.txt"].error == "its worker exited with status 3"
    assert [by[n].error_kind for n in ("hang.txt", "segv.txt", "exit.txt")] == [
        UnreadableKind.TIMEOUT, UnreadableKind.CRASH, UnreadableKind.CRASH]
    assert all(by[n].status == "not-image" for n in names if n[0].isdigit())
    assert pool.restarts == 3


def test_pool_preserves_order_across_many_chunks(tmp_path):
    names = [f"{i:03d}.txt" for i in range(50)]
    rows = _rows(SupervisedPool(2, part_size=3), _files(tmp_path, names))
    assert [r.path for r in rows] == names


def test_empty_input(tmp_path):
    assert _rows(SupervisedPool(2), []) == []


def test_workers_that_cannot_start_raise_instead_of_looping(tmp_path, monkeypatch):
    from pipeguard.scanner.engine import _pool as workers

    monkeypatch.setattr(workers, "worker_main", lambda *args: os._exit(7))
    runs = _files(tmp_path, ["a.txt", "b.txt"])
    with pytest.raises(ChildProcessError, match="keep dying before reading a file .*status 7"):
        _rows(SupervisedPool(1, part_size=1), runs)


def test_a_slow_file_pauses_feeding_without_losing_order(tmp_path, monkeypatch):
    from pipeguard.scanner.engine import _books

    real = probe_module.probe_row

    def slow(path, rel, *args):
        if rel == "03.txt":
            time.sleep(0.3)
        return real(path, rel, *args)

    monkeypatch.setattr(probe_module, "probe_row", slow)
    monkeypatch.setattr(_books, "MAX_PENDING", 2)  # finished chunks that may wait behind 03.txt
    names = [f"{i:02d}.txt" for i in range(20)]
    rows = _rows(SupervisedPool(2, part_size=1), _files(tmp_path, names))
    assert [r.path for r in rows] == names


def _pid_rows(monkeypatch, delay=0.0):
    """Patch the probe so each row's ``error`` names the process that read the file."""
    real = probe_module.probe_row

    def tagged(path, rel, *args):
        if delay:
            time.sleep(delay)
        row = real(path, rel, *args)
        return row._replace(error=str(os.getpid()))

    monkeypatch.setattr(probe_module, "probe_row", tagged)


def test_parent_probes_beside_its_workers_in_order(tmp_path, monkeypatch):
    _pid_rows(monkeypatch, delay=0.01)  # slow enough that the worker joins in before the end
    names = [f"{i:03d}.txt" for i in range(60)]
    pool = SupervisedPool(2, part_size=4, in_parent=True)
    assert pool.workers == 1  # one worker process: the parent is the second
    rows = _rows(pool, _files(tmp_path, names, per_run=7))
    assert [r.path for r in rows] == names
    assert all(r.status == "not-image" for r in rows)
    readers = {r.error for r in rows}
    assert str(os.getpid()) in readers and len(readers) == 2


def test_a_worker_crash_still_becomes_a_row_when_the_parent_probes_too(tmp_path, monkeypatch):
    parent = os.getpid()
    real = probe_module.probe_row

    def evil(path, rel, *args):
        if os.getpid() != parent:  # the parent reads headers only: no crash there
            time.sleep(0.01)
            if rel.startswith("segv"):
                os.kill(os.getpid(), signal.SIGSEGV)
        return real(path, rel, *args)

    monkeypatch.setattr(probe_module, "probe_row", evil)
    names = [f"{i:02d}.txt" for i in range(40)]
    for k in range(0, 40, 4):  # one in every part, so the worker meets some of them
        names[k] = f"segv{k:02d}.txt"
    pool = SupervisedPool(2, part_size=4, in_parent=True, time_limit=5)
    rows = _rows(pool, _files(tmp_path, names))
    assert [r.path for r in rows] == names
    crashed = [r.path for r in rows if r.error == "crashed its worker (SIGSEGV)"]
    assert crashed and all(p.startswith("segv") for p in crashed) and pool.restarts == len(crashed)
    assert all(r.status == "not-image" for r in rows if r.path not in crashed)


def test_deep_never_probes_in_the_parent():
    with pytest.raises(ValueError, match="deep"):
        SupervisedPool(2, deep=True, in_parent=True)


def test_work_is_cut_into_slices_in_order():
    from pipeguard.scanner.engine._books import Work

    runs = [Run("/d/", "", ["a", "b", "c"]), Run("/e/", "e/", ["d", "e"])]
    chunks, missing = {}, {}
    work = Work(iter([runs]), chunks, missing, lookahead=10)
    first = work.take(0, 2)
    assert first == ([Run("/d/", "", ["a", "b"])], 0, 0)
    assert work.exhausted and work.files == 3  # the lookahead walked to the end
    assert work.take(0, 0) is None  # a worker with enough queued gets nothing
    second = work.take(0, 2)
    assert second == ([Run("/d/", "", ["c"]), Run("/e/", "e/", ["d"])], 0, 2)
    assert work.files == 1 and not work.done
    assert work.take(0) == ([Run("/e/", "e/", ["e"])], 0, 4) and work.done
    assert missing == {0: 5} and chunks == {0: [None] * 5}


@pytest.mark.parametrize("limit", [float("nan"), float("inf"), 0.0, -1.0])
def test_a_time_limit_that_would_never_fire_is_refused(limit):
    with pytest.raises(ValueError, match="finite number of seconds"):
        SupervisedPool(1, deep=True, time_limit=limit)


def test_never_more_workers_than_parts_nor_than_the_cap(tmp_path):
    from pipeguard.scanner.engine._pool import max_workers

    runs = _files(tmp_path, [f"{i:02d}.txt" for i in range(20)])
    pool = SupervisedPool(1000, deep=True, part_size=4)
    assert pool.workers == max_workers()  # 4 per core
    started = set()
    rows = []
    for batch in pool.map(runs):
        started.update(p.pid for p in mp.active_children() if p.name.startswith("pipeguard-scan"))
        rows.extend(batch)
    assert len(rows) == 20 and 1 <= len(started) <= 5  # 20 files in parts of 4: at most 5 workers


def test_the_cli_notes_a_capped_worker_count(tmp_path):
    from click.testing import CliRunner

    from pipeguard.cli import main
    from pipeguard.scanner.engine._pool import max_workers

    (tmp_path / "a.txt").write_bytes(b"x")
    result = CliRunner().invoke(main, ["scan", str(tmp_path), "--deep", "--workers", "100000"])
    assert result.exit_code == 0, result.stderr
    assert f"note: --workers 100000 is more than 4 per core; using {max_workers()}" in result.stderr


def test_rows_cross_the_pipe_as_marshal_data_and_come_back_as_plain_tuples():
    from scan_folders import named

    from pipeguard.scanner._row import ScanRow, packed, unpacked

    items = [ScanRow("a.png", "ok", "PNG", "RGB", 3, 8, 8, 120, warnings=("a note",)),
             [ScanRow("s.tar", "ok", "PNG", "L", 1, 4, 4, 40, member="x.png"),
              ScanRow("s.tar", "not-image", member="x.cls")]]
    payload = packed(items)
    assert type(payload) is bytes
    back = unpacked(payload)
    assert back == items and type(back[0]) is tuple and type(back[1][1]) is tuple  # no ScanRow made per row
    assert named([back[0]])[0].warnings == ("a note",) and named(back[1]) == items[1]
    assert all(type(row) is ScanRow for row in named([back[0], items[0]]))


def test_a_row_marshal_cannot_write_is_sent_as_it_is():
    from fractions import Fraction

    from pipeguard.scanner._row import ScanRow, packed, unpacked

    items = [ScanRow("a.png", "ok", height=Fraction(8))]  # marshal refuses objects of other types
    assert packed(items) is items and unpacked(packed(items)) == items


def test_a_scan_gives_back_frozen_objects_and_leaves_a_callers_freeze_alone(tmp_path, monkeypatch):
    import gc

    import pipeguard as pg
    from pipeguard.scanner.engine import _gc

    (tmp_path / "a.txt").write_text("not an image")
    assert gc.get_freeze_count() == 0
    pg.scan(tmp_path)
    assert gc.get_freeze_count() == 0  # what the scan froze, it unfroze
    with pytest.raises(NotADirectoryError):
        pg.scan(tmp_path / "a.txt")
    assert gc.get_freeze_count() == 0  # a scan that fails unfreezes too
    gc.freeze()
    try:
        calls = []
        monkeypatch.setattr(_gc, "gc", type("Gc", (), {
            "get_freeze_count": staticmethod(gc.get_freeze_count),
            "freeze": staticmethod(lambda: calls.append("freeze")),
            "unfreeze": staticmethod(lambda: calls.append("unfreeze"))}))
        pg.scan(tmp_path)
        # the caller's frozen objects stay frozen (their count may drop: one that dies leaves)
        assert calls == [] and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_rows_of_another_version_are_refused_not_misread():
    import marshal

    from pipeguard.scanner._row import unpacked

    with pytest.raises(ValueError, match="another version of pipeguard"):
        unpacked(marshal.dumps([("a.png", "ok", "PNG")]))


def test_a_hung_file_of_a_listed_folder_has_the_class_its_probe_would_give(tmp_path, monkeypatch):
    """The class of a row the pool writes for a file that hung is read after the listed
    folder, as the probe reads it (it was read from the whole shown path)."""
    import pipeguard as pg

    real = probe_module.probe_row

    def hangs(path, rel, *args):
        if rel.endswith("hang.png"):
            time.sleep(60)
        return real(path, rel, *args)

    monkeypatch.setattr(probe_module, "probe_row", hangs)
    (tmp_path / "data" / "cats").mkdir(parents=True)
    for name in ("a.png", "hang.png"):
        (tmp_path / "data" / "cats" / name).write_bytes(b"not an image")
    report = pg.scan([str(tmp_path / "data")], deep=True, workers=2, time_limit=0.5)
    rows = {row["path"].rsplit("/", 1)[1]: row for row in report.rows()}
    assert rows["hang.png"]["error_kind"] == "timeout"
    assert rows["hang.png"]["class"] == rows["a.png"]["class"] == "cats"


def _stuck_once_probe(part, deep=False, on_start=None, cache=None):
    """A probe that blocks before its first file the first time any worker runs it (as a
    worker forked while another thread held a lock would), then probes as usual."""
    marker = os.environ["PG_STUCK_MARKER"]
    if not os.path.exists(marker):
        open(marker, "w").close()
        time.sleep(600)
    return probe_module.probe_part(part, deep)


@pytest.mark.parametrize("time_limit", [None, 0.5])
def test_a_worker_stuck_before_its_first_file_is_replaced_never_waited_on(tmp_path, monkeypatch, time_limit):
    from pipeguard.scanner.engine import _pool

    monkeypatch.setattr(_pool, "START_LIMIT", 1.0)
    monkeypatch.setenv("PG_STUCK_MARKER", str(tmp_path / "stuck"))
    names = [f"{i:02d}.png" for i in range(6)]
    pool = SupervisedPool(1, deep=True, time_limit=time_limit, part_size=2, probe=_stuck_once_probe)
    rows = _rows(pool, _files(tmp_path, names))
    assert (tmp_path / "stuck").exists()  # the first worker did block
    assert [r.path for r in rows] == names and pool.restarts == 1
    assert {r.error_kind for r in rows} == {"unidentified"}  # each read by the fresh worker, none blamed

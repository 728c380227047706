"""A report as a folder of Parquet parts (issue 26): written by the cluster's tasks, or by a
scan on this machine; ``pandas.read_parquet(folder)`` gives every row in local-scan order,
the client holds only counts, and a retried task overwrites its own part."""

from __future__ import annotations

import os
import sys

import pandas as pd
import pytest

import pipeguard as pg

distributed = pytest.importorskip("distributed")
pytest.importorskip("pyarrow")

from cluster_support import class_folders, local_client, timeless  # noqa: E402
from conftest import make_image  # noqa: E402
from scan_folders import SIDE, png_bytes  # noqa: E402

CONTRACT = {"channels": 3, "size": (SIDE, SIDE)}


@pytest.fixture(scope="module")
def client():
    with local_client() as c:
        yield c


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """3 class folders of 700 files (each a task of its own, cut into parts of 2,048 files
    at most) and the planted problems."""
    return class_folders(tmp_path_factory.mktemp("classes"), 3, 700, 97)


def same_as_local(report, local, folder) -> None:
    """The parts read back by pandas alone, and by the report, equal the local scan."""
    read = pd.read_parquet(folder)
    expected = local.frame
    assert list(read["path"]) == list(expected["path"])
    for column in ("member", "status", "channels", "height", "width", "error_kind", "class"):
        assert read[column].astype(object).where(read[column].notna(), None).tolist() == \
            expected[column].astype(object).where(expected[column].notna(), None).tolist(), column
    assert [tuple(v) for v in read["violations"]] == [tuple(v) for v in expected["violations"]]
    pd.testing.assert_frame_equal(report.frame, expected)
    assert timeless(report.summary()) == timeless(local.summary())
    assert report.exit_code == local.exit_code


@pytest.mark.parametrize("contract", [CONTRACT, None], ids=["given", "inferred"])
def test_the_tasks_write_parts_that_read_back_as_the_local_scan(client, folders, tmp_path, contract):
    local = pg.scan(folders, contract=contract, workers=1)
    out = str(tmp_path / "report") + "/"
    report = pg.scan(folders, contract=contract, cluster=client, output=out)
    names = sorted(os.listdir(out))
    assert names[0] == "_pipeguard-summary.json" and len(names) > 3  # a part per task, and the summary
    assert all(n.startswith("part-") and n.endswith(".parquet") for n in names[1:])
    assert report._columns is None and report._frame is None  # nothing held: the rows stayed in the parts
    same_as_local(report, local, out)


def test_the_client_receives_counts_never_rows(client, folders, tmp_path, monkeypatch):
    from pipeguard.scanner import _parts

    received = []
    real = _parts.in_order

    def spying(*args, **kwargs):
        for item, result in real(*args, **kwargs):
            received.append(type(result).__name__)
            yield item, result

    monkeypatch.setattr(_parts, "in_order", spying)
    pg.scan(folders, contract=CONTRACT, cluster=client, output=str(tmp_path / "r") + "/")
    assert received and set(received) == {"Tally"}


def _writes_then_dies(item, *args):
    """A task that writes its part, then kills its worker, the first time it meets ``class1``:
    the scheduler runs it again on the other worker, which writes the same part again."""
    from pipeguard.scanner._parts import write_part_task

    result = write_part_task(item, *args)
    marker = os.environ.get("PG_KILL_MARKER", "")
    if any(run.prefix.startswith("class1") for run in item[1]) and marker and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
    return result


def test_a_task_retried_after_its_worker_died_overwrites_its_own_part(client, folders, tmp_path, monkeypatch):
    import cloudpickle

    from pipeguard.scanner import _parts

    marker = tmp_path / "killed"
    client.run(lambda m: os.environ.__setitem__("PG_KILL_MARKER", m), str(marker))
    monkeypatch.setattr(_parts, "write_part_task", _writes_then_dies)
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    out = str(tmp_path / "report") + "/"
    try:
        report = pg.scan(folders, contract=CONTRACT, cluster=client, output=out)
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert marker.exists()  # a worker did die after writing its part
    same_as_local(report, pg.scan(folders, contract=CONTRACT, workers=1), out)  # no row twice
    client.wait_for_workers(2, timeout=60)


def test_a_scan_on_this_machine_writes_the_same_layout(folders, tmp_path):
    local = pg.scan(folders, contract=CONTRACT, workers=1)
    out = tmp_path / "here"
    out.mkdir()  # an existing empty folder is a folder output too
    report = pg.scan(folders, contract=CONTRACT, workers=1, output=out)
    assert (out / "_pipeguard-summary.json").exists() and (out / "part-00000.parquet").exists()
    same_as_local(report, local, str(out))


def test_a_folder_that_holds_files_is_refused_and_left_alone(folders, tmp_path, client):
    out = tmp_path / "used"
    out.mkdir()
    (out / "part-00000.parquet").write_bytes(b"an earlier scan's part")
    for cluster in (None, client):
        with pytest.raises(ValueError, match=r"is not empty \(1 file, e.g. 'part-00000.parquet'\)"):
            pg.scan(folders, contract=CONTRACT, cluster=cluster, output=str(out) + "/")
    assert os.listdir(out) == ["part-00000.parquet"]
    assert (out / "part-00000.parquet").read_bytes() == b"an earlier scan's part"


def test_the_tasks_write_their_parts_to_an_s3_prefix(client, folders):
    pytest.importorskip("moto")
    pytest.importorskip("s3fs")
    from s3_server import CREDENTIALS, S3Server

    server = S3Server()
    try:
        options = {"endpoint_url": server.endpoint, "key": CREDENTIALS["AWS_ACCESS_KEY_ID"],
                   "secret": CREDENTIALS["AWS_SECRET_ACCESS_KEY"]}
        server.filesystem().mkdir("reports")
        out = "s3://reports/nightly/scan/"
        report = pg.scan(folders, contract=CONTRACT, cluster=client, output=out, storage_options=options)
        fs = server.filesystem()
        names = sorted(p.rsplit("/", 1)[-1] for p in fs.ls("reports/nightly/scan"))
        assert names[0] == "_pipeguard-summary.json" and names[1] == "part-00000.parquet"
        local = pg.scan(folders, contract=CONTRACT, workers=1)
        read = pd.read_parquet(out, storage_options=options)
        assert list(read["path"]) == list(local.frame["path"])
        assert list(read["status"]) == list(local.frame["status"])
        pd.testing.assert_frame_equal(report.frame, local.frame)
        assert timeless(report.summary()) == timeless(local.summary())
        with pytest.raises(ValueError, match="is not empty"):  # a second scan into it is refused
            pg.scan(folders, contract=CONTRACT, cluster=client, output=out, storage_options=options)
    finally:
        server.stop()


def test_the_cli_writes_parts_to_a_folder_output(client, folders, tmp_path):
    import json
    import subprocess

    scan = [sys.executable, "-m", "pipeguard", "scan", str(folders), "--channels", "3", "--size", f"{SIDE}x{SIDE}"]
    local = json.loads(subprocess.run(scan + ["--format", "json"], capture_output=True, text=True, timeout=120).stdout)
    for name, extra in (("here", []), ("tasks", ["--dask", client.scheduler.address])):
        out = f"{tmp_path / name}/"
        done = subprocess.run(scan + ["--output", out, *extra], capture_output=True, text=True, timeout=300)
        assert done.returncode == 1, done.stderr[-2000:]  # the planted problems
        assert done.stdout == "" and f"report: {out} (parquet)" in done.stderr
        read = pd.read_parquet(out)
        assert list(read["path"]) == [f["path"] for f in local["files"]], name
        assert list(read["status"]) == [f["status"] for f in local["files"]], name
        with open(os.path.join(out, "_pipeguard-summary.json")) as f:
            assert timeless(json.load(f)) == timeless(local["summary"]), name
    wrong = subprocess.run(scan + ["--output", f"{tmp_path / 'x'}/", "--format", "json"], capture_output=True,
                           text=True, timeout=60)
    assert wrong.returncode == 2 and wrong.stderr.startswith("Error: --output ") and wrong.stderr.count("\n") == 1
    again = subprocess.run(scan + ["--output", f"{tmp_path / 'here'}/"], capture_output=True, text=True, timeout=60)
    assert again.returncode == 2 and again.stderr.count("\n") == 1, again.stderr  # not empty: one line, untouched
    assert again.stderr.startswith("Error: the output folder ") and "is not empty" in again.stderr


def test_a_contract_that_cannot_be_inferred_still_gives_the_report(client, tmp_path):
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for k, (mode, size) in enumerate([("RGB", (8, 8)), ("L", (9, 9)), ("RGBA", (10, 10)), ("RGB", (11, 11))]):
        (mixed / f"{k}.png").write_bytes(png_bytes(make_image(mode, size)))
    local = pg.scan(mixed, workers=1)
    assert local.contract is None  # nothing dominant: no contract to judge by
    out = str(tmp_path / "out") + "/"
    same_as_local(pg.scan(mixed, cluster=client, output=out), local, out)


def _cannot_write_part_one(item, *args):
    from pipeguard.scanner._parts import write_part_task
    from pipeguard.scanner.output import OutputError

    if item[0] == 1:
        raise OutputError("cannot write part 1: Permission denied")
    return write_part_task(item, *args)


def test_a_task_that_cannot_write_its_part_ends_the_scan_with_that_error(client, folders, tmp_path, monkeypatch):
    import cloudpickle

    from pipeguard.scanner import _parts

    monkeypatch.setattr(_parts, "write_part_task", _cannot_write_part_one)
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    out = tmp_path / "report"
    try:
        with pytest.raises(OSError, match=r"a Dask task could not write .*part-00001.parquet: .*Permission denied"):
            pg.scan(folders, contract=CONTRACT, cluster=client, output=f"{out}/")
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert not (out / "_pipeguard-summary.json").exists()  # no report that looks whole (no crash rows either)


def test_parts_are_read_in_the_order_of_their_numbers_past_five_digits(tmp_path):
    from pipeguard.scanner.output._parts import part_names

    for n in (100_000, 99_999, 2, 1_000_000):
        (tmp_path / f"part-{n:05d}.parquet").touch()
    (tmp_path / ".part-00003.parquet.12.tmp").touch()
    assert part_names(str(tmp_path)) == ["part-00002.parquet", "part-99999.parquet", "part-100000.parquet",
                                         "part-1000000.parquet"]
    assert part_names(str(tmp_path), temporary=True) == [".part-00003.parquet.12.tmp"]

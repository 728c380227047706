"""``scan(cache=DIR)``: the report is the one a scan without a cache gives, and the cache is
really used (files whose stamp is unchanged are not read again)."""

from __future__ import annotations

import logging
import marshal
import multiprocessing as mp
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pandas as pd
import pytest
from archive_support import planted_members, write_tar, write_zip
from click.testing import CliRunner
from conftest import make_image
from scan_folders import SIDE, build, png_bytes

import pipeguard
from pipeguard import Contract
from pipeguard.cli import main
from pipeguard.scanner import scan
from pipeguard.scanner.engine import _cache
from pipeguard.scanner.engine import _local as local
from pipeguard.scanner.probe import _part

pytestmark = pytest.mark.skipif("fork" not in mp.get_all_start_methods(),
                                reason="the counting probe reaches workers through fork")

CONTRACT = Contract(channels=3, size=(SIDE, SIDE))
LINKS = {"dogs/broken_link.png"}  # a broken link has no stamp: read every time


@pytest.fixture
def reads(tmp_path, monkeypatch):
    """The relative paths each probe reads (plain files and archives), logged to a file
    so that worker processes (forked after the patch) log too; ``reads()`` returns and
    clears them. Files written by the test are stored at once (no racy window)."""
    log = tmp_path / "reads.log"
    log.touch()
    real_row, real_archive = _part.probe_row, _part.probe_archive

    def note(rel):
        with open(log, "a") as f:
            f.write(rel + "\n")

    def probe_row(path, rel, *args):
        note(rel)
        return real_row(path, rel, *args)

    def probe_archive(path, rel, *args, **kw):
        note(rel)
        return real_archive(path, rel, *args, **kw)

    monkeypatch.setattr(_part, "probe_row", probe_row)
    monkeypatch.setattr(_part, "probe_archive", probe_archive)
    monkeypatch.setattr(_cache, "RACY_NS", 0)

    def taken() -> list[str]:
        got = log.read_text().splitlines()
        log.write_text("")
        return got

    return taken


@pytest.fixture
def folder(tmp_path):
    """The planted folder with three archives in it (a WebDataset tar, a tar.gz, a zip)."""
    root = tmp_path / "data"
    root.mkdir()
    build(root)
    (root / "shards").mkdir()
    write_tar(root / "shards" / "000.tar", planted_members())
    write_tar(root / "shards" / "001.tar.gz", planted_members(), "w:gz")
    write_zip(root / "shards" / "002.zip", planted_members())
    return root


def _same(got, want):
    """Two reports are the same: rows in order, statuses, violations, summary, exit code."""
    pd.testing.assert_frame_equal(got.frame, want.frame)
    pd.testing.assert_frame_equal(got.violations, want.violations)
    assert got.summary() == want.summary()
    assert got.exit_code == want.exit_code
    assert got.contract == want.contract


@pytest.mark.parametrize("contract", [CONTRACT, None], ids=["given", "inferred"])
def test_report_is_identical_and_unchanged_files_are_not_read_again(tmp_path, folder, reads, contract):
    plain = scan(folder, contract, workers=1)
    files = set(reads())
    cache = tmp_path / "cache"
    first = scan(folder, contract, workers=1, cache=cache)
    assert set(reads()) == files  # an empty cache reads everything
    second = scan(folder, contract, workers=1, cache=cache)
    assert set(reads()) == LINKS  # the archives too are taken whole from the cache
    _same(first, plain)
    _same(second, plain)
    assert (cache / _cache.FILE_NAME).is_file()
    assert not any("cache" in p for p in second.frame["path"])  # nothing written into the scanned folder


def test_a_rewritten_file_is_read_again(tmp_path, folder, reads):
    cache = tmp_path / "cache"
    scan(folder, CONTRACT, workers=1, cache=cache)
    (folder / "cats" / "rgb.png").write_bytes(png_bytes(make_image("L", (SIDE, SIDE))))
    write_zip(folder / "shards" / "002.zip", {"only.png": (png_bytes(make_image("RGB", (SIDE, SIDE))), "ok")})
    reads()
    got = scan(folder, CONTRACT, workers=1, cache=cache)
    # the link to cats/rgb.png has the stamp of the file it points to
    assert set(reads()) == LINKS | {"cats/rgb.png", "dogs/link_to_cat.png", "shards/002.zip"}
    _same(got, scan(folder, CONTRACT, workers=1))
    assert got.frame.set_index("path").loc["cats/rgb.png", "status"] == "violation"


def test_files_added_and_deleted_since_the_last_scan(tmp_path, folder, reads):
    """A run whose stored entries are not exactly its files (one gone, one new) is matched
    file by file: only the new file is read."""
    cache = tmp_path / "cache"
    scan(folder, CONTRACT, workers=1, cache=cache)
    (folder / "cats" / "rgb.png").unlink()
    (folder / "cats" / "new.png").write_bytes(png_bytes(make_image("RGB", (SIDE, SIDE))))
    reads()
    got = scan(folder, CONTRACT, workers=1, cache=cache)
    assert set(reads()) == LINKS | {"cats/new.png", "dogs/link_to_cat.png"}  # the link now points nowhere
    _same(got, scan(folder, CONTRACT, workers=1))
    reads()
    _same(scan(folder, CONTRACT, workers=1, cache=cache), got)  # the stale entry in the range changes nothing
    assert set(reads()) == LINKS | {"dogs/link_to_cat.png"}


def test_a_list_of_sources_with_a_cache(tmp_path, folder, reads, monkeypatch):
    """A listed folder's files carry its classes; the same file listed on its own has none:
    two entries, each reused by the next scan of the same list."""
    monkeypatch.chdir(tmp_path)
    listed = ["data", "data/cats/rgb.png", str(folder / "shards" / "000.tar")]
    cache = tmp_path / "cache"
    first = scan(listed, CONTRACT, workers=1, cache=cache)
    reads()
    second = scan(listed, CONTRACT, workers=1, cache=cache)
    assert set(reads()) == {"data/" + link for link in LINKS}
    plain = scan(listed, CONTRACT, workers=1)
    _same(first, plain)
    _same(second, plain)
    classes = second.frame.loc[second.frame["path"] == "data/cats/rgb.png", "class"].tolist()
    assert classes[0] == "cats" and pd.isna(classes[1])


def test_same_size_and_restored_mtime_is_still_read_again(tmp_path, folder, reads):
    """The stamp holds the change time and the inode: a rewrite that keeps the size and puts
    the modification time back (``cp -p``, ``rsync -t``, ``os.utime``) is still seen."""
    cache = tmp_path / "cache"
    target = folder / "cats" / "rgb.png"
    before = target.stat()
    scan(folder, CONTRACT, workers=1, cache=cache)
    target.write_bytes(b"x" * before.st_size)
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = target.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    reads()
    got = scan(folder, CONTRACT, workers=1, cache=cache)
    assert "cats/rgb.png" in reads()
    assert got.frame.set_index("path").loc["cats/rgb.png", "status"] == "unreadable"
    _same(got, scan(folder, CONTRACT, workers=1))


def test_a_file_changed_while_it_is_read_is_read_again(tmp_path, folder, reads, monkeypatch):
    """The stamp is taken before the read: a file rewritten just after it was read is not
    stored under its new stamp with its old row."""
    cache = tmp_path / "cache"
    target = folder / "cats" / "rgb.png"
    counting = _part.probe_row

    def rewritten_after_read(path, rel, *args):
        row = counting(path, rel, *args)
        if rel == "cats/rgb.png":
            target.write_bytes(png_bytes(make_image("RGBA", (SIDE, SIDE))))
        return row

    monkeypatch.setattr(_part, "probe_row", rewritten_after_read)
    first = scan(folder, CONTRACT, workers=1, cache=cache)
    assert first.frame.set_index("path").loc["cats/rgb.png", "status"] == "ok"  # what was read
    monkeypatch.setattr(_part, "probe_row", counting)
    reads()
    got = scan(folder, CONTRACT, workers=1, cache=cache)
    assert "cats/rgb.png" in reads()
    assert got.frame.set_index("path").loc["cats/rgb.png", "mode"] == "RGBA"
    _same(got, scan(folder, CONTRACT, workers=1))


def test_deep_after_plain_reads_everything_again_and_both_are_kept(tmp_path, folder, reads):
    cache = tmp_path / "cache"
    scan(folder, CONTRACT, workers=1, cache=cache)
    everything = set(reads())
    deep = scan(folder, CONTRACT, deep=True, workers=2, cache=cache)  # --deep always runs in workers
    assert set(reads()) == everything
    _same(deep, scan(folder, CONTRACT, deep=True, workers=2))
    reads()
    _same(scan(folder, CONTRACT, deep=True, workers=2, cache=cache), deep)
    # a decode that ran out of memory depends on the worker's memory, not on the file: never stored
    memory = set(deep.frame["path"][deep.frame["error"].str.contains("MemoryError", na=False)])
    assert set(reads()) == LINKS | memory
    reads()
    _same(scan(folder, CONTRACT, workers=1, cache=cache), scan(folder, CONTRACT, workers=1, cache=None))
    assert reads().count("cats/rgb.png") == 1  # the plain entries are still there: read by the scan without cache only


def test_another_version_reads_everything_again(tmp_path, folder, reads, monkeypatch):
    cache = tmp_path / "cache"
    plain = scan(folder, CONTRACT, workers=1, cache=cache)
    everything = set(reads())
    monkeypatch.setattr(pipeguard, "__version__", "99.0.0")
    _same(scan(folder, CONTRACT, workers=1, cache=cache), plain)
    assert set(reads()) == everything
    _same(scan(folder, CONTRACT, workers=1, cache=cache), plain)
    assert set(reads()) == LINKS


def test_workers_read_and_write_the_cache(tmp_path, folder, reads, monkeypatch):
    monkeypatch.setattr(local, "SERIAL_BELOW", 0)  # the pool, with the parent probing beside a worker
    cache = tmp_path / "cache"
    plain = scan(folder, CONTRACT, workers=1)
    everything = set(reads())
    _same(scan(folder, CONTRACT, workers=2, cache=cache), plain)
    assert set(reads()) == everything
    _same(scan(folder, CONTRACT, workers=3, cache=cache), plain)
    assert set(reads()) == LINKS
    _same(scan(folder, CONTRACT, workers=1, cache=cache), plain)  # what workers wrote, read in process
    assert set(reads()) == LINKS


def test_files_written_just_before_a_scan_are_not_stored(tmp_path, folder, reads, monkeypatch):
    """A file changed less than RACY_NS ago could change again within the filesystem's
    time tick and keep its stamp: it is read again by the next scan."""
    monkeypatch.setattr(_cache, "RACY_NS", 3600 * 10**9)
    cache = tmp_path / "cache"
    scan(folder, CONTRACT, workers=1, cache=cache)
    everything = set(reads())
    scan(folder, CONTRACT, workers=1, cache=cache)
    assert set(reads()) == everything


def _stored(cache) -> int:
    con = sqlite3.connect(cache / _cache.FILE_NAME)
    try:
        return con.execute("SELECT count(*) FROM rows").fetchone()[0]
    finally:
        con.close()


def _stored_or_zero(cache) -> int:
    if not (cache / _cache.FILE_NAME).is_file():
        return 0
    try:
        return _stored(cache)
    except sqlite3.Error:  # not made yet
        return 0


def test_a_scan_stopped_by_an_error_leaves_a_cache_that_is_right(tmp_path, folder, reads, monkeypatch):
    monkeypatch.setattr(_cache, "FLUSH_ROWS", 4)
    monkeypatch.setattr(local, "PLAIN_PART", 4)  # parts of 4 files: some are stored before the error
    cache = tmp_path / "cache"
    counting, seen = _part.probe_row, []

    def fails_halfway(path, rel, *args):
        seen.append(rel)
        if len(seen) == 15:
            raise RuntimeError("stopped")
        return counting(path, rel, *args)

    monkeypatch.setattr(_part, "probe_row", fails_halfway)
    with pytest.raises(RuntimeError):
        scan(folder, CONTRACT, workers=1, cache=cache)
    monkeypatch.setattr(_part, "probe_row", counting)
    assert 0 < _stored(cache) < 14
    (folder / "cats" / "gray.png").write_bytes(png_bytes(make_image("RGB", (SIDE, SIDE))))
    reads()
    _same(scan(folder, CONTRACT, workers=1, cache=cache), scan(folder, CONTRACT, workers=1))
    assert "cats/gray.png" in reads()


SLOW_SCAN = """
import sys, time
from pipeguard.scanner import scan
from pipeguard.scanner.engine import _cache
from pipeguard.scanner.engine import _local as local
_cache.RACY_NS, _cache.FLUSH_ROWS, local.PLAIN_PART = 0, 16, 16
scan(sys.argv[1], workers=1, cache=sys.argv[2], progress=lambda done, path: time.sleep(0.02))
"""


@pytest.mark.slow
def test_a_scan_killed_halfway_leaves_a_cache_that_is_right(tmp_path):
    """SIGKILL at whatever moment the first entries are visible: in a transaction or between."""
    root = tmp_path / "many"
    tiny = png_bytes(make_image("RGB", (4, 4)))
    gray = png_bytes(make_image("L", (4, 4)))
    for i in range(3000):
        d = root / f"c{i % 3}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{i:05d}.png").write_bytes(gray if i % 97 == 0 else tiny)
    cache = tmp_path / "cache"
    child = subprocess.Popen([sys.executable, "-c", SLOW_SCAN, str(root), str(cache)])
    try:
        deadline = time.monotonic() + 60
        while not _stored_or_zero(cache) and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    assert 0 < _stored(cache) < 3000
    for i in range(0, 3000, 250):  # rewrite files, stored or not
        (root / f"c{i % 3}" / f"{i:05d}.png").write_bytes(tiny if i % 97 == 0 else gray)
    _same(scan(root, workers=2, cache=cache), scan(root, workers=2))


def test_a_corrupt_cache_file_is_rebuilt(tmp_path, folder, reads, caplog):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / _cache.FILE_NAME).write_bytes(b"this is not a database, but it has a header of some length" * 20)
    plain = scan(folder, CONTRACT, workers=1)
    everything = set(reads())
    with caplog.at_level(logging.WARNING, logger="pipeguard.scanner.engine._cache"):
        _same(scan(folder, CONTRACT, workers=1, cache=cache), plain)
    assert [r.getMessage() for r in caplog.records if "damaged" in r.getMessage()]
    assert set(reads()) == everything
    _same(scan(folder, CONTRACT, workers=1, cache=cache), plain)
    assert set(reads()) == LINKS


def test_a_cache_that_cannot_be_made_is_skipped_with_one_warning(tmp_path, folder, reads, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    plain = scan(folder, CONTRACT, workers=1)
    reads()
    with caplog.at_level(logging.WARNING, logger="pipeguard.scanner.engine._cache"):
        _same(scan(folder, CONTRACT, workers=1, cache=blocker / "cache"), plain)
    assert len([r for r in caplog.records if r.name == "pipeguard.scanner.engine._cache"]) == 1


def test_a_cache_inside_the_scanned_folder_is_not_used(tmp_path, folder, reads, caplog):
    plain = scan(folder, CONTRACT, workers=1)
    with caplog.at_level(logging.WARNING, logger="pipeguard.scanner.engine._cache"):
        _same(scan(folder, CONTRACT, workers=1, cache=folder / ".cache"), plain)
    assert not (folder / ".cache").exists()
    assert any("inside the scanned folder" in r.getMessage() for r in caplog.records)


def test_cli_cache_option(tmp_path, folder, reads):
    cache = tmp_path / "cache"
    args = ["scan", str(folder), "--channels", "3", "--size", f"{SIDE}x{SIDE}", "--format", "json"]
    plain = CliRunner().invoke(main, args)
    reads()
    first = CliRunner().invoke(main, [*args, "--cache", str(cache)])
    assert set(reads()) > LINKS
    second = CliRunner().invoke(main, [*args, "--cache", str(cache)])
    assert set(reads()) == LINKS
    assert plain.exit_code == first.exit_code == second.exit_code == 1
    strip = lambda out: [line for line in out.splitlines() if '"elapsed' not in line]  # noqa: E731
    assert strip(first.output) == strip(plain.output) == strip(second.output)


def test_a_url_scan_says_it_runs_without_the_cache(tmp_path, folder, caplog):
    cache = tmp_path / "cache"
    with caplog.at_level(logging.WARNING, logger="pipeguard.scanner"):
        report = scan([str(folder / "cats" / "rgb.png"), "memory://nothing-here.png"], CONTRACT, cache=cache)
    assert any("not using the cache" in r.getMessage() and "URL" in r.getMessage() for r in caplog.records)
    assert not cache.exists() and len(report.frame) == 2


def test_stamps_are_each_files_own_stat_however_its_folder_is_given(tmp_path, monkeypatch):
    """Files are looked up from their folder's descriptor: the stats are still os.stat's, a
    link is followed, a broken link or a file gone is None, and a folder given as "" (files
    in the working folder, from a list) works too."""
    (tmp_path / "a.png").write_bytes(b"x")
    (tmp_path / "b.png").write_bytes(b"yy")
    os.symlink(tmp_path / "b.png", tmp_path / "link.png")
    os.symlink(tmp_path / "nowhere", tmp_path / "broken.png")
    monkeypatch.chdir(tmp_path)
    for folder in (f"{tmp_path}/", ""):
        names = ["a.png", "b.png", "link.png"]
        assert [s.st_ino for s in _cache._stats(folder, names)] == [os.stat(tmp_path / n).st_ino for n in names]
        got = _cache._stats(folder, ["a.png", "broken.png", "gone.png"])
        assert got[0].st_size == 1 and got[1:] == [None, None]


@pytest.fixture
def listed(monkeypatch):
    """The folders the walk lists from the disk (rather than from the cache), relative to
    ``folder``'s parent; ``listed()`` returns and clears them."""
    from pipeguard.scanner.sources import _walk

    seen: list[str] = []
    real = _walk._listed

    def counting(path, *args, **kw):
        seen.append(path)
        return real(path, *args, **kw)

    monkeypatch.setattr(_walk, "_listed", counting)

    def taken(root):
        got = sorted(os.path.relpath(p, root) for p in seen)
        seen.clear()
        return got

    return taken


def test_unchanged_folders_are_not_listed_again_and_changed_ones_are(tmp_path, folder, reads, listed):
    """A folder whose own stat is unchanged gives its kept listing; an entry added, removed
    or renamed changes its stat and it is listed again, a new subfolder with it. ``dogs``
    holds symlinks: listed every time."""
    _listings_kept_in(tmp_path)
    cache = tmp_path / "cache"
    scan(folder, CONTRACT, workers=1, cache=cache)
    assert listed(folder) == [".", ".hidden", "cats", "dogs", "shards"]
    again = scan(folder, CONTRACT, workers=1, cache=cache)
    assert listed(folder) == ["dogs"]
    _same(again, scan(folder, CONTRACT, workers=1))
    listed(folder)

    png = png_bytes(make_image("RGB", (SIDE, SIDE)))
    (folder / "cats" / "new.png").write_bytes(png)                     # added
    os.rename(folder / ".hidden" / "rgb.png", folder / ".hidden" / "moved.png")  # renamed
    (folder / "shards" / "000.tar").unlink()                           # removed
    (folder / "shards" / "more").mkdir()                               # a new folder, and its file
    (folder / "shards" / "more" / "a.png").write_bytes(png)
    got = scan(folder, CONTRACT, workers=1, cache=cache)
    assert listed(folder) == [".hidden", "cats", "dogs", "shards", "shards/more"]
    _same(got, scan(folder, CONTRACT, workers=1))
    listed(folder)
    paths = set(got.frame["path"])
    assert {"cats/new.png", ".hidden/moved.png", "shards/more/a.png"} <= paths
    assert not paths & {".hidden/rgb.png", "shards/000.tar"}
    _same(scan(folder, CONTRACT, workers=2, cache=cache), got)         # kept again, in a pool too
    assert listed(folder) == ["dogs"]


def test_a_folder_holding_a_link_is_listed_every_time(tmp_path, reads, listed):
    """A link's target may turn from a file into a folder without its folder changing: the
    walk must see that it is a folder now (and follow it, or note it as a skipped link)."""
    _listings_kept_in(tmp_path)
    root = tmp_path / "data"
    (root / "a").mkdir(parents=True)
    (root / "a" / "x.png").write_bytes(png_bytes(make_image("RGB", (SIDE, SIDE))))
    target = tmp_path / "elsewhere"
    target.write_bytes(png_bytes(make_image("RGB", (SIDE, SIDE))))
    os.symlink(target, root / "a" / "link")
    cache = tmp_path / "cache"
    first = scan(root, CONTRACT, workers=1, cache=cache)
    assert "a/link" in set(first.frame["path"])
    target.unlink()
    target.mkdir()
    (target / "inner.png").write_bytes(png_bytes(make_image("RGB", (SIDE, SIDE))))
    listed(root)
    second = scan(root, CONTRACT, workers=1, cache=cache, follow_symlinks=True)
    assert listed(root) == ["a", "a/link"]  # the top folder's listing is kept; a's never; the link's is new
    assert "a/link/inner.png" in set(second.frame["path"]) and "a/link" not in set(second.frame["path"])
    _same(second, scan(root, CONTRACT, workers=1, follow_symlinks=True))
    plain = scan(root, CONTRACT, workers=1, cache=cache)
    assert plain.walk.skipped_dir_links == ["a/link"]


def test_a_folder_changed_just_before_it_is_listed_is_not_kept(tmp_path, folder, reads, listed, monkeypatch):
    """A second change in the same clock tick would leave the folder's stamp as it was: a
    folder changed within RACY_NS of its listing is listed again next time."""
    monkeypatch.setattr(_cache, "RACY_NS", 3600 * 10**9)
    cache = tmp_path / "cache"
    scan(folder, CONTRACT, workers=1, cache=cache)
    listed(folder)
    scan(folder, CONTRACT, workers=1, cache=cache)
    assert listed(folder) == [".", ".hidden", "cats", "dogs", "shards"]


def test_only_local_filesystems_have_their_folder_listings_kept(tmp_path):
    from pipeguard.scanner.sources._mounts import local_devices

    (tmp_path / "my disk").mkdir()  # a mount point with a space, escaped in mountinfo
    info = tmp_path / "mountinfo"
    info.write_text(
        "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
        f"27 1 254:0 / {tmp_path}/my\\040disk rw,relatime - ext4 /dev/vda rw\n"
        "30 27 0:45 / /mnt/bucket rw - fuse.mountpoint-s3 mountpoint-s3 rw\n"
        "31 27 0:46 / /data rw shared:5 - nfs4 server:/data rw\n"
        f"32 27 0:47 / {tmp_path}/gone rw master:1 shared:2 - tmpfs tmpfs rw\n"
        "garbage\n")
    # each local mount's number, and its mount point's own (a Btrfs subvolume's differs)
    assert local_devices(str(info)) == {os.makedev(254, 0), os.makedev(0, 47), os.stat(tmp_path).st_dev}
    assert local_devices(str(tmp_path / "missing")) == frozenset()


def _listings_kept_in(path):
    """Skip a test of kept listings where the test's folder is not on a local Linux filesystem."""
    from pipeguard.scanner.sources._mounts import local_devices

    if os.stat(path).st_dev not in local_devices():
        pytest.skip("folder listings are kept only on local Linux filesystems")


def test_listings_are_not_kept_off_local_filesystems_nor_reused_by_who_cannot_list(
        tmp_path, folder, reads, listed, monkeypatch):
    from pipeguard.scanner.sources import _mounts, _walk

    _listings_kept_in(tmp_path)
    cache = tmp_path / "cache"
    with monkeypatch.context() as m:
        m.setattr(_mounts, "local_devices", lambda: frozenset())  # as on a FUSE or network mount
        scan(folder, CONTRACT, workers=1, cache=cache)
        scan(folder, CONTRACT, workers=1, cache=cache)
    assert listed(folder).count("cats") == 2  # listed both times
    scan(folder, CONTRACT, workers=1, cache=cache)
    listed(folder)
    with monkeypatch.context() as m:
        m.setattr(_walk, "_may_list", lambda folder: False)  # another user, who may not list it
        scan(folder, CONTRACT, workers=1, cache=cache)
    assert listed(folder) == [".", ".hidden", "cats", "dogs", "shards"]
    scan(folder, CONTRACT, workers=1, cache=cache)
    assert listed(folder) == ["dogs"]


# hostile and faulty input: who may reuse a row, what a cache file may be, what is read back

# Run in a fresh interpreter, which has no thread: a fork of a process with threads (pytest-xdist's
# own) may copy a lock another thread holds and hang. Every lazy import is warmed as root first,
# since the other user may not read Python's own files here; a forked child then becomes that user.
_AS_NOBODY = r"""
import os, pickle, sys
import pipeguard as pg
from pipeguard.scanner.engine import _cache
from pipeguard.scanner.probe import _part

data, cache, warm, uid, gid, side = sys.argv[1:7]
contract = pg.Contract(channels=3, size=(int(side), int(side)))
_cache.RACY_NS = 0
seen = []
real = _part.probe_row

def probe_row(path, rel, *args):
    seen.append(rel)
    return real(path, rel, *args)

_part.probe_row = probe_row
pg.scan(data, contract, workers=1, cache=warm).frame

def as_user(**kw):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            os.setgroups([])
            os.setgid(int(gid))
            os.setuid(int(uid))
            seen.clear()
            out = pickle.dumps(("ok", pg.scan(data, contract, workers=1, **kw).frame, list(seen)))
        except BaseException as exc:
            out = pickle.dumps(("error", repr(exc), []))
        with os.fdopen(w, "wb") as f:
            f.write(out)
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        found = pickle.loads(f.read())
    os.waitpid(pid, 0)
    return found

sys.stdout.buffer.write(pickle.dumps([as_user(), as_user(cache=cache)]))
"""


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="becomes another user: needs root")
def test_a_row_kept_by_who_could_read_a_file_is_not_shown_to_who_cannot(monkeypatch):
    import pickle
    import pwd
    import shutil
    import tempfile

    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user 'nobody'")
    monkeypatch.setattr(_cache, "RACY_NS", 0)  # files just written are kept (see the racy test)
    base = tempfile.mkdtemp()  # outside pytest's folders, which only root may enter
    try:
        os.chmod(base, 0o755)
        root = os.path.join(base, "data", "cats")
        os.makedirs(root)
        for name, mode in (("open.png", 0o644), ("secret.png", 0o600)):  # secret: root's alone
            path = os.path.join(root, name)
            with open(path, "wb") as f:
                f.write(png_bytes(make_image("RGB", (SIDE, SIDE))))
            os.chmod(path, mode)
        data, cache = os.path.join(base, "data"), os.path.join(base, "cache")
        assert set(scan(data, CONTRACT, workers=1, cache=cache).frame["status"]) == {"ok"}  # root reads both
        for name in ["", *os.listdir(cache)]:  # the cache is now nobody's, who may use it
            os.chown(os.path.join(cache, name), nobody.pw_uid, nobody.pw_gid)
        done = subprocess.run([sys.executable, "-c", _AS_NOBODY, data, cache, os.path.join(base, "warm"),
                               str(nobody.pw_uid), str(nobody.pw_gid), str(SIDE)],
                              capture_output=True, timeout=120, check=True)
        (how, plain, _), (how_cached, cached, read) = pickle.loads(done.stdout)
        assert (how, how_cached) == ("ok", "ok"), (plain, cached)
        assert plain.set_index("path").loc["cats/secret.png", "error_kind"] == "permission denied"
        pd.testing.assert_frame_equal(cached, plain)
        assert read == ["cats/secret.png"]  # the other row came from the cache
    finally:
        shutil.rmtree(base)


def _foreign_database(path) -> bytes:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE meta (name TEXT PRIMARY KEY, value)")
    con.execute("CREATE TABLE rows (precious TEXT)")
    con.execute("INSERT INTO rows VALUES ('keep me')")
    con.commit()
    con.close()
    return path.read_bytes()


def test_a_symlink_planted_as_the_cache_file_is_not_written_through(tmp_path, folder, reads, caplog):
    foreign = tmp_path / "someone-elses.sqlite3"
    before = _foreign_database(foreign)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / _cache.FILE_NAME).symlink_to(foreign)
    plain = scan(folder, CONTRACT, workers=1)
    everything = set(reads())
    with caplog.at_level(logging.WARNING, logger="pipeguard.scanner.engine._cache"):
        _same(scan(folder, CONTRACT, workers=1, cache=cache), plain)
    assert foreign.read_bytes() == before
    assert not any(p.name.startswith(foreign.name + "-") for p in tmp_path.iterdir())  # no -wal, no -shm
    assert set(reads()) == everything  # scanned without the cache
    [warning] = [r.getMessage() for r in caplog.records if r.name == "pipeguard.scanner.engine._cache"]
    assert "symlink" in warning and "scanning without the cache" in warning


def test_a_cache_file_of_another_user_is_not_written(tmp_path, folder, reads, caplog):
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("gives a file away: needs root")
    cache = tmp_path / "cache"
    cache.mkdir()
    theirs = cache / _cache.FILE_NAME
    before = _foreign_database(theirs)
    os.chown(theirs, 65534, 65534)
    with caplog.at_level(logging.WARNING, logger="pipeguard.scanner.engine._cache"):
        _same(scan(folder, CONTRACT, workers=1, cache=cache), scan(folder, CONTRACT, workers=1))
    assert theirs.read_bytes() == before
    assert any("another user" in r.getMessage() for r in caplog.records)


def test_damaged_or_crafted_entries_are_misses(tmp_path, folder, reads):
    _listings_kept_in(tmp_path)
    cache = tmp_path / "cache"
    plain = scan(folder, CONTRACT, workers=1, cache=cache)
    con = sqlite3.connect(cache / _cache.FILE_NAME)
    entries = con.execute("SELECT deep, key, item FROM rows").fetchall()
    rows = [(deep, key, item) for deep, key, item in entries if type(marshal.loads(item)) is tuple]
    row = marshal.loads(rows[3][2])
    crafted = [
        b"\xff\xfe not marshal data",                               # bad marshal data
        marshal.dumps((1, 2, 3)),                                   # a tuple of another length
        marshal.dumps((row[0], 5) + row[2:]),                       # a value of the wrong type
        marshal.dumps(("../../etc/passwd",) + row[1:]),             # another file's path
        marshal.dumps([("../../etc/passwd",) + row[1:]]),           # ... as an archive's rows
        marshal.dumps({"not": "a row"}),
    ]
    for (deep, key, _), item in zip(rows, crafted):
        con.execute("UPDATE rows SET item = ? WHERE deep = ? AND key = ?", (item, deep, key))
    assert con.execute("SELECT count(*) FROM listings").fetchone()[0] > 0
    con.execute("UPDATE listings SET names = ?", (marshal.dumps((["../../etc/passwd", "a/b.png"], [])),))
    con.commit()
    con.close()
    reads()
    again = scan(folder, CONTRACT, workers=1, cache=cache)
    _same(again, plain)
    assert not any(p.startswith("../") or "etc/passwd" in p for p in again.frame["path"])
    assert len(set(reads()) - LINKS) == len(crafted)  # the damaged entries' files were read again
    _same(scan(folder, CONTRACT, workers=1, cache=cache), plain)  # and their entries rewritten
    assert set(reads()) == LINKS


@pytest.mark.parametrize("names", [
    ([], ["../"]), (["."], []), (["a\0b"], []), (["b", "a"], []), ([1], []), (["x"], ["y"]), "not a pair"])
def test_a_crafted_listing_is_not_used(names):
    from pipeguard.scanner.engine._cache_checks import cached_listing

    assert cached_listing(marshal.dumps(names)) is None
    assert cached_listing(b"\x00bad") is None
    assert cached_listing(marshal.dumps((["a.png", "b.png"], ["sub/"]))) == (["a.png", "b.png"], ["sub/"])


def test_an_empty_cache_path_is_an_error_not_the_current_folder(tmp_path, folder, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="empty"):
        scan(folder, CONTRACT, workers=1, cache="")
    result = CliRunner().invoke(main, ["scan", str(folder), "--cache", ""])
    assert result.exit_code == 2
    assert result.output.splitlines() == ["Error: Invalid value for '--cache': an empty path; give the cache's folder"]
    assert not (tmp_path / _cache.FILE_NAME).exists()

"""Archive members listed and read in place (the scanner's view of .tar / .tar.gz / .zip)."""

from __future__ import annotations

import io
import os
import tarfile
import warnings
import zipfile
import zlib

import pytest
from archive_support import planted_members, write_tar, write_zip
from PIL import Image

from pipeguard._io._archive import (
    ArchiveError,
    list_members,
    opened,
    streamed_members,
)
from pipeguard._io._file_read import read_at


def _read_all(path):
    members = list_members(str(path)).members
    with opened(str(path)) as archive:
        return {m.name: (archive.open(m).read() if m.error is None else m.error) for m in members}


@pytest.mark.parametrize("kind", ["tar", "zip-stored", "zip-deflated"])
def test_members_read_back_exactly(tmp_path, kind):
    planted = planted_members()
    path = tmp_path / ("shard.tar" if kind == "tar" else "shard.zip")
    if kind == "tar":
        write_tar(path, planted)
    else:
        write_zip(path, planted, zipfile.ZIP_STORED if kind == "zip-stored" else zipfile.ZIP_DEFLATED)
    got = _read_all(path)
    assert list(got) == list(planted)  # archive order
    assert got == {name: data for name, (data, _) in planted.items()}


def test_uncompressed_members_are_read_in_place(tmp_path):
    planted = planted_members()
    write_tar(tmp_path / "a.tar", planted)
    members = list_members(str(tmp_path / "a.tar")).members
    assert all(m.offset is not None for m in members)
    with opened(str(tmp_path / "a.tar")) as archive:
        f = archive.open(members[0])
        data = planted[members[0].name][0]
        assert read_at(f, len(data) - 2, 10) == data[-2:]  # the tail, without moving the position
        assert f.tell() == 0 and f.read(3) == data[:3]


def test_compressed_tar_streams_its_members(tmp_path):
    planted = planted_members()
    write_tar(tmp_path / "a.tar.gz", planted, mode="w:gz")
    assert list_members(str(tmp_path / "a.tar.gz")) is None
    got = {m.name: f.read() for m, f in streamed_members(str(tmp_path / "a.tar.gz"))}
    assert got == {name: data for name, (data, _) in planted.items()}


def test_random_bytes_are_no_archive(tmp_path):
    for name in ("junk.tar", "junk.zip"):
        (tmp_path / name).write_bytes(os.urandom(3000))
        with pytest.raises(ArchiveError):
            list_members(str(tmp_path / name))


def test_a_truncated_tar_flags_the_member_it_cuts(tmp_path):
    planted = planted_members()
    write_tar(tmp_path / "a.tar", planted)
    data = (tmp_path / "a.tar").read_bytes()
    members = list_members(str(tmp_path / "a.tar")).members
    last = members[-1]
    (tmp_path / "cut.tar").write_bytes(data[: last.offset + last.size // 2])
    cut, damage = list_members(str(tmp_path / "cut.tar"))
    assert damage is None and [m.name for m in cut] == [m.name for m in members]
    assert cut[-1].error and "truncated archive" in cut[-1].error
    assert all(m.error is None for m in cut[:-1])


def test_links_and_damaged_zip_members_are_their_own_rows(tmp_path):
    path = tmp_path / "links.tar"
    with tarfile.open(path, "w") as tf:
        info = tarfile.TarInfo("link.jpg")
        info.type = tarfile.SYMTYPE
        info.linkname = "elsewhere.jpg"
        tf.addfile(info)
    (member,), _ = list_members(str(path))
    assert member.error and "link" in member.error
    planted = planted_members()
    write_zip(tmp_path / "d.zip", planted, zipfile.ZIP_DEFLATED)
    raw = bytearray((tmp_path / "d.zip").read_bytes())
    members = list_members(str(tmp_path / "d.zip")).members
    with zipfile.ZipFile(tmp_path / "d.zip") as zf:
        info = zf.getinfo("000000.jpg")
        start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    raw[start + 10] ^= 0xFF  # corrupt the deflated data of one member
    (tmp_path / "d.zip").write_bytes(bytes(raw))
    with opened(str(tmp_path / "d.zip")) as archive:
        with pytest.raises((zipfile.BadZipFile, zlib.error)):
            archive.open(members[0]).read()
        assert archive.open(members[2]).read() == planted[members[2].name][0]


def test_damage_after_some_members_keeps_them_and_says_why(tmp_path):
    planted = planted_members()
    write_tar(tmp_path / "a.tar", planted)
    data = bytearray((tmp_path / "a.tar").read_bytes())
    members = list_members(str(tmp_path / "a.tar")).members
    third_header = members[2].offset - 512
    data[third_header:third_header + 512] = os.urandom(512)  # a header with a wrong checksum
    (tmp_path / "b.tar").write_bytes(bytes(data))
    listing = list_members(str(tmp_path / "b.tar"))
    assert [m.name for m in listing.members] == [m.name for m in members[:2]]
    assert listing.damage and "damaged tar archive" in listing.damage


def _shards(root):
    """A folder of shards with planted problems, and what every member's row must say."""
    planted = planted_members()
    root.mkdir()
    write_tar(root / "shard-000.tar", planted)
    write_tar(root / "shard-001.tar.gz", planted, mode="w:gz")
    write_zip(root / "shard-002.zip", planted, zipfile.ZIP_DEFLATED)
    write_zip(root / "shard-003.zip", planted, zipfile.ZIP_STORED)
    (root / "shard-004.tar").write_bytes(os.urandom(4096))  # random bytes, named like a shard
    loose = planted["000000.jpg"][0]
    (root / "loose.jpg").write_bytes(loose)
    expected = {}
    for shard in ("shard-000.tar", "shard-001.tar.gz", "shard-002.zip", "shard-003.zip"):
        for name, (_, status) in planted.items():
            expected[(shard, name)] = status
    expected[("shard-004.tar", None)] = "unreadable"
    expected[("loose.jpg", None)] = "ok"
    return expected


def test_scan_reads_every_member_of_every_shard(tmp_path):
    import pipeguard as pg

    expected = _shards(tmp_path / "data")
    before = sorted(os.listdir(tmp_path / "data"))
    report = pg.scan(tmp_path / "data", contract=pg.Contract(channels=3, size=(16, 16)))
    got = {(r["path"], r["member"]): r["status"] for r in report.rows()}
    assert got == expected
    assert list(got) == sorted(expected, key=lambda k: k[0])  # archives in path order, members in archive order
    assert sorted(os.listdir(tmp_path / "data")) == before  # nothing extracted beside the archives
    rows = {(r["path"], r["member"]): r for r in report.rows()}
    assert rows[("shard-004.tar", None)]["error_kind"] == "damaged archive"
    assert rows[("shard-000.tar", "000002.jpg")]["error_kind"] == "truncated"
    assert rows[("shard-002.zip", "000001.png")]["violations"] == ["channels: has 1 channel (mode 'L'), not the 3 expected"]
    assert report.exit_code == 1
    v = report.violations
    assert set(zip(v["path"], v["member"])) >= {("shard-000.tar", "000001.png"), ("shard-000.tar", "000004.png")}


def test_archives_scan_alike_in_workers_and_deep(tmp_path, monkeypatch):
    import pipeguard as pg
    from pipeguard.scanner.engine import _local as local

    monkeypatch.setattr(local, "SERIAL_BELOW", 0)  # a pool even for a small folder

    expected = _shards(tmp_path / "data")
    contract = pg.Contract(channels=3, size=(16, 16))
    serial = list(pg.scan(tmp_path / "data", contract=contract, workers=1).rows())
    pooled = list(pg.scan(tmp_path / "data", contract=contract, workers=2).rows())
    assert pooled == serial
    deep = pg.scan(tmp_path / "data", contract=contract, workers=2, deep=True)
    assert {(r["path"], r["member"]): r["status"] for r in deep.rows()} == expected


def _add(tf, name, data=b"", kind=tarfile.REGTYPE, linkname=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, linkname, len(data)
    tf.addfile(info, io.BytesIO(data) if data else None)


def _tars(tmp_path):
    """Archives of every header kind the fast listing must read exactly as tarfile does, or defer:
    per format a plain one, one cut inside its last member, one with long and non-ASCII names."""
    planted = planted_members()
    out = []
    for fmt, name in ((tarfile.USTAR_FORMAT, "ustar"), (tarfile.GNU_FORMAT, "gnu"), (tarfile.PAX_FORMAT, "pax")):
        plain, odd = tmp_path / f"{name}.tar", tmp_path / f"{name}-odd.tar"
        with tarfile.open(plain, "w", format=fmt) as tf:
            _add(tf, "a/dir", kind=tarfile.DIRTYPE)
            _add(tf, "a/link.jpg", kind=tarfile.SYMTYPE, linkname="000000.jpg")
            _add(tf, "a/fifo", kind=tarfile.FIFOTYPE)
            if fmt == tarfile.USTAR_FORMAT:  # a long path in the prefix field (the others add a header)
                _add(tf, "d" * 90 + "/" + "e" * 60 + "/x.jpg", b"abc")
            for member, (data, _) in planted.items():
                _add(tf, member, data)
        with tarfile.open(odd, "w", format=fmt) as tf:
            _add(tf, "a.jpg", b"abc")
            if fmt != tarfile.USTAR_FORMAT:
                _add(tf, "l" * 300 + ".jpg", b"abc")  # a long-name header: tarfile's to read
            _add(tf, "ünï/çødé.jpg", b"x")
        last = list_members(str(plain)).members[-1]
        cut = tmp_path / f"{name}-cut.tar"
        cut.write_bytes(plain.read_bytes()[: last.offset + last.size // 2])
        out += [plain, cut, odd]
    return out


def test_the_fast_tar_listing_is_tarfiles(tmp_path, monkeypatch):
    from pipeguard._io import _archive, _tar_index

    taken = 0
    for path in _tars(tmp_path):
        with open(path, "rb") as f:
            read = lambda offset, n: os.pread(f.fileno(), n, offset)  # noqa: E731
            taken += _tar_index.plain_members(read, os.path.getsize(path)) is not None
        fast = list_members(str(path))
        with monkeypatch.context() as m:
            m.setattr(_archive, "plain_members", lambda read, size: None)
            slow = list_members(str(path))
        assert fast == slow, path.name
    assert taken >= 6  # the plain and cut archives of every format take the fast path


def test_damaged_headers_defer_to_tarfile(tmp_path):
    from pipeguard._io._tar_index import plain_members

    write_tar(tmp_path / "a.tar", planted_members())
    data = bytearray((tmp_path / "a.tar").read_bytes())
    data[148] = ord("9")  # a checksum field that is not octal
    (tmp_path / "b.tar").write_bytes(bytes(data))
    with open(tmp_path / "b.tar", "rb") as f:
        assert plain_members(lambda offset, n: os.pread(f.fileno(), n, offset), len(data)) is None


@pytest.mark.parametrize("names, found", [
    (["a.png", "b.jpg"], False),
    (["a.png", "SHARD.TAR.GZ"], True),       # case does not matter
    (["a.zip.png", "b.tar.json"], False),    # a suffix inside a name is not the name's suffix
    (["x.tgz"], True),
    ([], False),
])
def test_one_search_finds_the_archives_among_a_folders_names(names, found):
    from pipeguard._io._archive import any_archive_name, is_archive_name

    assert any_archive_name(names) is found
    assert found == any(is_archive_name(n) for n in names)


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED], ids=["stored", "deflated"])
def test_a_name_twice_in_a_zip_gives_each_entry_its_own_row(tmp_path, compression):
    import pipeguard as pg

    gray, rgb = io.BytesIO(), io.BytesIO()
    Image.new("L", (16, 16), 40).save(gray, "PNG")
    Image.new("RGB", (16, 16), (200, 0, 0)).save(rgb, "PNG")
    with zipfile.ZipFile(tmp_path / "dup.zip", "w", compression=compression) as z, \
            pytest.warns(UserWarning, match="Duplicate name"):
        z.writestr("x.png", gray.getvalue())
        z.writestr("x.png", rgb.getvalue())
    report = pg.scan(tmp_path)
    assert list(report.frame["mode"]) == ["L", "RGB"]


# --- read_members: the page's reader (the wanted members, whole, in one pass) ---

class _Zeros(io.RawIOBase):
    """``n`` zero bytes, made as they are read (a huge member that compresses to almost nothing)."""

    def __init__(self, n):
        self.left = n

    def readable(self):
        return True

    def readinto(self, b):
        n = min(len(b), self.left)
        b[:n] = bytes(n)
        self.left -= n
        return n


def _archive_of(path, entries, tar_mode="w"):
    """An archive of ``(name, bytes or a size of zeros)`` entries in this order (a name may repeat)."""
    if path.suffix == ".zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z, warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Duplicate name", UserWarning)
            for name, data in entries:
                z.writestr(name, data if isinstance(data, bytes) else bytes(data))
        return path
    with tarfile.open(path, tar_mode, **({"compresslevel": 1} if "gz" in tar_mode else {})) as tf:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.size = len(data) if isinstance(data, bytes) else data
            tf.addfile(info, io.BytesIO(data) if isinstance(data, bytes) else _Zeros(data))
    return path


ARCHIVES = [("a.tar", "w"), ("a.tar.gz", "w:gz"), ("a.zip", None)]


@pytest.mark.parametrize("name, tar_mode", ARCHIVES, ids=["tar", "tar.gz", "zip"])
def test_read_members_gives_the_wanted_in_archive_order_a_name_twice_its_first(tmp_path, name, tar_mode):
    from pipeguard._io import read_members

    path = _archive_of(tmp_path / name, [("a.png", b"A"), ("x.png", b"first"), ("b.png", b"B"),
                                         ("x.png", b"second"), ("c.png", b"C" * 3000)], tar_mode)
    got = list(read_members(str(path), {"c.png", "x.png", "gone.png", "z.png"}, limit=1 << 20))
    assert [n for n, _ in got] == ["x.png", "c.png", "gone.png", "z.png"]  # archive order, then the missing
    assert got[0][1] == b"first" and got[1][1] == b"C" * 3000
    assert all(isinstance(e, KeyError) for _, e in got[2:])
    assert str(got[2][1]) == "\"there is no item named 'gone.png' in the archive\""


@pytest.mark.parametrize("name, tar_mode", ARCHIVES, ids=["tar", "tar.gz", "zip"])
def test_read_members_refuses_a_member_over_the_limit_unread(tmp_path, monkeypatch, name, tar_mode):
    from pipeguard._io import read_members

    path = _archive_of(tmp_path / name, [("big.png", b"b" * 2000), ("fits.png", b"f" * 1000)], tar_mode)
    from pipeguard._io._archive import OpenArchive

    touched = []  # the members read: through the listing (OpenArchive.open) or from the stream (extractfile)
    extractfile, member_open = tarfile.TarFile.extractfile, OpenArchive.open
    monkeypatch.setattr(tarfile.TarFile, "extractfile", lambda self, m: touched.append(m.name) or extractfile(self, m))
    monkeypatch.setattr(OpenArchive, "open", lambda self, m: touched.append(m.name) or member_open(self, m))
    got = dict(read_members(str(path), {"big.png", "fits.png"}, limit=1000))
    assert isinstance(got["big.png"], OSError) and str(got["big.png"]) == "over 0 MiB: not previewed"
    assert got["fits.png"] == b"f" * 1000  # the limit itself fits
    assert touched == ["fits.png"]  # the declared size refused the other: never opened, never decompressed


def test_read_members_skips_unwanted_compressed_members_without_holding_them(tmp_path):
    import tracemalloc

    from pipeguard._io import read_members

    huge = 64 << 20  # zeros: a quarter of a MiB once compressed
    path = _archive_of(tmp_path / "a.tar.gz", [("first.png", b"1"), ("huge.bin", huge), ("last.png", b"2")], "w:gz")
    tracemalloc.start()
    try:
        got = list(read_members(str(path), {"last.png"}, limit=huge))  # huge.bin would fit: it is not wanted
        refused = list(read_members(str(path), {"huge.bin"}, limit=huge - 1))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert got == [("last.png", b"2")] and isinstance(refused[0][1], OSError)
    assert peak < huge // 4  # decompressed a block at a time and dropped, never whole


def test_read_members_stops_once_all_are_found_and_raises_for_an_unreadable_archive(tmp_path):
    from pipeguard._io import ArchiveError, NotRegularFile, read_members

    path = _archive_of(tmp_path / "a.tar.gz", [("first.png", b"1"), ("big.bin", os.urandom(200_000)),
                                               ("last.png", b"2")], "w:gz")
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(path.read_bytes()[:100_000])  # ends inside big.bin
    assert list(read_members(str(cut), {"first.png"}, limit=1 << 20)) == [("first.png", b"1")]  # never saw the cut
    with pytest.raises(ArchiveError, match="damaged compressed archive"):
        list(read_members(str(cut), {"last.png"}, limit=1 << 20))
    os.mkfifo(tmp_path / "pipe.tar")
    with pytest.raises(NotRegularFile):  # refused at once: a FIFO would block the open, then the read
        list(read_members(str(tmp_path / "pipe.tar"), {"x.png"}, limit=1 << 20))

"""Hostile archives (issue 24): every one becomes a row, never a traceback, never unbounded
memory or time. Each scan runs in a subprocess under an address-space limit and a timeout."""

from __future__ import annotations

import gzip
import io
import json
import random
import struct
import subprocess
import sys
import tarfile
import textwrap
import zipfile
import zlib

import pytest
from conftest import make_image
from PIL import Image
from scan_folders import encoded

import pipeguard as pg
from pipeguard.scanner.probe._end_marker import TAIL_BYTES, end_of_image, missing_end_marker, trailing_data

_SCAN = textwrap.dedent("""
    import json, resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[2]), int(sys.argv[2])))
    import pipeguard as pg
    report = pg.scan(sys.argv[1], time_limit=None)  # memory is the point here: no member times out
    report.to_html(sys.argv[1] + ".html")
    rows = report.frame[["member", "status", "error_kind", "error", "warnings"]].astype(object)
    print(json.dumps([[None if v != v else v for v in row[:4]] + [list(row[4])]
                      for row in rows.itertuples(index=False)]))
""")
_BASE = 768 << 20  # room for Python, Pillow, pandas, their threads and the HTML page
_TIMEOUT = 120


def scan_bounded(folder, extra: int = 0) -> list[list]:
    """The rows ``[member, status, error_kind, error, warnings]`` of a scan of ``folder`` run
    in a subprocess limited to :data:`_BASE` + ``extra`` bytes of address space; the scan and
    its HTML page must both finish."""
    done = subprocess.run([sys.executable, "-c", _SCAN, str(folder), str(_BASE + extra)],
                          capture_output=True, text=True, timeout=_TIMEOUT)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _png() -> bytes:
    return encoded(make_image("RGB", (16, 16)), "PNG")


def _tar_with_pax(pax: dict[str, str], data: bytes = b"x" * 10) -> bytes:
    """A good PNG, a member with the hostile ``pax`` headers, another good PNG."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, body, headers in (("good.png", _png(), {}), ("bad.png", data, pax), ("after.png", _png(), {})):
            info = tarfile.TarInfo(name)
            info.size, info.pax_headers = len(body), headers
            tf.addfile(info, io.BytesIO(body))
    return buf.getvalue()


HOSTILE_PAX = {
    "sparse-map-garbage": {"GNU.sparse.major": "0", "GNU.sparse.minor": "1", "GNU.sparse.map": "zz,1"},
    "sparse-1.0-no-map": {"GNU.sparse.major": "1", "GNU.sparse.minor": "0"},
    "size-10**20": {"size": str(10**20)},
    "size-1-TiB": {"size": str(1 << 40)},
}


@pytest.mark.parametrize("suffix", [".tar", ".tar.gz"])
@pytest.mark.parametrize("case", list(HOSTILE_PAX))
def test_a_hostile_pax_header_is_a_row_among_good_images(tmp_path, case, suffix):
    data = _tar_with_pax(HOSTILE_PAX[case])
    (tmp_path / ("shard" + suffix)).write_bytes(gzip.compress(data) if suffix == ".tar.gz" else data)
    (tmp_path / "loose.png").write_bytes(_png())
    rows = scan_bounded(tmp_path)
    assert [r[1] for r in rows if r[0] is None and r[1] == "ok"] == ["ok"]  # the loose image: the report survives
    members = [r for r in rows if r[0] is not None]
    assert members[0][:2] == ["good.png", "ok"]
    bad = [r for r in rows if r[1] == "unreadable"]
    assert bad, rows
    assert all(r[2] in ("damaged archive", "truncated", "empty", "unidentified", "read error") for r in bad), bad


def test_a_zip_name_flagged_utf8_that_is_not_is_a_row(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("good.png", _png())
        zf.writestr("bXd.png", _png())
    data = bytearray(buf.getvalue().replace(b"bXd.png", b"b\xffd.png"))
    at = data.rfind(b"PK\x01\x02", 0, data.rfind(b"b\xffd.png"))  # the bad name's directory entry
    struct.pack_into("<H", data, at + 8, struct.unpack_from("<H", data, at + 8)[0] | 0x800)  # the UTF-8 flag
    (tmp_path / "names.zip").write_bytes(bytes(data))
    (tmp_path / "loose.png").write_bytes(_png())
    rows = scan_bounded(tmp_path)
    assert [r[1] for r in rows if r[0] is None and r[1] == "ok"] == ["ok"]
    (whole,) = [r for r in rows if r[1] == "unreadable"]
    assert whole[0] is None and whole[2] == "damaged archive" and "utf-8" in whole[3]


def _png_with_padding(padding: int):
    """The parts of a real PNG with a ``padding``-byte private chunk of zeros before its
    IEND (a multiple of 1 MiB), its zeros 1 MiB at a time; and its length."""
    png = _png()
    end = png.rindex(b"IEND") - 4
    zeros = bytes(1 << 20)
    crc = zlib.crc32(b"prVt")
    for _ in range(padding >> 20):
        crc = zlib.crc32(zeros, crc)

    def parts():
        yield png[:end] + struct.pack(">I", padding) + b"prVt"
        for _ in range(padding >> 20):
            yield zeros
        yield struct.pack(">I", crc) + png[end:]

    return parts, len(png) + padding + 12


class _Reader:
    """A file whose ``read`` gives the parts in turn (what ``tarfile.addfile`` copies from)."""

    def __init__(self, parts) -> None:
        self._parts, self._left = parts, b""

    def read(self, n: int = -1) -> bytes:
        while len(self._left) < n or n < 0:
            part = next(self._parts, None)
            if part is None:
                break
            self._left += part
        out, self._left = (self._left, b"") if n < 0 else (self._left[:n], self._left[n:])
        return out


def _zeros_member_archive(path, suffix: str, inflated: int) -> None:
    """``big.png`` (``inflated`` bytes of a PNG's padding, deflating to almost nothing),
    then a small good ``after.png``."""
    parts, size = _png_with_padding(inflated)
    if suffix == ".zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            with zf.open("big.png", "w", force_zip64=True) as w:
                for part in parts():
                    w.write(part)
            zf.writestr("after.png", _png())
        return
    with tarfile.open(path, "w:gz", compresslevel=1) as tf:
        for name, body, n in (("big.png", _Reader(parts()), size), ("after.png", io.BytesIO(_png()), len(_png()))):
            info = tarfile.TarInfo(name)
            info.size = n
            tf.addfile(info, body)


@pytest.mark.parametrize("suffix", [".zip", ".tar.gz"])
def test_a_huge_compressed_member_is_read_in_bounded_memory(tmp_path, suffix):
    path = tmp_path / ("bomb" + suffix)
    _zeros_member_archive(path, suffix, 1 << 30)  # zeros that deflate to a fraction of a MiB
    assert path.stat().st_size < 8 << 20
    rows = scan_bounded(tmp_path, extra=160 << 20)  # far less than the member: it is never held whole
    assert [r[:2] for r in rows] == [["big.png", "ok"], ["after.png", "ok"]]


# --- data after the end marker (issue 24): a whole image with something appended is not truncated

def _appended(n: int) -> bytes:
    """``n`` bytes as an appended video might start (no FF byte, so no stray marker)."""
    body = random.Random(24).randbytes(n).replace(b"\xff", b"\x00")
    return (b"\x00\x00\x00\x18ftypmp42" + body)[:n]


def _big(fmt: str) -> bytes:
    return encoded(make_image("RGB", (256, 192)), fmt)


def _read(data: bytes):
    return lambda offset, n: data[offset:offset + n]


def _verdict(data: bytes, fmt: str):
    return trailing_data(fmt, _read(data), len(data), data[-TAIL_BYTES:])


def test_the_end_of_a_jpeg_or_png_is_found_from_its_start():
    jpeg, png = _big("JPEG"), _big("PNG")
    assert end_of_image("JPEG", _read(jpeg), len(jpeg)) == len(jpeg)
    assert end_of_image("PNG", _read(png), len(png)) == len(png)
    assert end_of_image("JPEG", _read(jpeg[:-100]), len(jpeg) - 100) is None
    assert end_of_image("PNG", _read(png[:-100]), len(png) - 100) is None
    # an EXIF thumbnail's own FF D9 before the scan is not the image's end
    thumb = b"\xff\xe1" + (20).to_bytes(2, "big") + b"Exif\x00\x00\xff\xd8\xff\xd9" + bytes(8)
    assert end_of_image("JPEG", _read(jpeg[:2] + thumb + jpeg[2:-100]), len(jpeg) + len(thumb) - 100) is None


@pytest.mark.parametrize(("fmt", "extra"), [("PNG", 600), ("JPEG", 100 << 10), ("JPEG", 3 << 20)])
def test_data_after_the_end_marker_is_a_note_not_a_truncation(fmt, extra):
    data = _big(fmt) + _appended(extra)
    assert missing_end_marker(fmt, data[-TAIL_BYTES:])  # what the tail alone says
    problem, note = _verdict(data, fmt)
    assert problem is None and note.startswith(f"{extra:,} bytes after the ")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_a_truly_truncated_image_is_still_truncated(fmt):
    data = _big(fmt)
    problem, note = _verdict(data[:len(data) // 2], fmt)
    assert problem and problem.startswith("truncated") and note is None
    assert _verdict(data, fmt) == (None, None)


def test_a_scan_calls_an_image_with_data_appended_ok_with_a_warning(tmp_path):
    (tmp_path / "extra.png").write_bytes(_big("PNG") + _appended(600))
    (tmp_path / "motion.jpg").write_bytes(_big("JPEG") + _appended(100 << 10))
    jpeg = _big("JPEG")
    (tmp_path / "cut.jpg").write_bytes(jpeg[:len(jpeg) // 2])
    with Image.open(tmp_path / "motion.jpg") as im:
        im.load()  # Pillow decodes it fully
    rows = {row.path: row for row in pg.scan(str(tmp_path)).frame.itertuples()}
    for name, extra in (("extra.png", 600), ("motion.jpg", 100 << 10)):
        assert rows[name].status == "ok", rows[name]
        assert any(w.startswith(f"{extra:,} bytes after the ") for w in rows[name].warnings), rows[name].warnings
    assert rows["cut.jpg"].status == "unreadable" and rows["cut.jpg"].error_kind == "truncated"


# --- zip bombs' time (issue 24): a member still inflating after the time limit is a timeout row,
# in the scan's own process too; directory entries that overlap are never inflated again

@pytest.mark.parametrize("suffix", [".zip", ".tar.gz"])
def test_a_member_still_inflating_after_the_time_limit_is_a_timeout_row_in_process(tmp_path, suffix):
    _zeros_member_archive(tmp_path / ("bomb" + suffix), suffix, 256 << 20)
    report = pg.scan(str(tmp_path), workers=1, time_limit=0.001)  # in this process: no worker to kill
    rows = {row.member: row for row in report.frame.itertuples()}
    assert rows["big.png"].error_kind == "timeout", rows["big.png"]
    assert rows["big.png"].error.startswith("timed out: still decompressing after 0.001 s")
    if suffix == ".zip":  # each member on its own: the next is read
        assert rows["after.png"].status == "ok"
    else:  # one stream: the rest cannot be reached sooner, and the row says so
        assert "after.png" not in rows and "the members after it were not read" in rows["big.png"].error
    assert pg.scan(str(tmp_path), workers=1, time_limit=None).frame.status.tolist() == ["ok", "ok"]


def test_the_time_limit_holds_for_the_parts_the_pools_parent_probes(tmp_path):
    # two archives count as 2,000 files: the pool starts, and its parent probes one archive
    # itself, where no one kills a worker: the limit must hold in the probe
    for k in range(2):
        _zeros_member_archive(tmp_path / f"bomb{k}.zip", ".zip", 256 << 20)
    frame = pg.scan(str(tmp_path), workers=2, time_limit=0.001).frame
    big = frame[frame.member == "big.png"]
    assert big.error_kind.tolist() == ["timeout", "timeout"], big[["path", "error"]].to_dict("records")
    assert (frame[frame.member == "after.png"].status == "ok").sum() == 2  # no archive lost with its worker


def _zip_with_entries_at(member: bytes, offsets: list[int]) -> bytes:
    """A zip of one deflated ``big.png``, whose central directory lists it once per offset in
    ``offsets``: entries at 0 share its bytes, others point into them (as zip bombs do)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.png", member)
    data = buf.getvalue()
    eocd = data.rindex(b"PK\x05\x06")
    cd_size, cd_offset = struct.unpack("<II", data[eocd + 12:eocd + 20])
    entry = data[cd_offset:cd_offset + cd_size]
    directory = b"".join(entry[:42] + struct.pack("<I", offset) + entry[46:] for offset in offsets)
    tail = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, len(offsets), len(offsets), len(directory), cd_offset, 0)
    return data[:cd_offset] + directory + tail


def test_zip_entries_that_overlap_are_rows_and_inflated_once(tmp_path):
    parts, _ = _png_with_padding(16 << 20)
    member = b"".join(parts())
    (tmp_path / "overlap.zip").write_bytes(_zip_with_entries_at(member, [0] * 200))
    (tmp_path / "inside.zip").write_bytes(_zip_with_entries_at(member, [0, 40]))
    with zipfile.ZipFile(tmp_path / "overlap.zip") as zf:  # what the trick is: each entry inflates it all
        assert [len(zf.open(info).read()) for info in zf.infolist()[:2]] == [len(member)] * 2
    frame = pg.scan(str(tmp_path)).frame
    rows = {path: list(group.itertuples()) for path, group in frame.groupby("path")}
    first, *others = rows["overlap.zip"]
    assert first.status == "ok" and len(others) == 199
    assert {(r.error_kind, r.error.split(":")[0]) for r in others} == {("damaged archive", "overlaps member 'big.png'")}
    assert [(r.status, r.error_kind) for r in rows["inside.zip"]][1] == ("unreadable", "damaged archive")
    assert rows["inside.zip"][0].status == "ok"


def test_a_zip_of_many_members_is_no_overlap(tmp_path):
    with zipfile.ZipFile(tmp_path / "plain.zip", "w") as zf:  # stored and deflated entries, a folder
        zf.writestr("d/", b"")
        for k in range(30):
            zf.writestr(f"d/{k:02}.png", _png(), zipfile.ZIP_STORED if k % 2 else zipfile.ZIP_DEFLATED)
    frame = pg.scan(str(tmp_path)).frame
    assert len(frame) == 30 and set(frame.status) == {"ok"}


def test_a_deep_scan_times_out_the_member_not_the_whole_archive(tmp_path):
    _zeros_member_archive(tmp_path / "bomb.zip", ".zip", 256 << 20)
    frame = pg.scan(str(tmp_path), deep=True, workers=1, time_limit=0.001).frame
    assert frame.member.tolist() == ["big.png", "after.png"]  # not one row for the archive, killed
    assert frame.error_kind.tolist()[0] == "timeout" and frame.status.tolist()[1] == "ok"

#!/usr/bin/env python3
"""Throughput and memory of ``pipeguard.scan`` against bare Pillow loops, in one run.

Makes (or reuses) a folder of mixed images with ImageNet-like sizes (JPEG and PNG,
a few grayscale and truncated ones, ten class folders) under /tmp, warms the page
cache, and prints files/s and the ratio to the baseline for:

* the baseline: a bare single-process loop of ``PIL.Image.open`` reading ``.mode``
  and ``.size`` (paths listed beforehand, so the walk is not even counted);
* ``pipeguard.scan`` with 1 worker and with every core (walk, end-marker check,
  frame, pandera contract check, verdicts: the whole call);
* ``--deep`` with every core against a bare single-process full-decode loop;

then the same for a copy of the folder whose JPEGs all carry a camera's EXIF block
(those headers are read by Pillow, not by pipeguard's JPEG marker walk: the slow end);
then the peak memory of a scan of a folder of tiny files (100,000 by default), in a
child process so the figure is the scan's own. Then the cost of ``--html``
(``report.to_html``) on a copy with 5% planted problems (grayscale, RGBA, 16-bit, CMYK,
truncated), as a share of that folder's scan time. Goals (issue 6): 1 worker ≥ 0.8× the
bare loop; all cores ≥ 1.3× on 2 cores; deep ≥ 1.7× the decode loop; < 200 MB; --html < 20%
of the scan (issue 16).
``--cache-only``: the tiny folder scanned twice with ``cache=`` (page cache warm for both,
the cache emptied before each first scan), beside a scan without a cache; goal: the second
scan at least 5× faster than the first (issue 14); then, as root, the same two scans with
the page cache emptied before the first (the first scan of a dataset as a user meets it),
run last because it leaves every folder cold. Peak memory of a child process is its
VmHWM. ``--mix-only``: only ``scripts/bench_png_mix.py`` (issue 27: an icon-theme folder of
30,000+ small mixed PNGs, end to end and in process, and the start-up on one file), with
``--repeats`` and a root of ``--root``/pngmix. ``--remote-only`` ends with ``scripts/bench_remote.py``
(issue 26: a bucket 20 ms away, and a cluster writing Parquet parts). ``--big-only``,
``--html-only``: see ``--help``.
Timings are the best of several repeats; the machine may be shared, so compare
ratios from the same run.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

SIZES = [(500, 375), (500, 333), (375, 500), (500, 500), (640, 480), (500, 281), (400, 300), (333, 500)]


def _image(rng: random.Random, w: int, h: int, mode: str) -> Image.Image:
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([(x * 255) // w, (y * 255) // h, ((x + y) * 127) // (w + h)], -1).astype(np.uint8)
    noise = np.frombuffer(rng.randbytes(h * w * 3), np.uint8).reshape(h, w, 3) // 8
    return Image.fromarray(base + noise, "RGB").convert(mode)


def camera_exif() -> bytes:
    """An EXIF block as a camera writes one: make, model, time, orientation, resolution."""
    exif = Image.Exif()
    exif.update({0x010F: "Canon", 0x0110: "Canon EOS 5D", 0x0132: "2026:11:26 10:00:00", 0x0112: 1,
                 0x011A: 72.0, 0x011B: 72.0, 0x0128: 2})
    return exif.tobytes()


def make_mixed(root: Path, n: int, exif: bool = False) -> list[str]:
    """``n`` images in 10 class folders: 80% JPEG, 20% PNG, 3% grayscale, 0.5% truncated;
    with ``exif``, every JPEG carries a camera's EXIF block."""
    marker = root.with_name(root.name + ".complete")  # beside the folder, not a file in the scan
    if marker.is_file() and marker.read_text() == str(n):
        return _list(root)
    if root.exists():
        import shutil

        shutil.rmtree(root)
    rng = random.Random(6)
    cache: dict = {}
    for i in range(n):
        w, h = rng.choice(SIZES)
        mode = "L" if rng.random() < 0.03 else "RGB"
        fmt = "PNG" if rng.random() < 0.2 else "JPEG"
        key = (w, h, mode, fmt, i % 7)  # a few distinct contents per kind keep generation quick
        if key not in cache:
            buf = io.BytesIO()
            if fmt == "JPEG":
                options = {"quality": 90, **({"exif": camera_exif()} if exif else {})}
            else:
                options = {"compress_level": 1}
            _image(rng, w, h, mode).save(buf, fmt, **options)
            cache[key] = buf.getvalue()
        data = cache[key]
        if rng.random() < 0.005:
            data = data[: len(data) // 2]
        d = root / f"class_{i % 10:02d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"img_{i:06d}.{'jpg' if fmt == 'JPEG' else 'png'}").write_bytes(data)
    marker.write_text(str(n))
    return _list(root)


def make_tiny(root: Path, n: int) -> None:
    marker = root.with_name(root.name + ".complete")
    if marker.is_file() and marker.read_text() == str(n):
        return
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(buf, "PNG")
    data = buf.getvalue()
    for i in range(n):
        d = root / f"class_{i % 100:03d}"
        if i < 100:
            d.mkdir(parents=True, exist_ok=True)
        (d / f"{i:07d}.png").write_bytes(data)
    marker.write_text(str(n))


def _read_all(root: Path) -> None:
    """Read every file under ``root`` once, so that it is in the page cache."""
    for dirpath, _, files in os.walk(root):
        for name in files:
            with open(os.path.join(dirpath, name), "rb") as f:
                f.read()


def _list(root: Path) -> list[str]:
    out = []
    for dirpath, _, files in os.walk(root):
        out.extend(os.path.join(dirpath, f) for f in files)
    return sorted(out)


def bare_header(paths: list[str]) -> None:
    for p in paths:
        with Image.open(p) as im:
            im.mode, im.size


def bare_decode(paths: list[str]) -> None:
    for p in paths:
        try:
            with Image.open(p) as im:
                im.mode, im.size
                im.load()
        except OSError:
            pass


def walked(paths: list[str]) -> float:
    """The share of files whose header pipeguard's JPEG marker walk reads (the rest go to Pillow)."""
    from pipeguard.scanner.probe._jpeg_header import read_jpeg_header

    taken = 0
    for p in paths:
        with open(p, "rb") as f:
            taken += read_jpeg_header(f, os.path.getsize(p)) is not None
    return taken / len(paths)


def best_of(fns: dict, repeats: int) -> dict:
    """The best time of each function, run in interleaved rounds so load from other
    processes on a shared machine falls on all of them alike."""
    times: dict = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t)
    return {k: min(v) for k, v in times.items()}


def make_planted(root: Path, n: int, share: float = 0.05) -> Path:
    """The mixed folder with ``share`` of its files replaced by problems a person should see:
    grayscale, RGBA with a transparent background, 16-bit PNG, CMYK JPEG, truncated JPEG."""
    marker = root.with_name(root.name + ".complete")
    if marker.is_file() and marker.read_text() == str(n):
        return root
    import shutil

    source = root.with_name(root.name.replace("planted", "mixed"))
    make_mixed(source, n)
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(source, root)
    rng = random.Random(16)
    paths = _list(root)
    for i, p in enumerate(rng.sample(paths, int(len(paths) * share))):
        img = _image(rng, *rng.choice(SIZES), "RGB")
        os.remove(p)
        stem = os.path.splitext(p)[0]
        kind = i % 5
        if kind == 0:
            img.convert("L").save(stem + ".jpg", quality=90)
        elif kind == 1:
            rgba = img.convert("RGBA")
            rgba.putalpha(Image.fromarray((np.arange(img.width) % 64 < 32).astype(np.uint8)[None].repeat(img.height, 0) * 255))
            rgba.save(stem + ".png", compress_level=1)
        elif kind == 2:
            Image.fromarray(np.asarray(img.convert("L"), np.uint16) * 257).save(stem + ".png", compress_level=1)
        elif kind == 3:
            img.convert("CMYK").save(stem + ".jpg", quality=90)
        else:
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=90)
            Path(stem + ".jpg").write_bytes(buf.getvalue()[: buf.tell() // 2])
    marker.write_text(str(n))
    return root


def bench_html(folder: Path, cores: int, repeats: int) -> None:
    """The cost of ``--html`` (``report.to_html``) beside the scan it reports on."""
    import tempfile

    import pipeguard as pg

    contract = pg.Contract(channels=3)
    report = pg.scan(folder, contract=contract, workers=cores)
    out = Path(tempfile.mkdtemp()) / "report.html"
    report.to_html(out)  # warm: Jinja2 import and template compile are part of the first run only
    t = best_of({"scan": lambda: pg.scan(folder, contract=contract, workers=cores),
                 "html": lambda: report.to_html(out)}, repeats)
    c = report.counts
    print(f"\n--html on {len(report.frame):,} files with planted problems ({c['violation']:,} violation, "
          f"{c['unreadable']:,} unreadable), {cores} workers:")
    print(f"  scan {t['scan']:.2f} s; to_html {t['html']:.2f} s = {t['html'] / t['scan']:.0%} of the scan "
          f"(goal < 20%); page {out.stat().st_size / 1e6:.1f} MB")


# A child's peak is its VmHWM: Linux carries ru_maxrss across exec, so a child started by a
# bench process holding 250 MB would report at least 250 MB whatever it used itself.
PEAK = """
def peak_mb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
"""

MEMORY_CHILD = PEAK + """
import json, resource, sys, time
import pipeguard as pg
t = time.perf_counter()
r = pg.scan(sys.argv[1], contract=pg.Contract(channels=3, size=(8, 8)), workers=int(sys.argv[2]))
elapsed = time.perf_counter() - t
print(json.dumps({"files": len(r.frame), "seconds": elapsed, "self_mb": peak_mb(),
                  "children_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


STREAM_CHILD = PEAK + """
import json, resource, sys, time
from pipeguard.cli import main
t = time.perf_counter()
try:
    main(["scan", sys.argv[1], "--format", "jsonl", "--output", sys.argv[2]] + sys.argv[3:])
except SystemExit as exit:
    code = exit.code
print(json.dumps({"exit": code, "seconds": time.perf_counter() - t, "self_mb": peak_mb(),
                  "children_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def bench_streamed(root: Path, n: int, cores: int) -> None:
    """(a) Peak memory of a CLI scan of ``n`` tiny files streamed to JSON lines, beside the same
    scan held in memory (the baseline, in the same run)."""
    import tempfile

    tiny = root / f"tiny-{n}"
    t = time.perf_counter()
    make_tiny(tiny, n)
    _read_all(tiny)  # the first run must not pay for a cold page cache (an earlier bench's last run empties it)
    print(f"\nstreaming: {n:,} tiny files (ready and read once in {time.perf_counter() - t:.1f} s), {cores} workers")
    out = Path(tempfile.mkdtemp()) / "scan.jsonl"
    page = out.with_name("page.html")
    for label, code, argv in (
            ("held in memory (pg.scan)", MEMORY_CHILD, [str(tiny), str(cores)]),
            ("CLI --format jsonl --output", STREAM_CHILD, [str(tiny), str(out), "--channels", "3", "--size", "8x8"]),
            ("the same with --html", STREAM_CHILD,
             [str(tiny), str(out), "--channels", "3", "--size", "8x8", "--html", str(page)])):
        run = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, check=True)
        m = json.loads(run.stdout.strip().splitlines()[-1])
        print(f"  {label:30} {m['seconds']:6.1f} s ({n / m['seconds']:,.0f} files/s), peak RSS {m['self_mb']:.0f} MB, "
              f"largest worker {m['children_mb']:.0f} MB")
    lines = sum(1 for _ in open(out, "rb"))
    print(f"  {out} holds {lines - 1:,} rows and the summary line; goal: streamed peak RSS < 200 MB")


def make_shards(root: Path, shards: int, members: int) -> tuple[Path, Path]:
    """The same small JPEGs as loose files (``loose/``) and as WebDataset tar shards (``shards/``)."""
    import tarfile

    loose, packed = root / "loose", root / "shards"
    marker = root.with_name(root.name + ".complete")
    if marker.is_file() and marker.read_text() == f"{shards}x{members}":
        return loose, packed
    rng = random.Random(7)
    images = []
    for k in range(50):
        buf = io.BytesIO()
        _image(rng, 64, 48, "RGB").save(buf, "JPEG", quality=85)
        images.append(buf.getvalue())
    packed.mkdir(parents=True, exist_ok=True)
    for s in range(shards):
        folder = loose / f"shard-{s:05d}"
        folder.mkdir(parents=True, exist_ok=True)
        with tarfile.open(packed / f"shard-{s:05d}.tar", "w") as tf:
            for m in range(members):
                data = images[(s * members + m) % len(images)]
                (folder / f"{m:06d}.jpg").write_bytes(data)
                info = tarfile.TarInfo(f"{m:06d}.jpg")
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
    marker.write_text(f"{shards}x{members}")
    return loose, packed


def bench_shards(root: Path, shards: int, members: int, cores: int, repeats: int) -> None:
    """(c) files/s of a folder of tar shards against the same images as loose files."""
    import pipeguard as pg

    loose, packed = make_shards(root / f"shards-{shards}x{members}", shards, members)
    contract = pg.Contract(channels=3, size=(48, 64))
    for folder in (loose, packed):
        pg.scan(folder, contract=contract, workers=cores)  # warm the page cache
    t = best_of({"loose": lambda: pg.scan(loose, contract=contract, workers=cores),
                 "shards": lambda: pg.scan(packed, contract=contract, workers=cores)}, repeats)
    n = shards * members
    print(f"\narchives: {shards} tar shards x {members:,} members against the same {n:,} JPEGs as loose files, "
          f"{cores} workers")
    print(f"  loose files  {n / t['loose']:>10,.0f} files/s")
    print(f"  tar shards   {n / t['shards']:>10,.0f} members/s  = {t['loose'] / t['shards']:.2f}x the loose files "
          "(goal >= 0.8x)")


def bench_cache(tiny: Path, n: int, cores: int, repeats: int) -> None:
    """A folder of ``n`` tiny files scanned twice with a cache, the first time with an empty one."""
    import shutil

    import pipeguard as pg

    t = time.perf_counter()
    make_tiny(tiny, n)
    _read_all(tiny)  # warm the page cache: the first scan's cost is the probing, not the disk
    ready = time.perf_counter() - t
    cache = tiny.with_name(tiny.name + "-scan-cache")  # beside the folder, never inside it
    contract = pg.Contract(channels=3, size=(8, 8))
    pg.scan(tiny, contract=contract, workers=cores)  # imports, and the folder's metadata in memory
    times: dict = {"none": [], "first": [], "second": []}
    cpu: dict = {"none": [], "first": [], "second": []}  # this process and its workers: less swayed by load
    for _ in range(repeats):  # interleaved, so load from other processes falls on all three alike
        shutil.rmtree(cache, ignore_errors=True)
        for key, options in (("none", {}), ("first", {"cache": cache}), ("second", {"cache": cache})):
            c0, t0 = os.times(), time.perf_counter()
            report = pg.scan(tiny, contract=contract, workers=cores, **options)
            times[key].append(time.perf_counter() - t0)
            c1 = os.times()
            cpu[key].append(sum(c1[:4]) - sum(c0[:4]))
            assert len(report.frame) == n, (key, len(report.frame))
    best = {k: min(v) for k, v in times.items()}
    used = {k: min(v) for k, v in cpu.items()}
    size = sum(f.stat().st_size for f in cache.iterdir()) / 1e6
    print(f"\ncache: {n:,} tiny files (ready in {ready:.1f} s), {cores} workers, best of "
          f"{repeats}; load average {os.getloadavg()[0]:.2f}")
    for key, label in (("none", "no cache"), ("first", "first, empty cache"), ("second", "second, same cache")):
        print(f"  {label:19} {best[key]:6.2f} s  ({n / best[key]:>9,.0f} files/s), CPU {used[key]:5.2f} s")
    print(f"  the first scan takes {best['first'] / best['none']:.2f}× the time of a scan without a cache "
          f"(cache file {size:.0f} MB)")
    print(f"  second scan {best['first'] / best['second']:.1f}× faster than the first (goal ≥ 5×; CPU "
          f"{used['first'] / used['second']:.1f}×), {best['none'] / best['second']:.1f}× faster than a scan "
          f"without a cache")


def _drop_page_cache() -> bool:
    """Empty the kernel's page cache (root only), as after a reboot; whether it could."""
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("1\n")  # 1: file contents only; folders' metadata stays, as on a busy machine
    except OSError:
        return False
    return True


def bench_cold_cache(tiny: Path, cores: int) -> None:
    """The first scan as a user meets it, with the files' bytes on disk, not in memory. It
    empties the page cache, so it runs after every other measurement."""
    import shutil

    import pipeguard as pg

    cache = tiny.with_name(tiny.name + "-scan-cache")
    contract = pg.Contract(channels=3, size=(8, 8))
    n = len(_list(tiny))
    shutil.rmtree(cache, ignore_errors=True)
    if not _drop_page_cache():
        print("  (cold first scan skipped: dropping the page cache needs root)")
        return
    t0 = time.perf_counter()
    pg.scan(tiny, contract=contract, workers=cores, cache=cache)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    pg.scan(tiny, contract=contract, workers=cores, cache=cache)
    second = time.perf_counter() - t0
    print(f"\ncache from a cold page cache, {n:,} tiny files, {cores} workers: first scan {first:.2f} s "
          f"({n / first:,.0f} files/s), second {second:.2f} s = {first / second:.1f}× faster")


def bench_cluster(root: Path, n: int, cores: int, repeats: int) -> None:
    """A folder of ``n`` files scanned on a 2-worker LocalCluster (client started beforehand)
    against the local 2-worker scan: the engine's overhead."""
    from dask.distributed import Client, LocalCluster

    import pipeguard as pg

    folder = make_planted(root / f"planted-{n}", n)
    contract = pg.Contract(channels=3)
    pg.scan(folder, contract=contract, workers=cores)  # warm the page cache and the imports
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        pg.scan(folder, contract=contract, cluster=client)  # workers import pipeguard and Pillow once
        t = best_of({"local": lambda: pg.scan(folder, contract=contract, workers=cores),
                     "cluster": lambda: pg.scan(folder, contract=contract, cluster=client)}, repeats)
    print(f"\ncluster: {n:,} files, local scan with {cores} workers against a 2-worker LocalCluster "
          "(client started beforehand)")
    print(f"  local      {n / t['local']:>10,.0f} files/s")
    print(f"  cluster    {n / t['cluster']:>10,.0f} files/s  = {t['local'] / t['cluster']:.2f}x the local scan "
          "(goal >= 0.6x)")


def bench_s3(n: int, repeats: int) -> None:
    """The local moto S3 server: a ranged, concurrent scan of ``n`` 1 MB images against a plain
    loop that downloads each object whole."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from s3_server import CREDENTIALS, S3Server

    import pipeguard as pg

    os.environ.update(CREDENTIALS)
    server = S3Server()
    try:
        fs = server.filesystem()
        fs.mkdir("bench")
        rng = random.Random(3)
        buf = io.BytesIO()
        _image(rng, 640, 520, "RGB").save(buf, "PNG", compress_level=0)  # about 1 MB, sent as is
        data = buf.getvalue()
        for i in range(n):
            fs.pipe_file(f"bench/images/{i:05d}.png", data)
        url, options = "s3://bench/images/", {"endpoint_url": server.endpoint}
        paths = fs.ls("bench/images")

        def whole() -> None:
            for p in paths:
                with Image.open(io.BytesIO(fs.cat_file(p))) as im:
                    im.mode, im.size

        pg.scan(url, contract=pg.Contract(channels=3), storage_options=options)  # imports, connection pool
        whole()
        t = best_of({"whole": whole,
                     "ranged": lambda: pg.scan(url, contract=pg.Contract(channels=3), storage_options=options)},
                    repeats)
        requests, moved = _s3_traffic(lambda: pg.scan(url, contract=pg.Contract(channels=3), storage_options=options))
        per_request = best_of({"range": lambda: [fs.cat_file(p, start=0, end=64 << 10) for p in paths],
                               "whole": lambda: [fs.cat_file(p) for p in paths]}, repeats)
    finally:
        server.stop()
    print(f"\nS3 (moto server on 127.0.0.1): {n} images of {len(data) / 1e6:.1f} MB each")
    print(f"  download each object whole, then Image.open  {n / t['whole']:>8,.1f} files/s")
    print(f"  pipeguard scan (ranged, concurrent reads)    {n / t['ranged']:>8,.1f} files/s  = "
          f"{t['whole'] / t['ranged']:.1f}x (goal >= 5x)")
    print(f"  the scan sent {requests / n:.1f} requests and moved {moved / n / 1e3:,.0f} kB a file "
          f"(whole downloads: 1 request, {len(data) / 1e3:,.0f} kB)")
    print(f"  moto's time a request, one at a time: 64 KiB range {per_request['range'] / n * 1e3:.1f} ms, "
          f"whole 1 MB object {per_request['whole'] / n * 1e3:.1f} ms (on loopback a request costs the same "
          "whatever its size)")


def _s3_traffic(run) -> tuple[int, int]:
    """Object reads (ranged or whole GETs) sent and bytes received by s3fs while ``run()``
    runs; the folder's listing is not counted."""
    import s3fs

    seen = [0, 0]
    real = s3fs.S3FileSystem._cat_file

    async def counted(self, *args, **kwargs):
        data = await real(self, *args, **kwargs)
        seen[0] += 1
        seen[1] += len(data)
        return data

    s3fs.S3FileSystem._cat_file = counted
    try:
        run()
    finally:
        s3fs.S3FileSystem._cat_file = real
    return seen[0], seen[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000, help="mixed images (default 5000)")
    parser.add_argument("--tiny", type=int, default=100_000, help="tiny files for the memory run (0 to skip)")
    parser.add_argument("--root", type=Path, default=Path("/tmp/pipeguard-bench"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--html-only", action="store_true", help="only the cost of --html (5%% planted problems)")
    parser.add_argument("--streamed", type=int, default=1_000_000,
                        help="tiny files for the streamed-output memory run (default 1,000,000; 0 to skip)")
    parser.add_argument("--shards", type=int, default=100, help="tar shards for the archive run (0 to skip)")
    parser.add_argument("--members", type=int, default=1000, help="members per shard")
    parser.add_argument("--big-only", action="store_true", help="only the streamed-output and archive runs")
    parser.add_argument("--remote-only", action="store_true", help="only the Dask cluster and S3 runs")
    parser.add_argument("--cluster-files", type=int, default=20_000, help="files for the cluster run (0 to skip)")
    parser.add_argument("--s3-files", type=int, default=40, help="1 MB-class images for the S3 run (0 to skip)")
    parser.add_argument("--parts-rows", type=int, default=1_000_000,
                        help="files of the cluster run writing Parquet parts (scripts/bench_remote.py; 0 to skip)")
    parser.add_argument("--cache-only", action="store_true",
                        help="only a folder of --tiny files scanned twice with a cache")
    parser.add_argument("--mix-only", action="store_true",
                        help="only scripts/bench_png_mix.py (an icon theme of small mixed PNGs, issue 27)")
    args = parser.parse_args()
    if args.mix_only:
        from bench_png_mix import main as bench_png_mix  # this script's folder is on sys.path

        bench_png_mix(["--repeats", str(args.repeats), "--root", str(args.root / "pngmix")])
        return

    import pipeguard as pg
    from pipeguard._child import usable_cores as default_workers

    cores = default_workers()
    if args.cache_only:
        bench_cache(args.root / f"tiny-{args.tiny or 100_000}", args.tiny or 100_000, cores, args.repeats)
        bench_cold_cache(args.root / f"tiny-{args.tiny or 100_000}", cores)
        return
    planted = make_planted(args.root / f"planted-{args.files}", args.files)
    if args.html_only:
        bench_html(planted, cores, args.repeats)
        return
    if args.big_only:
        _bench_big(args, cores)
        return
    if args.remote_only:
        _bench_remote(args, cores)
        return
    t = time.perf_counter()
    paths = make_mixed(args.root / f"mixed-{args.files}", args.files)
    print(f"folder: {len(paths):,} mixed images under {args.root} (ready in {time.perf_counter() - t:.1f} s); "
          f"{cores} cores; load average {os.getloadavg()[0]:.2f} (machine may be shared)")
    folder = args.root / f"mixed-{args.files}"
    # ImageNet-style raw folder: sizes vary (Resize fixes them), the channel count must be 3
    contract = pg.Contract(channels=3)
    sized = pg.Contract(channels=3, size=(375, 500))  # most files fail this one: the violation path
    bare_header(paths)  # warm the page cache
    pg.scan(folder, contract=contract, workers=1)  # and the imports (pandas, pandera)

    n = len(paths)
    t = best_of({
        "base": lambda: bare_header(paths),
        "one": lambda: pg.scan(folder, contract=contract, workers=1),
        "sized": lambda: pg.scan(folder, contract=sized, workers=1),
        "every": lambda: pg.scan(folder, contract=contract, workers=cores),
    }, args.repeats)
    for label, c in (("channels=3", contract), ("channels=3, size=375x500", sized)):
        counts = pg.scan(folder, contract=c, workers=1).counts
        print(f"verdicts with {label}: {counts['ok']:,} ok, {counts['violation']:,} violation, "
              f"{counts['unreadable']:,} unreadable")
    d = best_of({
        "decode": lambda: bare_decode(paths),
        "deep": lambda: pg.scan(folder, contract=contract, deep=True, workers=cores),
    }, max(1, args.repeats // 3))
    base, decode = t["base"], d["decode"]
    rows = [("bare Image.open .mode/.size loop (baseline)", base, base),
            ("pipeguard scan, 1 worker", t["one"], base),
            ("pipeguard scan, 1 worker, 88% violations", t["sized"], base),
            (f"pipeguard scan, {cores} workers", t["every"], base),
            ("bare full-decode loop (deep baseline)", decode, decode),
            (f"pipeguard scan --deep, {cores} workers", d["deep"], decode)]
    print(f"\n{'':46} {'files/s':>10} {'× baseline':>11}")
    for label, seconds, ref in rows:
        print(f"{label:46} {n / seconds:>10,.0f} {ref / seconds:>10.2f}×")
    print(f"goals: 1 worker ≥ 0.80× ({base / t['one']:.2f}×), {cores} workers ≥ 1.30× ({base / t['every']:.2f}×), "
          f"deep ≥ 1.70× ({decode / d['deep']:.2f}×); load average now {os.getloadavg()[0]:.2f}")

    # JPEGs with EXIF (camera photos) are read by Pillow, not by the marker walk: the other end
    camera = args.root / f"mixed-exif-{args.files}"
    camera_paths = make_mixed(camera, args.files, exif=True)
    bare_header(camera_paths)
    e = best_of({
        "base": lambda: bare_header(camera_paths),
        "one": lambda: pg.scan(camera, contract=contract, workers=1),
        "every": lambda: pg.scan(camera, contract=contract, workers=cores),
    }, args.repeats)
    print(f"\nthe same folder with a camera's EXIF block in every JPEG (Pillow reads those headers); "
          f"marker walk taken by {walked(paths):.0%} of files above, {walked(camera_paths):.0%} here")
    for label, seconds in (("bare Image.open .mode/.size loop (baseline)", e["base"]),
                           ("pipeguard scan, 1 worker", e["one"]), (f"pipeguard scan, {cores} workers", e["every"])):
        print(f"{label:46} {n / seconds:>10,.0f} {e['base'] / seconds:>10.2f}×")

    bench_html(planted, cores, args.repeats)

    if args.tiny:
        tiny = args.root / f"tiny-{args.tiny}"
        t = time.perf_counter()
        make_tiny(tiny, args.tiny)
        _read_all(tiny)  # warm the page cache, so both runs read from memory
        print(f"\nmemory: {args.tiny:,} tiny files (ready in {time.perf_counter() - t:.1f} s)")
        for workers in (1, cores):
            out = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(tiny), str(workers)],
                                 capture_output=True, text=True, check=True)
            m = json.loads(out.stdout)
            extra = f", each worker ≤ {m['children_mb']:.0f} MB" if workers > 1 else ""
            print(f"  {workers} worker{'s' if workers > 1 else ''}: {m['files']:,} files in {m['seconds']:.1f} s "
                  f"({m['files'] / m['seconds']:,.0f} files/s), peak RSS {m['self_mb']:.0f} MB{extra} (goal < 200 MB)")
        bench_cache(tiny, args.tiny, cores, args.repeats)
    _bench_big(args, cores)
    _bench_remote(args, cores)
    if args.tiny:
        bench_cold_cache(args.root / f"tiny-{args.tiny}", cores)


def _bench_remote(args: argparse.Namespace, cores: int) -> None:
    if args.cluster_files:
        bench_cluster(args.root, args.cluster_files, cores, max(1, args.repeats // 2))
    if args.s3_files:
        bench_s3(args.s3_files, max(1, args.repeats // 2))
    from bench_remote import main as bench_remote  # this script's folder is on sys.path

    # issue 26: 2,000 small and 200 1 MB objects 20 ms away, and a cluster writing parts
    bench_remote(["--repeats", str(max(1, args.repeats // 2)), "--root", str(args.root / "remote"),
                  "--rows", str(args.parts_rows)])


def _bench_big(args: argparse.Namespace, cores: int) -> None:
    if args.shards:
        bench_shards(args.root, args.shards, args.members, cores, max(1, args.repeats // 2))
    if args.streamed:
        bench_streamed(args.root, args.streamed, cores)


if __name__ == "__main__":
    main()

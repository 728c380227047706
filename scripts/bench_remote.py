#!/usr/bin/env python3
"""Remote scans at network scale (issue 26), in one run; ``bench_scan.py --remote-only`` runs it.

1. **Latency hidden.** A moto S3 server on 127.0.0.1 holds 2,000 small images (a few KB)
   and 200 of about 1 MB. Each set is scanned straight from moto and through
   ``shared/tools/latency_proxy.py --rtt-ms 20`` (a 20 ms round trip, every chunk delayed),
   best of ``--repeats``; the ratio of files/s through the proxy to files/s without it is
   the goal (at least 0.8×). Requests and bytes per object are counted on s3fs's
   ``_cat_file`` (every ranged or whole read; listings not counted), and the proxy prints
   the bytes it carried.
2. **Reports written by the workers.** A folder of ``--rows`` files (hard links to a few
   tiny images, 1,000 per folder) is scanned on a 2-worker LocalCluster into a folder of
   Parquet parts, in a child process; its peak resident memory (VmHWM: the client and the
   LocalCluster's scheduler, which runs in it) is the goal (under 250 MB), beside the same
   scan of a tenth of the rows (memory must not grow with rows).

Timings depend on the machine (shared, 2 cores here): compare ratios from the same run.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from bench_scan import _s3_traffic  # object reads and bytes s3fs received (this script's folder is on sys.path)
from PIL import Image

HERE = Path(__file__).resolve().parent
PROXY = HERE.parent.parent / "shared" / "tools" / "latency_proxy.py"
sys.path.insert(0, str(HERE.parent / "tests"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _images(rng: random.Random, n: int, size: tuple[int, int], noisy: bool) -> list[bytes]:
    """``n`` distinct encodings: small JPEGs and PNGs, or ~1 MB uncompressed-ish PNGs."""
    out = []
    for i in range(n):
        im = Image.merge("RGB", [Image.effect_noise(size, 20 + rng.random() * 60)] * 3)
        buf = io.BytesIO()
        if noisy:
            im.save(buf, "PNG", compress_level=0)  # about 1 MB, as is
        else:
            im.save(buf, "JPEG" if i % 2 else "PNG")  # a few kB, like a thumbnail or an icon
        out.append(buf.getvalue())
    return out


class Proxy:
    """``latency_proxy.py`` in front of ``target`` port; :attr:`carried` after :meth:`stop`."""

    def __init__(self, target: int, rtt_ms: int) -> None:
        self.port = _free_port()
        self.process = subprocess.Popen([sys.executable, str(PROXY), str(self.port), str(target),
                                         "--rtt-ms", str(rtt_ms)], stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True)  # asyncio's notes at exit
        self.process.stdout.readline()  # "proxy: ... rtt 20 ms": listening
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.carried = ""

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.carried = self.process.communicate(timeout=30)[0].strip()


def _best(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_latency(small: int, large: int, rtt_ms: int, repeats: int) -> None:
    from s3_server import CREDENTIALS, S3Server

    import pipeguard as pg
    from pipeguard.scanner.probe import _ranged as ranged

    os.environ.update(CREDENTIALS)
    AHEAD = ranged.AHEAD
    server = S3Server()
    proxy, no_delay = Proxy(server.port, rtt_ms), Proxy(server.port, 0)
    try:
        fs = server.filesystem()
        fs.mkdir("bench")
        rng = random.Random(26)
        sets = {"small": (small, _images(rng, 50, (64, 48), noisy=False)),
                "1 MB": (large, _images(rng, 4, (640, 520), noisy=True))}
        for name, (n, encodings) in sets.items():
            for i in range(n):
                data = encodings[i % len(encodings)]
                suffix = "jpg" if data[:2] == b"\xff\xd8" else "png"
                fs.pipe_file(f"bench/{name.replace(' ', '')}/{i:05d}.{suffix}", data)
        print(f"\nremote latency: moto S3 on 127.0.0.1, direct and through latency_proxy.py --rtt-ms {rtt_ms}")
        for name, (n, encodings) in sets.items():
            url = f"s3://bench/{name.replace(' ', '')}/"
            mean = sum(map(len, encodings)) / len(encodings)
            scans = {}
            for how, endpoint, ahead in (("direct", server.endpoint, AHEAD), ("proxy", proxy.endpoint, AHEAD),
                                         ("no delay", no_delay.endpoint, AHEAD), ("one part", proxy.endpoint, 0)):
                options = {"endpoint_url": endpoint}
                ranged.AHEAD = ahead
                pg.scan(url, contract=pg.Contract(channels=3), storage_options=options)  # connections, imports
                scans[how] = _best(lambda u=url, o=options: pg.scan(u, contract=pg.Contract(channels=3),
                                                                   storage_options=o), repeats)
            ranged.AHEAD = AHEAD
            requests, moved = _s3_traffic(lambda u=url: pg.scan(u, contract=pg.Contract(channels=3),
                                                             storage_options={"endpoint_url": proxy.endpoint}))
            print(f"  {n:,} {name} objects (mean {mean / 1e3:,.1f} kB): direct {n / scans['direct']:,.0f} files/s, "
                  f"{rtt_ms} ms away {n / scans['proxy']:,.0f} files/s = {scans['direct'] / scans['proxy']:.2f}x "
                  "(goal >= 0.8x)")
            print(f"    through the proxy at 0 ms (its own CPU, no delay) {n / scans['no delay']:,.0f} files/s: "
                  f"the delay alone costs {scans['no delay'] / scans['proxy']:.2f}x")
            print(f"    {rtt_ms} ms away, each part's heads fetched only when it is probed (AHEAD = 0, as before "
                  f"issue 26): {n / scans['one part']:,.0f} files/s = {scans['direct'] / scans['one part']:.2f}x")
            print(f"    {requests / n:.2f} requests and {moved / n / 1e3:,.1f} kB an object "
                  f"(of {mean / 1e3:,.0f} kB stored)")
    finally:
        proxy.stop()
        no_delay.stop()
        server.stop()
    print(f"  {rtt_ms} ms {proxy.carried}")


_CLUSTER_SCAN = textwrap.dedent("""
    import json, sys, time
    import dask
    import pipeguard as pg
    if __name__ == "__main__":
        with dask.config.set({"distributed.worker.daemon": False}):
            t0 = time.perf_counter()
            report = pg.scan(sys.argv[1], contract=pg.Contract(channels=3, size=(16, 16)), cluster="local:2",
                             output=sys.argv[2])
            took = time.perf_counter() - t0
        hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM")][0].split()[1]
        print(json.dumps({"files": report.tally.files, "seconds": took, "hwm_mb": int(hwm) / 1024}))
""")


def make_linked(root: Path, rows: int) -> Path:
    """``rows`` files in folders of 1,000, hard links to tiny images (one in four gray: a
    violation), 4 of them per 10 folders (a file takes at most 65,000 links on ext4)."""
    folder, done = root / f"linked-{rows}", root / f"linked-{rows}.done"  # the marker outside: not a row
    if done.exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    sources = root / f"linked-{rows}-sources"
    shutil.rmtree(sources, ignore_errors=True)
    sources.mkdir(parents=True)
    originals: list[Path] = []
    for d in range(0, rows, 1000):
        if d % 10_000 == 0:
            originals = []
            for k, mode in enumerate(("RGB", "RGB", "RGB", "L")):
                path = sources / f"{d}-{k}.png"
                Image.new(mode, (16, 16)).save(path)
                originals.append(path)
        sub = folder / f"d{d // 1000:04d}"
        sub.mkdir(parents=True)
        for i in range(min(1000, rows - d)):
            os.link(originals[i % 4], sub / f"{i:04d}.png")
    done.touch()
    return folder


def bench_parts(root: Path, rows: int) -> None:
    print(f"\nreports written by the workers: {rows:,} files on a 2-worker LocalCluster into Parquet parts "
          "(client in a child process)")
    for n in (rows // 10, rows):
        folder = make_linked(root, n)
        out = root / f"parts-{n}"
        shutil.rmtree(out, ignore_errors=True)
        done = subprocess.run([sys.executable, "-c", _CLUSTER_SCAN, str(folder), f"{out}/"],
                              capture_output=True, text=True, timeout=7200)
        if done.returncode not in (0, 1):
            print(done.stderr[-3000:])
            continue
        got = json.loads(done.stdout.strip().splitlines()[-1])
        parts = len([p for p in os.listdir(out) if p.startswith("part-")])
        print(f"  {got['files']:,} rows in {parts} parts, {got['seconds']:.0f} s ({got['files'] / got['seconds']:,.0f} "
              f"files/s): client peak {got['hwm_mb']:.0f} MB (goal < 250 MB)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("/tmp/pipeguard-bench/remote"))
    parser.add_argument("--small", type=int, default=2000, help="small objects (default 2,000)")
    parser.add_argument("--large", type=int, default=200, help="objects of about 1 MB (default 200)")
    parser.add_argument("--rtt-ms", type=int, default=20)
    parser.add_argument("--rows", type=int, default=1_000_000, help="files of the cluster parts run (0 to skip)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if args.small or args.large:
        bench_latency(args.small, args.large, args.rtt_ms, args.repeats)
    if args.rows:
        bench_parts(args.root, args.rows)


if __name__ == "__main__":
    main()

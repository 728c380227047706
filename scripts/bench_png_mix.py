#!/usr/bin/env python3
"""Scan speed on a real-looking folder: an icon theme of small mixed PNGs (issue 27).

Makes (or reuses, by a ``.complete`` marker beside it) under ``--root`` a folder of
``--files`` small images laid out like an icon theme (theme/size/category/name.ext, a few
hundred folders): ~90% PNG of mixed colour types and bit depths (RGBA 8-bit most, palette
with and without tRNS, LA, L, RGB, 1-bit, 16-bit gray and RGB, some Adam7-interlaced),
16-256 px and mostly small, plus ~10% JPEG, GIF and BMP; and a list of its files beside it
(``./name/...`` as ``find`` prints them, for ``--files-from``). Then it warms the page cache
and times, best of ``--repeats`` in interleaved rounds:

* end to end, each a fresh process run from the folder's parent: the baseline
  ``python -c`` reading the list and looping ``Image.open(f).size``; ``pipeguard scan
  --files-from LIST --format jsonl --output OUT`` and ``pipeguard scan FOLDER --output OUT``
  with 1 worker and every core; ``--files-from LIST`` with the table to the terminal;
* in process (pipeguard imported beforehand): the same bare loop over the listed paths, and
  ``pipeguard.scan(paths, workers=1)`` and ``pipeguard.scan(folder, workers=1)``;
* start-up: ``pipeguard scan one.png`` (table, and ``--format jsonl``), median of 15 fresh
  processes, against ``python -c "from PIL import Image; Image.open(f).size"``.

End-to-end ratios are to the end-to-end loop, in-process ones to the in-process loop.
Goals (issue 27): every core ≥ 1.0× end to end, ≥ 1.5× in process, start-up < 0.3 s.
The machine may be shared: the load average is printed at the start and the end.

    python scripts/bench_png_mix.py [--files 32000] [--repeats 3] [--root DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image

THEMES = ["Adwaita", "Breeze", "Papirus", "Humanity"]
SIZES = {16: 18, 22: 12, 24: 12, 32: 18, 48: 16, 64: 10, 128: 8, 256: 6}  # px: weight
CATEGORIES = ["actions", "apps", "categories", "devices", "emblems", "emotes", "mimetypes", "places",
              "status", "panel", "animations", "stock"]
WORDS = ["document", "folder", "edit", "media", "network", "user", "system", "view", "go", "mail", "list", "window"]
KINDS = {"RGBA": 45, "RGB": 10, "P": 8, "P+tRNS": 6, "LA": 5, "L": 5, "1": 3, "I;16": 3, "RGB16": 2,
         "RGBA-interlaced": 2, "RGB-interlaced": 1, "JPEG": 5, "GIF": 3, "BMP": 2}  # kind: % of files
EXT = {"JPEG": "jpg", "GIF": "gif", "BMP": "bmp"}
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
SEED = 27
GOAL_E2E, GOAL_IN_PROCESS, GOAL_STARTUP = 1.0, 1.5, 0.3


def _png(arr: np.ndarray, color_type: int, interlace: bool) -> bytes:
    """A PNG Pillow cannot write: 16-bit RGB, or Adam7-interlaced (filter 0 on every row)."""
    h, w = arr.shape[:2]
    depth = 16 if arr.dtype == np.uint16 else 8
    data = arr.astype(">u2") if depth == 16 else arr
    raw = b""
    for x0, y0, dx, dy in ADAM7 if interlace else [(0, 0, 1, 1)]:
        sub = np.ascontiguousarray(data[y0::dy, x0::dx])
        if sub.size:
            rows = sub.view(np.uint8).reshape(sub.shape[0], -1)
            raw += np.hstack([np.zeros((len(rows), 1), np.uint8), rows]).tobytes()

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    ihdr = struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, int(interlace))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def _icon(rng: np.random.Generator, s: int) -> np.ndarray:
    """An RGBA icon: a shaded disc of a random colour on a transparent square, a little noise."""
    y, x = np.mgrid[0:s, 0:s].astype(np.float32) / s
    r = np.hypot(x - 0.5, y - 0.5)
    colour = rng.integers(40, 256, 3).astype(np.float32)
    shade = (1.2 - r)[..., None] * colour[None, None] + rng.integers(0, 12, (s, s, 1))
    alpha = np.clip((0.45 - r) * s * 2, 0, 1) * 255
    return np.dstack([np.clip(shade, 0, 255), alpha]).astype(np.uint8)


def _write(job: tuple[int, str, str, int]) -> None:
    i, path, kind, s = job
    rng = np.random.default_rng((SEED, i))  # per file: the same bytes whatever the chunking
    rgba = _icon(rng, s)
    rgb, alpha = rgba[..., :3], rgba[..., 3]
    gray = rgb.mean(-1).astype(np.uint8)
    if kind in ("RGB16", "RGBA-interlaced", "RGB-interlaced"):
        arr = rgb.astype(np.uint16) * 257 if kind == "RGB16" else rgba if kind.startswith("RGBA") else rgb
        Path(path).write_bytes(_png(arr, 6 if kind.startswith("RGBA") else 2, kind.endswith("interlaced")))
        return
    options: dict = {}
    if kind in ("P", "P+tRNS", "GIF"):
        index = (gray // 16).astype(np.uint8)
        if kind != "P":
            index[alpha < 128], options["transparency"] = 0, 0
        img = Image.fromarray(index, "P")
        img.putpalette(rng.integers(0, 256, 48, dtype=np.uint8).tobytes())
    elif kind == "LA":
        img = Image.fromarray(np.dstack([gray, alpha]), "LA")
    elif kind == "L":
        img = Image.fromarray(gray, "L")
    elif kind == "1":
        img = Image.fromarray(alpha > 127)
    elif kind == "I;16":
        img = Image.fromarray(gray.astype(np.uint16) * 257)
    elif kind in ("RGB", "JPEG", "BMP"):
        img = Image.fromarray(rgb, "RGB")
        options = {"quality": 85} if kind == "JPEG" else {}
    else:
        img = Image.fromarray(rgba, "RGBA")
    img.save(path, kind if kind in EXT else "PNG", **options)


def make_theme(root: Path, n: int) -> tuple[Path, float]:
    """The icon-theme folder at ``root`` and its list beside it; the seconds it took (0 if reused)."""
    marker, listing = root.with_name(root.name + ".complete"), root.with_name(root.name + ".list")
    if marker.is_file() and marker.read_text() == str(n) and listing.is_file():
        return listing, 0.0
    start = time.perf_counter()
    if root.exists():
        shutil.rmtree(root)
    rng = random.Random(SEED)
    jobs, folders = [], set()
    for i in range(n):
        kind = rng.choices(list(KINDS), weights=list(KINDS.values()))[0]
        s = rng.choices(list(SIZES), weights=list(SIZES.values()))[0]
        category = rng.choice(CATEGORIES)
        folder = root / rng.choice(THEMES) / f"{s}x{s}" / category
        folders.add(folder)
        name = f"{category.rstrip('s')}-{rng.choice(WORDS)}-{i:05d}.{EXT.get(kind, 'png')}"
        jobs.append((i, str(folder / name), kind, s))
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    with Pool(2) as pool:
        pool.map(_write, jobs, chunksize=500)
    rel = sorted("./" + os.path.relpath(job[1], root.parent) for job in jobs)
    listing.write_text("\n".join(rel) + "\n")
    marker.write_text(str(n))
    return listing, time.perf_counter() - start


def _run(command: list[str], cwd: Path, env: dict) -> None:
    """One fresh process; exit status 0 or 1 (a file violates the contract) is a finished scan."""
    done = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr.decode()[-2000:]}")


def bare_loop(paths: list[str]) -> None:
    for f in paths:
        with Image.open(f) as im:
            _ = im.size


BARE_CHILD = """import sys
from PIL import Image
paths = open(sys.argv[1]).read().split()
for f in paths:
    with Image.open(f) as im:
        im.size
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=32_000, help="images in the folder (default 32,000)")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many rounds (default 3)")
    parser.add_argument("--startup-repeats", type=int, default=15, help="median of this many (default 15)")
    parser.add_argument("--root", type=Path, default=Path("/tmp/pipeguard-bench/pngmix"))
    args = parser.parse_args(argv)
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"  # every child inherits it, generation's pool too
    # as installed: pip compiles the package's bytecode, and Python keeps it; with
    # PYTHONDONTWRITEBYTECODE set (as on some CI machines) every run compiles pipeguard anew
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(__file__).resolve().parents[1] / "pipeguard")],
                   check=False)
    env = dict(os.environ)
    cores = len(os.sched_getaffinity(0))
    print(f"cores: {cores} usable ({os.cpu_count()} online); load average at start: "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))

    root = args.root.resolve()
    listing, took = make_theme(root, args.files)
    parent, rel = root.parent, listing.read_text().split()
    paths = [str(parent / p) for p in rel]
    kinds = {os.path.splitext(p)[1] for p in rel}
    print(f"folder: {root} ({len(rel):,} files, {len({os.path.dirname(p) for p in rel})} folders, "
          f"{', '.join(sorted(kinds))}); list: {listing}; "
          + (f"generated in {took:.1f} s" if took else "reused"))
    for p in paths:  # warm the page cache
        with open(p, "rb") as f:
            f.read()

    import pipeguard as pg

    pg.scan(paths[:200], workers=1)  # the scan's own lazy imports, before any timing
    entry = str(Path(sys.executable).with_name("pipeguard"))
    tmp = Path(tempfile.mkdtemp(prefix="pipeguard-pngmix-"))
    out = str(tmp / "OUT.jsonl")

    def cli(*options: str):
        def run() -> None:
            Path(out).unlink(missing_ok=True)
            _run([entry, "scan", *options], parent, env)
        return run

    jsonl = ("--format", "jsonl", "--output", out)
    runs = {  # label: (end to end?, function)
        "bare loop, python -c (e2e baseline)": (True, lambda: _run([sys.executable, "-c", BARE_CHILD, str(listing)],
                                                                    parent, env)),
        "scan --files-from, 1 worker, jsonl": (True, cli("--files-from", str(listing), "--workers", "1", *jsonl)),
        f"scan --files-from, {cores} workers, jsonl": (True, cli("--files-from", str(listing), "--workers",
                                                                 str(cores), *jsonl)),
        "scan FOLDER, 1 worker, jsonl": (True, cli(root.name, "--workers", "1", "--output", out)),
        f"scan FOLDER, {cores} workers, jsonl": (True, cli(root.name, "--workers", str(cores), "--output", out)),
        f"scan --files-from, {cores} workers, table": (True, cli("--files-from", str(listing), "--workers",
                                                                 str(cores))),
        "bare loop, in process (baseline)": (False, lambda: bare_loop(paths)),
        "pipeguard.scan(paths, workers=1)": (False, lambda: pg.scan(paths, workers=1)),
        "pipeguard.scan(folder, workers=1)": (False, lambda: pg.scan(root, workers=1)),
    }
    times: dict[str, list[float]] = {label: [] for label in runs}
    for _ in range(args.repeats):  # interleaved, so load from elsewhere falls on every run alike
        for label, (_, fn) in runs.items():
            start = time.perf_counter()
            fn()
            times[label].append(time.perf_counter() - start)
    best = {label: min(t) for label, t in times.items()}
    base = {True: best["bare loop, python -c (e2e baseline)"], False: best["bare loop, in process (baseline)"]}

    one = tmp / "one.png"
    shutil.copy(next(p for p, r in zip(paths, rel) if r.endswith(".png")), one)
    startup_runs = {
        "python -c: Image.open(one.png).size": [sys.executable, "-c",
                                                f"from PIL import Image; Image.open({str(one)!r}).size"],
        "pipeguard scan one.png (table)": [entry, "scan", str(one)],
        "pipeguard scan one.png --format jsonl": [entry, "scan", str(one), "--format", "jsonl"],
    }
    startup: dict[str, list[float]] = {label: [] for label in startup_runs}
    for _ in range(args.startup_repeats):
        for label, command in startup_runs.items():
            start = time.perf_counter()
            _run(command, tmp, env)
            startup[label].append(time.perf_counter() - start)
    median = {label: statistics.median(t) for label, t in startup.items()}
    shutil.rmtree(tmp)

    n = len(paths)
    print(f"\n{n:,} files, best of {args.repeats}; ratio = baseline time / run time (> 1: faster than the loop)")
    print(f"{'run':44} {'scope':>10} {'wall s':>8} {'files/s':>9} {'× loop':>7}")
    for label, (e2e, _) in runs.items():
        print(f"{label:44} {'e2e' if e2e else 'in process':>10} {best[label]:8.3f} {n / best[label]:9,.0f} "
              f"{base[e2e] / best[label]:6.2f}×")
    print(f"\nstart-up, one file, median of {args.startup_repeats} fresh processes")
    for label, seconds in median.items():
        print(f"{label:44} {seconds:8.3f} s")

    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    e2e_all = [label for label, (e2e, _) in runs.items() if e2e and f"{cores} workers" in label]
    in_process = [label for label in runs if label.startswith("pipeguard.scan")]
    print(f"\ngoal: end to end, {cores} workers ≥ {GOAL_E2E:.1f}× the python -c loop: "
          + ", ".join(f"{label[5:]} {base[True] / best[label]:.2f}× {verdict(base[True] / best[label] >= GOAL_E2E)}"
                      for label in e2e_all))
    print(f"goal: in process ≥ {GOAL_IN_PROCESS:.1f}× the in-process loop: "
          + ", ".join(f"{label} {base[False] / best[label]:.2f}× "
                      f"{verdict(base[False] / best[label] >= GOAL_IN_PROCESS)}" for label in in_process))
    print(f"goal: start-up < {GOAL_STARTUP} s: "
          + ", ".join(f"{label[15:]} {s:.3f} s {verdict(s < GOAL_STARTUP)}"
                      for label, s in median.items() if label.startswith("pipeguard")))
    print(f"cores: {cores}; load average at end: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()

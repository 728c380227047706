#!/usr/bin/env python3
"""Start-up of ``pipeguard scan`` on one file, against Python opening the same file with Pillow.

Each command runs ``--repeats`` times in a fresh process; the median wall time is printed
with its ratio to the baseline, ``python -c "from PIL import Image; Image.open(f).size"``
(the interpreter's own start-up and Pillow's import, which every scan pays). Then which
heavy modules a scan of one file imports, in process: none of pandas, pyarrow, pandera
(and hypothesis behind it), torch or jinja2 (issue 27: the table and JSON lines need none).
Bytecode is compiled first and kept (``PYTHONDONTWRITEBYTECODE`` is dropped for the
children), as an installed package has it. Goal (issue 27): under 0.3 s.

    python scripts/bench_startup.py [--repeats 15] [--python PATH]

``--python`` runs another checkout's interpreter (e.g. a worktree of an older commit's
virtualenv) so two trees are compared in one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from PIL import Image

HEAVY = ("pandas", "pandera", "hypothesis", "pyarrow", "torch", "jinja2")


def _median_seconds(command: list[str], repeats: int, env: dict) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _imported(python: str, image: str, env: dict) -> list[str]:
    code = ("import sys, pipeguard as pg\n"
            f"r = pg.scan([{image!r}], contract=pg.Contract(channels=3)); r.summary(); list(r.rows())\n"
            f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))\n")
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, env=env, check=True)
    return out.stdout.split()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--python", default=sys.executable, help="the interpreter of the checkout to measure")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["OMP_WAIT_POLICY"] = "PASSIVE"
    package = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pipeguard")
    subprocess.run([args.python, "-m", "compileall", "-q", package], env=env, check=False)
    entry = os.path.join(os.path.dirname(args.python), "pipeguard")
    with tempfile.TemporaryDirectory() as folder:
        image = os.path.join(folder, "one.png")
        Image.new("RGB", (64, 48)).save(image)
        baseline = _median_seconds([args.python, "-c", f"from PIL import Image; Image.open({image!r}).size"],
                                   args.repeats, env)
        print(f"baseline: python + Pillow opening one file   {baseline:6.3f} s")
        for label, extra in (("table", []), ("jsonl", ["--format", "jsonl"]),
                             ("file", ["--output", os.path.join(folder, "r.jsonl")])):
            took = _median_seconds([entry, "scan", image, "--channels", "3", *extra], args.repeats, env)
            print(f"pipeguard scan one.png, {label:<5}              {took:6.3f} s  "
                  f"({took / baseline:.1f}x the baseline, {took - baseline:+.3f} s)")
        print(f"heavy modules a scan of one file imports: {' '.join(_imported(args.python, image, env)) or 'none'}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Cost of ``trace_model`` on resnet50 (weights=None) at 224×224 against one real CPU forward pass.

Each measurement runs in its own subprocess, so memory figures do not mix: the child
builds the model, warms the operation up once, resets the kernel's peak-RSS mark
(``/proc/self/clear_refs``; ``ru_maxrss`` where that is not available), then times the
operation (median of several runs) and reports how far the peak resident memory rose
above the memory in use just before. Children run with a fixed glibc mmap threshold so
that freed activation buffers go back to the OS between runs and each run's peak shows. Goal: tracing is cheaper than the forward pass and
allocates no activation memory (the forward pass's activations are printed for scale).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SHAPE = (1, 3, 224, 224)
REPEATS = 5


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        return True
    except OSError:
        return False


def _peak_kb(reset: bool) -> int:
    if reset:
        return _status_kb("VmHWM")
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure(what: str) -> dict:
    """Run in a child process: time and peak-RSS delta of one operation."""
    import torch
    from torchvision import models

    import pipeguard as pg

    model = models.resnet50(weights=None).eval()
    x = torch.zeros(SHAPE)

    def forward():
        with torch.no_grad():
            return model(x)

    op = (lambda: pg.trace_model(model, SHAPE)) if what == "trace" else forward
    result = op()  # warm-up: lazy imports, kernel selection, allocator pools
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        op()
        times.append(time.perf_counter() - start)
    reset = _reset_peak()
    before = _status_kb("VmRSS")
    op()
    peak = _peak_kb(reset)
    out = {"what": what, "median_s": statistics.median(times), "min_s": min(times),
           "peak_delta_kb": max(0, peak - before), "peak_reset": reset,
           "threads": torch.get_num_threads(), "torch": torch.__version__}
    if what == "trace":
        out["ok"] = result.ok
        out["device"] = result.device
        out["rows"] = len(result.rows)
        out["activation_bytes"] = sum(4 * _numel(s) for r in result.rows for s in r.output_shapes)
    return out


def _numel(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def child(what: str) -> dict:
    # A fixed mmap threshold: glibc otherwise raises it after the first large free, keeps
    # freed activations in its heap, and a warmed-up forward pass shows no RSS growth at all.
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_=str(128 * 1024))
    proc = subprocess.run([sys.executable, __file__, "--measure", what], capture_output=True, text=True,
                          check=True, env=env)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--measure":
        print(json.dumps(measure(sys.argv[2])))
        return
    trace, forward = child("trace"), child("forward")
    mb = lambda kb: f"{kb:,} kB ({kb / 1024:.1f} MB)"  # noqa: E731
    print(f"resnet50 (weights=None), input {list(SHAPE)} float32; torch {trace['torch']}, "
          f"{trace['threads']} threads; one process per measurement; median of {REPEATS} runs")
    print(f"{'':28} {'time':>10} {'min':>10} {'peak RSS delta':>22}")
    for name, r in (("trace_model (meta device)", trace), ("forward pass (CPU, no_grad)", forward)):
        print(f"{name:28} {r['median_s'] * 1e3:7.1f} ms {r['min_s'] * 1e3:7.1f} ms {mb(r['peak_delta_kb']):>22}")
    print(f"trace / forward time: {trace['median_s'] / forward['median_s']:.2f}×   "
          f"trace {'ok' if trace['ok'] else 'FAILED'} on {trace['device']}, {trace['rows']} layer calls")
    print(f"activations a forward pass produces (sum of the traced layer outputs, float32): "
          f"{trace['activation_bytes'] / 2**20:.1f} MB")
    if not trace["peak_reset"]:
        print("note: peak RSS read from ru_maxrss (VmHWM could not be reset); deltas are upper bounds")


if __name__ == "__main__":
    main()

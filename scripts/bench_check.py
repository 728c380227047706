#!/usr/bin/env python3
"""Per-sample cost of ``Contract.check`` against a bare shape comparison, in one process.

Prints µs per call and the ratio to the baseline ``tensor.shape == (3, 224, 224)``,
for a [3, 224, 224] tensor, a PIL image (lazily opened from a PNG, so not decoded),
a numpy HWC array and a failing sample (which builds violations but raises nothing);
then the memory a check allocates: Python/numpy heap (tracemalloc) and torch CPU
allocations (torch profiler). Goal: under 10 µs per check and nothing allocated in
proportion to the image (a 3×224×224 float32 image is 602,112 bytes).
"""

from __future__ import annotations

import io
import timeit
import tracemalloc

import numpy as np
import torch
from PIL import Image

import pipeguard as pg

REPEATS, NUMBER = 7, 20000


def per_call_us(fn) -> float:
    return min(timeit.repeat(fn, number=NUMBER, repeat=REPEATS)) / NUMBER * 1e6


def main() -> None:
    contract = pg.Contract(channels=3, size=(224, 224), dtype="float32", name="imagenet")
    pil_contract = pg.Contract(channels=3, size=(224, 224))
    tensor = torch.rand(3, 224, 224)
    buf = io.BytesIO()
    Image.fromarray(np.zeros((224, 224, 3), np.uint8)).save(buf, "PNG")
    pil = Image.open(io.BytesIO(buf.getvalue()))          # lazy: header read, pixels not decoded
    array = np.zeros((224, 224, 3), np.uint8)
    gray = torch.rand(1, 224, 224)

    baseline = per_call_us(lambda: tensor.shape == (3, 224, 224))
    rows = [
        ("bare tensor.shape == (3, 224, 224)", baseline),
        ("check, [3, 224, 224] float32 tensor", per_call_us(lambda: contract.check(tensor))),
        ("check, PIL image (RGB, 224x224)", per_call_us(lambda: pil_contract.check(pil))),
        ("check, numpy HWC uint8 array", per_call_us(lambda: pil_contract.check(array))),
        ("check, failing [1, 224, 224] tensor", per_call_us(lambda: contract.check(gray))),
    ]
    print(f"{'case':<40} {'µs/call':>8} {'× baseline':>11}")
    for name, us in rows:
        print(f"{name:<40} {us:8.2f} {us / baseline:11.1f}")
    assert pil._im is None, "the PIL image was decoded"

    tracemalloc.start()
    for _ in range(1000):
        contract.check(tensor)
        pil_contract.check(pil)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True) as prof:
        for _ in range(1000):
            contract.check(tensor)
    torch_bytes = sum(max(e.cpu_memory_usage, 0) for e in prof.events())
    image_bytes = tensor.numel() * tensor.element_size()
    print(f"python/numpy heap peak over 2,000 checks: {peak:,} bytes (image: {image_bytes:,} bytes)")
    print(f"torch CPU memory allocated by 1,000 tensor checks: {torch_bytes:,} bytes")


if __name__ == "__main__":
    main()

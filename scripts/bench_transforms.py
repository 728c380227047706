#!/usr/bin/env python3
"""What Validate and EnsureChannels add to a typical v2 chain on already-RGB input, in one process.

The chain is ``ToImage(), Resize(224), ToDtype(float32, scale=True)`` on decoded
256×256 RGB PIL images. It is timed bare, with ``EnsureChannels(3)`` in front, with
``Validate`` at the end, and with both; then the two pipeguard transforms are timed
alone on the inputs they see there (a cleaner figure than a difference of two
millisecond timings). Prints µs per sample and the added cost as % of the chain, and
shows that EnsureChannels on conforming input returns the very same object and
allocates nothing in proportion to the image. Goal: added cost < 1% of the chain.

For scale, the chain is also timed with torchvision's own no-op step ``v2.Identity()``,
and ``v2.Identity()`` is timed alone: the floor every v2 transform pays (``nn.Module``'s
call and ``v2.Transform.forward``), which pipeguard's transforms inherit by overriding
only the documented hooks. Inside a chain any extra step costs a few µs more than alone
(cache effects), and the paired medians carry about ±3 µs of noise on a loaded machine.
"""

from __future__ import annotations

import statistics
import time
import timeit
import tracemalloc

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import v2

import pipeguard as pg

REPEATS = 7
PAIRS = 1500             # per chain variant: the bare chain and the variant run back to back
ALONE_NUMBER = 20000     # calls per timing of one pipeguard transform


def paired(base, other, images) -> tuple[float, float]:
    """Median µs of ``base`` per sample and median of (``other`` - ``base``) over paired runs.

    Each pair runs both chains on the same image, in alternating order; the median of
    the differences shrugs off the load spikes of a shared machine, which a difference
    of two separate timings does not.
    """
    base_ns, diffs = [], []
    for i in range(PAIRS):
        img = images[i % len(images)]
        first, second = (base, other) if i % 2 == 0 else (other, base)
        t0 = time.perf_counter_ns()
        first(img)
        t1 = time.perf_counter_ns()
        second(img)
        t2 = time.perf_counter_ns()
        b, o = (t1 - t0, t2 - t1) if first is base else (t2 - t1, t1 - t0)
        base_ns.append(b)
        diffs.append(o - b)
    return statistics.median(base_ns) / 1e3, statistics.median(diffs) / 1e3


def per_sample_us(fn, number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=REPEATS)) / number * 1e6


def main() -> None:
    torch.set_num_threads(1)  # one sample, one core: what a DataLoader worker does
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 256, (256, 256, 3), dtype=np.uint8), "RGB") for _ in range(16)]
    contract = pg.Contract(channels=3, size=(224, 224), dtype="float32", name="imagenet")
    ensure, validate = pg.EnsureChannels(3), pg.Validate(contract)
    core = [v2.ToImage(), v2.Resize(224), v2.ToDtype(torch.float32, scale=True)]
    chains = {
        "chain (ToImage, Resize(224), ToDtype)": v2.Compose(core),
        "EnsureChannels(3) + chain": v2.Compose([ensure, *core]),
        "chain + Validate(contract)": v2.Compose([*core, validate]),
        "EnsureChannels(3) + chain + Validate": v2.Compose([ensure, *core, validate]),
        "v2.Identity() + chain (for scale)": v2.Compose([v2.Identity(), *core]),
    }

    for chain in chains.values():  # warm up (first calls import and cache)
        for img in images:
            chain(img)
    base_name = "chain (ToImage, Resize(224), ToDtype)"
    base = chains[base_name]
    print(f"input: {len(images)} decoded 256x256 RGB PIL images; torch threads: {torch.get_num_threads()}")
    print(f"medians of {PAIRS} paired runs: bare chain and variant back to back on the same image")
    print(f"{'variant':<40} {'chain µs':>9} {'added µs':>9} {'% of chain':>11}")
    chain_us = []
    for name, chain in chains.items():
        if chain is base:
            continue
        base_us, added_us = paired(base, chain, images)
        chain_us.append(base_us)
        print(f"{name:<40} {base_us:9.1f} {added_us:+9.2f} {added_us / base_us * 100:+10.2f}%")
    chain_us = statistics.median(chain_us)
    print(f"bare chain {base_name.removeprefix('chain ')}: {chain_us:.1f} µs/sample (median over the pairings)")
    out = base(images[0])

    alone = {
        "EnsureChannels(3) on RGB PIL (no-op)": per_sample_us(lambda: ensure(images[0]), ALONE_NUMBER),
        "Validate on [3, 224, 224] float32": per_sample_us(lambda: validate(out), ALONE_NUMBER),
    }
    print()
    print(f"{'pipeguard transform alone':<40} {'µs/call':>10} {'% of chain':>11}")
    for name, us in alone.items():
        print(f"{name:<40} {us:10.2f} {us / chain_us * 100:10.3f}%")
    total = sum(alone.values())
    print(f"{'both':<40} {total:10.2f} {total / chain_us * 100:10.3f}%   (goal < 1%)")
    # Any v2 step pays nn.Module's call and v2.Transform.forward (flatten, select, unflatten);
    # what pipeguard adds is the part beyond that floor.
    identity = v2.Identity()
    floor = per_sample_us(lambda: identity(images[0]), ALONE_NUMBER)
    beyond = total - 2 * floor
    print(f"{'v2.Identity() alone (any v2 step)':<40} {floor:10.2f} {floor / chain_us * 100:10.3f}%")
    print(f"{'both, beyond two v2.Identity() steps':<40} {beyond:10.2f} {beyond / chain_us * 100:10.3f}%")

    img = images[0]
    tensor = v2.ToImage()(img)
    print()
    print(f"EnsureChannels(3)(img) is img: {ensure(img) is img}; "
          f"on a [3, 256, 256] tv_tensors.Image: {ensure(tensor) is tensor}")
    tracemalloc.start()
    for _ in range(1000):
        ensure(img)
        ensure(tensor)
        validate(out)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"python heap peak over 1,000 × (2 EnsureChannels + 1 Validate): {peak:,} bytes "
          f"(one 256x256 RGB image: {256 * 256 * 3:,} bytes)")


if __name__ == "__main__":
    main()

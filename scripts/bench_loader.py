#!/usr/bin/env python3
"""Throughput of GuardedDataLoader against a plain DataLoader on the same ImageFolder pipeline.

Generates a few thousand 256×256 JPEGs under /tmp (once; reused afterwards), then runs
``ImageFolder`` + ``v2.Compose([ToImage(), Resize(224), ToDtype(float32, scale=True)])``
through ``DataLoader`` and ``GuardedDataLoader`` (``on_error="skip"``, contract
``[3, 224, 224]`` float32) alternately, one full epoch per run, ``num_workers=2``.
Prints samples/s per round, then the median and best of each and their ratio.
Goal: the guarded loader keeps at least 98% of the plain loader's throughput.

On a shared machine wall-clock rates swing with other processes, so each run also
measures CPU time per sample (worker processes, which exit after each epoch, plus
the main process): a contention-independent view of what the guard costs.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader
from torchvision.datasets import ImageFolder
from torchvision.transforms import v2

import pipeguard as pg

SIDE = 256


def make_images(root: Path, count: int) -> Path:
    """``count`` JPEGs in 4 class folders; skipped when a previous run made the same set."""
    marker = root / f".complete-{count}"
    if marker.exists():
        return root
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:SIDE, 0:SIDE]
    for i in range(count):
        folder = root / f"class_{i % 4}"
        folder.mkdir(parents=True, exist_ok=True)
        base = np.stack([(x + i) % 256, (y * 2 + i) % 256, (x + y + 3 * i) % 256], -1)
        noise = rng.integers(0, 48, size=(SIDE, SIDE, 3))
        Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8), "RGB").save(
            folder / f"{i:05d}.jpg", quality=90)
    marker.touch()
    return root


def _cpu() -> float:
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


def epoch_rate(loader) -> tuple[float, float]:
    """One epoch: (samples per second of wall time, CPU milliseconds per sample)."""
    cpu, start = _cpu(), time.perf_counter()
    samples = 0
    for images, _ in loader:
        samples += len(images)
    wall = time.perf_counter() - start
    del images
    return samples / wall, (_cpu() - cpu) / samples * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--root", type=Path, default=Path("/tmp/pipeguard-bench-loader"))
    args = parser.parse_args()

    torch.set_num_threads(1)  # the workers do the work; keep the main process from competing
    root = make_images(args.root, args.images)
    transform = v2.Compose([v2.ToImage(), v2.Resize(224), v2.ToDtype(torch.float32, scale=True)])
    dataset = ImageFolder(root, transform=transform)
    contract = pg.Contract(channels=3, size=(224, 224), dtype="float32", name="bench")
    options = dict(batch_size=args.batch_size, num_workers=args.workers)
    loaders = {
        "DataLoader": DataLoader(dataset, **options),
        "GuardedDataLoader": pg.GuardedDataLoader(pg.GuardedDataset(dataset, contract, on_error="skip"), **options),
    }
    print(f"{len(dataset)} JPEGs {SIDE}x{SIDE} -> Resize(224), batch {args.batch_size}, "
          f"{args.workers} workers, {args.rounds} rounds (after one warm-up epoch each)")
    for loader in loaders.values():
        epoch_rate(loader)  # warm-up: page cache, worker start-up code paths
    rates: dict[str, list[float]] = {name: [] for name in loaders}
    cpu: dict[str, list[float]] = {name: [] for name in loaders}
    for r in range(args.rounds):
        order = list(loaders) if r % 2 == 0 else list(reversed(loaders))  # alternate who goes first
        for name in order:
            rate, ms = epoch_rate(loaders[name])
            rates[name].append(rate)
            cpu[name].append(ms)
        print(f"round {r + 1}: " + "  ".join(
            f"{name} {rates[name][-1]:7.1f} samples/s ({cpu[name][-1]:.3f} CPU ms/sample)" for name in loaders))
    plain, guarded = rates["DataLoader"], rates["GuardedDataLoader"]
    print(f"{'':20}{'median':>10}{'best':>10}  samples/s   {'median CPU ms/sample':>20}")
    for name in loaders:
        print(f"{name:20}{statistics.median(rates[name]):10.1f}{max(rates[name]):10.1f}"
              f"{statistics.median(cpu[name]):25.3f}")
    print(f"ratio guarded/plain: median {statistics.median(guarded) / statistics.median(plain):.1%}, "
          f"best {max(guarded) / max(plain):.1%}  (goal >= 98%)")
    cpu_ratio = statistics.median(cpu["GuardedDataLoader"]) / statistics.median(cpu["DataLoader"])
    print(f"CPU per sample guarded/plain: {cpu_ratio:.1%}")
    skipped = loaders["GuardedDataLoader"].skipped
    print(f"guarded loader skipped {len(skipped)} samples")


if __name__ == "__main__":
    main()

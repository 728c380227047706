"""What the Dask cluster tests share: a LocalCluster client, and a report compared with the local scan's."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pandas as pd
from conftest import make_image
from scan_folders import SIDE, build, png_bytes


@contextmanager
def local_client() -> Iterator[Any]:
    """A client of a LocalCluster of 2 worker processes (allowed children, for --deep)."""
    import dask
    import distributed

    with dask.config.set({"distributed.worker.daemon": False}):
        cluster = distributed.LocalCluster(n_workers=2, processes=True, dashboard_address=None, threads_per_worker=1)
    with cluster, distributed.Client(cluster) as client:
        yield client


def timeless(summary: dict) -> dict:
    """A summary without its timings."""
    return {k: v for k, v in summary.items() if "elapsed" not in k and "second" not in k}


def same(a: Any, b: Any) -> None:
    """Two reports with equal tables, summaries (timings aside) and exit codes."""
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert timeless(a.summary()) == timeless(b.summary())
    assert a.exit_code == b.exit_code


def class_folders(root: Path, classes: int, files: int, gray_every: int) -> Path:
    """``classes`` folders ``class0``... of ``files`` SIDE×SIDE PNGs each (file ``i`` of class
    ``c`` gray when ``i % gray_every == c``, the others RGB), and the planted problems in
    ``class0/planted``; returns ``root``."""
    rgb, gray = png_bytes(make_image("RGB", (SIDE, SIDE))), png_bytes(make_image("L", (SIDE, SIDE)))
    width = len(str(files - 1)) + 1
    for c in range(classes):
        folder = root / f"class{c}"
        folder.mkdir()
        for i in range(files):
            (folder / f"{i:0{width}d}.png").write_bytes(gray if i % gray_every == c else rgb)
    build(root / "class0" / "planted")
    return root

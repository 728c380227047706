"""What the Dask cluster tests share: a LocalCluster client, and a report compared with the local scan's."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import pandas as pd


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

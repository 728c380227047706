"""Stage 3, engine: where parts are probed and how their rows come back, in order.

In this process, in the supervised worker pool (``pool``: time limits, crashes, memory
caps), on a Dask cluster (``cluster``), or from the row cache (``cache``, SQLite: rows of
unchanged files reused); ``gc`` keeps full garbage collections off the objects made
before a scan. Imports ``probe`` and ``sources`` (a cluster lists remote files itself).
"""

from __future__ import annotations

from typing import Any

from ..._exports import resolve

# names the other stages and scanner itself use: name -> its module, imported on first use
_EXPORTS = {
    "MISSING_EXTRA": "._cluster",
    "RowCache": "._cache",
    "SupervisedPool": "._pool",
    "capped_workers": "._pool",
    "cached_parts": "._cache",
    "check_cluster": "._cluster",
    "cluster_batches": "._cluster",
    "connected": "._cluster",
    "older_objects_frozen": "._gc",
    "open_cache": "._cache",
}


def __getattr__(name: str) -> Any:
    return resolve(__name__, _EXPORTS, name)

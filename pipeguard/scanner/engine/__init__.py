"""Stage 3, engine: where parts are probed and how their rows come back, in order.

``local`` picks the engine of a scan (:func:`engine_for`) and the row cache in front of it:
in this process, in the supervised worker pool (``pool``, the supervisor; ``worker``, the
process; ``books``, parts handed back in order; time limits, crashes, memory caps), on a
Dask cluster (``cluster``), or from the row cache (``cache``, SQLite: rows of unchanged
files reused); ``gc`` keeps full garbage collections off the objects made before a scan.
Imports ``probe`` and the scanner's units and rows.
"""

from __future__ import annotations

from typing import Any

from ..._exports import resolve

# names the other stages and scanner itself use: name -> its module, imported on first use
_EXPORTS = {
    "MISSING_EXTRA": "._cluster",
    "capped_workers": "._pool",
    "check_cluster": "._cluster",
    "engine_for": "._local",
    "in_order": "._cluster",
    "local_cache": "._local",
    "older_objects_frozen": "._gc",
    "task_parts": "._cluster",
    "task_rows": "._cluster",
}


def __getattr__(name: str) -> Any:
    return resolve(__name__, _EXPORTS, name)

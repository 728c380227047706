"""Stage 1, sources: what the user gave, listed into runs of files in path order.

A local folder is walked (``walk``; folder listings may be kept in the cache, on local
filesystems only: ``mounts``), a list of files and folders is taken as given (``runs``; what it names, looked at once,
and where a report may go beside it: ``entries``),
a URL is listed through fsspec (``remote``), a Hugging Face dataset gives its examples
(``hf``). Archives are listed by ``pipeguard._io``. Imports ``scanner``'s units and rows
and ``pipeguard._io``; no other stage.
"""

from __future__ import annotations

from typing import Any

from ..._exports import resolve

# names the other stages and scanner itself use: name -> its module, imported on first use
_EXPORTS = {
    "StoredImages": "._hf",
    "WalkStats": "._walk",
    "OutputClobbers": "._entries",
    "refuse_output": "._entries",
    "has_urls": "._runs",
    "hf_rows": "._hf",
    "is_hf_dataset": "._hf",
    "is_list_source": "._runs",
    "local_entries": "._entries",
    "localized": "._runs",
    "open_source": "._remote",
    "read_list": "._runs",
    "source_runs": "._runs",
}


def __getattr__(name: str) -> Any:
    return resolve(__name__, _EXPORTS, name)

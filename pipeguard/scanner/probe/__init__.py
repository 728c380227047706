"""Stage 2, probe: one file's header read into a row, in any process.

``file`` (a local file: Pillow's header, or the JPEG marker walk of ``jpeg_header``;
truncation from the end marker, ``end_marker``, and from the raw pixel extent,
``raw_extent``), ``ranged`` (objects in a store: heads and tails in concurrent ranged
reads), ``part`` (a part's files and archive members, in order). Imports ``core`` (the
mode table, the error kinds), ``pipeguard._io`` and ``scanner``'s units and rows; no other
stage. Loads Pillow, never pandas.
"""

from __future__ import annotations

from typing import Any

from ..._exports import resolve

# names the other stages and scanner itself use: name -> its module, imported on first use
_EXPORTS = {
    "bare_row": "._file",
    "failure_row": "._file",
    "flatten": "._part",
    "heads_ahead": "._ranged",
    "probe_file": "._file",
    "probe_part": "._part",
    "probe_row": "._file",
    "with_warnings": "._part",
}


def __getattr__(name: str) -> Any:
    return resolve(__name__, _EXPORTS, name)

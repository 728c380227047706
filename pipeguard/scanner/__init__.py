"""Scanning image folders: every file a row, checked against a contract from its header.

``scan(source, contract=None, deep=False, workers=None, ...) -> ScanReport``. A file
passes these stages, in this order (each a subpackage, talking to the others through the
names its ``__init__`` exports):

1. ``sources``: what was given (a folder, a list, a URL, a Hugging Face dataset) listed
   into runs of files in path order (archives are listed by ``pipeguard._io``).
2. ``probe``: one file's header (or an archive member's, or a remote object's ranges) read
   into a row.
3. ``engine``: where parts of the listing are probed (this process, the supervised pool,
   Dask, the row cache) and how their rows come back, in order, as batches.
4. ``verdict``: the rows judged against the contract (or one inferred), and tallied.
5. ``output``: the report, the rows written as they come (Parquet, JSON lines, JSON, CSV)
   or held as a table, CI formats.

Shared by every stage, here: ``units`` (``Run``, parts), ``row`` (``ScanRow``, how rows
cross pipes) and ``columns`` (the table's text columns). ``scan`` itself (``_scan``) joins
the stages. May import ``core``, ``diagnosis`` and ``pipeguard._io``; ``htmlreport`` only
inside ``ScanReport.to_html``. pandas loads only when rows are judged, so worker
processes import Pillow alone.
"""

from __future__ import annotations

from typing import Any

from .._exports import resolve

__all__ = ["ScanReport", "scan"]

# public names, then names the CLI and ``testing`` use (not public API): name -> its module
_EXPORTS = {
    "ScanReport": ".output",
    "scan": "._scan",
    "capped_workers": ".engine",
    "check_cluster": ".engine",
    "CI_FORMATS": ".output",
    "MISSING_EXTRA": ".engine",
    "open_source": ".sources",
    "output_format": ".output",
    "OutputClobbers": ".sources",
    "PROBLEMS": "._row",
    "read_list": ".sources",
    "refuse_output": ".sources",
    "row_message": ".output",
    "row_name": ".output",
    "write_ci": ".output",
}


def __getattr__(name: str) -> Any:
    return resolve(__name__, _EXPORTS, name)

"""Stage 5, output: the report and where its rows go.

``report`` (``ScanReport``: the table, the summary, the page), ``sinks`` (rows written
while scanning: Parquet, JSON lines, JSON, CSV; and read back), ``parts`` (a folder of
numbered Parquet parts, which a cluster's tasks write), ``ci_formats`` (JUnit XML
and GitHub annotations). Imports ``verdict`` (the violations table and the tally) and
``sources`` (what the walk skipped); ``htmlreport`` only inside ``ScanReport.to_html``.
"""

from __future__ import annotations

from typing import Any

from ..._exports import resolve

# names the other stages and scanner itself use: name -> its module, imported on first use
_EXPORTS = {
    "CI_FORMATS": "._ci_formats",
    "OutputError": "._sinks",
    "PART": "._parts",
    "PROBLEMS": "._ci_formats",
    "ScanReport": "._report",
    "TableColumns": "._report",
    "build_frame": "._report",
    "columns_of": "._report",
    "frame_columns": "._sinks",
    "frame_of_batches": "._report",
    "is_folder_output": "._parts",
    "open_output": "._parts",
    "output_format": "._sinks",
    "prepare_folder": "._parts",
    "read_part_columns": "._parts",
    "read_output_summary": "._parts",
    "remove_parts": "._parts",
    "row_message": "._ci_formats",
    "row_name": "._ci_formats",
    "write_ci": "._ci_formats",
    "write_part": "._parts",
    "write_summary": "._parts",
}


def __getattr__(name: str) -> Any:
    return resolve(__name__, _EXPORTS, name)

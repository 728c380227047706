"""Stage 4, verdict: rows judged against the contract.

``judge`` (which rows fail which checks, with the same messages and fix as
``Contract.check``), ``schema`` (the contract as a pandera schema, for
``ScanReport.violations``), ``infer`` (the dominant contract when none is given),
``tally`` (the summary's counts, as chunks pass). Rows come as the report's columns in
plain lists. Imports ``core`` and ``scanner``'s rows and columns; no other stage. Loads
pandas only for a violations table (``violation_table``) and pandera only for the schema.
"""

from __future__ import annotations

from typing import Any

from ..._exports import resolve

# names the other stages and scanner itself use: name -> its module, imported on first use
_EXPORTS = {
    "CHECKS": "._cells",
    "ReadableCounts": "._infer",
    "Tally": "._tally",
    "apply_verdicts": "._judge",
    "check_frame": "._schema",
    "fix_text": "._cells",
    "infer_contract": "._infer",
    "judge": "._judge",
    "violation_table": "._cells",
}


def __getattr__(name: str) -> Any:
    return resolve(__name__, _EXPORTS, name)

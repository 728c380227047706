"""The model side: ``trace_model`` (layer-by-layer shapes on the meta device), why a layer
breaks (layer arithmetic, failures), and the input a model expects (``Contract.from_model``).
May import ``diagnosis`` only: ``core`` calls into it, never the other way round. So the
code of a layer failure, ``FindingKind`` (``ModelTrace.error.kind``), is defined here, in
``_findings``, not with the reason codes in ``core._errors``.
"""

from __future__ import annotations

from typing import Any

from .._exports import resolve
from ._findings import FindingKind
from ._results import ModelTrace
from ._trace import trace_model

__all__ = ["FindingKind", "ModelTrace", "trace_model"]

# names the sibling packages use (not public API), from their module on first use
_SHARED = {
    "input_fields": "._from_model",
}


def __getattr__(name: str) -> Any:
    return resolve(__name__, _SHARED, name)

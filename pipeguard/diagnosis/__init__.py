"""Why two shapes differ: element-count arithmetic, ranked hypotheses, number formatting.

Holds ``explain``, ``Diagnosis``, ``Hypothesis``, ``HypothesisKind`` (the code each hypothesis
carries; kept here rather than in ``core._errors`` because this layer imports nothing of
pipeguard) and ``Dims`` (a shape with its element count).
The bottom layer: imports nothing else of pipeguard, and no torch.
"""

from __future__ import annotations

from typing import Any

from .._exports import resolve
from . import _numbers as numbers  # noqa: F401  (exported: number formatting for every layer's messages)
from ._dims import Dims

__all__ = ["Diagnosis", "Dims", "Hypothesis", "HypothesisKind", "explain"]

# the public names and those the sibling packages use, from their module on first use (a
# scan's messages need the text helpers, not the hypotheses: 15 ms of a scan's start-up)
_SHARED = {
    "Diagnosis": "._hypotheses",
    "Hypothesis": "._hypotheses",
    "HypothesisKind": "._hypotheses",
    "explain": "._explanation",
    "dtype_name": "._numbers",
    "ensure_channels": "._text",
    "ensure_size": "._text",
    "first_line": "._text",
    "one_line": "._text",
    "without_reprs": "._text",
    "height_width": "._numbers",
    "isqrt_exact": "._numbers",
    "plural": "._numbers",
    "size_text": "._text",
    "table": "._text",
    "torch_dtype_name": "._numbers",
}


def __getattr__(name: str) -> Any:
    return resolve(__name__, _SHARED, name)

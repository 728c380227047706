"""Why two shapes differ: element-count arithmetic, ranked hypotheses, number formatting.

Holds ``explain``, ``Diagnosis``, ``Hypothesis``, ``HypothesisKind`` (the code each hypothesis
carries; kept here rather than in ``core._errors`` because this layer imports nothing of
pipeguard) and ``Dims`` (a shape with its element count).
The bottom layer: imports nothing else of pipeguard, and no torch.
"""

from __future__ import annotations

from ._dims import Dims
from ._explanation import Diagnosis, Hypothesis, HypothesisKind, explain

__all__ = ["Diagnosis", "Dims", "Hypothesis", "HypothesisKind", "explain"]

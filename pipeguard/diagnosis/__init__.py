"""Why two shapes differ: element-count arithmetic, ranked hypotheses, number formatting.

Holds ``explain``, ``Diagnosis``, ``Hypothesis`` and ``Dims`` (a shape with its element count).
The bottom layer: imports nothing else of pipeguard, and no torch.
"""

from __future__ import annotations

from ._dims import Dims
from ._explanation import Diagnosis, Hypothesis, explain

__all__ = ["Diagnosis", "Dims", "Hypothesis", "explain"]

"""The model side: ``trace_model`` (layer-by-layer shapes on the meta device), why a layer
breaks (layer arithmetic, failures), and the input a model expects (``Contract.from_model``).
May import ``diagnosis`` only: ``core`` calls into it, never the other way round.
"""

from __future__ import annotations

from ._results import ModelTrace
from ._trace import trace_model

__all__ = ["ModelTrace", "trace_model"]

"""pipeguard: shape contracts for PyTorch image pipelines.

One declared :class:`Contract` (channels, height × width, flattened length, dtype,
value range) checked wherever data can go wrong, with errors that explain the
numbers. See ``DESIGN.md`` for the whole surface.
"""

from .contract import Contract
from .contract_file import ContractFileError
from .explain import Diagnosis, Hypothesis, explain
from .sample import SampleInfo, inspect
from .violations import ContractViolation, Dims, Reason, Violation

__version__ = "0.1.0"

__all__ = [
    "Contract",
    "ContractFileError",
    "ContractViolation",
    "Diagnosis",
    "Dims",
    "Hypothesis",
    "Reason",
    "SampleInfo",
    "Violation",
    "explain",
    "inspect",
]

"""pipeguard: shape contracts for PyTorch image pipelines.

One declared :class:`Contract` (channels, height × width, flattened length, dtype,
value range) checked wherever data can go wrong, with errors that explain the
numbers. Public names are imported on first use, so ``import pipeguard`` stays
cheap (torch loads only when a check or transform needs it).
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

__version__ = "0.1.0"

# A library logs, the application decides where it goes (no "No handlers" fallback to stderr).
logging.getLogger(__name__).addHandler(logging.NullHandler())

# public name -> the subpackage that exports it (no subpackage may share a public function's
# name: importing pipeguard.x would shadow the function x on the package)
_EXPORTS = {
    "Contract": "core",
    "MaskSpec": "core",
    "BoxSpec": "core",
    "ContractFieldError": "core",
    "ContractFileError": "core",
    "ContractViolation": "core",
    "Reason": "core",
    "Status": "core",
    "UnreadableKind": "core",
    "Violation": "core",
    "SampleInfo": "core",
    "inspect": "core",
    "Dims": "diagnosis",
    "Diagnosis": "diagnosis",
    "Hypothesis": "diagnosis",
    "HypothesisKind": "diagnosis",
    "explain": "diagnosis",
    "Validate": "transforms",
    "EnsureChannels": "transforms",
    "EnsureSize": "transforms",
    "trace": "transforms",
    "TransformTrace": "transforms",
    "GuardedDataset": "data",
    "GuardedDataLoader": "data",
    "Skipped": "data",
    "collate": "data",
    "scan": "scanner",
    "ScanReport": "scanner",
    "trace_model": "model",
    "ModelTrace": "model",
    "FindingKind": "model",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pipeguard' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

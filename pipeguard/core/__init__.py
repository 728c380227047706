"""The contract and what checks it: ``Contract`` and its files, ``inspect`` with its type
registry, ``check``/``validate``, and every error type and reason code pipeguard raises.
May import ``diagnosis`` (every violation carries one), and ``model`` only inside ``Contract.from_model``.
"""

from __future__ import annotations

from typing import Any

from .._exports import resolve
from ._contract import Contract
from ._errors import (
    ContractFieldError,
    ContractFileError,
    ContractViolation,
    Reason,
    Status,
    UnreadableKind,
    Violation,
)
from ._inspect import SampleInfo, inspect
from ._target_specs import BoxSpec, MaskSpec

__all__ = ["BoxSpec", "Contract", "ContractFieldError", "ContractFileError", "ContractViolation", "MaskSpec",
           "Reason", "SampleInfo", "Status", "UnreadableKind", "Violation", "inspect"]

# names the sibling packages use (not public API), from their module on first use
_SHARED = {
    "TypeRegistry": "._registry",
    "as_contract": "._contract",
    "check": "._check",
    "check_info": "._check",
    "check_parts": "._check",
    "parts_error": "._check",
    "targets_of_flat": "._targets",
    "images_only": "._targets",
    "expected_dims": "._diagnose",
    "pil_mode": "._registry",
    "reader_for": "._registry",
    "type_name": "._registry",
    "violation_error": "._check",
    "where": "._errors",
}


def __getattr__(name: str) -> Any:
    return resolve(__name__, _SHARED, name)

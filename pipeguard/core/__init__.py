"""The contract and what checks it: ``Contract`` and its files, ``inspect`` with its type
registry, ``check``/``validate``, and every error type and reason code pipeguard raises.
May import ``diagnosis`` (every violation carries one), and ``model`` only inside ``Contract.from_model``.
"""

from __future__ import annotations

from ._contract import Contract
from ._errors import (
           ContractFieldError,
           ContractFileError,
           ContractViolation,
           Reason,
           Violation,
)
from ._inspect import SampleInfo, inspect

__all__ = ["Contract", "ContractFieldError", "ContractFileError", "ContractViolation", "Reason",
           "SampleInfo", "Violation", "inspect"]

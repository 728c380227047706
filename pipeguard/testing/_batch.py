"""A batch checked as the guarded loader checks it, its error naming where the batch came from."""

from __future__ import annotations

from typing import Any, Optional

from ..core import ContractViolation
from ..data import as_batch_error, batch_error


def batch_violation(contract: Any, batch: Any, stage: str) -> Optional[ContractViolation]:
    """The violation of a collated batch (``None`` when it conforms), with ``stage`` in its text.

    :func:`~pipeguard.data._batch_check.batch_error` says ``stage collate``; a batch from
    a DataLoader under test or a Lightning fit is better placed by its number.
    """
    err = batch_error(contract, batch)
    if err is None:
        return None
    rows = err.actual.shape[0] if err.actual is not None and err.actual.shape else None
    fresh = ContractViolation(expected=err.expected, actual=err.actual, violations=err.violations, stage=stage,
                              diagnosis=err.diagnosis, contract_name=err.contract_name)
    return as_batch_error(fresh, rows)

"""``Skipped``: the record a guarded dataset returns in place of a bad sample."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional

from ..core import ContractViolation, Reason, where
from ..diagnosis import first_line


@dataclass(frozen=True)
class Skipped:
    """A sample left out of training, and why.

    :class:`~pipeguard.GuardedDataset` returns one from ``__getitem__`` instead of the
    sample when ``on_error="skip"`` (or ``"fix"`` and the sample cannot be fixed).
    :func:`pipeguard.collate` drops it from the batch and
    :class:`~pipeguard.GuardedDataLoader` files it under ``loader.skipped``. It is
    small (no pixels) and pickles with every field, so it travels from DataLoader
    workers to the main process as data.

    Attributes:
        index: the sample's index in the dataset (``None`` for iterable datasets
            that have none).
        source: the file it came from, when known.
        reason: the first violation's :class:`~pipeguard.Reason`.
        violation: the full :class:`~pipeguard.ContractViolation` (expected vs
            actual, diagnosis); ``raise violation`` re-raises it.
        epoch: the loader epoch in which it was skipped; ``None`` until a
            :class:`~pipeguard.GuardedDataLoader` stamps it.
    """

    index: Optional[int]
    source: Optional[str]
    reason: Reason
    violation: ContractViolation
    epoch: Optional[int] = None

    @classmethod
    def from_violation(cls, err: ContractViolation, *, index: Optional[int] = None,
                       source: Optional[str] = None) -> "Skipped":
        reason = err.violations[0].reason if err.violations else Reason.UNREADABLE
        return cls(err.index if index is None else index,
                   err.source if source is None else source, reason, err)

    @property
    def reasons(self) -> list[Reason]:
        return self.violation.reasons or [self.reason]

    @property
    def message(self) -> str:
        """One line: ``'sample 3 (data/cat/x.png): channels: has 1 channel (mode 'L'), not the 3 expected'``."""
        detail = "; ".join(str(v) for v in self.violation.violations) or first_line(self.violation)
        return f"{where(self.index, self.source)}: {detail}"

    def with_epoch(self, epoch: int) -> "Skipped":
        return dataclasses.replace(self, epoch=epoch)

    def __str__(self) -> str:
        return self.message

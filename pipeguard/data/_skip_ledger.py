"""The loader's books: every skipped record, fix counts, limits, logging and the report."""

from __future__ import annotations

import collections
import logging
import warnings
from dataclasses import dataclass, field
from typing import Optional

from ..core import ContractViolation, Reason
from ..diagnosis import numbers
from ._skipped import Skipped

logger = logging.getLogger("pipeguard.loader")

_SHOWN = 5  # records quoted in a too-many-skipped error


class SkippedSamplesWarning(UserWarning):
    """An epoch of a :class:`~pipeguard.GuardedDataLoader` skipped samples: its summary (counts
    by reason, then ``loader.skipped`` and ``loader.report()`` for the records). Issued once
    per epoch that skipped any, so skipping is seen without configuring logging; silence it
    with ``warnings.filterwarnings("ignore", category=pipeguard.data.SkippedSamplesWarning)``."""


@dataclass(frozen=True)
class LoaderReport:
    """What a :class:`~pipeguard.GuardedDataLoader` has seen so far, all epochs together.

    Attributes:
        epochs: epochs started.
        samples: samples yielded in batches.
        skipped: samples skipped; ``skipped_by_reason`` splits them by reason value.
        fixed: samples fixed (``on_error="fix"``); ``fixed_by_reason`` likewise.
        sources: the distinct files among the skipped samples, in order of first skip.
    """

    epochs: int
    samples: int
    skipped: int
    fixed: int
    skipped_by_reason: dict = field(default_factory=dict)
    fixed_by_reason: dict = field(default_factory=dict)
    sources: tuple = ()

    def to_dict(self) -> dict:
        return {"epochs": self.epochs, "samples": self.samples, "skipped": self.skipped,
                "fixed": self.fixed, "skipped_by_reason": dict(self.skipped_by_reason),
                "fixed_by_reason": dict(self.fixed_by_reason), "sources": list(self.sources)}

    def __str__(self) -> str:
        lines = [f"{numbers.plural(self.epochs, 'epoch')}: {numbers.plural(self.samples, 'sample')} yielded, "
                 f"{numbers.count(self.skipped)} skipped, {numbers.count(self.fixed)} fixed"]
        for title, counts in (("skipped", self.skipped_by_reason), ("fixed", self.fixed_by_reason)):
            if counts:
                lines.append(f"  {title:<8}" + ", ".join(f"{r} {numbers.count(n)}" for r, n in counts.items()))
        if self.sources:
            more = len(self.sources) - _SHOWN
            lines.append("  files   " + ", ".join(self.sources[:_SHOWN]) + (f" and {more} more" if more > 0 else ""))
        return "\n".join(lines)


def warn_once(record: Skipped, warned: set) -> None:
    """Log a skipped sample as a warning, once per source file (or index) in ``warned``."""
    key = record.source or record.index
    if key not in warned:
        warned.add(key)
        logger.warning("skipped %s", record.message)


def _by_count(counter: collections.Counter) -> dict:
    return {(k.value if isinstance(k, Reason) else str(k)): n for k, n in counter.most_common()}


class SkipLedger:
    """Accounts for one loader: records, per-epoch tallies, skip limits, once-per-source warnings."""

    def __init__(self, *, max_skip_fraction: Optional[float] = None, max_skips: Optional[int] = None) -> None:
        if max_skip_fraction is not None and not 0 <= max_skip_fraction <= 1:
            raise ValueError(f"max_skip_fraction should be between 0 and 1, but got {max_skip_fraction!r}")
        if max_skips is not None and (isinstance(max_skips, bool) or not isinstance(max_skips, int) or max_skips < 0):
            raise ValueError(f"max_skips should be a non-negative integer, but got {max_skips!r}")
        self.max_skip_fraction = max_skip_fraction
        self.max_skips = max_skips
        self.skipped: list[Skipped] = []
        self.samples = 0
        self.fixed = 0
        self.fixed_by_reason: collections.Counter = collections.Counter()
        self.epochs = 0
        self._warned: set = set()
        self._epoch_skipped: list[Skipped] = []
        self._epoch_samples = 0
        self._epoch_fixed = 0

    # -- per epoch ---------------------------------------------------------------------
    def start_epoch(self) -> int:
        self.epochs += 1
        self._epoch_skipped, self._epoch_samples, self._epoch_fixed = [], 0, 0
        return self.epochs - 1

    def end_epoch(self, epoch: int) -> None:
        skipped, seen = len(self._epoch_skipped), self._epoch_samples + len(self._epoch_skipped)
        by_reason = _by_count(collections.Counter(r.reason for r in self._epoch_skipped))
        summary = (f"epoch {epoch}: {numbers.plural(self._epoch_samples, 'sample')} yielded, "
                   f"{numbers.count(skipped)} skipped"
                   + (f" ({', '.join(f'{k} {n}' for k, n in by_reason.items())})" if by_reason else "")
                   + f", {numbers.count(self._epoch_fixed)} fixed")
        (logger.warning if skipped else logger.info)("%s", summary)
        if skipped and not self._epoch_samples:  # nothing to train on: an empty epoch must not end quietly
            raise self._too_many(epoch, seen, every=True)
        if self.max_skip_fraction is not None and seen and skipped / seen > self.max_skip_fraction:
            raise self._too_many(epoch, seen)
        if skipped:
            warnings.warn(f"GuardedDataLoader {summary}: see loader.skipped", SkippedSamplesWarning, stacklevel=4)

    # -- per batch ---------------------------------------------------------------------
    def add(self, records: list[Skipped], kept: int, fixed: Optional[collections.Counter], epoch: int,
            expected_total: Optional[int]) -> None:
        self.samples += kept
        self._epoch_samples += kept
        if fixed:
            self.fixed += fixed.get(None, 0)
            self._epoch_fixed += fixed.get(None, 0)
            self.fixed_by_reason.update({k: n for k, n in fixed.items() if k is not None})
        for record in records:
            record = record.with_epoch(epoch)
            self.skipped.append(record)
            self._epoch_skipped.append(record)
            warn_once(record, self._warned)
        if records:
            self._check_limits(epoch, expected_total)

    def _check_limits(self, epoch: int, expected_total: Optional[int]) -> None:
        if self.max_skips is not None and len(self.skipped) > self.max_skips:
            raise self._too_many(epoch, None)
        # Fail as soon as the epoch's fraction cannot end below the limit.
        if (self.max_skip_fraction is not None and expected_total
                and len(self._epoch_skipped) > self.max_skip_fraction * expected_total):
            raise self._too_many(epoch, expected_total)

    def _too_many(self, epoch: int, seen: Optional[int], every: bool = False) -> ContractViolation:
        if every:
            records = self._epoch_skipped
            headline = (f"GuardedDataLoader skipped every sample of epoch {epoch} "
                        f"({numbers.count(len(records))} of {numbers.count(seen or len(records))}): "
                        "no batch was yielded")
        elif seen is None:
            records = self.skipped
            headline = (f"GuardedDataLoader skipped {numbers.plural(len(records), 'sample')} so far "
                        f"(epoch {epoch}), more than max_skips={self.max_skips} allows")
        else:
            records = self._epoch_skipped
            assert self.max_skip_fraction is not None  # a count seen is passed only for that limit
            share = len(records) / seen
            headline = (f"GuardedDataLoader skipped {numbers.count(len(records))} of "
                        f"{numbers.plural(seen, 'sample')} in epoch {epoch} ({share:.1%}), "
                        f"more than max_skip_fraction={self.max_skip_fraction:g} allows "
                        f"({numbers.count(int(self.max_skip_fraction * seen))} of {numbers.count(seen)})")
        by_reason = _by_count(collections.Counter(r.reason for r in records))
        lines = [headline, "  by reason  " + ", ".join(f"{k} {numbers.count(n)}" for k, n in by_reason.items())]
        lines += [f"  skipped    {r.message}" for r in records[:_SHOWN]]
        if len(records) > _SHOWN:
            lines.append(f"             ... and {numbers.count(len(records) - _SHOWN)} more in loader.skipped")
        lines.append("  fix        " + _mass_skip_fix(records))
        violations = [v for r in records[:1] for v in r.violation.violations]
        return ContractViolation("\n".join(lines), violations=violations, stage="loader",
                                 contract_name=records[0].violation.contract_name if records else None)

    def report(self) -> LoaderReport:
        sources = tuple(dict.fromkeys(r.source for r in self.skipped if r.source))
        return LoaderReport(self.epochs, self.samples, len(self.skipped), self.fixed,
                            _by_count(collections.Counter(r.reason for r in self.skipped)),
                            _by_count(self.fixed_by_reason), sources)


def _mass_skip_fix(records: list[Skipped]) -> str:
    """What many skips point at: files that could not be read are the data's problem; samples
    that were read and failed the contract point at the contract or the transform."""
    unreadable = sum(r.reason is Reason.UNREADABLE for r in records)
    files_fix = "check the files, e.g. pipeguard scan on their folder lists each with its reason"
    if records and unreadable == len(records):
        return f"every one was a file that could not be read (not a shape problem): {files_fix}"
    contract_fix = ("when many samples fail the same way the contract or the transform is usually "
                    "wrong, not the data: see the first record's diagnosis (loader.skipped[0].violation)")
    if not unreadable:
        return contract_fix
    failed = len(records) - unreadable
    return (f"{numbers.plural(unreadable, 'file')} could not be read ({files_fix}); "
            f"{numbers.plural(failed, 'sample')} failed the contract ({contract_fix})")

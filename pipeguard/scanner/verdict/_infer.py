"""The dominant contract of a folder, when none is given.

The channel count and the size that more than half of the readable images share
become the contract; a field no value dominates is left open (and said so), so a
folder of mixed sizes is not drowned in size "violations" against a minority size.
"""

from __future__ import annotations

from collections import Counter
from itertools import compress
from typing import TYPE_CHECKING, Any, Optional

from ...diagnosis import plural, size_text
from .._row import OK, ScanRow

if TYPE_CHECKING:
    from ...core import Contract

MIN_SHARE = 0.5


def infer_contract(columns: list[list], min_share: float = MIN_SHARE) -> tuple[Optional[Contract], dict[str, str]]:
    """Infer a contract from the readable rows of a scan.

    Args:
        columns: the rows as the report's columns, in ``ScanRow`` field order.
        min_share: a value must be held by more than this share of readable images.

    Returns:
        ``(contract or None, notes)``; ``notes`` maps each field left open to why.
    """
    counts = ReadableCounts()
    counts.add_columns(columns)
    return counts.infer(min_share)


_STATUS, _CHANNELS, _HEIGHT, _WIDTH = (ScanRow._fields.index(f) for f in ("status", "channels", "height", "width"))


class ReadableCounts:
    """How many readable images have each channel count and each size: all inference needs,
    counted batch by batch (a streamed scan) or over a whole table."""

    def __init__(self) -> None:
        self.n = 0
        self.channels: Counter = Counter()
        self.sizes: Counter = Counter()

    def add_columns(self, columns: list[list]) -> None:
        """Count the rows held in ``columns`` (the report's columns, in field order)."""
        ok = [s == OK for s in columns[_STATUS]]
        self.n += sum(ok)
        self.channels.update(c for c in compress(columns[_CHANNELS], ok) if c is not None)
        self.sizes.update(zip(compress(columns[_HEIGHT], ok), compress(columns[_WIDTH], ok)))

    def merge(self, other: ReadableCounts) -> None:
        """Add the counts of ``other`` (a cluster task's part)."""
        self.n += other.n
        self.channels.update(other.channels)
        self.sizes.update(other.sizes)

    def add_rows(self, rows: Any) -> None:
        """Count ``rows`` (ScanRows or plain tuples in their field order)."""
        for r in rows:
            if r[_STATUS] == OK:
                self.n += 1
                if r[_CHANNELS] is not None:
                    self.channels[r[_CHANNELS]] += 1
                self.sizes[(r[_HEIGHT], r[_WIDTH])] += 1

    def infer(self, min_share: float = MIN_SHARE) -> tuple[Optional[Contract], dict[str, str]]:
        from ...core import Contract

        n = self.n
        if n == 0:
            return None, {"contract": "no readable image to infer a contract from"}
        notes: dict[str, str] = {}
        channels = _dominant(self.channels, n, min_share)
        if channels[0] is None:
            notes["channels"] = _why(channels[1], n, lambda c: plural(c, "channel"))
        size = _dominant(self.sizes, n, min_share)
        if size[0] is None:
            notes["size"] = _why(size[1], n, lambda s: size_text(*s))
        if channels[0] is None and size[0] is None:
            return None, notes
        return Contract(channels=channels[0], size=size[0], name="inferred"), notes


def _dominant(counts: Counter, n: int, min_share: float) -> tuple[Any, list[tuple[Any, int]]]:
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))  # ties: the smaller value, stably
    if ranked and ranked[0][1] > min_share * n:
        return ranked[0][0], ranked
    return None, ranked


def _why(ranked: list[tuple[Any, int]], n: int, label: Any) -> str:
    top = ", ".join(f"{label(v)}: {c}" for v, c in ranked[:3])
    return f"no value is held by more than half of the {n} readable images ({top})"

"""The pool's bookkeeping of one run of :meth:`~._pool.SupervisedPool.map`: parts walked
and not yet handed out (:class:`Work`), rows gathered per part and handed back in
submission order (:class:`Books`), so the walk stays a stream and memory stays flat.
"""

from __future__ import annotations

from collections import deque
from typing import Iterator, Optional

from .._row import ScanRow
from .._units import Run, part_size, with_names

MAX_PENDING = 256       # parts done but waiting behind a slow one, before feeding pauses


def _cut(part: list[Run], k: int) -> tuple[list[Run], list[Run]]:
    """A part's first ``k`` files and the rest, as two parts."""
    head: list[Run] = []
    for j, run in enumerate(part):
        names = run.names
        if k < len(names):
            if k:
                head.append(with_names(run, names[:k]))
            return head, [with_names(run, names[k:])] + part[j + 1:]
        head.append(run)
        k -= len(names)
    return head, []


class Work:
    """Parts walked and not yet handed out, in order, each as ``(part, seq, offset)``.

    Up to ``lookahead`` files are walked ahead, so that once the walk is done the files
    left are known and the end of the scan can be shared out evenly. At most
    ``MAX_PENDING`` parts are walked past the oldest one not yet handed back.
    """

    def __init__(self, source: Iterator[list[Run]], rows: dict, missing: dict, lookahead: int) -> None:
        self._source = source
        self._rows, self._missing = rows, missing
        self._lookahead = lookahead
        self._ahead: deque = deque()
        self.files = 0       # in self._ahead
        self.exhausted = False
        self._next_seq = 0

    @property
    def done(self) -> bool:
        return self.exhausted and not self._ahead

    def _pull(self, emit_seq: int) -> None:
        while not self.exhausted and self._next_seq - emit_seq < MAX_PENDING and (
                not self._ahead or self.files < self._lookahead):
            part = next(self._source, None)
            if part is None:
                self.exhausted = True
                return
            n = part_size(part)
            seq = self._next_seq
            self._rows[seq], self._missing[seq] = [None] * n, n
            self._next_seq += 1
            self._ahead.append((part, seq, 0))
            self.files += n

    def take(self, emit_seq: int, limit: Optional[int] = None) -> Optional[tuple[list[Run], int, int]]:
        """The next ``(part, seq, offset)``, cut to at most ``limit`` files; ``None`` if
        there is none now (or ``limit`` is 0)."""
        self._pull(emit_seq)
        if not self._ahead or limit == 0:
            return None
        part, seq, offset = self._ahead.popleft()
        n = part_size(part)
        if limit is not None and limit < n:
            part, rest = _cut(part, limit)
            self._ahead.appendleft((rest, seq, offset + limit))
            n = limit
        self.files -= n
        return part, seq, offset


class Books:
    """One :meth:`SupervisedPool.map` run's state: the parts to hand out, the rows gathered
    so far, and what is owed before the next part can be yielded."""

    def __init__(self, source: Iterator[list[Run]], lookahead: int) -> None:
        self.rows: dict[int, list] = {}     # seq -> its rows so far (None where missing)
        self.missing: dict[int, int] = {}   # seq -> rows still missing
        self.work = Work(source, self.rows, self.missing, lookahead)
        self.requeue: deque = deque()       # (part, seq, offset) to send before new parts
        self.emit_seq = 0                   # the next part to yield
        self.next_tid = 0                   # the next task id

    @property
    def done(self) -> bool:
        return self.work.done and not self.requeue and not self.missing

    def store(self, seq: int, offset: int, rows: list) -> None:
        """Put ``rows`` in part ``seq`` from ``offset`` on."""
        target = self.rows[seq]
        if len(rows) == len(target) == self.missing[seq]:  # the usual case: a whole part, first try
            self.rows[seq], self.missing[seq] = rows, 0
            return
        for k, row in enumerate(rows):
            if target[offset + k] is None:
                self.missing[seq] -= 1
            target[offset + k] = row

    def complete(self) -> Iterator[list[ScanRow]]:
        """The parts now complete, in order, each once."""
        while self.missing.get(self.emit_seq, -1) == 0:
            del self.missing[self.emit_seq]
            yield self.rows.pop(self.emit_seq)
            self.emit_seq += 1

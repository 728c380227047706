"""A supervised pool of probe workers: a file that hangs or crashes its worker is a row.

``concurrent.futures.ProcessPoolExecutor`` loses every pending task when one worker
dies (``BrokenProcessPool``) and cannot stop a task that hangs. This pool keeps one
pipe per worker and a shared progress slot per worker (task id, file index, start
time), so the parent always knows which file a worker is on. A worker past the time
limit is killed; a worker that dies (segfault, out-of-memory kill) is noticed through
its sentinel. Either way the file it was on becomes an ``unreadable`` row, the rest of
its task is re-queued, and a fresh worker takes the slot.

Files go out in parts (one message per part: folder, prefix and bare file names; see
:func:`~pipeguard.scanner._units.parts`) and come back as one ``marshal`` blob of rows per
part (:func:`~.._row.packed`), which the parent turns back into plain tuples without a
Python call per row; it takes in every result waiting in a pipe at once. At most ``IN_FLIGHT``
parts are queued per worker (the parent shares the cores with its workers, so a short
queue would leave them idle whenever it is descheduled) and at most ``MAX_PENDING``
finished parts wait behind a slow one, so the walk stays a stream and memory stays
flat. Results come back in submission order.

A plain scan (headers only) may let the parent probe parts too (``in_parent=True``),
beside ``workers - 1`` worker processes: on a machine with as many cores as workers,
a parent that only fed and collected would be one process more than there are cores.
It takes a part whenever its workers are fed, and once the walk is done (the files left
are known from a short lookahead) it shares the rest out evenly, probing its share in
slices, so that it and the workers finish together. ``--deep`` never does this: a file
that hangs or crashes must do so in a worker, under the time limit.
"""

from __future__ import annotations

import logging
import math
import multiprocessing as mp
import signal
import time
from collections import deque
from multiprocessing.connection import wait
from typing import Any, Callable, Iterable, Iterator, Optional

from ..._child import usable_cores
from ...core import UnreadableKind
from .._row import ScanRow, unpacked
from .._units import Run, part_size, parts, split_part
from ..probe import failure_row, flatten, probe_part
from ._books import Books, Work
from ._worker import worker_main

log = logging.getLogger(__name__)

IN_FLIGHT = 3           # parts queued per worker: one running, two waiting
LOOKAHEAD = 6           # parts walked ahead when the parent probes too, so the end is shared out evenly
PARENT_PART = 32        # files the parent probes at a time once the walk is done
WORKERS_PER_CORE = 4    # more workers than this many per core only queue behind each other
KILL_GRACE = 1.0        # seconds past the time limit before a kill: the probe's own member timeout comes first
START_LIMIT = 30.0      # seconds a worker may take to start a part it holds (at least: the time limit if longer)


def max_workers() -> int:
    """The most worker processes a pool starts: :data:`WORKERS_PER_CORE` per usable core."""
    return WORKERS_PER_CORE * usable_cores()


def capped_workers(workers: int) -> tuple[int, Optional[str]]:
    """``workers`` within :func:`max_workers`, and a note to show when it was cut (``None`` if not)."""
    most = max_workers()
    if workers <= most:
        return workers, None
    return most, f"--workers {workers} is more than {WORKERS_PER_CORE} per core; using {most}"


def _context() -> Any:
    # fork starts a worker in milliseconds and a killed worker is replaced as fast;
    # the workers run only Pillow, never torch, so fork's usual hazards do not apply.
    methods = mp.get_all_start_methods()
    return mp.get_context("fork" if "fork" in methods else "spawn")


def _death(process: Any) -> tuple[str, UnreadableKind]:
    """Why a worker is gone, as the error (and its kind) of the file it was reading."""
    code = process.exitcode
    if code is None:
        why = "its worker stopped answering"
    elif code < 0:
        try:
            why = f"crashed its worker ({signal.Signals(-code).name})"
        except ValueError:
            why = f"crashed its worker (signal {-code})"
    else:
        why = f"its worker exited with status {code}"
    return why, UnreadableKind.CRASH


class _Slot:
    __slots__ = ("process", "conn", "inflight", "owed")

    def __init__(self, process: Any, conn: Any) -> None:
        self.process = process
        self.conn = conn
        self.inflight: deque = deque()  # (tid, part, seq, offset), oldest first
        self.owed = time.monotonic()  # since when the worker owes a sign of work on its oldest part


class SupervisedPool:
    """Probe files in ``workers`` processes with a per-file time limit.

    Args:
        workers: number of processes probing, the parent included when ``in_parent``.
        deep: decode each image's first frame (see :func:`~pipeguard.scanner.probe._file.probe`).
        time_limit: seconds one file may take before its worker is killed; ``None`` for no limit.
            A worker is killed :data:`KILL_GRACE` later: its probe times out a compressed
            archive member itself (a row for it, the archive's other members read on),
            where a kill would make the whole archive one row.
        part_size: the most files in a part: one message to a worker, one batch of rows back.
        in_parent: the parent probes parts too, beside ``workers - 1`` worker processes
            (a plain scan only: ``ValueError`` with ``deep``).
        cache: a :class:`~pipeguard.scanner.engine._cache.RowCache` every process reads and writes.
        probe: what probes a part, ``probe(part, deep, on_start, cache)`` (a module-level
            function: a spawned worker receives it pickled); :func:`~..probe.probe_part` by default.
    """

    def __init__(self, workers: int, deep: bool = False, time_limit: Optional[float] = 10.0,
                 part_size: int = 64, in_parent: bool = False, cache: Any = None, probe: Callable = probe_part) -> None:
        if in_parent and deep:
            raise ValueError("only a plain scan may probe in the parent: --deep needs every file in a worker")
        if time_limit is not None and not 0 < time_limit < math.inf:  # nan fails this too
            raise ValueError(f"time_limit should be a finite number of seconds above 0 or None, but got {time_limit!r}")
        workers, note = capped_workers(int(workers))
        if note is not None:
            log.info("%s: more only queue behind each other", note)
        self.in_parent = in_parent and workers > 1
        self.workers = max(1, workers - self.in_parent)  # the most started: each only when it has a part
        self.deep = deep
        self.time_limit = time_limit
        self._kill_after = None if time_limit is None else time_limit + KILL_GRACE
        self._start_limit = max(START_LIMIT, time_limit or 0.0)
        self.part_size = max(1, int(part_size))
        self.cache = cache
        self.probe = probe
        self.restarts = 0
        self._idle_deaths = 0  # deaths with no file to blame, since the last result
        self._ctx = _context()
        self._forks = self._ctx.get_start_method() == "fork"  # a fork inherits every open pipe end
        self._progress = self._ctx.RawArray("d", 3 * self.workers)
        self._slots: list[Optional[_Slot]] = [None] * self.workers

    # -- worker life cycle -------------------------------------------------------------
    def _start(self, i: int) -> _Slot:
        parent, child = self._ctx.Pipe()
        self._progress[3 * i + 2] = 0.0
        inherited = (parent, *(s.conn for s in self._slots if s is not None)) if self._forks else ()
        args = (child, self._progress, i, self.deep, self.probe, self.cache, inherited)
        p = self._ctx.Process(target=worker_main, args=args,
                              daemon=True, name=f"pipeguard-scan-{i}")
        p.start()
        child.close()
        slot = self._slots[i] = _Slot(p, parent)
        return slot

    def _stop_all(self, wait: float = 2.0) -> None:
        for slot in self._slots:
            if slot is None:
                continue
            try:
                slot.conn.send(None)
            except OSError:
                pass
        deadline = time.monotonic() + wait
        for slot in self._slots:
            if slot is None:
                continue
            slot.process.join(max(0.0, deadline - time.monotonic()))
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join()
            slot.conn.close()
        self._slots = [None] * self.workers

    # -- the run -------------------------------------------------------------------------
    def map(self, runs: Iterable[Run]) -> Iterator[list[ScanRow]]:
        """Yield the rows of the files in ``runs`` (see :func:`~pipeguard.scanner.sources._walk.walk_runs`),
        in the same order, as lists of rows (one list per part; an archive's members where it stood)."""
        books = Books(parts(iter(runs), self.part_size), LOOKAHEAD * self.part_size if self.in_parent else 0)
        try:
            while True:
                for depth in range(1, IN_FLIGHT + 1):  # a part to each worker before a second to any
                    for i in range(self.workers):
                        self._feed(i, books, depth)
                yield from map(flatten, books.complete())
                probed = self._probe_in_parent(books)
                busy = [s for s in self._slots if s is not None and s.inflight]
                if not busy:
                    if books.done:
                        break
                    continue
                self._collect(busy, books, timeout=0 if probed else self._poll_interval())
                self._check_time(books)
        except BaseException:  # interrupted (Ctrl-C) or abandoned: no worker finishes its part
            self._stop_all(wait=0.0)
            self._close_cache()
            raise
        self._stop_all()
        self._close_cache()

    def _close_cache(self) -> None:
        if self.cache is not None:
            self.cache.close()  # the parent's pending entries

    def _feed(self, i: int, books: Books, depth: int = IN_FLIGHT) -> None:
        """Queue parts to worker ``i`` up to ``depth``: re-queued ones first, then new ones.
        A worker is started only for a part it is given: never more workers than parts."""
        slot = self._slots[i]
        while slot is None or len(slot.inflight) < depth:
            if books.requeue:
                item = books.requeue.popleft()
            else:
                item = books.work.take(books.emit_seq, self._share(i, books.work))
                if item is None:
                    return
            if slot is None:
                slot = self._start(i)
            part, seq, offset = item
            try:
                slot.conn.send((books.next_tid, part))
            except OSError:  # the worker is gone: its file becomes a row, a fresh one takes the slot
                books.requeue.appendleft(item)
                slot.process.join(1.0)
                self._drain(slot, books)
                self._lost(i, *_death(slot.process), books)
                slot = self._slots[i]
                continue
            if not slot.inflight:
                slot.owed = time.monotonic()  # an idle worker: its clock starts with this part
            slot.inflight.append((books.next_tid, part, seq, offset))
            books.next_tid += 1

    def _probe_in_parent(self, books: Books) -> bool:
        """A plain scan's parent probes a part too, between feeding and collecting; at the
        end in slices, so that it and the workers finish together. Whether it probed."""
        if not self.in_parent:
            return False
        item = books.work.take(books.emit_seq, PARENT_PART if books.work.exhausted else None)
        if item is None:
            return False
        part, seq, offset = item
        books.store(seq, offset, self.probe(part, cache=self.cache))
        return True

    def _collect(self, busy: list[_Slot], books: Books, timeout: Optional[float]) -> None:
        """Wait up to ``timeout`` for results or deaths of the ``busy`` workers, and take them in."""
        waitables = [s.conn for s in busy] + [s.process.sentinel for s in busy]
        ready = set(wait(waitables, timeout=timeout))
        for i, slot in enumerate(self._slots):
            if slot is None or not slot.inflight:
                continue
            gone = slot.process.sentinel in ready
            if slot.conn in ready and not self._receive(slot, books):
                slot.process.join(1.0)  # end of file on the pipe: the worker is exiting
                gone = True
            if gone and not slot.process.is_alive():
                self._drain(slot, books)
                if slot.inflight:
                    self._lost(i, *_death(slot.process), books)
                else:
                    self._start(i)

    def _share(self, i: int, work: Work) -> Optional[int]:
        """How many files to send worker ``i`` now: a whole part (``None``) until the walk is
        done; then, when the parent probes too, what evens out the work left between the
        parent and the workers (0: the parent does the rest faster itself)."""
        if not (self.in_parent and work.exhausted):
            return None
        queued = [self._outstanding(k) for k in range(self.workers)]
        even = (work.files + sum(queued)) / (len(queued) + 1)
        give = int(even - queued[i])
        return give if give >= PARENT_PART // 2 else 0

    def _outstanding(self, i: int) -> int:
        """Files sent to worker ``i`` and not yet probed (as far as its progress slot shows)."""
        slot = self._slots[i]
        if slot is None:
            return 0
        left = sum(part_size(part) for _, part, _, _ in slot.inflight)
        base = 3 * i
        if slot.inflight and self._progress[base + 2] != 0.0 and int(self._progress[base]) == slot.inflight[0][0]:
            left -= int(self._progress[base + 1])
        return left

    def _poll_interval(self) -> float:
        if self.time_limit is None:
            return 1.0  # no file's clock, but a worker that never starts its part is still seen
        return max(0.05, min(1.0, self.time_limit / 4))

    def _receive(self, slot: _Slot, books: Books) -> bool:
        """Take in every result the worker has sent so far: one a round would leave a fast
        worker waiting for parts while its results sit in the pipe. False at end of file."""
        try:
            while True:
                tid, rows = slot.conn.recv()
                self._complete(slot, tid, unpacked(rows), books)
                self._idle_deaths = 0
                if not slot.inflight or not slot.conn.poll():
                    return True
        except (EOFError, OSError):
            return False  # the sentinel reports the death

    def _complete(self, slot: _Slot, tid: int, rows: list, books: Books) -> None:
        slot.owed = time.monotonic()  # it answered: its next part's clock starts now
        for k, (t, _, seq, offset) in enumerate(slot.inflight):
            if t == tid:
                del slot.inflight[k]
                books.store(seq, offset, rows)
                return

    def _drain(self, slot: _Slot, books: Books) -> None:
        """Collect results a dead worker sent before it died."""
        try:
            while slot.conn.poll():
                tid, rows = slot.conn.recv()
                self._complete(slot, tid, unpacked(rows), books)
        except (EOFError, OSError):
            pass

    def _lost(self, i: int, why: str, kind: UnreadableKind, books: Books) -> None:
        """Worker ``i`` is gone (or killed): the file it was on becomes a row, the rest go back."""
        slot: _Slot = self._slots[i]  # type: ignore[assignment]  # a worker that was lost was started
        running = self._progress[3 * i + 2] != 0.0
        books.requeue.extendleft(reversed(self._blame(i, running, why, kind, books)))
        slot.inflight.clear()
        if not running:
            self._idle_deaths += 1
            if self._idle_deaths > 2 * self.workers + 2:  # not a file's fault: do not loop forever
                # an OSError: the CLI's one line, as for any scan that cannot go on
                raise ChildProcessError(f"scan workers keep dying before reading a file (last: {why})")
        if slot.process.is_alive():
            slot.process.kill()
        slot.process.join()
        slot.conn.close()
        self.restarts += 1
        self._start(i)

    def _blame(self, i: int, running: bool, why: str, kind: UnreadableKind, books: Books) -> list:
        """Store the row of the file worker ``i`` was on; return its other parts, to re-queue in order."""
        base = 3 * i
        running_tid, index = int(self._progress[base]), int(self._progress[base + 1])
        back = []
        for tid, part, seq, offset in self._slots[i].inflight:  # type: ignore[union-attr]  # started: see _lost
            if running and tid == running_tid and 0 <= index < part_size(part):
                before, (run, name), after = split_part(part, index)
                log.warning("%s %s", run.prefix + name, why)
                books.store(seq, offset + index, [failure_row(run, name, why, kind)])
                if before:
                    back.append((before, seq, offset))
                if after:
                    back.append((after, seq, offset + index + 1))
            else:
                back.append((part, seq, offset))
        return back

    def _check_time(self, books: Books) -> None:
        """Kill a worker past the time limit on a file, or one that holds parts and has not
        started any for :data:`START_LIMIT` seconds: stuck before its first file (a lock its fork
        copied from a thread of the parent, a cache or a store that does not answer), which no
        file's clock would ever catch. Its parts go back to a fresh worker; workers that keep
        dying that way end the scan with an error (see :meth:`_lost`), never a wait forever."""
        now = time.monotonic()
        for i, slot in enumerate(self._slots):
            if slot is None or not slot.inflight:
                continue
            start = self._progress[3 * i + 2]
            if start:
                slot.owed = now  # on a file: alive, under the file's clock
                if self._kill_after is not None and now - start > self._kill_after:
                    slot.process.kill()
                    slot.process.join()
                    self._drain(slot, books)
                    self._lost(i, f"timed out: still reading after {self._kill_after:g} s", UnreadableKind.TIMEOUT,
                               books)
            elif now - slot.owed > self._start_limit:
                slot.process.kill()
                slot.process.join()
                self._drain(slot, books)
                if slot.inflight:
                    log.warning("a scan worker did not start its part within %g s: killed, its part retried",
                                self._start_limit)
                    self._lost(i, f"its worker did not start within {self._start_limit:g} s",
                               UnreadableKind.CRASH, books)
                else:  # its last results were in the pipe: only a fresh worker is needed
                    slot.conn.close()
                    self._start(i)

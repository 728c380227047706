"""What a worker process of the supervised pool (:mod:`._pool`) runs: parts in, rows out.

It takes ``(task id, part)`` messages from its pipe, probes each part with the pool's
probe function, notes in a shared array which file it is on (so the parent can blame a
file that hangs or crashes it) and sends the rows back as one ``marshal`` blob. It dies
with the scan's process, leaves no core file, and with ``--deep`` caps the memory a
decode may add.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any, Callable

from ..._child import quiet_child
from .._row import packed

DEEP_MEMORY_CAP = 4 << 30  # address space a --deep decode may add: a bomb fails with MemoryError, not the machine
PR_SET_PDEATHSIG = 1    # prctl option (linux/prctl.h): a signal for this process when its parent dies


def worker_main(conn: Any, progress: Any, slot: int, deep: bool, probe: Callable, cache: Any = None,
                inherited: tuple = ()) -> None:
    """The worker's life: ``probe(part, deep, on_start, cache)`` for each part received, until
    the pipe closes or a ``None`` comes; ``progress[3 * slot:]`` holds (task id, file index,
    start time)."""
    quiet_child()
    _die_with_parent(inherited)
    import faulthandler

    faulthandler.disable()  # a crash is reported as the file's row, not as a traceback dump
    try:  # a crashing decoder must not leave a core file behind
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, ValueError, OSError):
        pass
    if deep:
        _cap_memory()
    base = 3 * slot

    def started(i: int) -> None:
        progress[base + 1] = i
        progress[base + 2] = time.monotonic()

    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            task = None
        if task is None:
            if cache is not None:
                cache.close()  # writes the entries still pending
            return
        tid, items = task
        progress[base] = tid
        out = probe(items, deep, started, cache)
        progress[base + 2] = 0.0
        conn.send((tid, packed(out)))


def _die_with_parent(inherited: tuple) -> None:
    """A worker ends when the scan's process does, even when that one is killed (SIGKILL).

    Closes the pipe ends a forked worker inherits (its own parent-side end, the other
    workers'): while any process holds them, no worker sees end-of-file when the parent
    dies. On Linux the kernel also kills the worker with the parent (``PR_SET_PDEATHSIG``),
    so a worker busy on a file does not finish it first.
    """
    parent = os.getppid()
    for conn in inherited:
        try:
            conn.close()
        except OSError:
            pass
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: end-of-file on the pipe ends the worker
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def _cap_memory() -> None:
    """Limit what a ``--deep`` decode may add to the address space the worker starts with.

    A forked worker inherits its parent's address space, which is large in a process that
    has loaded CUDA (about 18 GB of reservations): an absolute limit below that would make
    every decode fail with MemoryError. The limit is what the worker has plus the cap.
    """
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = _address_space() + DEEP_MEMORY_CAP
        if hard != resource.RLIM_INFINITY:
            cap = min(cap, hard)
        if soft != resource.RLIM_INFINITY:
            cap = min(cap, soft)  # never raise a limit someone set
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except (ImportError, ValueError, OSError):
        pass


def _address_space() -> int:
    """This process's virtual memory size in bytes (``VmSize``), 0 where it cannot be read."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0

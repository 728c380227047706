"""A Dask cluster as the scan's engine: parts of the listing run as tasks on its workers.

The parts are the ones a local scan makes (:func:`~.._units.parts`: slices of a folder's
listing, one archive each); each task returns its rows and the client hands them on in
submission order, so the report is the one a local scan of the same files gives. At most
:data:`AHEAD` parts are submitted past the oldest one not yet handed on, so memory stays
flat. A task whose worker dies is retried by Dask (``distributed.scheduler.allowed-failures``);
a part that still fails becomes ``unreadable`` rows naming the error, never a crash.

``--deep`` runs each task's files in a :class:`~._pool.SupervisedPool` of one process
on the worker, so the per-file time limit and crash isolation hold there too; that needs
worker processes that may start children (``distributed.worker.daemon: false``, which
the clusters started here set).
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import re
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional, Union

from ..._child import usable_cores
from ...core import UnreadableKind
from ...diagnosis import one_line
from .._row import ScanRow, packed, unpacked
from .._units import Run, parts
from ..probe import failure_row, flatten, probe_part

log = logging.getLogger(__name__)

PLAIN_PART, DEEP_PART = 2048, 32  # files per task: large enough that a task's overhead (~10 ms) is small
FOLDER_MIN = 32                   # files a part holds before a folder's end closes it
DEEP_PART = 4                     # files per part sent to the --deep child (as in a local --deep scan)
AHEAD = 64                        # parts submitted past the oldest one not yet handed on
CONNECT_TIMEOUT = "10s"  # how long a scheduler address is tried (Dask retries a refused connection)
MISSING_EXTRA = "a cluster scan needs Dask: pip install 'pipeguard[cluster]'"
_LOCAL = re.compile(r"^local(?::(\d+))?$")
_ADDRESS = re.compile(r"^(?:(?P<scheme>[a-z][a-z0-9+.-]*)://)?(?P<host>\[[^\]]+\]|[^:/\s]+):(?P<port>[^/\s]*)$")
SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")  # what distributed connects to a scheduler by


def check_cluster(cluster: Any) -> None:
    """Raise ``ValueError`` for a ``cluster=`` that is none of the forms taken: ``local``,
    ``local:N`` (N a whole number of workers, at least 1), or a scheduler address
    ``[scheme://]host:port`` with a port from 1 to 65535."""
    if not isinstance(cluster, str):
        return
    if cluster == "local" or cluster.startswith("local:"):
        m = _LOCAL.match(cluster)
        if m is None or (m.group(1) is not None and int(m.group(1)) < 1):
            raise ValueError(f"local:N needs a whole number of workers, at least 1, but got {cluster!r}")
        return
    m = _ADDRESS.match(cluster)
    if m is None:
        raise ValueError(f"--dask should be local, local:N or a scheduler address such as tcp://host:8786, "
                         f"but got {cluster!r}")
    if m.group("scheme") and m.group("scheme") not in SCHEMES:
        raise ValueError(f"a scheduler address starts with {', '.join(s + '://' for s in SCHEMES)}, "
                         f"but got {cluster!r}")
    port = m.group("port")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"a scheduler address needs a port from 1 to 65535, but got {cluster!r}")


@contextmanager
def connected(cluster: Any) -> Iterator[Any]:
    """A ``distributed.Client`` for ``cluster``: the given client, a scheduler address, or a
    ``LocalCluster`` started (``local``, ``local:N``) for the scan and stopped after it."""
    if hasattr(cluster, "submit") and hasattr(cluster, "scheduler_info"):
        yield cluster
        return
    check_cluster(cluster)
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        raise ImportError(MISSING_EXTRA) from None
    m = _LOCAL.match(cluster)
    if m is None:
        try:
            client = Client(cluster, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, TypeError, ValueError) as exc:  # TypeError: tls:// with no TLS set up
            raise OSError(f"cannot reach the Dask scheduler at {cluster}: {' '.join(str(exc).split())}") from None
        with client:
            yield client
        return
    n = int(m.group(1)) if m.group(1) else usable_cores()
    from ._pool import capped_workers

    n, note = capped_workers(n)  # local:1000 starts no more workers than --workers 1000 would
    if note is not None:
        log.warning("%s", note.replace("--workers ", "--dask local:"))
    with dask.config.set({"distributed.worker.daemon": False}):
        local = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
    with local, Client(local) as client:
        yield client


def probe_task(part: list[Run], deep: bool, time_limit: Optional[float]) -> Union[bytes, list]:
    """One Dask task: the rows of a part, in order (``--deep``: under the time limit, in a
    child), as :func:`~.._row.packed` data: Dask sends bytes as they are, where a list of
    rows costs it more than probing them."""
    return packed(_task_rows(part, deep, time_limit))


def _task_rows(part: list[Run], deep: bool, time_limit: Optional[float]) -> list[ScanRow]:
    if not deep:
        return flatten(probe_part(part))
    if mp.current_process().daemon:
        log.warning("this Dask worker cannot start processes (distributed.worker.daemon is true): "
                    "decoding without a per-file time limit")
        return flatten(probe_part(part, deep=True))
    from ._pool import SupervisedPool

    pool = SupervisedPool(1, deep=True, time_limit=time_limit, part_size=DEEP_PART)
    return [row for batch in pool.map(part) for row in batch]


def cluster_batches(client: Any, runs: Iterator[Run], deep: bool, time_limit: Optional[float],
                    probe: Callable = probe_task) -> Iterator[list[ScanRow]]:
    """The rows of every file of ``runs``, one list per part, in order, probed on the cluster."""
    from distributed import as_completed

    todo = enumerate(task_parts(runs, DEEP_PART if deep else PLAIN_PART))
    window = max(4, 4 * sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values()))
    pending: dict[Any, tuple[int, list]] = {}
    done: dict[int, list[ScanRow]] = {}
    tasks = as_completed()
    emit = submitted = 0

    def submit() -> None:
        nonlocal submitted
        while len(pending) < window and submitted - emit < AHEAD:
            item = next(todo, None)
            if item is None:
                return
            future = client.submit(probe, item[1], deep, time_limit, pure=False)
            pending[future] = item
            tasks.add(future)
            submitted += 1

    submit()
    for future in tasks:
        seq, part = pending.pop(future)
        done[seq] = _result(future, part)
        while emit in done:
            yield done.pop(emit)
            emit += 1
        submit()


def task_parts(runs: Iterator[Run], size: int) -> Iterator[list[Run]]:
    """The local scan's parts, also cut where a folder ends once a part holds
    :data:`FOLDER_MIN` files: a folder (a class) is a task of its own on the cluster."""
    for whole in parts(runs, size):
        part: list[Run] = []
        files = 0
        for run in whole:
            if part and run.folder != part[-1].folder and files >= FOLDER_MIN:
                yield part
                part, files = [], 0
            part.append(run)
            files += len(run.names)
        yield part


def _result(future: Any, part: list[Run]) -> list[ScanRow]:
    try:
        return unpacked(future.result())
    except Exception as exc:  # the task failed on every try (KilledWorker...): its files say so
        why = f"its Dask task failed: {one_line(exc)}"[:300]
        log.warning("%s", why)
        return [failure_row(run, name, why, UnreadableKind.CRASH) for run in part for name in run.names]

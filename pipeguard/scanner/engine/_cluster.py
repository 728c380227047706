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
from contextlib import contextmanager, suppress
from typing import Any, Callable, Iterator, Optional, Union

from ..._child import usable_cores
from ...core import UnreadableKind
from ...diagnosis import one_line
from .._row import ScanRow, packed, unpacked
from .._units import Run, parts
from ..probe import failure_row, flatten, probe_part

log = logging.getLogger(__name__)

PLAIN_TASK, DEEP_TASK = 2048, 32  # files per task: large enough that a task's overhead (~10 ms) is small
FOLDER_MIN = 32                   # files a part holds before a folder's end closes it
DEEP_PART = 4                     # files per part sent to the --deep child (as in a local --deep scan)
AHEAD = 64                        # parts submitted past the oldest one not yet handed on
CONNECT_TIMEOUT = "10s"  # how long a scheduler address is tried, the handshake included (Dask retries a refusal)
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
        with _scheduler_client(Client, cluster) as client:
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


def _scheduler_client(client_class: Any, address: str) -> Any:
    """A client of the scheduler at ``address``, its whole start (connect, handshake, first
    replies) bounded by :data:`CONNECT_TIMEOUT`: distributed bounds the connect alone, so a
    port that accepts and never answers (an HTTP server waits for a line) held it for ever.
    Whatever fails there (a refused port, a peer that sends garbage) is one ``OSError``."""
    from dask.utils import parse_timedelta

    seconds = parse_timedelta(CONNECT_TIMEOUT, "s")

    class Bounded(client_class):
        def start(self, **kwargs: Any) -> None:
            try:
                super().start(callback_timeout=seconds, **kwargs)  # the start runs in distributed's sync()
            except Exception:
                with suppress(Exception):  # a start that failed leaves its loop thread running
                    self.close()
                raise

    try:
        return Bounded(address, timeout=CONNECT_TIMEOUT)
    except TimeoutError:  # sync()'s bound, or distributed's own on the first replies
        why = f"nothing answered as a Dask scheduler within {seconds:g} s"
    except Exception as exc:  # TypeError: tls:// with no TLS set up; ValueError, MemoryError...: garbage
        why = " ".join(str(exc).split()) or type(exc).__name__
    raise OSError(f"cannot reach the Dask scheduler at {address}: {why}")


def probe_task(part: list[Run], deep: bool, time_limit: Optional[float]) -> Union[bytes, list]:
    """One Dask task: the rows of a part, in order (``--deep``: under the time limit, in a
    child), as :func:`~.._row.packed` data: Dask sends bytes as they are, where a list of
    rows costs it more than probing them."""
    return packed(task_rows(part, deep, time_limit))


def task_rows(part: list[Run], deep: bool, time_limit: Optional[float]) -> list[ScanRow]:
    """The rows of a part, probed in this Dask worker (``--deep``: in a child, under the time limit)."""
    if not deep:
        return flatten(probe_part(part, time_limit=time_limit))
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
    for part, result in in_order(client, task_parts(runs, deep), probe, deep, time_limit):
        yield _rows(result, part)


def in_order(client: Any, items: Iterator[Any], task: Callable, *args: Any) -> Iterator[tuple[Any, Any]]:
    """``task(item, *args)`` as a Dask task for each item, a bounded window of them in flight;
    each item with its task's outcome, in the items' order: what the task returned, or the
    exception it raised on every try (``KilledWorker``: its worker died each time)."""
    from distributed import as_completed

    todo = enumerate(items)
    window = max(4, 4 * sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values()))
    pending: dict[Any, tuple[int, Any]] = {}
    done: dict[int, tuple[Any, Any]] = {}
    tasks = as_completed()
    emit = submitted = 0

    def submit() -> None:
        nonlocal submitted
        while len(pending) < window and submitted - emit < AHEAD:
            item = next(todo, None)
            if item is None:
                return
            future = client.submit(task, item[1], *args, pure=False)
            pending[future] = item
            tasks.add(future)
            submitted += 1

    submit()
    for future in tasks:
        seq, item = pending.pop(future)
        done[seq] = (item, _outcome(future))
        future.release()  # the result is ours now: the cluster need not keep it
        while emit in done:
            yield done.pop(emit)
            emit += 1
        submit()


def _outcome(future: Any) -> Any:
    try:
        return future.result()
    except Exception as exc:
        return exc


def task_parts(runs: Iterator[Run], deep: bool) -> Iterator[list[Run]]:
    """The parts of a cluster scan, one a task (:data:`PLAIN_TASK` or :data:`DEEP_TASK` files
    at most), also cut where a folder ends once a part holds :data:`FOLDER_MIN` files: a
    folder (a class) is a task of its own on the cluster."""
    for whole in parts(runs, DEEP_TASK if deep else PLAIN_TASK):
        part: list[Run] = []
        files = 0
        for run in whole:
            if part and run.folder != part[-1].folder and files >= FOLDER_MIN:
                yield part
                part, files = [], 0
            part.append(run)
            files += len(run.names)
        yield part


def _rows(result: Any, part: list[Run]) -> list[ScanRow]:
    try:
        if isinstance(result, BaseException):
            raise result
        return unpacked(result)
    except Exception as exc:  # the task failed on every try (KilledWorker...), or another version's rows
        why = f"its Dask task failed: {one_line(exc)}"[:300]
        log.warning("%s", why)
        return [failure_row(run, name, why, UnreadableKind.CRASH) for run in part for name in run.names]

"""Where a scan's parts are probed: this process, the supervised pool, or a Dask cluster;
and the row cache in front of them, for a scan of this machine's files.

:func:`engine_for` gives the engine of a scan (a context: a cluster started for it is
stopped after it); its ``batches`` are the rows of every file, one list per part, in path
order. A plain scan of a small folder runs in this process, a larger one in the pool with
the parent probing beside ``workers - 1`` workers; ``--deep`` always runs in workers.
"""

from __future__ import annotations

import itertools
import logging
import os
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING, Any, Iterator, Optional, Union

from ..._io import is_archive_name
from .._row import ScanRow
from .._units import Run, parts
from ..probe import flatten, heads_ahead, probe_part

if TYPE_CHECKING:
    from ._cache import RowCache

log = logging.getLogger(__name__)

# a plain scan of fewer files is not worth starting workers for: on 2 cores, 1 worker and 2
# broke even at about 2,000 mixed JPEG/PNG files (worker start and stop cost ~8 ms)
SERIAL_BELOW = 2000
PLAIN_PART, DEEP_PART = 128, 4  # files per part: the unit of work, of a message, of progress
ARCHIVE_WEIGHT = 1000  # files an archive counts for when choosing workers (a WebDataset shard holds ~1,000)


class Engine:
    """Probes parts here (``client`` None) or as Dask tasks on ``client``'s cluster."""

    def __init__(self, client: Any = None) -> None:
        self.client = client

    def batches(self, runs: Iterator[Run], deep: bool, workers: int, time_limit: Optional[float],
                cache: Optional[RowCache] = None) -> Iterator[list[ScanRow]]:
        """Rows of every file of ``runs``, in path order, as one list per part."""
        if self.client is None:
            return _probed(runs, deep, workers, time_limit, cache)
        from ._cluster import cluster_batches

        return cluster_batches(self.client, runs, deep, time_limit)


@contextmanager
def engine_for(cluster: Any) -> Iterator[Engine]:
    """The engine of a scan: this machine when ``cluster`` is ``None``, else the Dask
    cluster it names (connected, or started for the scan and stopped after it)."""
    if cluster is None:
        yield Engine()
        return
    from ._cluster import connected

    with connected(cluster) as client:
        yield Engine(client)


def local_cache(cache: Union[str, os.PathLike[str], None], root: str, *, cluster: Any,
                remote: bool) -> Optional[RowCache]:
    """The row cache in ``cache`` for a scan of ``root``: it keys local files by their stat,
    so a scan of a URL or on a cluster runs without it, and says so once."""
    if cache is None:
        return None
    if cluster is not None or remote:
        where = "on a Dask cluster" if cluster is not None else "of a URL"
        log.warning("not using the cache %s: it knows files on this machine by their stat, and a scan %s "
                    "reads every file", os.fspath(cache), where)
        return None
    from ._cache import open_cache  # sqlite3 loads only for a scan with a cache

    return open_cache(cache, root or None)  # a list: no one folder the cache must stay out of


def _probed(runs: Iterator[Run], deep: bool, workers: int, time_limit: Optional[float],
            cache: Optional[RowCache] = None) -> Iterator[list[ScanRow]]:
    """Rows of every file, in path order, as one list per part.

    A plain scan's parent probes parts too, beside ``workers - 1`` worker processes: on
    a machine with ``workers`` cores a parent that only fed and collected would be a
    third process competing for them. It reads headers only, as a one-worker scan does
    in process; ``--deep`` keeps every file in a worker, under the time limit.
    """
    if not deep:
        if workers == 1:
            return _in_process(runs, cache, time_limit)
        head, files = [], 0
        for run in runs:
            head.append(run)
            files += sum(ARCHIVE_WEIGHT if is_archive_name(n) else 1 for n in run.names)
            if files >= SERIAL_BELOW:
                break
        if files < SERIAL_BELOW:  # small folder: starting workers costs more than it saves
            return _in_process(iter(head), cache, time_limit)
        runs = itertools.chain(head, runs)
    from ._pool import SupervisedPool

    # the limit reaches the probe too: the parent probes beside the workers, and nothing kills it
    pool = SupervisedPool(workers, deep=deep, time_limit=time_limit,
                          part_size=DEEP_PART if deep else PLAIN_PART, in_parent=not deep, cache=cache,
                          probe=partial(probe_part, time_limit=time_limit))
    return pool.map(runs)


def _in_process(runs: Iterator[Run], cache: Optional[RowCache] = None,
                time_limit: Optional[float] = None) -> Iterator[list[ScanRow]]:
    """Rows probed in this process; ``time_limit`` bounds each compressed archive member
    (a header read of a loose file needs none: it reads a bounded head)."""
    if cache is None:  # (a scan of URLs has no cache: its remote parts' heads are fetched ahead)
        return (flatten(probe_part(part, time_limit=time_limit, heads=heads))
                for part, heads in heads_ahead(parts(runs, PLAIN_PART)))
    from ._cache import cached_parts

    return cached_parts(parts(runs, PLAIN_PART), cache, time_limit)

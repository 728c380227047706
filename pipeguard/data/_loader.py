"""``GuardedDataLoader`` and ``collate``: checked batches, with failures that travel as data.

PyTorch re-raises an exception from a DataLoader worker by calling ``type(e)(msg)``,
which loses every structured field. So inside workers a guarded dataset never
raises: a failing sample becomes a :class:`~pipeguard.Skipped` record, the collate
moves the records out of the batch into an envelope next to it, and the loader's
iterator, in the main process, unpacks the envelope: it raises the
:class:`~pipeguard.ContractViolation` with every field intact
(``on_error="raise"``) or files the records under ``loader.skipped``.
"""

from __future__ import annotations

import collections
from typing import TYPE_CHECKING, Any, Callable, Hashable, Optional, Sized, cast

from torch.utils.data import (
    DataLoader,
    IterableDataset,
    default_collate,
    default_convert,
    get_worker_info,
)

from ..core import ContractViolation
from ._batch_check import batch_error, collate_failure
from ._dataset import GuardedDataset, StreamFailure
from ._skip_ledger import LoaderReport, SkipLedger, warn_once
from ._skipped import Skipped

if TYPE_CHECKING:
    from ..core import Contract

_warned_sources: set = set()  # per process: pg.collate warns once per source


def _split(batch: list) -> tuple[list, list[Skipped]]:
    kept = [s for s in batch if not isinstance(s, Skipped)]
    if len(kept) == len(batch):
        return batch, []
    return kept, [s for s in batch if isinstance(s, Skipped)]


def collate(batch: list, *, collate_fn: Optional[Callable[[list], Any]] = None) -> Any:
    """Drop :class:`~pipeguard.Skipped` records, then collate the rest.

    For a plain ``DataLoader`` over a :class:`~pipeguard.GuardedDataset`:
    ``DataLoader(ds, collate_fn=pg.collate)``; pass your own collate with
    ``functools.partial(pg.collate, collate_fn=my_collate)``. Each dropped record is
    logged (a warning, once per source per process). A plain DataLoader has no
    channel back from its workers, so the records themselves are reachable only
    with ``num_workers=0``, in ``ds.skipped``; use
    :class:`~pipeguard.GuardedDataLoader` to collect them from workers, raise
    violations with all their fields, and check the batch.

    Returns:
        What ``collate_fn`` (default: ``default_collate``) makes of the kept
        samples, or ``None`` when every sample of the batch was skipped.
    """
    kept, records = _split(batch)
    for record in records:
        warn_once(record, _warned_sources)
    if not kept:
        return None
    return (collate_fn or default_collate)(kept)


_EMPTY = object()  # stands for "no batch": every sample was skipped


class Envelope:
    """A collated batch plus what happened to its samples; unpacked by the loader in the main process."""

    def __init__(self, data: Any, kept: int, records: list[Skipped], fixed: Optional[collections.Counter],
                 error: Optional[ContractViolation] = None) -> None:
        self.data, self.kept, self.records, self.fixed, self.error = data, kept, records, fixed, error

    def pin_memory(self, device: Any = None) -> "Envelope":
        # DataLoader's pin-memory thread calls this instead of looking inside.
        from torch.utils.data._utils.pin_memory import pin_memory

        data = self.data if self.data is _EMPTY else pin_memory(self.data, device)
        return Envelope(data, self.kept, self.records, self.fixed, self.error)

    def __reduce__(self):
        data = None if self.data is _EMPTY else self.data
        return (_rebuild_envelope, (data, self.data is _EMPTY, self.kept, self.records, self.fixed, self.error))


def _rebuild_envelope(data, empty, kept, records, fixed, error) -> Envelope:
    return Envelope(_EMPTY if empty else data, kept, records, fixed, error)


class GuardedCollate:
    """The collate a GuardedDataLoader runs (in the workers): split, collate, check, envelope.

    Args:
        collate_fn: the user's collate (``None``: ``default_collate``, or
            ``default_convert`` when automatic batching is off).
        contract: checked against the collated batch.
        image_key: where the images are in a dict batch.
        check_batch: check the collated batch against the contract.
        batched: whether the DataLoader batches (``batch_size`` or ``batch_sampler`` set).
    """

    def __init__(self, collate_fn: Optional[Callable], contract: Contract, image_key: Optional[Hashable],
                 check_batch: bool, batched: bool) -> None:
        self.collate_fn = collate_fn or (default_collate if batched else default_convert)
        self.contract, self.image_key, self.check_batch, self.batched = contract, image_key, check_batch, batched

    def __call__(self, batch: Any) -> Envelope:
        fixed = _drain_worker_fixes()
        if not self.batched:  # one sample at a time
            if isinstance(batch, StreamFailure):
                return Envelope(_EMPTY, 0, [], fixed, batch.violation)
            if isinstance(batch, Skipped):
                return Envelope(_EMPTY, 0, [batch], fixed)
            return Envelope(self.collate_fn(batch), 1, [], fixed)
        kept, records = _split(batch)
        failure = next((r for r in records if isinstance(r, StreamFailure)), None)
        if failure is not None:  # the stream ended: raised in every mode, with its fields
            return Envelope(_EMPTY, 0, [r for r in records if r is not failure], fixed, failure.violation)
        if not kept:
            return Envelope(_EMPTY, 0, records, fixed)
        try:
            data = self.collate_fn(kept)
        except Exception as exc:
            return Envelope(_EMPTY, len(kept), records, fixed,
                            collate_failure(self.contract, exc, kept, self.image_key))
        error = batch_error(self.contract, data, self.image_key, len(kept)) if self.check_batch else None
        return Envelope(data, len(kept), records, fixed, error)


def _drain_worker_fixes() -> Optional[collections.Counter]:
    info = get_worker_info()
    dataset = None if info is None else info.dataset
    if isinstance(dataset, GuardedDataset):
        return dataset.drain_fixed() or None
    return None  # main process: the loader drains its dataset itself


class WorkerInit:
    """Run in each worker before the user's ``worker_init_fn``: make the worker's copy of the dataset defer errors."""

    def __init__(self, user_fn: Optional[Callable[[int], None]]) -> None:
        self.user_fn = user_fn

    def __call__(self, worker_id: int) -> None:
        dataset = get_worker_info().dataset  # type: ignore[union-attr]  # runs in a worker: never None there
        if isinstance(dataset, GuardedDataset):
            dataset.__dict__.update(_defer=True, skipped=[])  # records go through collate, not the copy
            dataset.drain_fixed()
        if self.user_fn is not None:
            self.user_fn(worker_id)


class GuardedDataLoader(DataLoader):
    """A ``DataLoader`` that checks every sample and batch and loses nothing.

    Takes every ``DataLoader`` argument (``batch_size``, ``shuffle``, ``sampler``
    such as ``DistributedSampler``, ``num_workers``, ``pin_memory``,
    ``persistent_workers``, ``prefetch_factor``, ``collate_fn``...) and yields
    exactly what the ``DataLoader`` would, e.g. ``(images [N, C, H, W], targets [N])``.

    * ``on_error="raise"``: the first failing sample (in sampler order) raises a
      :class:`~pipeguard.ContractViolation` in the main process with every field
      (index, source, expected vs actual, diagnosis, stage) intact, even from a
      worker process.
    * ``"skip"``/``"fix"``: failing samples are left out of their batch (a
      batch can come out smaller; a batch whose every sample failed is not
      yielded) and listed in :attr:`skipped`, stamped with their epoch.

    After collating (your ``collate_fn`` runs on the kept samples only), the batch is
    checked too: ``[N, C, H, W]`` per the contract, or the element count per row
    when the contract gives only ``numel``; a failure raises a ContractViolation
    with ``stage="collate"`` in every mode.

    Args:
        dataset: a :class:`~pipeguard.GuardedDataset`, or any dataset together
            with ``contract`` (and ``on_error``) to wrap it.
        contract: the contract, when ``dataset`` is not guarded yet.
        on_error: ``"raise"`` (default), ``"skip"`` or ``"fix"``, when wrapping.
        max_skip_fraction: raise when more than this share of an epoch's samples
            is skipped (checked as soon as the epoch can no longer end below it).
        max_skips: raise once more than this many samples are skipped in total.
        check_batch: check each collated batch against the contract.
        image_key: the image's key in dict samples and batches, when wrapping.

    Attributes:
        skipped: every :class:`~pipeguard.Skipped` record, across workers and epochs.
        epoch: the current epoch (``-1`` before the first); counts ``iter()`` calls.
    """

    dataset: GuardedDataset  # __init__ wraps any other dataset

    def __init__(self, dataset: Any, batch_size: Optional[int] = 1, shuffle: Optional[bool] = None,
                 sampler: Any = None, batch_sampler: Any = None, num_workers: int = 0,
                 collate_fn: Optional[Callable] = None, pin_memory: bool = False, drop_last: bool = False,
                 timeout: float = 0, worker_init_fn: Optional[Callable[[int], None]] = None,
                 multiprocessing_context: Any = None, generator: Any = None, *,
                 contract: Optional[Contract] = None, on_error: Optional[str] = None,
                 max_skip_fraction: Optional[float] = None, max_skips: Optional[int] = None,
                 check_batch: bool = True, image_key: Optional[Hashable] = None, **kwargs: Any) -> None:
        if isinstance(dataset, GuardedDataset):
            if contract is not None or on_error is not None or image_key is not None:
                raise TypeError("GuardedDataLoader got a GuardedDataset and contract/on_error/image_key: "
                                "set those on the GuardedDataset")
        elif contract is None:
            raise TypeError(f"GuardedDataLoader should get a GuardedDataset or contract=..., "
                            f"but got a {type(dataset).__name__} and no contract")
        else:
            dataset = GuardedDataset(dataset, contract, on_error or "raise", image_key=image_key)
        batched = batch_size is not None or batch_sampler is not None
        self._ledger = SkipLedger(max_skip_fraction=max_skip_fraction, max_skips=max_skips)
        self._epoch = -1
        self.user_collate_fn = collate_fn
        super().__init__(
            dataset, batch_size=batch_size, shuffle=shuffle, sampler=sampler, batch_sampler=batch_sampler,
            num_workers=num_workers,
            collate_fn=GuardedCollate(collate_fn, dataset.contract, dataset.image_key, check_batch, batched),
            pin_memory=pin_memory, drop_last=drop_last, timeout=timeout, worker_init_fn=WorkerInit(worker_init_fn),
            multiprocessing_context=multiprocessing_context, generator=generator, **kwargs)

    @property
    def skipped(self) -> list[Skipped]:
        return self._ledger.skipped

    @property
    def epoch(self) -> int:
        return self._epoch

    def report(self) -> LoaderReport:
        """Counts so far: samples yielded, skipped and fixed, by reason (``str()`` for people)."""
        return self._ledger.report()

    # the batches come through a wrapper that unpacks the envelopes, not a _BaseDataLoaderIter
    def __iter__(self) -> "_GuardedIterator":  # type: ignore[override]
        self._epoch = self._ledger.start_epoch()
        if self.num_workers == 0:
            self.dataset.drain_fixed()  # counts from before this epoch are not the loader's
        return _GuardedIterator(self, super().__iter__(), self._epoch)


class _GuardedIterator:
    """Unpacks each envelope: accounts, raises, and yields only the user's batch."""

    def __init__(self, loader: GuardedDataLoader, inner: Any, epoch: int) -> None:
        self._loader, self._inner, self._epoch = loader, inner, epoch
        self._raise = loader.dataset.on_error == "raise"
        self._main_fixes = loader.num_workers == 0
        self._expected = _expected_total(loader)
        self._done = False

    def __iter__(self) -> "_GuardedIterator":
        return self

    def __len__(self) -> int:
        return len(self._inner)

    def __next__(self) -> Any:
        while True:
            envelope = self._next_envelope()
            if not isinstance(envelope, Envelope):  # pragma: no cover - a subclass replaced the collate
                return envelope
            try:
                self._account(envelope)
            except ContractViolation:
                self._stop_workers()
                raise
            if envelope.data is not _EMPTY:
                return envelope.data

    def _next_envelope(self) -> Any:
        try:
            return next(self._inner)
        except StopIteration:
            if not self._done:
                self._done = True
                self._loader._ledger.end_epoch(self._epoch)
            raise

    def _account(self, envelope: Envelope) -> None:
        """File the envelope's records and counts; raise its violation (in raise mode, its first record's)."""
        fixed = self._loader.dataset.drain_fixed() if self._main_fixes else envelope.fixed
        if self._raise and envelope.records:
            raise envelope.records[0].violation
        self._loader._ledger.add(envelope.records, envelope.kept if envelope.error is None else 0, fixed or None,
                                 self._epoch, self._expected)
        if envelope.error is not None:
            raise envelope.error

    def _stop_workers(self) -> None:
        """Shut worker processes down now: the traceback keeps this iterator alive, and
        PyTorch's own clean-up would then wait on them at garbage collection."""
        shutdown = getattr(self._inner, "_shutdown_workers", None)
        if shutdown is None:
            return
        try:
            shutdown()
        finally:
            if getattr(self._loader, "_iterator", None) is self._inner:
                self._loader._iterator = None  # persistent workers: start afresh next epoch


def _expected_total(loader: GuardedDataLoader) -> Optional[int]:
    """Samples the epoch will visit, when the sampler knows (for early max_skip_fraction errors)."""
    if isinstance(loader.dataset, IterableDataset):
        return None
    try:
        if loader.batch_sampler is not None:
            sampler = getattr(loader.batch_sampler, "sampler", None)
            return len(sampler) if sampler is not None else None
        return len(cast("Sized", loader.sampler))  # a sampler without a length raises TypeError
    except TypeError:
        return None

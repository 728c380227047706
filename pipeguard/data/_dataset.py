"""``GuardedDataset``: any dataset, every sample checked against a contract.

Shape conventions follow :mod:`pipeguard.core._inspect`: a sample's image is ``[C, H, W]``
(a PIL image counts as the tensor ``pil_to_tensor`` would make of it).
"""

from __future__ import annotations

import collections
import logging
from typing import Any, Callable, Hashable, Iterator, Optional

from torch.utils.data import Dataset, IterableDataset

from ..core import Contract, ContractViolation, Reason, Violation
from ..diagnosis import first_line
from ._repair import Unfixable, repair
from ._sample_parts import ImageNotFound, get_image, image_slot
from ._sample_source import FolderSample, locate, source_of
from ._skipped import Skipped

logger = logging.getLogger("pipeguard.dataset")

ON_ERROR = ("raise", "skip", "fix")

# Attributes that live on the wrapper; every other attribute is the wrapped dataset's.
_OWN = frozenset({"dataset", "contract", "on_error", "image_key", "source_fn", "size_policy",
                  "trace_errors", "skipped", "fixed", "fixed_by_reason", "_defer", "_unshipped"})


class GuardedDataset(Dataset):
    """Wrap ``dataset`` so that every sample is checked against ``contract``.

    Behaves like the wrapped dataset: same ``len``, same samples, and every
    attribute it has (``classes``, ``class_to_idx``, ``samples``, ``targets``,
    ``transform``...) reads and writes through. Picklable, so it works in
    DataLoader worker processes. Wrapping an ``IterableDataset`` gives an
    iterable guarded dataset (same checks, in iteration order).

    The image is found in each sample as described in :mod:`pipeguard.data._sample_parts`:
    a bare image, the first element of a tuple/list, or a dict entry (``image_key``,
    else ``"image"``, ``"img"``, ``"pixel_values"``). The source file is
    ``samples[i][0]`` for ``ImageFolder``/``DatasetFolder``-like datasets (through
    ``Subset`` and ``ConcatDataset``), or what ``source_fn(index)`` returns.

    An exception raised by the wrapped dataset itself (a truncated JPEG, an empty
    or missing file, a transform that fails) is a violation too
    (:attr:`Reason.UNREADABLE <pipeguard.Reason.UNREADABLE>`) carrying the
    exception's type and message.

    Args:
        dataset: a map-style or iterable dataset.
        contract: what every sample's image must be.
        on_error: ``"raise"``: raise :class:`~pipeguard.ContractViolation` (index,
            source, expected vs actual, diagnosis and, for a folder-like dataset
            with a ``Compose`` transform, the trace of the failing sample through
            it). ``"skip"``: return a :class:`~pipeguard.Skipped` record instead of
            the sample (:func:`pipeguard.collate` drops it from the batch).
            ``"fix"``: convert channels (:class:`~pipeguard.EnsureChannels`, on the
            decoded image before the transform when the dataset has a ``loader``)
            and size (:class:`~pipeguard.EnsureSize` with ``size_policy``); what
            cannot be fixed is skipped as in ``"skip"``.
        image_key: the image's key in dict samples.
        source_fn: ``index -> path`` for datasets pipeguard cannot read paths from.
            Must be picklable (a module-level function) to work with workers.
        size_policy: ``"resize"``, ``"center_crop"``, ``"pad"`` or ``"raise"``
            (size problems are then not fixed but skipped).
        trace_errors: in ``"raise"`` mode, re-load the failing sample and trace it
            through the transform to name the step that broke it.

    Attributes:
        skipped: :class:`~pipeguard.Skipped` records made *in this process* (with
            worker processes, use ``GuardedDataLoader.skipped``).
        fixed: number of samples fixed in this process; ``fixed_by_reason`` counts
            them per :class:`~pipeguard.Reason`.

    Example:
        >>> ds = pg.GuardedDataset(ImageFolder("data/", transform=tf), pg.Contract(channels=3, size=224),
        ...                        on_error="skip")
        >>> loader = pg.GuardedDataLoader(ds, batch_size=64, num_workers=4)
    """

    def __new__(cls, dataset: Any = None, *args: Any, **kwargs: Any) -> "GuardedDataset":
        if cls is GuardedDataset and isinstance(dataset, IterableDataset):
            cls = GuardedIterableDataset
        return super().__new__(cls)

    def __init__(self, dataset: Any, contract: Contract, on_error: str = "raise", *,
                 image_key: Optional[Hashable] = None,
                 source_fn: Optional[Callable[[int], Any]] = None,
                 size_policy: str = "resize", trace_errors: bool = True) -> None:
        if isinstance(dataset, GuardedDataset):
            raise TypeError("GuardedDataset should wrap a dataset, but got a GuardedDataset: it is already guarded")
        if not isinstance(contract, Contract):
            raise TypeError(f"contract should be a pipeguard.Contract, but got {type(contract).__name__}")
        if on_error not in ON_ERROR:
            raise ValueError(f"on_error should be one of {', '.join(map(repr, ON_ERROR))}, but got {on_error!r}")
        from ..core import images_only

        images_only(contract, "GuardedDataset")
        # EnsureSize's; imported here, not with the module
        from ..transforms import SIZE_POLICIES

        if size_policy not in SIZE_POLICIES:
            raise ValueError(f"size_policy should be one of {', '.join(map(repr, SIZE_POLICIES))}, "
                             f"but got {size_policy!r}")
        if source_fn is None:
            from ._hf import stored_path_fn

            source_fn = stored_path_fn(dataset)  # a Hugging Face dataset's stored file paths
        own = self.__dict__
        own.update(dataset=dataset, contract=contract, on_error=on_error, image_key=image_key,
                   source_fn=source_fn, size_policy=size_policy, trace_errors=trace_errors,
                   skipped=[], fixed=0, fixed_by_reason=collections.Counter(),
                   _defer=False, _unshipped=collections.Counter())

    # -- behave like the wrapped dataset --------------------------------------------
    def __len__(self) -> int:
        return len(self.dataset)

    def __getattr__(self, name: str) -> Any:
        # Only called for names not found normally. Reading through __dict__ keeps
        # unpickling (empty __dict__) and copy from recursing into this method.
        if name.startswith("__") or name in _OWN:
            raise AttributeError(name)
        try:
            wrapped = self.__dict__["dataset"]
        except KeyError:
            raise AttributeError(name) from None
        return getattr(wrapped, name)

    def __setattr__(self, name: str, value: Any) -> None:
        wrapped = self.__dict__.get("dataset")
        if name not in _OWN and wrapped is not None and hasattr(wrapped, name):
            setattr(wrapped, name, value)  # ds.transform = ... must reach the dataset that uses it
        else:
            object.__setattr__(self, name, value)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(dir(self.dataset)))

    def __repr__(self) -> str:
        inner = "\n".join("    " + line for line in repr(self.dataset).splitlines())
        return (f"{type(self).__name__}(\n{inner}\n    contract={self.contract!r}, on_error={self.on_error!r})")

    # -- checking -------------------------------------------------------------------
    def __getitem__(self, index: int) -> Any:
        if type(index) is int and index < 0 and self._in_range(index):
            index += len(self.dataset)  # records name the sample as a sampler would: ds[-1] is len - 1
        if self.on_error == "fix" and self.contract.channels in (1, 3):
            folder = self._default_loader_folder(index)
            if folder is not None:
                return self._fix_at_source(index, folder)
        try:
            sample = self.dataset[index]
        except Exception as exc:
            if isinstance(exc, IndexError) and not self._in_range(index):
                raise  # the sequence protocol and samplers rely on IndexError past the end
            return self._failed(index, self._source(index), exc)
        return self.guard(sample, index)

    def guard(self, sample: Any, index: Optional[int], source: Optional[str] = None) -> Any:
        """Check one sample; return it (fixed, in ``"fix"`` mode), a Skipped record, or raise."""
        try:
            slot = image_slot(sample, self.image_key)
        except ImageNotFound as exc:
            found = [Violation(Reason.TYPE, "a sample with an image", type(sample).__name__, str(exc))]
            return self._violated(index, source, sample, None, found)
        found = self.contract.check(get_image(sample, slot))
        if not found:
            return sample
        return self._violated(index, source, sample, slot, found)

    def _default_loader_folder(self, index: int) -> Optional[FolderSample]:
        from ._source_loading import replaces_default_loader

        hit = locate(self.dataset, index)
        if hit is None or not hit.can_reload or not replaces_default_loader(hit.dataset):
            return None
        return hit

    def _fix_at_source(self, index: int, folder: FolderSample) -> Any:
        """Load the file ourselves so channels are converted before the transform
        (see :mod:`pipeguard.data._source_loading`); then fix what is left on the output."""
        from ._repair import Repair
        from ._source_loading import load_converted

        try:
            image, converted = load_converted(folder.path, self.contract.channels)
            sample = folder.finish(image)
        except Exception as exc:
            return self._failed(index, folder.path, exc)
        found = self.contract.check(sample[0])
        if found:
            try:
                fixed = repair(self.contract, sample, 0, found, size_policy=self.size_policy, folder=None)
            except Unfixable as exc:
                return self._act(self._error(index, folder.path, sample, 0, exc.violations or found))
            reasons = ((Reason.CHANNELS,) if converted else ()) + fixed.reasons
            return self._count_fixed(index, folder.path, Repair(fixed.sample, tuple(dict.fromkeys(reasons))))
        if converted:
            return self._count_fixed(index, folder.path, Repair(sample, (Reason.CHANNELS,)))
        return sample

    def _in_range(self, index: Any) -> bool:
        try:
            n = len(self.dataset)
            return -n <= index < n
        except TypeError:
            return True

    def _source(self, index: Optional[int]) -> Optional[str]:
        return source_of(self.dataset, index, self.source_fn)

    def _folder(self, index: Optional[int], sample: Any) -> Optional[FolderSample]:
        """The sample's folder-like home when re-loading it gives the same kind of sample."""
        hit = None if index is None else locate(self.dataset, index)
        if hit is None or not hit.can_reload:
            return None
        # DatasetFolder returns (image, target); only re-build samples of that shape.
        if sample is not None and not (isinstance(sample, tuple) and len(sample) == 2):
            return None
        return hit

    def _violated(self, index, source, sample, slot, found: list[Violation]) -> Any:
        source = source or self._source(index)
        if self.on_error == "fix":
            try:
                fixed = repair(self.contract, sample, slot, found, size_policy=self.size_policy,
                               folder=self._folder(index, sample))
            except Unfixable as exc:
                found = exc.violations or found
            else:
                return self._count_fixed(index, source, fixed)
        err = self._error(index, source, sample, slot, found)
        return self._act(err)

    def _failed(self, index, source, exc: BaseException) -> Any:
        if self.on_error == "fix":
            try:
                fixed = repair(self.contract, None, None, [], size_policy=self.size_policy,
                               folder=self._folder(index, None))
            except Unfixable:
                pass
            else:
                return self._count_fixed(index, source, fixed)
        if isinstance(exc, ContractViolation):
            # A pg.Validate/EnsureSize in the transform refused the sample: keep its
            # checks, numbers and diagnosis rather than calling the file unreadable.
            stage = (self._trace_stage(index) if self.on_error == "raise" else None) or exc.stage
            return self._act(exc.with_context(index=index, source=source, stage=stage), cause=exc)
        err = unreadable_error(self.contract, exc, index=index, source=source,
                               stage=self._failure_stage(index))
        return self._act(err, cause=exc)

    def _error(self, index, source, sample, slot, found) -> ContractViolation:
        from ..core import inspect, violation_error

        try:
            info = inspect(get_image(sample, slot), self.contract)
        except Exception:  # not an image at all (a TYPE violation): no shape to report
            info = None
        stage = self._trace_stage(index) if self.on_error == "raise" else None
        return violation_error(self.contract, info, found, index=index, source=source, stage=stage)

    def _act(self, err: ContractViolation, cause: Optional[BaseException] = None) -> Any:
        if self.on_error == "raise" and not self._defer:
            raise err from cause  # a record never holds the cause: its traceback pins whole frames
        record = Skipped.from_violation(err)
        if self.on_error != "raise" and not self._defer:  # a loader worker's record is handed over, not kept
            self.skipped.append(record)
        logger.debug("skipping %s", record.message)
        return record

    def _count_fixed(self, index, source, fixed) -> Any:
        self.fixed += 1
        for reason in fixed.reasons:
            self.fixed_by_reason[reason] += 1
        self._unshipped[None] += 1
        self._unshipped.update(fixed.reasons)
        logger.debug("fixed sample %s (%s): %s", index, source, ", ".join(r.value for r in fixed.reasons))
        return fixed.sample

    def drain_fixed(self) -> collections.Counter:
        """Fix counts since the last call (``None`` key: samples; Reason keys: per reason)."""
        out = self._unshipped
        self.__dict__["_unshipped"] = collections.Counter()
        return out

    # -- where it broke -------------------------------------------------------------
    def _trace_stage(self, index: Optional[int]) -> Optional[str]:
        if not self.trace_errors:
            return None
        from ._stage import trace_stage

        return trace_stage(self.dataset, index, self.contract)

    def _failure_stage(self, index: Optional[int]) -> Optional[str]:
        from ._stage import failure_stage

        return failure_stage(self.dataset, index, self.contract,
                             trace=self.trace_errors and self.on_error == "raise")


def unreadable_error(contract: Contract, exc: BaseException, *, index: Optional[int],
                     source: Optional[str], stage: Optional[str]) -> ContractViolation:
    """The violation for a sample the wrapped dataset could not produce."""
    text = first_line(exc, "(no message)")
    kind = type(exc).__name__
    violation = Violation(Reason.UNREADABLE, "a readable sample", kind,
                          f"the dataset raised {kind}: {text}")
    return ContractViolation(violations=[violation], index=index, source=source, stage=stage,
                             contract_name=contract.name)


class StreamFailure(Skipped):
    """The record of an iterable dataset whose iterator raised in a loader worker.

    The stream cannot resume, so :class:`~pipeguard.GuardedDataLoader` raises its
    violation in every mode instead of filing it under ``skipped``.
    """


class GuardedIterableDataset(GuardedDataset, IterableDataset):
    """The iterable-style variant :class:`GuardedDataset` becomes for an ``IterableDataset``.

    ``index`` is the sample's position in this iterator (per worker process when
    the wrapped dataset shards itself across workers). An exception raised by the
    wrapped iterator ends the stream (a generator cannot resume), so it is raised as
    a :class:`~pipeguard.ContractViolation` in every mode.
    """

    def __getitem__(self, index: int) -> Any:
        raise TypeError(f"{type(self.dataset).__name__} is an iterable dataset: iterate over it instead of indexing")

    def __iter__(self) -> Iterator[Any]:
        position = -1
        iterator = iter(self.dataset)
        while True:
            try:
                sample = next(iterator)
            except StopIteration:
                return
            except Exception as exc:
                err = unreadable_error(self.contract, exc, index=position + 1, source=None,
                                       stage="iterating the wrapped dataset")
                if self._defer:  # in a GuardedDataLoader worker: travel as data, keep every field
                    yield StreamFailure.from_violation(err)
                    return
                raise err from exc
            position += 1
            yield self.guard(sample, position)

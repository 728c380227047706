"""``ContractCheck``: the contract checked where a Lightning fit starts, before any optimizer step."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Optional

from ..core import Contract
from ..data import ImageNotFound, get_image, image_slot
from ..testing import batch_violation, input_shape, trace_failure, trace_with
from ._import import Callback
from ._target import trace_target

logger = logging.getLogger(__name__)


class ContractCheck(Callback):
    """Check the model and the training batches against a contract when ``fit`` starts.

    At fit start the LightningModule is traced on the meta device with one sample of the
    contract (:func:`pipeguard.trace_model`: no weight copied, nothing computed); the
    first training batch is then checked as ``[N, C, H, W]`` (or ``numel`` per row).
    A module without ``forward`` (its ``training_step`` calls ``self.net(x)``) has its one
    direct submodule with weights traced instead, and a failure of that trace is a logged
    warning, not an error (``training_step`` may reshape the batch before the net); without
    one such network, the log warns once that the model could not be traced. Either way
    the batches are checked.
    Either failure raises :class:`~pipeguard.ContractViolation` before the first
    optimizer step. With ``every_batch=True`` every later batch is compared with the
    first one's per-sample shape and dtype (one tuple comparison), and explained only
    when it differs. Batches are never changed.

    Args:
        contract: what a sample must be; ``None`` reads it from the model's first layer
            (:meth:`Contract.from_model`). A contract with channels but no size is traced
            at the first batch's height × width.
        every_batch: check each training batch, not only the first.

    Example:
        >>> trainer = Trainer(callbacks=[ContractCheck(pg.Contract(channels=3, size=(224, 224)))])
    """

    def __init__(self, contract: Optional[Contract] = None, every_batch: bool = False) -> None:
        super().__init__()
        if contract is not None and not isinstance(contract, Contract):
            raise TypeError(f"contract should be a pipeguard.Contract or None, but got {type(contract).__name__}")
        from ..core import images_only

        images_only(contract, "ContractCheck")  # batches are checked as images
        self.contract = contract
        self.every_batch = every_batch
        self._used: Optional[Contract] = None
        self._traced = False
        self._first: Optional[tuple] = None  # (image slot, per-sample shape, dtype) of the first batch

    def __repr__(self) -> str:
        return f"ContractCheck(contract={self.contract!r}, every_batch={self.every_batch})"

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        self._used = self.contract if self.contract is not None else _from_model(pl_module)
        self._traced, self._first = False, None
        shape = input_shape(self._used)
        if shape is not None:
            self._trace(pl_module, shape)

    def on_train_batch_start(self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int) -> None:
        if self._first is not None:
            if self.every_batch and _signature(batch, self._first[0]) != self._first:
                self._check(batch, batch_idx, trainer)
                assert self._used is not None  # set at fit start
                pinned = _pinned(self._used, self._first)
                if pinned is not self._used:  # what the contract left open, as the first batch had it
                    self._check(batch, batch_idx, trainer, pinned)
            return
        self._check(batch, batch_idx, trainer)
        images = get_image(batch, image_slot(batch))
        if not self._traced:  # channels without size: trace at this batch's height × width
            shape = input_shape(self._used, tuple(images.shape[-2:]))
            if shape is not None:
                self._trace(pl_module, shape)
        self._first = _signature(batch, image_slot(batch))

    def _check(self, batch: Any, batch_idx: int, trainer: Any, contract: Optional[Contract] = None) -> None:
        where = f"training batch {batch_idx} of epoch {trainer.current_epoch}, before the optimizer step"
        err = batch_violation(self._used if contract is None else contract, batch, where)
        if err is not None:
            raise err

    def _trace(self, pl_module: Any, shape: tuple[int, ...]) -> None:
        assert self._used is not None  # set at fit start
        self._traced = True
        target = trace_target(pl_module)
        if target.module is None:  # no forward and no one network: the batches are still checked
            logger.warning("%s", target.note)
            return
        if target.note is not None:
            logger.info("%s", target.note)
        trace = dataclasses.replace(trace_with(target.module, self._used, shape), model=target.name)
        err = trace_failure(trace, self._used)
        if err is not None and target.note is not None:
            # a guess: training_step may reshape the batch before the net (x.view(len(x), -1)),
            # so a failure is told, not raised; a batch that breaks the contract still raises
            logger.warning("%s\n(not raised: %s is traced in place of the missing forward, and training_step "
                           "may change the batch before it)", err, target.name)
        elif err is not None:
            raise err
        logger.debug("%s accepts %s", target.name, list(shape))


def _from_model(pl_module: Any) -> Contract:
    try:
        return Contract.from_model(pl_module)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"ContractCheck() could not read a contract from {type(pl_module).__name__} ({exc}); "
                         "pass one: ContractCheck(pg.Contract(channels=..., size=(h, w)))") from exc


def _pinned(contract: Contract, first: Optional[tuple]) -> Contract:
    """``contract`` with what it leaves open (channels, size) taken from the first batch's
    samples: ``every_batch`` compares later batches with the first one's shape."""
    shape: tuple = first[1] if first is not None else ()
    if len(shape) != 3 or (contract.channels is not None and contract.size is not None):
        return contract
    c, h, w = shape
    return Contract(channels=c if contract.channels is None else contract.channels,
                    size=(h, w) if contract.size is None else contract.size,
                    name=f"{contract.name or 'the contract'}, sized by the first batch")


def _signature(batch: Any, slot: Any) -> Optional[tuple]:
    """``(slot, per-sample shape, dtype)`` of a batch's images: what ``every_batch`` compares."""
    try:
        images = get_image(batch, slot)
        return (slot, tuple(images.shape[1:]), images.dtype)
    except (ImageNotFound, LookupError, TypeError, AttributeError, IndexError):
        return None

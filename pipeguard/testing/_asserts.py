"""``assert_conforms`` and ``assert_model_accepts``: pipeguard's checks as test assertions."""

from __future__ import annotations

import os
from typing import Any, Optional

from ..core import Contract, ContractViolation, as_contract, images_only

SHOWN_FILES = 10  # problem files listed in a failing folder assertion


def assert_conforms(obj: Any, contract: Any, samples: Optional[int] = None) -> None:
    """Assert that a dataset, a DataLoader or a folder of images (or one sample) meets ``contract``.

    - a folder (a path): every file is scanned from its header (:func:`pipeguard.scan`);
      the assertion fails on any ``violation`` or ``unreadable`` file and lists them.
    - a ``DataLoader``: its batches are checked as ``[N, C, H, W]`` (or ``numel`` per
      row), as :class:`~pipeguard.GuardedDataLoader` checks them.
    - any other dataset (map-style or iterable, a Hugging Face ``datasets.Dataset`` too):
      each sample is checked as :class:`~pipeguard.GuardedDataset` does, with the
      trace of the failing sample through an ``ImageFolder``-like transform.
    - an image, array or tensor: checked as ``contract.validate`` checks it (a tensor
      ``[N, C, H, W]`` as a batch).

    Args:
        obj: the folder, loader or dataset.
        contract: a :class:`~pipeguard.Contract`, a dict of its fields, or a contract file.
        samples: check at most this many samples (the first ones; for a loader, the
            batches that hold them); ``None`` for all. A folder is always scanned whole.

    Raises:
        AssertionError: the first failing sample's or batch's explanation (expected vs
            actual, diagnosis, fix), or the folder's problem files.
    """
    contract = as_contract(contract, required=True)
    images_only(contract, "assert_conforms")
    if isinstance(obj, (str, os.PathLike)):
        return _assert_folder(obj, contract)
    try:
        if _is_sample(obj):
            contract.validate(obj)
        elif _is_loader(obj):
            _check_loader(obj, contract, samples)
        else:
            _check_dataset(obj, contract, samples)
    except ContractViolation as err:
        raise AssertionError(str(err)) from err


def assert_model_accepts(model: Any, contract: Any) -> None:
    """Assert that ``model`` runs on one sample of ``contract`` (``[1, C, H, W]`` or ``[1, numel]``).

    The model is traced on the meta device (:func:`pipeguard.trace_model`): no weight is
    copied and nothing is computed.

    Raises:
        AssertionError: the trace's explanation: the layer that breaks, the numbers, the fix.
        ValueError: the contract gives channels without size (or size without channels):
            no input shape to trace.
    """
    from ._model_check import input_shape, trace_failure, trace_with

    contract = as_contract(contract, required=True)
    shape = input_shape(contract)
    if shape is None:
        raise ValueError(f"{contract!r} gives no input shape to trace: set channels and size, or numel alone")
    err = trace_failure(trace_with(model, contract, shape), contract)
    if err is not None:
        raise AssertionError(str(err)) from err


def _is_sample(obj: Any) -> bool:
    """An image or a batch itself (PIL image, numpy array, tensor), not a collection of samples."""
    import numpy as np
    import torch
    from PIL import Image

    return isinstance(obj, (Image.Image, np.ndarray, torch.Tensor))


def _is_loader(obj: Any) -> bool:
    from torch.utils.data import DataLoader

    return isinstance(obj, DataLoader)


def _check_loader(loader: Any, contract: Contract, samples: Optional[int]) -> None:
    from ._batch import batch_violation

    seen = 0
    for number, batch in enumerate(loader):
        err = batch_violation(contract, batch, f"batch {number} of the DataLoader")
        if err is not None:
            raise err
        seen += _batch_length(batch)
        if samples is not None and seen >= samples:
            return


def _batch_length(batch: Any) -> int:
    from ..data import get_image, image_slot

    try:
        return len(get_image(batch, image_slot(batch)))
    except Exception:  # a batch without an image: batch_error has said so already
        return 1


def _check_dataset(dataset: Any, contract: Contract, samples: Optional[int]) -> None:
    from torch.utils.data import IterableDataset

    from ..data import GuardedDataset

    guarded = GuardedDataset(dataset, contract, on_error="raise")
    if isinstance(dataset, IterableDataset) or not hasattr(dataset, "__len__"):
        for position, _ in enumerate(guarded):
            if samples is not None and position + 1 >= samples:
                return
        return
    for index in range(len(dataset) if samples is None else min(samples, len(dataset))):
        guarded[index]


def _assert_folder(folder: Any, contract: Contract) -> None:
    from ..scanner import PROBLEMS, row_message, row_name, scan

    report = scan(folder, contract=contract)
    if report.ok:
        return
    problems = [row for row in report.rows() if row["status"] in PROBLEMS]
    name = f"contract {contract.name!r}" if contract.name else "the contract"
    lines = [f"{len(problems)} of {len(report.frame)} files under {os.fspath(folder)} do not meet {name} "
             f"{list(contract.shape) if contract.shape else ''}".rstrip()]
    lines += [f"  {row_name(row)}: {row_message(row)}" for row in problems[:SHOWN_FILES]]
    if len(problems) > SHOWN_FILES:
        lines.append(f"  … and {len(problems) - SHOWN_FILES} more")
    raise AssertionError("\n".join(lines))

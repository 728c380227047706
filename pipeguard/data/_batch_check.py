"""Checks a collated batch: ``[N, C, H, W]`` per the contract, or ``numel`` per row.

Metadata only (shape and dtype): the per-sample checks already read pixels where a
value range asks for it.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import TYPE_CHECKING, Any, Hashable, Optional

from ..core import ContractViolation, Reason, Violation
from ..diagnosis import Dims, first_line, numbers
from ._sample_parts import ImageNotFound, get_image, image_slot

if TYPE_CHECKING:
    from ..core import Contract

STAGE = "collate"


def batch_error(contract: Contract, batch: Any, image_key: Optional[Hashable] = None,
                samples: Optional[int] = None) -> Optional[ContractViolation]:
    """The violation of a collated ``batch``, or ``None`` when its images conform.

    ``samples`` is how many samples went into the collate; the expected shape is built
    from it (a collate that concatenates instead of stacking makes ``shape[0]`` lie).
    """
    import torch

    try:
        images = get_image(batch, image_slot(batch, image_key))
    except ImageNotFound as exc:
        return _error(contract, [Violation(Reason.COLLATE, "a batch with images", type(batch).__name__,
                                           f"has no image slot: {exc}")])
    if not isinstance(images, torch.Tensor):
        what = type(images).__name__
        return _error(contract, [Violation(Reason.COLLATE, "a tensor batch", what,
                                           f"collated into a {what}, not a tensor [N, C, H, W] "
                                           "(pass check_batch=False if the collate_fn means to)")])
    shape = tuple(images.shape)
    rows = samples if samples is not None else shape[0] if shape else 1
    if contract.channels is not None or contract.size is not None:
        return _image_batch_error(contract, images, rows)
    return _row_batch_error(contract, images, rows)


def _image_batch_error(contract: Contract, images: Any, rows: int) -> Optional[ContractViolation]:
    """An ``[N, C, H, W]`` batch checked like a sample, for a contract with channels or size."""
    from ..core import check_info, inspect, violation_error

    shape = tuple(images.shape)
    if len(shape) != 4:
        per_sample = contract.shape or (contract.channels, *(contract.size or (None, None)))
        found = [Violation(Reason.RANK, 4, len(shape),
                           f"is {numbers.shape(shape)} ({numbers.plural(len(shape), 'dimension')}), "
                           f"not an [N, C, H, W] batch of {numbers.shape(per_sample)}")]
        expected = Dims((rows, *per_sample), rows * contract.numel if contract.numel else None)
        return _error(contract, found, expected=expected, actual=Dims(shape, math.prod(shape)), rows=rows)
    info = inspect(images, contract)
    found = check_info(contract, info)
    return as_batch_error(violation_error(contract, info, found, stage=STAGE), rows) if found else None


def _row_batch_error(contract: Contract, images: Any, rows: int) -> Optional[ContractViolation]:
    """A batch checked per row, for a contract that gives only ``numel`` (and ``dtype``)."""
    shape = tuple(images.shape)
    found = []
    if contract.numel is not None:
        row = math.prod(shape[1:]) if len(shape) > 1 else None
        if row != contract.numel:
            what = f"{numbers.count(row)} elements per row" if row is not None else "no batch dimension"
            found.append(Violation(Reason.NUMEL, contract.numel, row,
                                   f"is {numbers.shape(shape)}: {what}, "
                                   f"not the {numbers.count(contract.numel)} expected"))
    dtype = numbers.torch_dtype_name(images.dtype)
    if contract.dtype is not None and dtype != contract.dtype:
        found.append(Violation(Reason.DTYPE, contract.dtype, dtype, f"is {dtype}, not the {contract.dtype} expected"))
    if not found:
        return None
    expected = Dims((rows, contract.numel), rows * contract.numel) if contract.numel else None
    return _error(contract, found, expected=expected, actual=Dims(shape, math.prod(shape)), rows=rows)


def as_batch_error(err: ContractViolation, rows: Optional[int]) -> ContractViolation:
    """The same error, its headline naming the batch rather than "sample"."""
    first, _, rest = str(err).partition("\n")
    what = f"the batch of {numbers.plural(rows, 'sample')}" if rows is not None else "the batch"
    headline = what + first.removeprefix("sample")
    return ContractViolation(headline + ("\n" + rest if rest else ""), expected=err.expected, actual=err.actual,
                             violations=err.violations, stage=err.stage, diagnosis=err.diagnosis,
                             contract_name=err.contract_name)


def _error(contract: Contract, found: list[Violation], *, expected: Optional[Dims] = None,
           actual: Optional[Dims] = None, rows: Optional[int] = None) -> ContractViolation:
    diagnosis = None
    if expected is not None and actual is not None and expected.numel and actual.numel:
        from ..diagnosis import explain

        try:
            diagnosis = explain(expected, actual)
        except Exception:
            diagnosis = None
    return as_batch_error(ContractViolation(expected=expected, actual=actual, violations=found, stage=STAGE,
                                       diagnosis=diagnosis, contract_name=contract.name), rows)


def collate_failure(contract: Contract, exc: BaseException, samples: list,
                    image_key: Optional[Hashable]) -> ContractViolation:
    """A collate that raised: name the shapes that could not be stacked together."""
    from ..core import inspect

    shapes: Counter = Counter()
    for sample in samples:
        try:
            shapes[numbers.shape(inspect(get_image(sample, image_slot(sample, image_key))).shape)] += 1
        except Exception:
            shapes[type(sample).__name__] += 1
    mix = ", ".join(f"{s} ×{n}" for s, n in shapes.most_common())
    text = first_line(exc, type(exc).__name__)
    violation = Violation(Reason.COLLATE, "samples of one shape", mix,
                          f"could not be collated ({type(exc).__name__}: {text}); the "
                          f"{numbers.plural(len(samples), 'sample')} have shapes {mix}")
    return _error(contract, [violation], rows=len(samples))

"""Does a model accept a contract's input: the trace, and the error that says why not."""

from __future__ import annotations

from typing import Any, Optional

from ..core import Contract, ContractViolation
from ..diagnosis import Dims
from ..model import ModelTrace, trace_model


def input_shape(contract: Contract, size: Optional[tuple[int, int]] = None) -> Optional[tuple[int, ...]]:
    """The one-sample input ``[1, C, H, W]`` (or ``[1, numel]``) a contract describes, or ``None``.

    ``size`` (height, width) stands in for a contract that gives channels but no size.
    """
    size = contract.size or size
    if contract.channels is not None and size is not None:
        return (1, contract.channels, *size)
    if contract.channels is None and contract.size is None and contract.numel is not None:
        return (1, contract.numel)
    return None


def trace_with(model: Any, contract: Contract, shape: tuple[int, ...]) -> ModelTrace:
    """Trace ``model`` on an input of ``shape`` in the contract's dtype (float32 when it has none)."""
    import torch

    return trace_model(model, shape, getattr(torch, contract.dtype) if contract.dtype else None)


def trace_failure(trace: ModelTrace, contract: Contract) -> Optional[ContractViolation]:
    """``None`` when the trace ran through, else a violation whose text is the trace's explanation."""
    if trace.ok:
        return None
    assert trace.error is not None  # not ok: a layer broke
    name = f"contract {contract.name!r}" if contract.name else "the contract"
    shape = list(trace.input_shape)
    headline = f"{trace.model} does not accept {name}: an input of {shape} ({trace.dtype}) breaks it"
    return ContractViolation(f"{headline}\n{trace}", expected=Dims(tuple(trace.input_shape)),
                             stage=f"model trace: {trace.error.where}", contract_name=contract.name)

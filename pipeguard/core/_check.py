"""Checks a sample's metadata against a contract; returns violations, raises only in ``validate``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from ..diagnosis import Dims, numbers
from ._errors import ContractViolation, Reason, Violation
from ._inspect import SampleInfo, inspect
from ._targets import Targets, check_targets, split_sample, targets_of

if TYPE_CHECKING:
    from . import Contract  # the package: _contract calls into this module


def check(contract: Contract, x: Any) -> list[Violation]:
    """Every way ``x`` fails ``contract`` (empty when it conforms). Never raises.

    ``x`` is an image alone, ``(image, target)`` or a dict (see :mod:`._targets`); the
    targets are checked only when the contract has a ``mask`` or ``boxes`` rule.
    """
    parts = split_sample(x)
    if parts is None:
        return check_parts(contract, x, Targets())
    return check_parts(contract, parts[0], targets_of(parts[1]) if contract.has_targets else Targets())


def check_parts(contract: Contract, image: Any, targets: Targets) -> list[Violation]:
    """Every way ``image`` and its ``targets`` fail ``contract``. Never raises."""
    try:
        info = inspect(image, contract)
    except TypeError:
        return [_type_violation(image)]
    except Exception as exc:  # an object whose metadata itself cannot be read
        return [Violation(Reason.TYPE, "an image or tensor", type(image).__name__,
                          f"could not be inspected ({type(exc).__name__}: {exc})")]
    try:
        found = check_info(contract, info)
        if not found and contract.value_range is not None and info.is_tensor:
            found = _check_range(contract, image)
        if contract.has_targets:
            found = found + check_targets(contract, info.size, targets)
        return found
    except Exception as exc:  # pragma: no cover - defensive: check must never raise
        return [Violation(Reason.TYPE, "a checkable sample", info.kind, f"could not be checked ({exc!r})")]


def check_info(contract: Contract, info: SampleInfo) -> list[Violation]:
    """The metadata checks (no pixels) of ``info`` against ``contract``."""
    found: list[Violation] = []
    if info.layout == "unknown":
        rank = len(info.shape)
        return [Violation(Reason.RANK, "1 to 4 dimensions", rank,
                          f"has {numbers.plural(rank, 'dimension')} {numbers.shape(info.shape)}, "
                          "not 1 to 4 (flat, HW, CHW, NCHW) expected")]
    if info.channels_last and info.is_tensor:
        found.append(Violation(Reason.LAYOUT, "channels-first", info.layout,
                               f"is a channels-last {info.layout} tensor {numbers.shape(info.shape)}, "
                               f"not the channels-first {'NCHW' if info.batch else 'CHW'} expected"))
    elif info.layout in ("CHW", "NCHW") and info.kind == "numpy.ndarray":
        found.append(Violation(Reason.LAYOUT, "channels-last", info.layout,
                               f"is a channels-first {info.layout} array {numbers.shape(info.shape)}, "
                               "not the HWC that ToTensor()/ToImage() expect"))
    if contract.channels is not None and info.channels is not None and info.channels != contract.channels:
        mode = f" (mode {info.mode!r})" if info.mode else ""
        found.append(Violation(Reason.CHANNELS, contract.channels, info.channels,
                               f"has {numbers.plural(info.channels, 'channel')}{mode}, "
                               f"not the {contract.channels} expected"))
    if contract.size is not None and info.height is not None and info.size != contract.size:
        found.append(Violation(Reason.SIZE, contract.size, info.size,
                               f"is {info.height}×{info.width} (H×W), "
                               f"not the {contract.height}×{contract.width} expected"))
    if contract.numel is not None and info.numel != contract.numel and not any(
            v.reason in (Reason.CHANNELS, Reason.SIZE) for v in found):
        found.append(Violation(Reason.NUMEL, contract.numel, info.numel,
                               f"has {numbers.count(info.numel)} elements per sample, "
                               f"not the {numbers.count(contract.numel)} expected"))
    if contract.dtype is not None and info.is_tensor and info.dtype != contract.dtype:
        found.append(Violation(Reason.DTYPE, contract.dtype, info.dtype,
                               f"is {info.dtype}, not the {contract.dtype} expected"))
    return found


def _check_range(contract: Contract, x: Any) -> list[Violation]:
    import torch

    t = x.as_subclass(torch.Tensor) if isinstance(x, torch.Tensor) else torch.as_tensor(x)
    if t.numel() == 0:
        return []
    if t.dtype == torch.bool:
        t = t.to(torch.uint8)
    lo, hi = (v.item() for v in torch.aminmax(t))
    assert contract.value_range is not None  # check() calls this only when the contract has a range
    want_lo, want_hi = contract.value_range
    if lo >= want_lo and hi <= want_hi:
        return []
    return [Violation(Reason.RANGE, contract.value_range, (lo, hi),
                      f"has values in [{lo:g}, {hi:g}], outside the [{want_lo:g}, {want_hi:g}] expected")]


def _type_violation(x: Any) -> Violation:
    from ._registry import supported_types, type_name

    kind = "None" if x is None else type_name(x)
    return Violation(Reason.TYPE, "an image or tensor", kind,
                     f"is {kind}, not an image or tensor ({', '.join(supported_types())})")


def violation_error(contract: Contract, info: Optional[SampleInfo], violations: list[Violation], *,
                    index: Optional[int] = None, source: Optional[str] = None,
                    stage: Optional[str] = None) -> ContractViolation:
    """Build the ContractViolation for ``violations`` found on ``info``, with its diagnosis."""
    from ._diagnose import diagnose, expected_dims

    actual = None if info is None else Dims(tuple(info.shape), numbers.product(info.shape))
    expected = expected_dims(contract, info)
    return ContractViolation(
        expected=expected, actual=actual, violations=violations, index=index, source=source,
        stage=stage, diagnosis=diagnose(contract, info, violations), contract_name=contract.name)


def validate(contract: Contract, x: Any, *, index: Optional[int] = None, source: Optional[str] = None,
             stage: Optional[str] = None) -> Any:
    found = check(contract, x)
    if not found:
        return x
    parts = split_sample(x)
    raise parts_error(contract, x if parts is None else parts[0], found, index=index, source=source, stage=stage)


def parts_error(contract: Contract, image: Any, violations: list[Violation], *, index: Optional[int] = None,
                source: Optional[str] = None, stage: Optional[str] = None) -> ContractViolation:
    """The ContractViolation for ``violations`` found on a sample whose image is ``image``."""
    try:
        info: Optional[SampleInfo] = inspect(image, contract)
    except Exception:
        info = None
    return violation_error(contract, info, violations, index=index, source=source, stage=stage)

"""``on_error="fix"``: turn a failing sample into a conforming one, or say why it cannot be.

Channel problems are fixed where the colours are still known: for a folder-like
dataset (``ImageFolder``: ``samples`` + ``loader`` + ``transform``) the raw image is
re-loaded and converted with :class:`~pipeguard.EnsureChannels` *before* the
transform runs, so CMYK, palette and alpha images come out in the right colours.
Size problems are fixed on the transform's output (the contract's size is the size
the model sees) with :class:`~pipeguard.EnsureSize` and the dataset's size policy.
Anything else (an unreadable file, a wrong dtype or layout) is not fixable here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Hashable, NamedTuple, Optional

from ..core import ContractViolation, Reason, Violation
from ._sample_parts import get_image, replace_image
from ._sample_source import FolderSample

if TYPE_CHECKING:
    from ..core import Contract

FIXABLE = frozenset({Reason.CHANNELS, Reason.SIZE})


class Repair(NamedTuple):
    """A fixed sample and the reasons it needed fixing."""

    sample: Any
    reasons: tuple[Reason, ...]


class Unfixable(Exception):
    """A sample that stays broken; carries the violations still found, or the exception that stopped the fix."""

    def __init__(self, violations: list[Violation], cause: Optional[BaseException] = None) -> None:
        self.violations = violations
        self.cause = cause
        super().__init__("; ".join(str(v) for v in violations) or repr(cause))


def is_fixable(violations: list[Violation], contract: Contract, size_policy: str) -> bool:
    for v in violations:
        if v.reason not in FIXABLE:
            return False
        if v.reason is Reason.SIZE and size_policy == "raise":
            return False
        if v.reason is Reason.CHANNELS and contract.channels not in (1, 3):
            return False  # EnsureChannels converts to 1 or 3 channels only
    return True


def _convert(image: Any, contract: Contract, reasons: set, size_policy: str) -> Any:
    # on the first fix only
    from ..transforms import EnsureChannels, EnsureSize

    if Reason.CHANNELS in reasons and contract.channels is not None:
        image = EnsureChannels(contract.channels)(image)
    if Reason.SIZE in reasons and contract.size is not None:
        image = EnsureSize(contract.size, policy=size_policy)(image)
    return image


def repair(contract: Contract, sample: Any, slot: Optional[Hashable], found: list[Violation], *,
           folder: Optional[FolderSample], size_policy: str) -> Repair:
    """Fix ``sample`` (``None`` when the dataset raised) or raise :class:`Unfixable`.

    Args:
        contract: the contract to meet.
        sample: what the dataset returned, or ``None`` if it raised.
        slot: where the image is in ``sample`` (see :mod:`pipeguard.data._sample_parts`).
        found: the violations of ``sample`` (ignored when ``sample`` is ``None``).
        folder: the sample's folder-like home when it can be re-loaded, else ``None``.
        size_policy: ``EnsureSize`` policy for size problems.
    """
    if sample is not None and not is_fixable(found, contract, size_policy):
        raise Unfixable(found)
    reasons: list[Reason] = [v.reason for v in found] if sample is not None else []
    if folder is None and sample is None:
        raise Unfixable([])
    try:
        if folder is not None:
            sample, slot = _reload(folder, contract, size_policy, reasons), 0
        sample, left = _fix_image(sample, slot, contract, size_policy, reasons)
    except ContractViolation as exc:  # a conversion refused (e.g. it would blank the image): say why
        raise Unfixable(exc.violations, exc) from exc
    except Exception as exc:
        raise Unfixable([], exc) from exc
    if left:
        raise Unfixable(left)
    return Repair(sample, tuple(dict.fromkeys(reasons)))


def _reload(folder: FolderSample, contract: Contract, size_policy: str, reasons: list[Reason]) -> Any:
    """The sample re-loaded from its file, channels converted on the raw image where needed.
    An unreadable file raises here: not fixable."""
    raw = folder.load_raw()
    raw_found = contract.check(raw) if contract.channels is not None else []
    if any(v.reason is Reason.CHANNELS for v in raw_found):
        raw = _convert(raw, contract, {Reason.CHANNELS}, size_policy)
        reasons.append(Reason.CHANNELS)
    return folder.finish(raw)


def _fix_image(sample: Any, slot: Optional[Hashable], contract: Contract, size_policy: str,
               reasons: list[Reason]) -> tuple[Any, list[Violation]]:
    """``sample`` with its image converted where that helps, and the violations left."""
    image = get_image(sample, slot)
    left = contract.check(image)
    if not left or not is_fixable(left, contract, size_policy):
        return sample, left
    image = _convert(image, contract, {v.reason for v in left}, size_policy)
    reasons.extend(v.reason for v in left)
    return replace_image(sample, slot, image), contract.check(image)

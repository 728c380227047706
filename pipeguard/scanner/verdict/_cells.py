"""What a failed check reads in the violations table: one row per failing check,
``path, member, check, expected, actual``; ``check`` is the value of a
:class:`~pipeguard.Reason` (``channels``, ``size`` or ``numel``), values are text such as
``"3"`` or ``"64x64"`` (height x width, as ``--size`` takes it). Shared by the verdict
(:mod:`._judge`) and the pandera schema (:mod:`._schema`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from ...core import Reason
from ...diagnosis import ensure_channels, ensure_size, size_text
from .._columns import text_dtype

if TYPE_CHECKING:
    from ...core import Contract

VIOLATION_COLUMNS = ("path", "member", "check", "expected", "actual")
CHECKS = (Reason.CHANNELS, Reason.SIZE, Reason.NUMEL)  # the checks a scan makes, in report order


def violation_table(rows: list[tuple]) -> Any:
    """The violations table of ``rows`` ``(path, member, check, expected, actual)``."""
    import pandas as pd

    table = pd.DataFrame(rows, columns=list(VIOLATION_COLUMNS), dtype=text_dtype())
    table["member"] = pd.Series([row[1] for row in rows], dtype=object)  # None for a plain file
    return table


def expected_text(contract: Contract, check: Reason) -> str:
    if check is Reason.CHANNELS:
        return str(contract.channels)
    if check is Reason.SIZE:
        return size_text(contract.height, contract.width)
    return str(contract.numel)


def _text(value: Any) -> str:
    return "unknown" if value is None else str(int(value))


def actual_text(values: dict, check: Reason) -> str:
    """``values``: the row's ``channels``, ``height``, ``width`` and ``numel`` (``None`` where unknown)."""
    if check is Reason.CHANNELS:
        return _text(values["channels"])
    if check is Reason.SIZE:
        return size_text(_text(values['height']), _text(values['width']))
    return _text(values["numel"])


def fix_text(check: Reason, contract: Contract) -> Optional[str]:
    """The pipeguard transform that fixes a failing ``check``: ``"EnsureChannels(3)"``,
    ``"EnsureSize((64, 64))"``; ``None`` where no transform does (an element count alone)."""
    if check is Reason.CHANNELS and contract.channels in (1, 3):
        return ensure_channels(contract.channels, qualified=False)
    if check is Reason.SIZE and contract.size is not None:
        return ensure_size(contract.height, contract.width, qualified=False)
    return None

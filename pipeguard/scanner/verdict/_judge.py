"""The contract's verdict on a table of rows: which fail, with their messages and fix.

Failing rows are found by the pandera schema over the table (:mod:`._schema`); their
messages come from :func:`pipeguard.core._check.check_info`, so a scan row reads exactly
like ``contract.check(image)``, computed once per distinct ``(mode, channels, height,
width, checks)``, not once per file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from ...core import Reason
from .._columns import categorical_text
from .._row import VIOLATION, ScanRow
from ._schema import check_frame, fix_text

if TYPE_CHECKING:
    from ...core import Contract

Verdicts = dict[int, tuple[tuple[str, ...], Optional[str]]]  # row position -> (messages, fix)


def judge(frame: Any, contract: Optional[Contract]) -> tuple[Any, Verdicts]:
    """The violations table of ``frame`` and the verdict of each failing row (by position)."""
    violations, failing = check_frame(frame, contract)
    if not failing:
        return violations, {}
    from ...core import SampleInfo, check_info

    modes = frame["mode"].tolist()
    chans, heights, widths = (frame[c].to_numpy(dtype=object, na_value=None).tolist()
                              for c in ("channels", "height", "width"))
    cache: dict[tuple, tuple[tuple[str, ...], Optional[str]]] = {}
    verdicts: Verdicts = {}
    for i, checks in failing.items():  # the failing rows only
        key = (modes[i], chans[i], heights[i], widths[i], checks)
        found = cache.get(key)
        if found is None:
            fix = [f for f in (fix_text(c, contract) for c in checks) if f]
            found = cache[key] = (tuple(_messages(contract, *key, check_info, SampleInfo)), ", ".join(fix) or None)
        verdicts[i] = found
    return violations, verdicts


def apply_to_frame(frame: Any, verdicts: Verdicts) -> None:
    """Mark the failing rows of ``frame`` ``violation``, with their messages and fix."""
    if not verdicts:
        return
    statuses = frame["status"].tolist()
    texts = frame["violations"].tolist()
    fixes = frame["fix"].tolist()
    for i, (messages, fix) in verdicts.items():
        statuses[i], texts[i], fixes[i] = VIOLATION, messages, fix
    frame["status"] = frame["status"].__class__(categorical_text(statuses), index=frame.index)
    frame["violations"] = frame["violations"].__class__(texts, index=frame.index, dtype=object)
    frame["fix"] = frame["fix"].__class__(categorical_text(fixes), index=frame.index)


def apply_to_rows(rows: list[ScanRow], verdicts: Verdicts) -> None:
    """The same verdicts on the rows themselves (a streamed scan writes rows, not the table)."""
    for i, (messages, fix) in verdicts.items():
        rows[i] = rows[i]._replace(status=VIOLATION, violations=messages, fix=fix)


def _messages(contract: Contract, mode: Optional[str], c: Optional[int], h: Optional[int], w: Optional[int],
              checks: tuple, check_info: Any, SampleInfo: Any) -> list[str]:
    found = {}
    if c is not None and h is not None:
        info = SampleInfo("PIL.Image", (c, h, w), "CHW", c, h, w, None, c * h * w, None, mode)
        found = {v.reason: str(v) for v in check_info(contract, info)}
    out = []
    for check in checks:
        text = found.get(check)
        if text is None:  # e.g. a mode whose band count is unknown
            text = f"{check}: unknown for mode {mode!r}, {_want(contract, check)} expected"
        out.append(text)
    return out


def _want(contract: Contract, check: Reason) -> str:
    if check is Reason.CHANNELS:
        return f"{contract.channels} channels"
    if check is Reason.SIZE:
        return f"{contract.height}×{contract.width}"
    return f"{contract.numel:,} elements"

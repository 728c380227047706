"""The contract's verdict on a table of rows: which fail which checks, with their messages and fix.

A row fails a check exactly as the contract's pandera schema (:mod:`._schema`) would fail
it: a readable row's ``channels``, ``height`` × ``width`` or element count differs from
the contract's, or is unknown. The comparisons are made column-wise on the whole table
(no pandera on the scan's path: it costs 0.2-0.4 s to import), and what a failing row
reads comes from :func:`pipeguard.core.check_info`, computed once per distinct ``(mode,
channels, height, width)``: a scan row reads exactly like ``contract.check(image)``.
``tests/test_scan.py`` checks the verdicts against the schema's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from ...core import Reason
from .._row import OK, VIOLATION
from ._cells import CHECKS, actual_text, expected_text, fix_text, violation_table

if TYPE_CHECKING:
    from ...core import Contract

Verdicts = dict[int, tuple[tuple[str, ...], Optional[str]]]  # row position -> (messages, fix)
Cells = list[tuple[str, str, str]]  # (check, expected, actual) of each failed check


def judge(frame: Any, contract: Optional[Contract], judged: bool = False) -> tuple[Any, Verdicts]:
    """The violations table of ``frame`` (one row per failing check: ``path, member, check,
    expected, actual``) and the verdict of each failing row (by position).

    ``judged``: the table already carries verdicts (read back from a streamed report), so
    its ``violation`` rows are readable rows too.
    """
    checked = checked_columns(contract)
    if not checked:
        return violation_table([]), {}
    assert contract is not None  # checked_columns gives () without one
    positions, matrix = _failing(frame, contract, checked, judged)
    if not len(positions):
        return violation_table([]), {}
    return _verdicts(frame, contract, positions, matrix, checked)


def checked_columns(contract: Optional[Contract]) -> tuple[Reason, ...]:
    """The checks a scan makes for ``contract``, in report order: channels and size as
    given, the element count only when one of them is not (it follows from both)."""
    if contract is None:
        return ()
    given = {Reason.CHANNELS: contract.channels is not None, Reason.SIZE: contract.size is not None}
    given[Reason.NUMEL] = contract.numel is not None and not (given[Reason.CHANNELS] and given[Reason.SIZE])
    return tuple(check for check in CHECKS if given[check])


def _failing(frame: Any, contract: Contract, checked: tuple[Reason, ...], judged: bool) -> tuple[Any, Any]:
    """Each readable row's failed checks as a boolean matrix (rows × ``checked``), for the
    rows that fail any, with their positions: ``(positions, matrix)``."""
    import numpy as np

    status = frame["status"].to_numpy()
    readable = (status == OK) | (status == VIOLATION) if judged else status == OK
    c, h, w = (frame[name].to_numpy(dtype="float64", na_value=np.nan) for name in ("channels", "height", "width"))
    fails = []
    for check in checked:  # an unknown value (NaN) fails, as a non-nullable schema column does
        if check is Reason.CHANNELS:
            fails.append(~(c == contract.channels))
        elif check is Reason.SIZE:
            fails.append(~((h == contract.height) & (w == contract.width)))
        else:
            fails.append(~(c * h * w == contract.numel))
    matrix = np.stack(fails, axis=1) & readable[:, None]
    positions = np.flatnonzero(matrix.any(axis=1))
    return positions, matrix[positions]


def _verdicts(frame: Any, contract: Contract, positions: Any, matrix: Any, checked: tuple[Reason, ...]
              ) -> tuple[Any, Verdicts]:
    from ...core import SampleInfo, check_info

    rows = positions.tolist()
    modes = frame["mode"].take(rows).tolist()
    chans, heights, widths = (frame[c].take(rows).to_numpy(dtype=object, na_value=None).tolist()
                              for c in ("channels", "height", "width"))
    paths, members = frame["path"].take(rows).tolist(), frame["member"].take(rows).tolist()
    seen: dict[tuple, tuple[tuple[str, ...], Optional[str], Cells]] = {}
    verdicts: Verdicts = {}
    cells_of_rows: list[tuple[Any, ...]] = []
    for k, (i, flags) in enumerate(zip(rows, matrix.tolist())):
        checks = tuple(check for check, failed in zip(checked, flags) if failed)
        key = (modes[k], chans[k], heights[k], widths[k], checks)
        found = seen.get(key)
        if found is None:
            found = seen[key] = _verdict(contract, *key, check_info, SampleInfo)
        verdicts[i] = found[:2]
        cells_of_rows.extend((paths[k], members[k], *cell) for cell in found[2])
    return violation_table(cells_of_rows), verdicts


def _verdict(contract: Contract, mode: Optional[str], c: Optional[int], h: Optional[int], w: Optional[int],
             checks: tuple[Reason, ...], check_info: Any, SampleInfo: Any
             ) -> tuple[tuple[str, ...], Optional[str], Cells]:
    """What a row with these values that fails ``checks`` reads: its messages, its fix, and
    its cells of the violations table."""
    values = {"channels": c, "height": h, "width": w,
              "numel": None if None in (c, h, w) else c * h * w}  # type: ignore[operator]  # no None there
    cells = [(check.value, expected_text(contract, check), actual_text(values, check)) for check in checks]
    fix = ", ".join(f for f in (fix_text(check, contract) for check in checks) if f) or None
    return tuple(_messages(contract, mode, c, h, w, checks, check_info, SampleInfo)), fix, cells


def apply_to_frame(frame: Any, verdicts: Verdicts) -> None:
    """Mark the failing rows of ``frame`` ``violation``, with their messages and fix."""
    from .._columns import categorical_text

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


def _messages(contract: Contract, mode: Optional[str], c: Optional[int], h: Optional[int], w: Optional[int],
              checks: tuple, check_info: Any, SampleInfo: Any) -> list[str]:
    found = {}
    if None not in (c, h, w):  # all known (mypy does not narrow by `in`)
        info = SampleInfo("PIL.Image", (c, h, w), "CHW", c, h, w, None, c * h * w, None, mode)  # type: ignore[operator]
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

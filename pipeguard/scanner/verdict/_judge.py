"""The contract's verdict on rows: which fail which checks, with their messages and fix.

A row fails a check exactly as the contract's pandera schema (:mod:`._schema`) would fail
it: a readable row's ``channels``, ``height`` × ``width`` or element count differs from
the contract's, or is unknown. The rows come as the report's columns in plain lists
(neither pandas nor pandera on the scan's path: together they cost about half a second
to import), each distinct ``(status, channels, height, width)`` is judged once, and what
a failing row reads comes from :func:`pipeguard.core.check_info`, computed once per
distinct ``(mode, channels, height, width)``: a scan row reads exactly like
``contract.check(image)``. ``tests/test_scan.py`` checks the verdicts against the schema's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from ...core import Reason
from .._row import COLUMNS, OK, VIOLATION
from ._cells import CHECKS, actual_text, expected_text, fix_text

if TYPE_CHECKING:
    from ...core import Contract

Verdicts = dict[int, tuple[tuple[str, ...], Optional[str]]]  # row position -> (messages, fix)
Cells = list[tuple[str, str, str]]  # (check, expected, actual) of each failed check
_PATH, _STATUS, _MODE, _CHANNELS, _HEIGHT, _WIDTH, _VIOLATIONS, _MEMBER, _FIX = (
    COLUMNS.index(name) for name in ("path", "status", "mode", "channels", "height", "width", "violations",
                                     "member", "fix"))


def judge(columns: list[list], contract: Optional[Contract], judged: bool = False) -> tuple[list[tuple], Verdicts]:
    """The violations of the rows held in ``columns`` (the report's columns as lists, in
    :data:`~.._row.COLUMNS` order): one ``(path, member, check, expected, actual)`` per
    failing check, and the verdict of each failing row (by position).

    ``judged``: the rows already carry verdicts (read back from a streamed report), so
    their ``violation`` rows are readable rows too.
    """
    checked = checked_columns(contract)
    if not checked or not columns[_STATUS]:
        return [], {}
    assert contract is not None  # checked_columns gives () without one
    failing = _failing(columns, contract, checked, judged)
    if not failing:
        return [], {}
    return _verdicts(columns, contract, failing)


def checked_columns(contract: Optional[Contract]) -> tuple[Reason, ...]:
    """The checks a scan makes for ``contract``, in report order: channels and size as
    given, the element count only when one of them is not (it follows from both)."""
    if contract is None:
        return ()
    given = {Reason.CHANNELS: contract.channels is not None, Reason.SIZE: contract.size is not None}
    given[Reason.NUMEL] = contract.numel is not None and not (given[Reason.CHANNELS] and given[Reason.SIZE])
    return tuple(check for check in CHECKS if given[check])


def _failing(columns: list[list], contract: Contract, checked: tuple[Reason, ...], judged: bool
             ) -> list[tuple[int, tuple[Reason, ...]]]:
    """Each readable row that fails a check, with the checks it fails: ``(position, checks)``.

    A row's checks follow from its ``(status, channels, height, width)``, which few rows
    differ in: each distinct one is judged once, and a row costs a dictionary lookup."""
    readable = (OK, VIOLATION) if judged else (OK,)
    known: dict[tuple, tuple[Reason, ...]] = {}
    out = []
    values = zip(columns[_STATUS], columns[_CHANNELS], columns[_HEIGHT], columns[_WIDTH])
    for i, key in enumerate(values):
        checks = known.get(key)
        if checks is None:
            checks = known[key] = _checks(contract, checked, *key) if key[0] in readable else ()
        if checks:
            out.append((i, checks))
    return out


def _checks(contract: Contract, checked: tuple[Reason, ...], status: str, c: Optional[int], h: Optional[int],
            w: Optional[int]) -> tuple[Reason, ...]:
    """The checks a readable row fails; an unknown value fails, as a non-nullable schema column does."""
    fails = []
    for check in checked:
        if check is Reason.CHANNELS:
            ok = c is not None and c == contract.channels
        elif check is Reason.SIZE:
            ok = h is not None and w is not None and (h, w) == (contract.height, contract.width)
        else:
            ok = None not in (c, h, w) and c * h * w == contract.numel  # type: ignore[operator]  # known
        if not ok:
            fails.append(check)
    return tuple(fails)


def _verdicts(columns: list[list], contract: Contract, failing: list[tuple[int, tuple[Reason, ...]]]
              ) -> tuple[list[tuple], Verdicts]:
    from ...core import SampleInfo, check_info

    paths, members, modes = columns[_PATH], columns[_MEMBER], columns[_MODE]
    chans, heights, widths = columns[_CHANNELS], columns[_HEIGHT], columns[_WIDTH]
    seen: dict[tuple, tuple[tuple[str, ...], Optional[str], Cells]] = {}
    verdicts: Verdicts = {}
    cells_of_rows: list[tuple] = []
    for i, checks in failing:
        key = (modes[i], chans[i], heights[i], widths[i], checks)
        found = seen.get(key)
        if found is None:
            found = seen[key] = _verdict(contract, *key, check_info, SampleInfo)
        verdicts[i] = found[:2]
        cells_of_rows.extend((paths[i], members[i], *cell) for cell in found[2])
    return cells_of_rows, verdicts


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


def apply_verdicts(columns: list[list], verdicts: Verdicts) -> None:
    """Mark the failing rows held in ``columns`` ``violation``, with their messages and fix."""
    statuses, texts, fixes = columns[_STATUS], columns[_VIOLATIONS], columns[_FIX]
    for i, (messages, fix) in verdicts.items():
        statuses[i], texts[i], fixes[i] = VIOLATION, messages, fix


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

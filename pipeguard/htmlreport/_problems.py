"""Problem files grouped by reason, for the page: per reason the count, the fix, the first files.

Reasons: a failing contract check (``channels``, ``size``, ``numel``; a file failing two
is in both groups), then each kind of unreadable file (truncated, empty file, cannot
open, ...), then files that are not images (listed, but they never fail a scan). At
most ``PER_REASON`` files are listed per reason; the page says how many more there are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from ..core import Status, UnreadableKind

PER_REASON = 100
CHECK_TITLES = {"channels": "wrong channel count", "size": "wrong size", "numel": "wrong element count"}
CHECK_ORDER = tuple(CHECK_TITLES)
OK, VIOLATION, UNREADABLE, NOT_IMAGE = (status.value for status in Status)
_UNREADABLE_FIX = ("cannot be loaded as it is: re-download or re-export it, or leave it out "
                   "(GuardedDataset(..., on_error='skip') skips and counts it)")
UNREADABLE_FIXES: dict[Optional[UnreadableKind], str] = {  # keyed by UnreadableKind; anything else gets _UNREADABLE_FIX
    UnreadableKind.TRUNCATED: "the file ends early: re-download or re-export it (PIL's LOAD_TRUNCATED_IMAGES "
                              "would fill the missing part with grey), or leave it out",
    UnreadableKind.EMPTY: "0 bytes: a copy or download failed; copy it again or delete it",
    UnreadableKind.BROKEN_LINK: "the link's target is gone: fix or remove the link",
    UnreadableKind.DECOMPRESSION_BOMB: "more pixels than Pillow's MAX_IMAGE_PIXELS: check the file is what "
                                       "it claims; raise PIL.Image.MAX_IMAGE_PIXELS only for files you trust",
    UnreadableKind.TIMEOUT: "its decode hung past the time limit: re-export it, or leave it out",
    UnreadableKind.CRASH: "its decode crashed the worker process: re-export it, or leave it out",
    UnreadableKind.PERMISSION_DENIED: "the scan may not read it: fix the file's permissions",
}
_FIELDS = ("path", "member", "status", "format", "mode", "channels", "height", "width", "bytes",
           "error", "violations", "fix")


@dataclass
class Group:
    """One reason: its files' status, how many files, the fix, and the first files' rows.

    Attributes:
        key: the check (``channels``, ``size``, ``numel``), the unreadable kind, or ``not-image``.
        title: the heading.
        status: the status of the group's rows.
        count: files with this reason (all of them, not only the listed ones).
        fix: the suggested fix, or ``None``.
        rows: the first :data:`PER_REASON` rows (dicts of :data:`_FIELDS` plus ``key``, the frame index).
    """

    key: str
    title: str
    status: str
    count: int
    fix: Optional[str]
    rows: list[dict[str, Any]]

    @property
    def rest(self) -> int:
        return self.count - len(self.rows)


def problem_groups(report: Any, summary: dict[str, Any], per_reason: int = PER_REASON) -> list[Group]:
    """The page's groups, in order: failing checks, unreadable kinds, then not-image files.

    The counts come from the summary; the listed rows from the report's table, read a
    chunk at a time (``report.chunks()``: a streamed report is never read back whole) until
    every group has ``per_reason`` rows, or all of its files when it has fewer. A row's
    ``key`` is its place in the whole table.

    Args:
        report: the :class:`~pipeguard.ScanReport`.
        summary: its ``summary()`` (counts and the fixes it names).
        per_reason: files listed per reason.
    """
    groups = _empty_groups(summary)
    wanted = sum(min(g.count, per_reason) for g in groups)
    if not wanted:
        return groups  # nothing to list: the table is not read at all
    offset = 0
    for frame, violations in report.chunks():
        problems = frame[frame["status"] != OK]
        by_file = _first_violation_rows(problems)  # indexed once a chunk, for every group
        by_kind = _unreadable_rows(problems)
        for group in groups:
            if len(group.rows) < per_reason:
                keys = _keys_of(group, problems, violations, by_file, by_kind)[:per_reason - len(group.rows)]
                group.rows += _rows(problems, keys, offset)
        offset += len(frame)
        if sum(len(g.rows) for g in groups) >= wanted:
            break
    return groups


def _empty_groups(summary: dict[str, Any]) -> list[Group]:
    """The groups with their counts, titles and fixes, no rows yet."""
    groups = []
    for check in CHECK_ORDER:
        entry = summary["violations"].get(check)
        if entry and entry["count"]:
            fix = entry.get("fix")
            text = f"add pipeguard.{fix} to the transform, or GuardedDataset(..., on_error='fix')" if fix else None
            groups.append(Group(check, CHECK_TITLES[check], VIOLATION, entry["count"], text, []))
    for kind, entry in summary["errors"].items():  # most files first, as the summary orders them
        groups.append(Group(kind, f"unreadable: {kind}", UNREADABLE, entry["count"],
                            UNREADABLE_FIXES.get(_as_kind(kind), _UNREADABLE_FIX), []))
    others = summary["status"].get(NOT_IMAGE, 0)
    if others:
        groups.append(Group(NOT_IMAGE, "not images (these never fail a scan)", NOT_IMAGE, others, None, []))
    return groups


def _first_violation_rows(problems: Any) -> dict:
    """``(path, member)`` -> the index of its violation row. A file is its path and, inside an
    archive, its member (an archive's members share a path); a name twice in one archive
    maps to the first, as its preview reads."""
    failed = problems[problems["status"] == VIOLATION]
    by_file: dict = {}
    for key, file in zip(failed.index, _files(failed)):
        by_file.setdefault(file, key)
    return by_file


def _unreadable_rows(problems: Any) -> dict[str, list]:
    """Unreadable kind -> the index of its rows, in order."""
    unreadable = problems[problems["status"] == UNREADABLE]
    by_kind: dict[str, list] = {}
    for key, kind in zip(unreadable.index, unreadable["error_kind"]):
        by_kind.setdefault(str(kind), []).append(key)
    return by_kind


def _keys_of(group: Group, problems: Any, violations: Any, by_file: dict, by_kind: dict) -> list:
    """The index of this chunk's rows that belong to ``group``, in order."""
    if group.status == VIOLATION:
        failing = list(dict.fromkeys(_files(violations[violations["check"] == group.key])))
        return [by_file[f] for f in failing if f in by_file]
    if group.status == UNREADABLE:
        return by_kind.get(group.key, [])
    return list(problems.index[problems["status"] == NOT_IMAGE])


def _as_kind(value: Any) -> Optional[UnreadableKind]:
    try:
        return UnreadableKind(value)
    except ValueError:
        return None


def _files(table: Any) -> list[tuple[str, Optional[str]]]:
    """``(path, member)`` of each row, the member ``None`` for a plain file."""
    members = table["member"] if "member" in table.columns else [None] * len(table)
    return [(path, member if isinstance(member, str) else None) for path, member in zip(table["path"], members)]


def _records(frame: Any, fields: tuple[str, ...]) -> list[dict[str, Any]]:
    """Rows of ``frame`` as dicts of the ``fields`` it has, missing values as ``None``."""
    present = [f for f in fields if f in frame.columns]
    part = frame[present].astype(object)
    return part.where(part.notna(), None).to_dict("records")


def _rows(problems: Any, keys: list, offset: int = 0) -> list[dict[str, Any]]:
    if not keys:
        return []
    rows = _records(problems.loc[keys], _FIELDS + ("error_kind",))
    for key, row in zip(keys, rows):
        row["key"] = offset + int(key)
        row.setdefault("member", None)  # archive member: a column only scans of archives have
        row["violations"] = list(row.get("violations") or ())
    return rows

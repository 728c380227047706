"""Problem files grouped by reason, for the page: per reason the count, the fix, the first files.

Reasons: a failing contract check (``channels``, ``size``, ``numel``; a file failing two
is in both groups), then each kind of unreadable file (truncated, empty file, cannot
open, ...), then files that are not images (listed, but they never fail a scan). At
most ``PER_REASON`` files are listed per reason; the page says how many more there are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from ..core._errors import UnreadableKind

PER_REASON = 100
CHECK_TITLES = {"channels": "wrong channel count", "size": "wrong size", "numel": "wrong element count"}
CHECK_ORDER = tuple(CHECK_TITLES)
NOT_IMAGE = "not-image"
_UNREADABLE_FIX = ("cannot be loaded as it is: re-download or re-export it, or leave it out "
                   "(GuardedDataset(..., on_error='skip') skips and counts it)")
UNREADABLE_FIXES = {  # keyed by UnreadableKind; anything else gets _UNREADABLE_FIX
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

    Args:
        report: the :class:`~pipeguard.ScanReport`.
        summary: its ``summary()`` (for the fixes it names).
        per_reason: files listed per reason.
    """
    frame = report.frame
    problems = frame[frame["status"] != "ok"]
    groups = _check_groups(report.violations, summary, problems, per_reason)
    unreadable = problems[problems["status"] == "unreadable"]
    kinds: dict[str, list] = {}
    for key, kind in zip(unreadable.index, unreadable["error_kind"]):
        kinds.setdefault(kind, []).append(key)  # the row's UnreadableKind value
    for kind, keys in sorted(kinds.items(), key=lambda kv: (-len(kv[1]), str(kv[0]))):
        groups.append(Group(kind, f"unreadable: {kind}", "unreadable", len(keys),
                            UNREADABLE_FIXES.get(_as_kind(kind), _UNREADABLE_FIX), _rows(problems, keys[:per_reason])))
    others = problems[problems["status"] == NOT_IMAGE]
    if len(others):
        groups.append(Group(NOT_IMAGE, "not images (these never fail a scan)", NOT_IMAGE, len(others), None,
                            _rows(problems, list(others.index[:per_reason]))))
    return groups


def _as_kind(value: Any) -> Optional[UnreadableKind]:
    try:
        return UnreadableKind(value)
    except ValueError:
        return None


def _check_groups(violations: Any, summary: dict[str, Any], problems: Any, per_reason: int) -> list[Group]:
    fixes = {check: entry.get("fix") for check, entry in summary["violations"].items()}
    # a file is its path and, inside an archive, its member: an archive's members share a path
    by_file: dict = {}
    for key, file in zip(problems.index, _files(problems)):
        by_file.setdefault(file, key)  # a name twice in one archive: the first, as its preview reads
    groups = []
    for check in CHECK_ORDER:
        failing = violations[violations["check"] == check]
        files = list(dict.fromkeys(_files(failing)))  # in order, each once
        if not files:
            continue
        keys = [by_file[f] for f in files[:per_reason] if f in by_file]
        fix = fixes.get(check)
        text = f"add pipeguard.{fix} to the transform, or GuardedDataset(..., on_error='fix')" if fix else None
        groups.append(Group(check, CHECK_TITLES[check], "violation", len(files), text, _rows(problems, keys)))
    return groups


def _files(table: Any) -> list[tuple[str, Optional[str]]]:
    """``(path, member)`` of each row, the member ``None`` for a plain file."""
    members = table["member"] if "member" in table.columns else [None] * len(table)
    return [(path, member if isinstance(member, str) else None) for path, member in zip(table["path"], members)]


def _records(frame: Any, fields: tuple[str, ...]) -> list[dict[str, Any]]:
    """Rows of ``frame`` as dicts of the ``fields`` it has, missing values as ``None``."""
    present = [f for f in fields if f in frame.columns]
    part = frame[present].astype(object)
    return part.where(part.notna(), None).to_dict("records")


def _rows(problems: Any, keys: list) -> list[dict[str, Any]]:
    rows = _records(problems.loc[keys], _FIELDS + ("error_kind",))
    for key, row in zip(keys, rows):
        row["key"] = key
        row.setdefault("member", None)  # archive member: a column only scans of archives have
        row["violations"] = list(row.get("violations") or ())
    return rows

"""Problem files grouped by reason, for the page: per reason the count, the fix, a sample of files.

Reasons: a failing contract check (``channels``, ``size``, ``numel``; a file failing two
is in both groups), then each kind of unreadable file (truncated, empty file, cannot
open, ...), then files that are not images (listed, but they never fail a scan). At
most ``PER_REASON`` files are listed per reason, chosen to cover the reason's modes,
formats, sizes and folders (:mod:`._variety`), not the first by name; the page says how
many of how many.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from ..core import Status, UnreadableKind
from ._variety import Variety, kind_of

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
    UnreadableKind.UNSUPPORTED: "a valid file of a variant Pillow cannot read: convert it (e.g. to PNG) with a "
                                "tool that reads it, or leave it out; torchvision's loaders cannot read it either",
}
_FIELDS = ("path", "member", "status", "format", "mode", "channels", "height", "width", "bytes",
           "error", "violations", "fix")
_KIND_FIELDS = ("path", "member", "format", "mode", "height", "width")  # what a row's kind is made of


@dataclass
class Group:
    """One reason: its files' status, how many files, the fix, and the first files' rows.

    Attributes:
        key: the check (``channels``, ``size``, ``numel``), the unreadable kind, or ``not-image``.
        title: the heading.
        status: the status of the group's rows.
        count: files with this reason (all of them, not only the listed ones).
        fix: the suggested fix, or ``None``.
        rows: at most :data:`PER_REASON` rows, a sample covering the reason's variety, in the
            order chosen (dicts of :data:`_FIELDS` plus ``key``, the row's place in the table).
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
    every group's files have all been seen; each group keeps only the rows its sample may
    still take (:class:`._variety.Variety`). A row's ``key`` is its place in the whole table.

    Args:
        report: the :class:`~pipeguard.ScanReport`.
        summary: its ``summary()`` (counts and the fixes it names).
        per_reason: files listed per reason.
    """
    groups = _empty_groups(summary)
    if per_reason <= 0 or not any(g.count for g in groups):
        return groups  # nothing to list: the table is not read at all
    samples = {id(g): _Sample(per_reason) for g in groups}
    offset = 0
    for frame, violations in report.chunks():
        problems = frame[frame["status"] != OK]
        by_file = _first_violation_rows(problems)  # indexed once a chunk, for every group
        by_kind = _unreadable_rows(problems)
        for group in groups:
            samples[id(group)].offer(problems, _keys_of(group, problems, violations, by_file, by_kind), offset)
        offset += len(frame)
        if all(samples[id(g)].seen >= g.count for g in groups):
            break
    for group in groups:
        group.rows = samples[id(group)].rows()
    return groups


class _Sample:
    """A group's sample as its rows arrive: the rows it may still list, by key."""

    def __init__(self, limit: int):
        self.variety = Variety(limit)
        self.kept: dict[int, dict[str, Any]] = {}
        self.seen = 0

    def offer(self, problems: Any, keys: list, offset: int) -> None:
        """The group's rows of one chunk (``keys`` in its index, in order)."""
        self.seen += len(keys)
        if not keys:
            return
        facts = _records(problems.loc[keys], _KIND_FIELDS)
        wanted = []
        for key, row in zip(keys, facts):
            kind = kind_of(row)
            if self.variety.wants(kind):
                self.variety.add(kind, offset + int(key))
                wanted.append(key)
        self.kept.update((row["key"], row) for row in _rows(problems, wanted, offset))
        for key in self.variety.prune():
            del self.kept[key]

    def rows(self) -> list[dict[str, Any]]:
        return [self.kept[key] for key in self.variety.chosen()]


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

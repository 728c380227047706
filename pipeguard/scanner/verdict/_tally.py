"""The summary's counts, gathered batch by batch as rows pass.

A streamed scan never holds its table, so the summary (``ScanReport.summary()``, the JSON's
``summary``) is counted from each batch of rows as it is written; a scan held in memory
counts its whole table as one batch. Either way the same counts give the same summary.
"""

from __future__ import annotations

from collections import Counter
from itertools import compress
from typing import Any, Iterable, Optional

from ...diagnosis import size_text
from .._row import COLUMNS, OK, PROBLEMS, STATUSES, UNREADABLE, VIOLATION

FIRST_PATHS = 5   # paths listed per reason in the summary
# Modes that torchvision's default loader (``convert("RGB")``) clips to white: 16- and 32-bit integers
WHITE_UNDER_RGB = ("I;16", "I;16B", "I;16L", "I;16N", "I")
_IMAGES = frozenset((OK, VIOLATION))  # the statuses of rows with a header read
SIDE_BUCKETS = (32, 64, 128, 256, 512, 1024, 2048, 4096)


class Tally:
    """Counts over the rows seen so far (see :meth:`add`), and the summary they make."""

    def __init__(self) -> None:
        self.files = 0
        self.hidden = 0
        self.multi_frame = 0
        self.exif_rotated = 0
        self.warnings = 0
        self.sixteen_bit = 0
        self.sixteen_bit_listed: set[str] = set()  # listed paths (path::member) of such files
        self.status: Counter = Counter()
        self.classes: Counter = Counter()
        self.formats: Counter = Counter()
        self.modes: Counter = Counter()
        self.channels: Counter = Counter()
        self.sizes: Counter = Counter()          # (height, width) of images -> count
        self.errors: dict[str, list] = {}        # error kind -> [count, first paths]
        self.error_texts: dict[str, str] = {}    # each first path (path::member in an archive) -> its error
        self.violations: dict[str, dict] = {}    # check -> count, expected, actual counts, first paths

    def add(self, columns: list[list], cells: list[tuple]) -> None:
        """Count a batch: its rows as the report's columns (with verdicts), and its violations
        ``(path, member, check, expected, actual)``. Counted a column at a time by
        :class:`~collections.Counter` (in C), no row looked at twice."""
        col = dict(zip(COLUMNS, columns))
        status = col["status"]
        self.files += len(status)
        self.status.update(status)
        self.hidden += sum(col["hidden"])
        self.classes.update(_present(col["class"]))
        self.warnings += sum(map(bool, col["warnings"]))
        image = [s in _IMAGES for s in status]
        modes = list(compress(col["mode"], image))
        self.formats.update(_present(compress(col["format"], image)))
        self.modes.update(_present(modes))
        self.channels.update(_present(compress(col["channels"], image)))
        self.sizes.update(size for size in zip(compress(col["height"], image), compress(col["width"], image))
                          if None not in size)
        self.multi_frame += sum(1 for n in compress(col["n_frames"], image) if n is not None and n > 1)
        self.exif_rotated += sum(1 for o in compress(col["orientation"], image) if o is not None and o != 1)
        self.sixteen_bit += sum(1 for m in modes if m in WHITE_UNDER_RGB)
        paths, members = col["path"], col["member"]
        for i, s in enumerate(status):
            if s == UNREADABLE:
                self._add_error(_where(paths[i], members[i]), col["error_kind"][i], col["error"][i])
        listed = self._add_violations(cells)
        if listed:  # which of the files just listed are 16-bit (few: the first paths of each check)
            for path, member, mode in zip(compress(paths, image), compress(members, image), modes):
                if mode in WHITE_UNDER_RGB and _where(path, member) in listed:
                    self.sixteen_bit_listed.add(_where(path, member))

    def merge(self, other: Tally) -> None:
        """Add the counts of ``other``, a tally of the rows right after these (a cluster task's
        part): merged in listing order, the summary is the one a single pass would give."""
        for name in ("files", "hidden", "multi_frame", "exif_rotated", "warnings", "sixteen_bit"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("status", "classes", "formats", "modes", "channels", "sizes"):
            getattr(self, name).update(getattr(other, name))
        for kind, (count, paths) in other.errors.items():
            entry = self.errors.setdefault(kind, [0, []])
            entry[0] += count
            for where in paths[:FIRST_PATHS - len(entry[1])]:
                entry[1].append(where)
                if where in other.error_texts:
                    self.error_texts.setdefault(where, other.error_texts[where])
        for check, theirs in other.violations.items():
            ours = self.violations.setdefault(check, {"count": 0, "expected": theirs["expected"],
                                                      "actual": Counter(), "paths": []})
            ours["count"] += theirs["count"]
            ours["actual"].update(theirs["actual"])
            listed = theirs["paths"][:FIRST_PATHS - len(ours["paths"])]
            ours["paths"].extend(listed)
            self.sixteen_bit_listed.update(other.sixteen_bit_listed.intersection(listed))

    def _add_error(self, where: str, kind: Optional[str], error: Optional[str]) -> None:
        entry = self.errors.setdefault(str(kind), [0, []])
        entry[0] += 1
        if len(entry[1]) < FIRST_PATHS:
            entry[1].append(where)
            if error:
                self.error_texts.setdefault(where, error)

    def _add_violations(self, cells: list[tuple]) -> set[str]:
        """Count the violations; the paths listed for the first time, returned."""
        listed = set()
        for path, member, check, expected, actual in cells:
            entry = self.violations.setdefault(str(check), {"count": 0, "expected": expected,
                                                            "actual": Counter(), "paths": []})
            entry["count"] += 1
            entry["actual"][actual] += 1
            if len(entry["paths"]) < FIRST_PATHS:
                where = _where(path, member)
                entry["paths"].append(where)
                listed.add(where)
        return listed

    @property
    def counts(self) -> dict[str, int]:
        return {s: int(self.status.get(s, 0)) for s in STATUSES}

    @property
    def exit_code(self) -> int:
        """0 when every file conforms (``not-image`` rows aside), 1 when any violates or is unreadable."""
        return 1 if any(self.status.get(s, 0) for s in PROBLEMS) else 0

    def summary(self, head: dict[str, Any], fixes: dict[str, Optional[str]], tail: dict[str, Any]) -> dict[str, Any]:
        """The summary: ``head`` (root, deep, contract) first, the counts, ``tail`` (walk notes) last.

        ``fixes`` maps each failing check to its fix text.
        """
        counts = self.counts
        return {
            **head,
            "files": self.files,
            "status": counts,
            "exit_code": self.exit_code,
            "hidden": self.hidden,
            "classes": _ranked(self.classes),
            "formats": _ranked(self.formats),
            "modes": _ranked(self.modes),
            "channels": _ranked(self.channels),
            "sizes": _side_buckets(self.sizes),
            "top_sizes": dict(list(_ranked(Counter({size_text(h, w): n for (h, w), n in self.sizes.items()}))
                                   .items())[:5]),
            "multi_frame": self.multi_frame,
            "exif_rotated": self.exif_rotated,
            "sixteen_bit": self.sixteen_bit,
            "errors": {str(kind): {"count": n, "paths": paths} for kind, (n, paths)
                       in sorted(self.errors.items(), key=lambda kv: (-kv[1][0], str(kv[0])))},
            "violations": {check: {"count": e["count"], "expected": e["expected"], "actual": _ranked(e["actual"]),
                                   "paths": e["paths"], "fix": fixes.get(check)}
                           for check, e in self.violations.items()},
            "warnings": self.warnings,
            **tail,
        }


def _present(values: Iterable[Any]) -> Counter:
    """Value -> count of the values that are not ``None``."""
    counts = Counter(values)
    counts.pop(None, None)
    return counts


def _where(path: str, member: Optional[str]) -> str:
    return f"{path}::{member}" if member else path


def _ranked(found: Counter) -> dict[str, int]:
    return {str(k): int(v) for k, v in sorted(found.items(), key=lambda kv: (-kv[1], str(kv[0])))}


def _side_buckets(sizes: Counter) -> dict[str, int]:
    """Images by their longer side: ``"≤32"``, ``"33-64"``, ... ``">4096"`` (empty buckets left out)."""
    labels = []
    low = 0
    for top in SIDE_BUCKETS:
        labels.append((top, f"≤{top}" if low == 0 else f"{low + 1}-{top}"))
        low = top
    out: Counter = Counter()
    for (h, w), n in sizes.items():
        side = max(h, w)
        out[next((lab for top, lab in labels if side <= top), f">{SIDE_BUCKETS[-1]}")] += n
    order = [lab for _, lab in labels] + [f">{SIDE_BUCKETS[-1]}"]
    return {lab: out[lab] for lab in order if lab in out}

"""ScanReport: the scan table, its violations, and the summary a person or a CI job reads.

The row format (JSON, CSV, ``frame``) is fixed by DESIGN.md: ``path`` (relative,
``/``-separated), ``status`` (``ok``, ``violation``, ``unreadable``, ``not-image``),
``format``, ``mode``, ``channels``, ``height``, ``width``, ``bytes``, ``error``,
``violations``; then ``error_kind`` (an :class:`~pipeguard.core._errors.UnreadableKind`
value for an ``unreadable`` row, else null), ``class``, ``n_frames``, ``orientation`` (EXIF, 1-8, or null),
``fix`` (``EnsureChannels(3)``, ``EnsureSize((64, 64))``), ``hidden`` and ``warnings``.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator, Optional, TextIO

from ._row import COLUMNS, ScanRow
from ._schema import CHECKS, fix_text
from ._text_dtype import text_dtype
from ._walk import WalkStats

if TYPE_CHECKING:
    from ..core import Contract

STATUSES = ("ok", "violation", "unreadable", "not-image")
INT_COLUMNS = ("channels", "height", "width", "bytes", "n_frames", "orientation")
FIRST_PATHS = 5   # paths listed per reason in the summary
SIDE_BUCKETS = (32, 64, 128, 256, 512, 1024, 2048, 4096)


def build_frame(rows: list[ScanRow]) -> Any:
    """The scan table from the rows, built once, column by column.

    Counts are nullable ``Int64``; text columns hold ``None`` where a value is missing;
    ``violations`` and ``warnings`` hold tuples of text.
    """
    import numpy as np
    import pandas as pd

    columns = list(map(list, zip(*rows))) if rows else [[] for _ in COLUMNS]
    data = {}
    for name, values in zip(COLUMNS, columns):
        if name in INT_COLUMNS:
            # through float64, because numpy turns None into NaN in C where pandas checks
            # each value; exact, as every count, size and byte count is below 2**53
            data[name] = pd.array(np.array(values, dtype=np.float64), dtype="Int64")
        elif name == "hidden":
            data[name] = pd.array(values, dtype=bool)
        elif name in ("path", "status"):
            data[name] = pd.Series(values, dtype=text_dtype())
        else:
            data[name] = pd.Series(values, dtype=object)
    return pd.DataFrame(data, copy=False)  # the columns are new: no need to copy them again


@dataclass
class ScanReport:
    """The result of :func:`pipeguard.scan`.

    Attributes:
        root: the scanned folder, as given.
        contract: the contract the files were checked against (given or inferred), or ``None``.
        contract_source: ``"given"``, ``"inferred"`` or ``None``.
        frame: one row per file under ``root``, in path order (pandas DataFrame).
        violations: one row per failing check: ``path, check, expected, actual``.
        deep: whether every image was decoded.
        elapsed: seconds the scan took.
        inferred_notes: for an inferred contract, why a field was left open.
        walk: directories skipped (symlinks not followed, unreadable, cycles).
    """

    root: str
    contract: Optional[Contract]
    contract_source: Optional[str]
    frame: Any
    violations: Any
    deep: bool = False
    elapsed: float = 0.0
    inferred_notes: dict = field(default_factory=dict)
    walk: WalkStats = field(default_factory=WalkStats)

    # -- verdict -------------------------------------------------------------------------
    @property
    def counts(self) -> dict[str, int]:
        found = Counter(self.frame["status"])
        return {s: int(found.get(s, 0)) for s in STATUSES}

    @property
    def exit_code(self) -> int:
        """0 when every file conforms (``not-image`` rows aside), 1 when any violates or is unreadable."""
        counts = self.counts
        return 1 if counts["violation"] or counts["unreadable"] else 0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def __repr__(self) -> str:
        c = self.counts
        return (f"ScanReport({self.root!r}, files={len(self.frame)}, ok={c['ok']}, violation={c['violation']}, "
                f"unreadable={c['unreadable']}, not_image={c['not-image']}, contract={self.contract!r})")

    # -- summary -------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """The JSON's ``summary``: counts, distributions, unreadable files by kind, violations by check."""
        f = self.frame
        images = f[f["status"].isin(("ok", "violation"))]
        problems = f[f["status"] == "unreadable"]
        return {
            "root": str(self.root),
            "deep": self.deep,
            "contract": self._contract_summary(),
            "files": len(f),
            "status": self.counts,
            "exit_code": self.exit_code,
            "hidden": int(f["hidden"].sum()),
            "classes": _counts(f["class"].dropna()),
            "formats": _counts(images["format"].dropna()),
            "modes": _counts(images["mode"].dropna()),
            "channels": {str(k): v for k, v in _counts(images["channels"].dropna().astype(int)).items()},
            "sizes": _size_buckets(images),
            "top_sizes": dict(list(_counts(images["height"].astype(str) + "x" + images["width"].astype(str))
                                   .items())[:5]),
            "multi_frame": int((images["n_frames"].fillna(1) > 1).sum()),
            "exif_rotated": int((images["orientation"].fillna(1) != 1).sum()),
            "errors": _errors(problems),
            "violations": self._violations_summary(),
            "warnings": int(sum(1 for w in f["warnings"] if w)),
            "skipped_dir_links": list(self.walk.skipped_dir_links),
            "unreadable_dirs": [{"path": p, "error": e} for p, e in self.walk.unreadable_dirs],
        }

    def _contract_summary(self) -> Optional[dict[str, Any]]:
        if self.contract is None:
            return {"source": None, "open": dict(self.inferred_notes)} if self.inferred_notes else None
        out = {"source": self.contract_source, **self.contract.to_dict()}
        if self.inferred_notes:
            out["open"] = dict(self.inferred_notes)
        return out

    def _violations_summary(self) -> dict[str, Any]:
        v = self.violations
        out: dict[str, Any] = {}
        for check in CHECKS:
            rows = v[v["check"] == check.value]
            if rows.empty:
                continue
            out[check.value] = {
                "count": len(rows),
                "expected": rows["expected"].iloc[0],
                "actual": _counts(rows["actual"]),
                "paths": rows["path"].head(FIRST_PATHS).tolist(),
                "fix": fix_text(check, self.contract),
            }
        return out

    # -- rows for machines ---------------------------------------------------------------
    def rows(self) -> Iterator[dict[str, Any]]:
        """Every row as a JSON-ready dict (``None`` for missing values), in path order."""
        cols = []
        for c in COLUMNS:
            s = self.frame[c]
            if c in INT_COLUMNS:
                cols.append([None if v is None or v != v else int(v) for v in s.astype(object).where(s.notna(), None)])
            else:
                cols.append(s.tolist())
        for values in zip(*cols):
            row = dict(zip(COLUMNS, values))
            row["violations"] = list(row["violations"])
            row["warnings"] = list(row["warnings"])
            yield row

    def to_json(self, fp: Optional[TextIO] = None) -> Optional[str]:
        """``{"summary": {...}, "files": [row, ...]}``; written to ``fp`` (streamed) or returned."""
        out = fp if fp is not None else io.StringIO()
        out.write('{"summary": ' + _dumps(self.summary()) + ', "files": [')
        for i, row in enumerate(self.rows()):
            out.write(("\n  " if i == 0 else ",\n  ") + _dumps(row))
        out.write("\n]}\n")
        return None if fp is not None else out.getvalue()

    def to_csv(self, fp: Optional[TextIO] = None) -> Optional[str]:
        """The rows as CSV (same columns; lists joined with ``"; "``, null as empty)."""
        out = fp if fp is not None else io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in self.rows():
            writer.writerow(["; ".join(v) if isinstance(v, list) else ("" if v is None else
                             ("true" if v is True else "false" if v is False else v)) for v in row.values()])
        return None if fp is not None else out.getvalue()

    def to_html(self, path: Any, **options: Any) -> None:
        """Write the report as one self-contained HTML page for people (needs the ``html`` extra).

        Options go to :func:`pipeguard.htmlreport.write_html` (``per_reason``, ``workers``,
        ``time_limit``, ``side``).
        """
        from ..htmlreport import (
            write_html,  # the one import of htmlreport: the page is optional
        )

        write_html(self, path, **options)


def _dumps(value: Any) -> str:
    """JSON text; a file name that is not valid UTF-8 (a surrogate in Python) is ``\\u``-escaped."""
    text = json.dumps(value, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(value)
    return text


def _counts(series: Any) -> dict[str, int]:
    found = Counter(series.tolist())
    return {str(k): int(v) for k, v in sorted(found.items(), key=lambda kv: (-kv[1], str(kv[0])))}


def _size_buckets(images: Any) -> dict[str, int]:
    """Images by their longer side: ``"≤32"``, ``"33-64"``, ... ``">4096"`` (empty buckets left out)."""
    sides = [max(int(h), int(w)) for h, w in zip(images["height"], images["width"])]
    labels = []
    low = 0
    for top in SIDE_BUCKETS:
        labels.append((top, f"≤{top}" if low == 0 else f"{low + 1}-{top}"))
        low = top
    out: dict[str, int] = {}
    for side in sides:
        label = next((lab for top, lab in labels if side <= top), f">{SIDE_BUCKETS[-1]}")
        out[label] = out.get(label, 0) + 1
    order = [lab for _, lab in labels] + [f">{SIDE_BUCKETS[-1]}"]
    return {lab: out[lab] for lab in order if lab in out}


def _errors(problems: Any) -> dict[str, Any]:
    """Unreadable rows by their ``error_kind``, most frequent first: a count and the first paths."""
    out: dict[str, Any] = {}
    for path, kind in zip(problems["path"], problems["error_kind"]):
        entry = out.setdefault(kind, {"count": 0, "paths": []})
        entry["count"] += 1
        if len(entry["paths"]) < FIRST_PATHS:
            entry["paths"].append(path)
    return dict(sorted(out.items(), key=lambda kv: (-kv[1]["count"], str(kv[0]))))

"""The people-facing rendering of a scan: a progress line while scanning, then the summary.

Pure text from :meth:`ScanReport.summary` and the table; no scanning logic here.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, TextIO

from ..core import Reason, Status
from ..diagnosis import numbers, size_text
from ._params import printable

if TYPE_CHECKING:
    from ..scanner import ScanReport

STATUS_ORDER = tuple(status.value for status in Status)
FIX_HINT = {
    Reason.CHANNELS: "add pipeguard.{fix} to the transform (before ToImage/ToTensor), "
                     "or GuardedDataset(..., on_error='fix')",
    Reason.SIZE: "add pipeguard.{fix} to the transform (or Resize)",
}


class Progress:
    """A one-line counter on a terminal's stderr: files (and archive members) scanned, rate,
    elapsed time, last path.

    Redraws at most ten times a second; ``close()`` erases it.
    """

    def __init__(self, stream: TextIO = sys.stderr, label: str = "scanning") -> None:
        self.stream = stream
        self.label = label
        self.start = time.perf_counter()
        self.last = 0.0
        self.width = 0

    def __call__(self, done: int, path: str) -> None:
        now = time.perf_counter()
        if now - self.last < 0.1:
            return
        self.last = now
        elapsed = now - self.start
        rate = done / max(elapsed, 1e-9)
        text = printable(f"{self.label}: {done:,} files  {rate:,.0f}/s  {_clock(elapsed)}  {path}")[:100]
        self.stream.write("\r" + text.ljust(self.width))
        self.width = len(text)
        self.stream.flush()

    def close(self) -> None:
        if self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()


def _clock(seconds: float) -> str:
    minutes, s = divmod(int(seconds), 60)
    h, m = divmod(minutes, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _counts(d: dict, limit: int = 8, sep: str = " ") -> str:
    items = list(d.items())
    text = ", ".join(f"{k}{sep}{v:,}" for k, v in items[:limit])
    if len(items) > limit:
        text += f", … ({len(items) - limit} more)"
    return text or "-"


def _contract_line(s: dict, report: ScanReport) -> list[str]:
    c = s["contract"]
    if c is None or c.get("source") is None:
        lines = ["contract   none: nothing to check against (give --channels/--size or --contract)"]
        for field, why in ((c or {}).get("open") or {}).items():
            lines.append(f"           {field} not inferred: {why}")
        return lines
    contract = report.contract
    name = f"'{contract.name}' " if contract.name and c["source"] == "given" else ""
    lines = [f"contract   {name}{_contract_what(contract)}, {c['source']}"]
    for field, why in (c.get("open") or {}).items():
        lines.append(f"           {field} left open: {why}")
    unchecked = [f for f in TENSOR_FIELDS if getattr(contract, f, None) is not None]
    if unchecked:
        lines.append(f"           {' and '.join(unchecked)} not checked: they describe tensors, and a scan "
                     "reads image files (check them on the loader's samples: GuardedDataset)")
    return lines


SIXTEEN_BIT = ("ImageFolder's default loader clips them to white; "
               "pipeguard.EnsureChannels scales them to 8 bits")
TENSOR_FIELDS = ("dtype", "value_range")  # contract fields a file's header cannot tell


def _contract_what(contract) -> str:
    """What the contract asks of a file, in a few words (any field may be missing)."""
    if contract.shape:
        what = numbers.shape(contract.shape)
        return what + (f" ({contract.numel:,} elements)" if contract.numel else "")
    parts = []
    if contract.channels:
        parts.append(f"channels {contract.channels}")
    if contract.size:
        parts.append(f"size {size_text(contract.height, contract.width)}")
    if contract.numel:
        parts.append(f"numel {contract.numel:,}")
    if contract.dtype is not None:
        parts.append(f"dtype {contract.dtype}")
    if contract.value_range is not None:
        low, high = contract.value_range
        parts.append(f"value range [{low:g}, {high:g}]")
    return ", ".join(parts) or "no fields"


def render_table(report: ScanReport, stream: TextIO) -> None:
    """Write the summary a person reads: counts, distributions, errors, violations, fixes."""
    s = report.summary()
    w = _escaping(stream)
    mode = "deep scan (decoded)" if s["deep"] else "header scan"
    title = report.title or s["root"]
    w(f"pipeguard scan {title}: {numbers.plural(s['files'], 'file')}, {mode}, {report.elapsed:.2f} s\n")
    for line in _contract_line(s, report):
        w(line + "\n")
    st = s["status"]
    parts = ", ".join(f"{st[k]:,} {k}" for k in STATUS_ORDER if st[k])
    hidden = f"  ({s['hidden']:,} hidden)" if s["hidden"] else ""
    w(f"files      {parts or 'none'}{hidden}\n")
    if s["classes"]:
        w(f"classes    {_counts(s['classes'], sep=': ')}\n")
    if s["formats"]:
        w(f"formats    {_counts(s['formats'], sep=': ')}\n")
        w(f"modes      {_counts(s['modes'], limit=12, sep=': ')}\n")
        w(f"channels   {_counts(s['channels'], sep=': ')}\n")
        top = _counts(s["top_sizes"], limit=5, sep=": ")
        w(f"sizes      {_counts(s['sizes'], sep=': ')}   (longer side; most common HxW {top})\n")
    extras = []
    if s["multi_frame"]:
        extras.append(f"{s['multi_frame']:,} multi-frame (only the first frame is loaded)")
    if s["exif_rotated"]:
        extras.append(f"{s['exif_rotated']:,} with EXIF rotation (ImageFolder does not apply it)")
    if s["sixteen_bit"]:
        extras.append(f"{numbers.plural(s['sixteen_bit'], '16-bit file')} ({SIXTEEN_BIT})")
    if s["warnings"]:
        extras.append(f"{s['warnings']:,} with warnings (see the warnings column)")
    if extras:
        w(f"notes      {'; '.join(extras)}\n")
    links = s["skipped_dir_links"]
    for link in links[:3]:
        w(f"skipped    symlinked folder {link} (use --follow-symlinks)\n")
    if len(links) > 3:
        w(f"           … and {len(links) - 3:,} more\n")

    if s["errors"]:
        w(f"\nunreadable: {numbers.plural(st['unreadable'], 'file')}\n")
        errors = report.tally.error_texts  # by path, or path::member: members share their archive's path
        for kind, e in s["errors"].items():
            w(f"  {kind} ({e['count']:,})\n")
            for p in e["paths"]:
                detail = errors.get(p)
                w(f"    {p}" + (f"  {detail}" if detail else "") + "\n")
            if e["count"] > len(e["paths"]):
                w(f"    … and {e['count'] - len(e['paths']):,} more\n")
    if s["violations"]:
        w(f"\nviolations: {numbers.plural(st['violation'], 'file')}\n")
        for check, v in s["violations"].items():
            got = ", ".join(f"{a} ({n:,})" for a, n in list(v["actual"].items())[:6])
            w(f"  {check}: {numbers.plural(v['count'], 'file')}, expected {v['expected']}, got {got}\n")
            for p in v["paths"]:
                w(f"    {p}" + ("  (16-bit: ImageFolder's default loader turns it white)"
                              if p in report.tally.sixteen_bit_listed else "") + "\n")
            if v["count"] > len(v["paths"]):
                w(f"    … and {v['count'] - len(v['paths']):,} more\n")
            if v["fix"]:
                w(f"    fix: {FIX_HINT[Reason(check)].format(fix=v['fix'])}\n")
    w("\n" + verdict(report) + "\n")


def _escaping(stream: TextIO):
    """``stream.write`` for text of whole lines: the line ends at either side kept, any control
    character between them (a file or class name's ``\\x1b``, ``\\r``, ``\\n``) escaped."""
    def write(text: str) -> None:
        body = text.strip("\n")
        lead = len(text) - len(text.lstrip("\n"))
        stream.write(text[:lead] + printable(body) + text[lead + len(body):])
    return write


def verdict(report: ScanReport) -> str:
    """The closing line: what the exit status means for this scan."""
    st = report.counts
    if report.exit_code == 0 and not st["ok"]:
        return f"nothing to check: no image files found ({numbers.plural(st['not-image'], 'other file')})"
    if report.exit_code == 0:
        skipped = f" ({numbers.plural(st['not-image'], 'not-image file')} ignored)" if st["not-image"] else ""
        one = st["ok"] == 1
        checked = ("conforms to the contract" if one else "conform to the contract") if report.contract is not None \
            else ("is readable" if one else "are readable")
        return f"ok: {'the 1 image' if one else 'all ' + numbers.plural(st['ok'], 'image')} {checked}{skipped}"
    parts = []
    if st["violation"]:
        verb = "violates" if st["violation"] == 1 else "violate"
        parts.append(f"{numbers.plural(st['violation'], 'file')} {verb} the contract")
    if st["unreadable"]:
        parts.append(f"{st['unreadable']:,} cannot be read")
    return "exit 1: " + ", ".join(parts)


def write_rows(report: ScanReport, fmt: str, stream: TextIO) -> None:
    from ..scanner import CI_FORMATS, write_ci

    if fmt in CI_FORMATS:
        write_ci(report.rows(), fmt, stream, root=report.root, elapsed=report.elapsed)
    elif fmt == "json":
        report.to_json(stream)
    elif fmt == "jsonl":
        report.to_jsonl(stream)
    else:
        report.to_csv(stream)

"""Scan rows in the formats CI systems read: JUnit XML and GitHub workflow annotations.

Both take rows as dicts (:meth:`ScanReport.rows`), so they work on any report.

- ``junit``: one ``<testsuite name="pipeguard scan">``; one ``<testcase>`` per file
  (``name`` = the path, plus ``::member`` for an archive member); a ``<failure>`` for a
  ``violation`` or ``unreadable`` row carrying the row's message, ``<skipped/>`` for a
  ``not-image`` row. Written with :mod:`xml.etree.ElementTree`, which escapes markup;
  characters XML 1.0 cannot hold at all (control characters, the surrogates that stand
  for a file name's non-UTF-8 bytes) are written as backslash escapes.
- ``github``: one ``::error file=PATH,title=pipeguard::MESSAGE`` line per problem file,
  escaped as GitHub's workflow-command spec says (``%``, CR, LF in the message; also
  ``:`` and ``,`` in properties), so each problem shows inline on a pull request.
"""

from __future__ import annotations

import posixpath
import re
import xml.etree.ElementTree as ET
from typing import Any, Iterable, Optional, TextIO

from .._row import NOT_IMAGE, PROBLEMS, UNREADABLE

CI_FORMATS = ("junit", "github")
SUITE_NAME = "pipeguard scan"
# XML 1.0 allows tab, LF, CR and everything from U+0020 except surrogates and U+FFFE/U+FFFF
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_FIX_NAME = re.compile(r"\b(Ensure\w+)\(")
_QUALIFIED = r"pipeguard.\1("


def row_name(row: dict[str, Any]) -> str:
    """The row's path, plus ``::member`` for a member of an archive."""
    member = row.get("member")
    return f"{row['path']}::{member}" if member else row["path"]


def row_message(row: dict[str, Any]) -> str:
    """One line saying what is wrong with a problem row: its error, or its violations and fix."""
    if row["status"] == UNREADABLE:
        return f"unreadable: {row.get('error') or 'cannot be read'}"
    text = "; ".join(row.get("violations") or ()) or "does not meet the contract"
    fix = row.get("fix")
    if fix:
        text += f" (fix: add {_FIX_NAME.sub(_QUALIFIED, fix)} to the transform)"
    return f"violation: {text}"


def write_ci(rows: Iterable[dict[str, Any]], fmt: str, stream: TextIO, *, root: Optional[str] = None,
          elapsed: Optional[float] = None) -> None:
    """Write ``rows`` in a CI format (one of :data:`CI_FORMATS`) to ``stream``."""
    if fmt == "junit":
        write_junit(rows, stream, elapsed=elapsed)
    elif fmt == "github":
        write_github(rows, stream, root=root)
    else:
        raise ValueError(f"format should be one of {', '.join(CI_FORMATS)}, but got {fmt!r}")


# -- JUnit ---------------------------------------------------------------------------------
def junit_tree(rows: Iterable[dict[str, Any]], elapsed: Optional[float] = None) -> ET.Element:
    """The ``<testsuite>`` element: one ``<testcase>`` per row."""
    suite = ET.Element("testsuite", name=SUITE_NAME)
    counts = {"tests": 0, "failures": 0, "skipped": 0}
    for row in rows:
        counts["tests"] += 1
        case = ET.SubElement(suite, "testcase", name=_xml_text(row_name(row)), classname="pipeguard.scan")
        status = row["status"]
        if status in PROBLEMS:
            counts["failures"] += 1
            message = _xml_text(row_message(row))
            failure = ET.SubElement(case, "failure", type=status, message=message)
            failure.text = _xml_text(_details(row))
        elif status == NOT_IMAGE:
            counts["skipped"] += 1
            ET.SubElement(case, "skipped", message="not an image")
    for key, value in counts.items():
        suite.set(key, str(value))
    suite.set("errors", "0")
    if elapsed is not None:
        suite.set("time", f"{elapsed:.3f}")
    return suite


def write_junit(rows: Iterable[dict[str, Any]], stream: TextIO, *, elapsed: Optional[float] = None) -> None:
    """JUnit XML of ``rows`` (UTF-8 text) to ``stream``."""
    suite = junit_tree(rows, elapsed)
    ET.indent(suite)
    # written by hand: ElementTree declares the locale's encoding when asked to write text
    stream.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    stream.write(ET.tostring(suite, encoding="unicode"))
    stream.write("\n")


def _details(row: dict[str, Any]) -> str:
    """The failure's body: the message, then what the header said about the file."""
    found = [f"{k}: {row[k]}" for k in ("format", "mode", "channels", "height", "width", "bytes")
             if row.get(k) is not None]
    return row_message(row) + ("\n" + ", ".join(found) if found else "")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub(_escaped, text)


def _escaped(match: Any) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # a byte of a non-UTF-8 file name (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return match.group().encode("unicode_escape").decode("ascii")


# -- GitHub annotations --------------------------------------------------------------------
def write_github(rows: Iterable[dict[str, Any]], stream: TextIO, *, root: Optional[str] = None) -> None:
    """One ``::error`` workflow command per problem row.

    Args:
        rows: scan rows.
        stream: where the lines go (the job's stdout).
        root: the scanned folder as given on the command line; ``file=`` is the row's
            path under it, so that GitHub finds the file in the repository.
    """
    for row in rows:
        if row["status"] in PROBLEMS:
            stream.write(github_line(row, root) + "\n")


def github_line(row: dict[str, Any], root: Optional[str] = None) -> str:
    """The ``::error file=...,title=pipeguard::...`` command for one problem row."""
    path = row["path"] if not root else posixpath.normpath(posixpath.join(root.replace("\\", "/"), row["path"]))
    message = row_message(row)
    if row.get("member"):
        message = f"{row['member']}: {message}"
    return f"::error file={escape_property(path)},title=pipeguard::{escape_data(message)}"


def escape_data(text: str) -> str:
    """A workflow command's message: ``%``, CR and LF percent-encoded."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value: as a message, and ``:`` and ``,`` too."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")

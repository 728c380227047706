"""Errors as the page shows them: what is wrong with the file, never a Python object's repr.

Pillow names the file object it was given (``cannot identify image file
<_io.BufferedReader name=4>``), and other errors may carry ``<... object at 0x...>``:
the page says what the file is instead. :func:`pipeguard.diagnosis.without_reprs` (which
:func:`~pipeguard.diagnosis.one_line` applies) drops a file object's repr; :func:`plain`
also says Pillow's "cannot identify" plainly and names any other object by its class.
"""

from __future__ import annotations

import codecs
import re

from ..diagnosis import one_line, without_reprs

EMPTY = "empty file (0 bytes)"
UNIDENTIFIED = "Pillow cannot identify this file as an image"
_UNIDENTIFIED = re.compile(r"(?:UnidentifiedImageError: )?cannot identify image file"
                           r"(?: <[^<>]*>| '[^']*'| \"[^\"]*\")?")
_IO_REPR = re.compile(r"<_io\.[^<>]*>")
_OBJECT_REPR = re.compile(r"<([\w.]+)[^<>]* at 0x[0-9a-fA-F]+>")
_SIGNATURES = ((b"%PDF", "a PDF document"), (b"PK\x03\x04", "a zip archive"), (b"\x1f\x8b", "gzip data"),
               (b"<?xml", "XML"), (b"<svg", "an SVG drawing (Pillow does not read SVG)"))


def plain(text: str) -> str:
    """``text`` with Pillow's ``cannot identify image file <...>`` said plainly and any other
    object's repr replaced by what it is (``the file``, or its class's name)."""
    text = _UNIDENTIFIED.sub(UNIDENTIFIED, without_reprs(text))
    text = _IO_REPR.sub("the file", text)
    text = _OBJECT_REPR.sub(lambda m: m.group(1).rsplit(".", 1)[-1], text)
    return " ".join(text.split())


def error_text(exc: BaseException) -> str:
    """An exception as the page says it: ``Type: message`` on one line, without reprs."""
    return plain(one_line(exc))


def looks_like(head: bytes) -> str:
    """What a file Pillow cannot identify seems to be, from its first bytes; ``""`` when unknown."""
    for magic, what in _SIGNATURES:
        if head.startswith(magic):
            return what
    start = head.lstrip()[:15].lower()
    if start.startswith((b"<!doctype html", b"<html")):
        return "an HTML page"
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head)  # a character cut at the end is no error
    except UnicodeDecodeError:
        return ""
    return "text" if text and all(c.isprintable() or c in "\t\r\n" for c in text) else ""

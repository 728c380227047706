"""Text shapes every message shares: an exception on one line, its first line, the fixing
transforms as code, an aligned table."""

from __future__ import annotations

import re
from typing import Collection, Sequence

# An object's repr inside a library's message, as Pillow writes the file it was given:
# ``<_io.BufferedReader name='/d/x.png'>``, ``<_io.BufferedReader name=4>``, ``<_io.BytesIO object at 0x7f..>``
_REPR = re.compile(r"\s*<[\w.]+ (?:name=(?P<name>'[^'\n]*'|\"[^\"\n]*\"|\d+)|object at 0x[0-9a-fA-F]+)>")


def without_reprs(text: str) -> str:
    """``text`` with the object reprs a library put in it replaced by what they name: a file's
    quoted path stays, an open descriptor or an in-memory buffer is left out (people read these
    messages; ``<_io.BytesIO object at 0x..>`` tells them nothing)."""
    def named(match: re.Match[str]) -> str:
        name = match.group("name")
        return f" {name}" if name and name[0] in "'\"" else ""

    return _REPR.sub(named, text)


def first_line(exc: BaseException | str, default: str = "") -> str:
    """The first non-blank line of an exception's message (or of a text), without object reprs;
    ``default`` when empty."""
    text = without_reprs(str(exc)).strip()
    return text.splitlines()[0] if text else default


def one_line(exc: BaseException) -> str:
    """An exception as ``Type: message`` on one line, its lines folded (a store's, a decoder's
    or a worker's errors may span several): how a row, a preview or a usage error names one."""
    text = " ".join(without_reprs(str(exc)).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def size_text(height: object, width: object) -> str:
    """A height × width as data and as ``--size`` takes it: ``"224x160"`` (messages for people
    write ``224×160 (H×W)``)."""
    return f"{height}x{width}"


def ensure_channels(channels: object, qualified: bool = True) -> str:
    """The transform that converts to ``channels`` channels, as code to paste:
    ``pipeguard.EnsureChannels(3)``; unqualified, ``EnsureChannels(3)`` (the scan's ``fix`` column)."""
    return f"{'pipeguard.' if qualified else ''}EnsureChannels({channels})"


def ensure_size(height: object, width: object, qualified: bool = True) -> str:
    """The transform that makes images ``height`` × ``width``, as code to paste:
    ``pipeguard.EnsureSize((224, 224))``; unqualified, ``EnsureSize((224, 224))``."""
    return f"{'pipeguard.' if qualified else ''}EnsureSize(({height}, {width}))"


def table(header: Sequence[str], rows: Sequence[Sequence[str]], right: Collection[int] = ()) -> list[str]:
    """Rows as aligned lines: columns two spaces apart, those in ``right`` right-aligned,
    trailing blanks stripped; the header is the first line."""
    body = [tuple(header), *(tuple(r) for r in rows)]
    widths = [max(len(row[i]) for row in body) for i in range(len(header))]
    return ["  ".join(c.rjust(w) if i in right else c.ljust(w)
                      for i, (c, w) in enumerate(zip(row, widths))).rstrip() for row in body]

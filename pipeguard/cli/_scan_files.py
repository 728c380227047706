"""What ``pipeguard scan`` reads and writes besides the data: checked before the scan.

The report (``--output``), the page (``--html``) and the contract file
(``--write-contract``) are each a regular file (or a new one), two of them never the same
file, and none of them the list (``--files-from``) or the contract (``--contract``) the scan
reads; ``-`` (standard output) is checked as the file it was redirected to, if any. A
symlink named as an output is written through: its target is replaced, the link stays.
``--contract`` is a regular file of at most :data:`CONTRACT_LIMIT` bytes; a
``--files-from`` list is read a line at a time, a line at most :data:`LINE_LIMIT` bytes,
and a NUL byte or UTF-16 text is an input error, never a traceback.
"""

from __future__ import annotations

import os
import stat
import sys
from typing import Optional

from ._params import UsageError

CONTRACT_LIMIT = 1 << 20  # bytes: a contract (or a pyproject holding one) is far smaller
LINE_LIMIT = 1 << 16  # bytes of one --files-from line: no path is longer
UTF16_MARKS = (b"\xff\xfe", b"\xfe\xff")


def _stat(path: str, option: str) -> Optional[os.stat_result]:
    """``os.stat`` of ``path`` (through links), ``None`` when there is nothing there yet."""
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UsageError(f"cannot use {option} {path}: {exc.strerror or exc}") from None


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def check_outputs(outputs: dict[str, Optional[str]], inputs: dict[str, Optional[str]]) -> None:
    """Refuse an output (option -> path) that exists and is not a regular file, that is
    another output, or that is one of the ``inputs`` (option -> path) the scan reads."""
    seen: list[tuple[str, str, Optional[os.stat_result]]] = []
    for option, path in inputs.items():
        if path and path != "-":
            seen.append((option, path, _stat(path, option)))
    reads = len(seen)
    for option, path in outputs.items():
        if not path:
            continue
        if path == "-":
            st = _stdout_stat()
            if st is None or not stat.S_ISREG(st.st_mode):  # a pipe or a terminal is no file named here
                continue
        else:
            st = _stat(path, option)
            if st is not None and option == "--output" and path.endswith("/"):  # a folder of Parquet parts
                if not stat.S_ISDIR(st.st_mode):
                    raise UsageError(f"refusing to write {option} {path}: it is {_kind(st.st_mode)}, not a folder")
            elif st is not None and not stat.S_ISREG(st.st_mode):
                raise UsageError(f"refusing to write {option} {path}: it is {_kind(st.st_mode)}; "
                                 "name a regular file (a symlink to one is written through)")
        for k, (other, other_path, other_st) in enumerate(seen):
            if _same(path, st, other_path, other_st):
                what = "reads it" if k < reads else "writes it too"
                shown = "- (standard output)" if path == "-" else path
                raise UsageError(f"refusing to write {option} {shown}: {other} {what}; name another file")
        seen.append((option, path, st))


def _stdout_stat() -> Optional[os.stat_result]:
    """What standard output is (``-`` as an output: ``> report.jsonl`` may name another output)."""
    try:
        return os.fstat(sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):  # closed, or not a file descriptor (a test's capture)
        return None


def _same(a: str, a_st: Optional[os.stat_result], b: str, b_st: Optional[os.stat_result]) -> bool:
    if a_st is not None and b_st is not None:
        return (a_st.st_dev, a_st.st_ino) == (b_st.st_dev, b_st.st_ino)  # hard links and links too
    if (a_st is None) != (b_st is None):  # one is there, the other not yet (standard output has no path)
        return False
    return os.path.realpath(a) == os.path.realpath(b)


def check_contract_file(path: Optional[str], option: str = "--contract") -> None:
    """``--contract`` (or ``--write-contract``, which may not exist yet) is a regular file of at
    most :data:`CONTRACT_LIMIT` bytes: never a FIFO or a device read without end."""
    if not path:
        return
    st = _stat(path, option)
    if st is None:  # a missing --contract is said by Contract.load; a --write-contract is made
        return
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"refusing to use {option} {path}: it is {_kind(st.st_mode)}; name a regular file")
    if st.st_size > CONTRACT_LIMIT:
        raise UsageError(f"refusing to use {option} {path}: it holds {st.st_size:,} bytes, more than a "
                         f"contract file's {CONTRACT_LIMIT:,}")


def read_files_from(files_from: str) -> list[str]:
    """The entries of a ``--files-from`` list (``-``: standard input), one path a line."""
    shown = "standard input" if files_from == "-" else files_from
    try:
        if files_from == "-":
            stream = getattr(sys.stdin, "buffer", None)
            if stream is None:
                raise UsageError("cannot read --files-from -: standard input is closed")
            return _entries(stream, shown)
        with open(files_from, "rb") as f:
            return _entries(f, shown)
    except OSError as exc:
        raise UsageError(f"cannot read --files-from {shown}: {exc.strerror or exc}") from None


def _entries(stream, shown: str) -> list[str]:
    """Blank lines skipped, nothing stripped but the line end (a path may start or end with spaces)."""
    out: list[str] = []
    number = 0
    while True:
        line = stream.readline(LINE_LIMIT + 1)
        if not line:
            return out
        number += 1
        if number == 1 and line.startswith(UTF16_MARKS):
            raise UsageError(f"--files-from {shown} is UTF-16 text: save the list as UTF-8, one path a line")
        if b"\0" in line:
            raise UsageError(f"--files-from {shown} holds a NUL byte (line {number:,}): use a newline-separated "
                             "list of paths (find -print, not -print0)")
        if len(line) > LINE_LIMIT:
            raise UsageError(f"--files-from {shown}: line {number:,} is longer than {LINE_LIMIT:,} bytes; "
                             "it should be a list of paths, one a line")
        text = line.decode("utf-8", "surrogateescape").rstrip("\r\n")
        if text.strip():
            out.append(text)

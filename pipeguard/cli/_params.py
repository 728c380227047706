"""Click parameter types and the usage error shared by the subcommands."""

from __future__ import annotations

import math
import re

import click

from ..diagnosis import first_line

_CONTROLS = {c: (f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}")
             for c in [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029, *range(0x202A, 0x202F),
                       *range(0x2066, 0x206A)]}
_CONTROLS.update({ord("\r"): "\\r", ord("\t"): "\\t", ord("\n"): "\\n"})
_KEEP_NEWLINES = {c: e for c, e in _CONTROLS.items() if c != ord("\n")}


def printable(text: str, newlines: bool = False) -> str:
    """``text`` for a terminal: control characters (escapes, carriage returns, bidirectional
    overrides) from file and class names shown as ``\\x1b``-style escapes, never acted upon;
    ``newlines``: keep line ends (text of several lines)."""
    return text.translate(_KEEP_NEWLINES if newlines else _CONTROLS)


class UsageError(click.ClickException):
    """A usage or input error: one ``Error: ...`` line on stderr, exit status 2, no usage block."""

    exit_code = 2

    def format_message(self) -> str:
        return printable(first_line(printable(self.message, newlines=True), "usage error"))


class OneLineErrors(click.Command):
    """A command whose usage errors, Click's own (a bad option value, a missing option, an
    extra argument) and those raised inside it, are one ``Error: ...`` line on stderr with
    exit status 2: a :class:`UsageError`, never the usage block."""

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            raise UsageError(exc.format_message()) from None

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise UsageError(exc.format_message()) from None


class ShapeParam(click.ParamType):
    """``64,3,32,32``, ``64x3x32x32`` or ``[64, 3, 32, 32]`` -> a tuple; a single number is an element count."""

    name = "SHAPE"

    def convert(self, value, param, ctx):
        if isinstance(value, (tuple, int)):
            return value
        text = str(value).strip().strip("[]()").replace("_", "").strip()
        if not re.fullmatch(r"\d+(\s*[,x×]\s*\d+|\s+\d+)*", text):
            self.fail(f"should be sizes like 64,3,32,32 or an element count like 49152, but got {value!r}",
                      param, ctx)
        dims = tuple(int(p) for p in re.split(r"[,x×\s]+", text))
        return dims[0] if len(dims) == 1 else dims


class SizeParam(click.ParamType):
    """``224x224`` or ``224`` -> ``(224, 224)``."""

    name = "HxW"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        m = re.fullmatch(r"\s*(\d+)\s*(?:[x×,]\s*(\d+))?\s*", str(value))
        if not m or int(m.group(1)) < 1 or (m.group(2) and int(m.group(2)) < 1):
            self.fail(f"should be HEIGHTxWIDTH such as 224x224, but got {value!r}", param, ctx)
        h = int(m.group(1))
        return (h, int(m.group(2) or h))


class SecondsParam(click.ParamType):
    """A time limit in seconds: a finite number above 0 (``nan``, ``inf``, 0 and negatives
    would be a limit that never fires, or fires at once)."""

    name = "SECONDS"

    def convert(self, value, param, ctx):
        if isinstance(value, float):
            seconds = value
        else:
            try:
                seconds = float(str(value).strip())
            except ValueError:
                seconds = math.nan
                self.fail(f"should be a number of seconds such as 10 or 2.5, but got {value!r}", param, ctx)
        if not math.isfinite(seconds) or seconds <= 0:
            self.fail(f"should be a finite number of seconds above 0, but got {value!r}", param, ctx)
        return seconds

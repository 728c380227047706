"""The ``pipeguard`` command: one module per subcommand, rendering kept apart from logic.

Subcommands are imported only when used, so ``pipeguard explain`` never loads torch.
Exit status: 0 conforms, 1 violations found (or a layer breaks), 2 usage or input error,
130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import codecs
import importlib
import logging
import os
import signal
import sys

import click

# subcommand -> "module:attribute" of its click command
SUBCOMMANDS = {
    "scan": "pipeguard.cli._scan:scan_command",
    "explain": "pipeguard.cli._explain:explain_command",
    "trace": "pipeguard.cli._trace:trace_command",
}


ESCAPE_ERRORS = "pipeguard.escape"


def _escape_unencodable(exc: UnicodeError) -> tuple[bytes, int]:
    """A codec error handler: a file name's undecodable byte (a lone surrogate U+DC80..U+DCFF,
    as ``surrogateescape`` made it) goes out as that byte; any other character the encoding
    lacks (``≤ × …`` on ASCII or Latin-1) as a ``\\u2264``-style escape."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    out = bytearray()
    for char in exc.object[exc.start:exc.end]:
        code = ord(char)
        out += bytes([code - 0xDC00]) if 0xDC80 <= code <= 0xDCFF else char.encode("ascii", "backslashreplace")
    return bytes(out), exc.end


codecs.register_error(ESCAPE_ERRORS, _escape_unencodable)


def tolerate_unencodable_output() -> None:
    """Make stdout and stderr write what their encoding cannot hold instead of crashing."""
    for stream in (sys.stdout, sys.stderr):
        if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors=ESCAPE_ERRORS)


INTERRUPTED = 130  # 128 + SIGINT, as shells report it; 1 means violations
ENDING_SIGNALS = ("SIGTERM", "SIGHUP")  # ended like Ctrl-C: a report half-written is removed


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised like Ctrl-C's KeyboardInterrupt so that everything a scan
    cleans up on Ctrl-C (its workers, a report's temporary file) is cleaned up alike."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def end_like_ctrl_c() -> dict:
    """SIGTERM and SIGHUP raise :class:`Terminated` in this process (one ignored, as under
    ``nohup``, stays ignored); a forked worker that inherits the handler dies of the signal
    as it would have. Returns the handlers replaced (none off the main thread)."""
    pid = os.getpid()
    replaced: dict = {}

    def handler(signum, frame):
        if os.getpid() != pid:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        raise Terminated(signum)

    for name in ENDING_SIGNALS:
        sig = getattr(signal, name, None)
        if sig is not None and signal.getsignal(sig) != signal.SIG_IGN:
            try:
                replaced[sig] = signal.signal(sig, handler)
            except ValueError:  # not the main thread: signals are not ours to take
                break
    return replaced


class _Stderr(logging.StreamHandler):
    """A handler that writes to whatever ``sys.stderr`` is when a message comes."""

    pipeguard_cli: bool  # set on the one the command adds (a mark; absent on other handlers)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


class _PrintableFormatter(logging.Formatter):
    """A warning naming a file shows its name's control characters as escapes (see ``printable``)."""

    def format(self, record: logging.LogRecord) -> str:
        from ._params import printable

        return printable(super().format(record), newlines=True)


def show_scanner_warnings() -> None:
    """The scanner's warnings (a cache it cannot use, a file that hung its worker) as
    ``pipeguard: ...`` lines on stderr: a library only logs, the command shows them."""
    logger = logging.getLogger("pipeguard.scanner")
    if not any(getattr(h, "pipeguard_cli", False) for h in logger.handlers):
        handler = _Stderr()
        handler.setFormatter(_PrintableFormatter("pipeguard: %(message)s"))
        handler.setLevel(logging.WARNING)
        handler.pipeguard_cli = True
        logger.addHandler(handler)


class LazyGroup(click.Group):
    def main(self, *args, **kwargs):
        tolerate_unencodable_output()
        show_scanner_warnings()
        return super().main(*args, **kwargs)

    def invoke(self, ctx):
        """Ctrl-C ends any subcommand with one line and exit status 130 (Click's own handling
        says ``Aborted!`` and exits 1, which here means violations)."""
        replaced = end_like_ctrl_c()
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            replaced.clear()
            signum = getattr(exc, "signum", signal.SIGINT)
            for name in ("SIGINT", *ENDING_SIGNALS):  # a second signal must not print a traceback
                if hasattr(signal, name):
                    signal.signal(getattr(signal, name), signal.SIG_IGN)
            said = "interrupted" if signum == signal.SIGINT else f"terminated ({signal.Signals(signum).name})"
            click.echo(f"\npipeguard: {said}", err=True)
            sys.exit(128 + signum)
        finally:
            for sig, previous in replaced.items():
                signal.signal(sig, previous)

    def list_commands(self, ctx):
        return list(SUBCOMMANDS)

    def get_command(self, ctx, name):
        target = SUBCOMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pipeguard")
def main() -> None:
    """Shape contracts for PyTorch image pipelines: scan folders, explain shape errors,
    trace models."""

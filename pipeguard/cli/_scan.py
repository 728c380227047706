"""``pipeguard scan``: check every file in an image folder against a contract.

Exit status: 0 every file conforms (``not-image`` files aside), 1 a file violates the
contract or cannot be read, 2 a usage or input error (one line on stderr).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ._params import SizeParam, UsageError


class _OneLineErrors(click.Command):
    """Click's own parse errors (a bad option value) as a :class:`UsageError`: one line."""

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            raise UsageError(exc.format_message()) from None


@click.command("scan", cls=_OneLineErrors)
@click.argument("directory", metavar="DIR")
@click.option("--channels", type=click.IntRange(min=1), help="Channels every image must have (mode band count).")
@click.option("--size", type=SizeParam(), help="Height x width every image must have, e.g. 224x224.")
@click.option("--contract", "contract_file", metavar="FILE",
              help="A contract file (TOML, JSON or pyproject.toml); --channels/--size override its fields.")
@click.option("--deep", is_flag=True, help="Also decode every image (in worker processes, with a time limit).")
@click.option("--workers", type=click.IntRange(min=1), help="Worker processes (default: every core).")
@click.option("--timeout", "time_limit", type=click.FloatRange(min=0, min_open=True), default=10.0,
              show_default=True, help="Seconds one file may take in a worker before it is reported as hung.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "junit", "github"]), default="table",
              show_default=True, help="table for people; json or csv for every row; junit (JUnit XML) or "
              "github (workflow annotations) for CI.")
@click.option("--output", "-o", metavar="FILE", help="Write the report here instead of stdout.")
@click.option("--follow-symlinks", is_flag=True, help="Descend into symlinked folders.")
@click.option("--write-contract", metavar="FILE", help="Save the contract used (e.g. the inferred one) to FILE.")
@click.option("--cache", "cache", metavar="DIR", help="Keep the rows in DIR (created if missing); the next scan "
              "reuses those of unchanged files and reads the others. The report is the same.")
@click.option("--html", metavar="FILE", callback=lambda ctx, param, value: _html_available(value),
              help="Also write a self-contained HTML page with the problem images (beside any --format).")
def scan_command(directory, channels, size, contract_file, deep, workers, time_limit, fmt, output,
                 follow_symlinks, write_contract, html, cache) -> None:
    """Check every file under DIR against a contract, from file headers.

    Without --channels, --size or --contract, the channels and size shared by most
    images become the contract and the rest are reported against it.

    \b
    Examples:
        pipeguard scan data/train --channels 3 --size 224x224
        pipeguard scan data/ --format json --output scan.json
        pipeguard scan data/ --format junit --output pipeguard.xml
        pipeguard scan data/ --deep --workers 4
    """
    from ..core import ContractFieldError, ContractFileError

    root = Path(directory)
    if not root.exists():
        raise UsageError(f"no such folder: {directory}")
    if not root.is_dir():
        raise UsageError(f"not a folder: {directory}")
    try:
        contract = _contract(contract_file, channels, size)
    except (ContractFileError, ContractFieldError) as exc:
        raise UsageError(str(exc)) from None

    from ..scanner import scan
    from ._scan_render import Progress, render_table, write_rows

    progress = Progress() if sys.stderr.isatty() else None
    try:
        report = scan(root, contract=contract, deep=deep, workers=workers, follow_symlinks=follow_symlinks,
                      time_limit=time_limit, progress=progress, cache=cache)
    finally:
        if progress is not None:
            progress.close()

    if write_contract:
        if report.contract is None:
            notes = "; ".join(f"{k}: {v}" for k, v in report.inferred_notes.items())
            raise UsageError(f"no contract to write to {write_contract} ({notes or 'nothing was inferred'})")
        try:
            report.contract.save(write_contract)
        except OSError as exc:
            raise UsageError(f"cannot write {write_contract}: {exc.strerror or exc}") from None
    _write_html(report, html, workers, time_limit)
    # file names that are not valid UTF-8 reach us as surrogates: write their bytes back as they were
    try:
        sys.stdout.reconfigure(errors="surrogateescape")
    except (AttributeError, ValueError):
        pass
    try:
        if output:
            with open(output, "w", encoding="utf-8", errors="surrogateescape", newline="") as stream:
                _write(report, fmt, stream, render_table, write_rows)
        else:
            _write(report, fmt, sys.stdout, render_table, write_rows)
            sys.stdout.flush()
    except BrokenPipeError:  # `pipeguard scan ... | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except OSError as exc:
        raise UsageError(f"cannot write {output or 'the report'}: {exc.strerror or exc}") from None
    sys.exit(report.exit_code)


def _html_available(html):
    """``--html`` is refused before the scan, not after it, when Jinja2 is missing."""
    if html:
        from ..htmlreport import missing_dependency

        if missing_dependency():
            raise click.BadParameter(missing_dependency(), param_hint="'--html'")
    return html


def _write_html(report, html, workers, time_limit) -> None:
    if not html:
        return
    try:
        report.to_html(html, workers=workers, time_limit=time_limit)
    except OSError as exc:
        raise UsageError(f"cannot write {html}: {exc.strerror or exc}") from None


def _write(report, fmt, stream, render_table, write_rows) -> None:
    if fmt == "table":
        render_table(report, stream)
    else:
        write_rows(report, fmt, stream)


def _contract(contract_file, channels, size):
    from ..core._contract import Contract

    base = Contract.load(contract_file).to_dict() if contract_file else {}
    if channels is None and size is None:
        return Contract(**base) if base else None
    if channels is not None:
        base["channels"] = channels
    if size is not None:
        base["size"] = size
    if "channels" in base and "size" in base:
        base.pop("numel", None)  # derived again from the overridden fields
    return Contract(**base)

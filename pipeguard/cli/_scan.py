"""``pipeguard scan``: check every file of one or more sources against a contract.

Exit status: 0 every file conforms (``not-image`` files aside), 1 a file violates the
contract or cannot be read, 2 a usage or input error (one line on stderr).
"""

from __future__ import annotations

import os
import sys
from typing import Optional

import click

from ._params import OneLineErrors, SecondsParam, SizeParam, UsageError, printable
from ._scan_files import check_contract_file, check_outputs, read_files_from

STREAMED = ("parquet", "jsonl", "json", "csv")  # formats written while the scan runs, with --output
FORMATS = ("table", "json", "jsonl", "csv", "parquet", "junit", "github")


@click.command("scan", cls=OneLineErrors)
@click.argument("sources", metavar="SOURCE...", nargs=-1)
@click.option("--files-from", metavar="FILE",
              help="Also scan the files listed in FILE, one path a line ('-': stdin); UTF-8 text, "
              "no NUL bytes (find -print, not -print0), a line at most 64 KiB.")
@click.option("--channels", type=click.IntRange(min=1), help="Channels every image must have (mode band count).")
@click.option("--size", type=SizeParam(), help="Height x width every image must have, e.g. 224x224.")
@click.option("--contract", "contract_file", metavar="FILE",
              help="A contract file (TOML, JSON or pyproject.toml); --channels/--size override its fields.")
@click.option("--deep", is_flag=True, help="Also decode every image (in worker processes, with a time limit).")
@click.option("--workers", type=click.IntRange(min=1), help="Worker processes (default: every core).")
@click.option("--timeout", "time_limit", type=SecondsParam(), default=10.0,
              show_default=True, help="Seconds one file may take in a worker before it is reported as hung.")
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              help="table for people (the default); json, jsonl, csv or parquet for every row; junit "
              "(JUnit XML) or github (workflow annotations) for CI. Default with --output: by its suffix.")
@click.option("--output", "-o", metavar="FILE",
              help="Write the report here instead of stdout ('-': stdout). An explicit --format wins over "
              "FILE's suffix; parquet, jsonl, json and csv are written while scanning when the suffix matches. "
              "FILE is a regular file (a symlink is written through, replacing its target), never another "
              "output, the --files-from list or the --contract file. A folder ending in / (DIR/, s3://bucket/"
              "prefix/) gets numbered Parquet parts, written by the tasks themselves with --dask.")
@click.option("--follow-symlinks", is_flag=True, help="Descend into symlinked folders.")
@click.option("--storage-option", "storage_options", metavar="KEY=VALUE", multiple=True,
              help="An fsspec option for URLs (s3://, gs://, az://...: sources, --files-from entries, an --output "
              "folder), "
              "e.g. endpoint_url=http://... or anon=true.")
@click.option("--dask", "cluster", metavar="local|local:N|ADDRESS",
              help="Run the scan on a Dask cluster: local (every core), local:N workers, or a scheduler address.")
@click.option("--write-contract", metavar="FILE", help="Save the contract used (e.g. the inferred one) to FILE.")
@click.option("--cache", "cache", metavar="DIR", callback=lambda ctx, param, value: _cache_folder(value),
              help="Keep the rows in DIR (created if missing); the next scan "
              "reuses those of unchanged files and reads the others. The report is the same.")
@click.option("--html", metavar="FILE", callback=lambda ctx, param, value: _html_available(value),
              help="Also write a self-contained HTML page with the problem images (beside any --format). "
              "'-': standard output, when --output takes the report.")
def scan_command(sources, files_from, channels, size, contract_file, deep, workers, time_limit, fmt, output,
                 follow_symlinks, storage_options, cluster, write_contract, html, cache) -> None:
    """Check every file of SOURCE (a folder, a file or an archive; several are one report)
    against a contract, from file headers. Archives (.tar, .tar.gz, .zip) are read member
    by member.

    Without --channels, --size or --contract, the channels and size shared by most
    images become the contract and the rest are reported against it.

    \b
    Examples:
        pipeguard scan data/train --channels 3 --size 224x224
        pipeguard scan shards/ --format parquet --output scan.parquet
        find data -name '*.jpg' | pipeguard scan --files-from - --size 224x224
        pipeguard scan data/ --format junit --output pipeguard.xml
        pipeguard scan data/ --deep --workers 4
        pipeguard scan s3://bucket/train --storage-option endpoint_url=http://minio:9000
        pipeguard scan s3://bucket/train --dask tcp://scheduler:8786
    """
    from ._scan_remote import check_engine, check_remote, storage_options_of

    options = storage_options_of(storage_options)
    check_engine(cluster)
    output = None if output == "-" else output  # '-': standard output, as for --files-from
    _check_html_to_stdout(html, output)
    check_outputs({"--output": output, "--html": html, "--write-contract": write_contract},
                  {"--files-from": files_from, "--contract": contract_file})
    check_contract_file(contract_file)
    check_contract_file(write_contract, "--write-contract")
    source = check_remote(sources, files_from, options, time_limit, output) or _source(sources, files_from)
    workers = _capped(workers)
    fmt = _format(fmt, output)
    contract = _contract_or_exit(contract_file, channels, size)
    streamed = output if fmt in STREAMED and output and _suffix_format(output) == fmt else None
    _refuse_to_overwrite(source, [output, None if html == "-" else html, write_contract], streamed)
    remote = {"storage_options": options} if options else {}
    report = _run_scan(source, contract, deep=deep, workers=workers, follow_symlinks=follow_symlinks,
                       time_limit=time_limit, output=streamed, cluster=cluster, cache=cache, **remote)
    if files_from:
        listed = "standard input" if files_from == "-" else files_from
        report.title = f"the files listed in {listed}"  # the list's own paths are as given
        if sources:
            report.title = f"{', '.join(sources)} and {report.title}"
    _write_contract(report, write_contract)
    _write_html(report, html, workers, time_limit)
    if streamed is None:
        _write_report(report, fmt, output)
    _tell_where(report, fmt, output, html)
    sys.exit(report.exit_code)


def _tell_where(report, fmt: str, output: Optional[str], html: Optional[str]) -> None:
    """A report written to a file still shows the terminal what it found (the table, on
    stderr: stdout stays free for data), and says where the report and the page went."""
    from ._scan_render import render_table

    if output and fmt != "table":
        render_table(report, sys.stderr)
    if output:
        click.echo(printable(f"report: {output} ({fmt})"), err=True)
    if html:
        click.echo(printable(f"page: {'standard output' if html == '-' else html}"), err=True)


def _capped(workers: Optional[int]) -> Optional[int]:
    if workers is None:
        return None
    from ..scanner import capped_workers  # loads the pool (multiprocessing): only when --workers is given

    workers, note = capped_workers(workers)
    if note is not None:
        click.echo(f"note: {note}", err=True)
    return workers


def _source(sources: tuple[str, ...], files_from: Optional[str]):
    """One folder as itself (paths relative to it), anything else as a list (paths as given)."""
    if any(not s for s in sources):
        raise UsageError("an empty SOURCE: name a folder or a file")
    listed = list(sources)
    if files_from:
        listed += read_files_from(files_from)
    if not listed:
        raise UsageError("nothing to scan: give a SOURCE folder or file, or --files-from FILE")
    if not files_from and len(listed) == 1:
        if os.path.isdir(listed[0]):
            _listable(listed[0])
            return listed[0]
        if not os.path.lexists(listed[0]):
            raise UsageError(f"no such file or folder: {listed[0]}")
    return listed


def _listable(folder: str) -> None:
    """The folder to scan can be listed: one that cannot is an input error, not an empty scan."""
    try:
        with os.scandir(folder):
            pass
    except OSError as exc:
        raise UsageError(f"cannot read the folder {folder}: {exc.strerror or exc}") from None


def _suffix_format(output: str) -> Optional[str]:
    """The streamed format ``output``'s suffix names: a report in another format than asked
    (``--format jsonl -o report.out``) is written whole at the end, in the format asked for."""
    from ..scanner import output_format

    return "parquet" if output.endswith("/") else output_format(output)


def _format(fmt: Optional[str], output: Optional[str]) -> str:
    from ..scanner import output_format

    folder = output is not None and output.endswith("/")  # a folder of Parquet parts (DIR/ or s3://b/p/)
    if folder and fmt not in (None, "parquet"):
        raise UsageError(f"--output {output} is a folder of Parquet parts: leave --format out, or give a file name")
    if fmt is None:
        fmt = "parquet" if folder else (output_format(output) if output else None) or "table"
    if fmt == "parquet" and not output:
        raise UsageError("--format parquet writes a binary file: give --output FILE.parquet")
    return fmt


def _refuse_to_overwrite(source, outputs: list[Optional[str]], streamed: Optional[str]) -> None:
    """A report is never written over a file the scan reads; a report written while scanning
    never goes into a folder the scan walks (it would read its own half-written file).
    ``scan()`` itself checks the report it streams (see :func:`_run_scan`): a list's entries
    are looked at once for each check, so only the outputs written after it are checked here."""
    from ..scanner import OutputClobbers, refuse_output

    later = [out for out in outputs if out and out != streamed]
    if not later:
        return
    try:
        refuse_output(source, later[0], streamed=False, more=later[1:])
    except OutputClobbers as exc:
        raise UsageError(str(exc)) from None


def _contract_or_exit(contract_file, channels, size):
    from ..core import ContractFieldError, ContractFileError

    try:
        return _contract(contract_file, channels, size)
    except (ContractFileError, ContractFieldError) as exc:
        raise UsageError(str(exc)) from None


def _run_scan(source, contract, **options):
    from ..scanner import scan
    from ._scan_render import Progress

    progress = Progress() if sys.stderr.isatty() else None
    from ..scanner import OutputClobbers

    try:
        return scan(source, contract=contract, progress=progress, **options)
    # an extra for a URL source or --dask; a report over the data; target rules the scan cannot check yet
    except (ImportError, OutputClobbers, NotImplementedError) as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:  # the output cannot be written (OutputError), a store or a cluster cannot be reached
        raise UsageError(str(exc)) from None
    finally:
        if progress is not None:
            progress.close()


def _write_contract(report, write_contract: Optional[str]) -> None:
    if not write_contract:
        return
    if report.contract is None:
        notes = "; ".join(f"{k}: {v}" for k, v in report.inferred_notes.items())
        raise UsageError(f"no contract to write to {write_contract} ({notes or 'nothing was inferred'})")
    try:
        report.contract.save(write_contract)
    except OSError as exc:
        raise UsageError(f"cannot write {write_contract}: {exc.strerror or exc}") from None
    click.echo(printable(f"wrote the {report.contract_source} contract {report.contract!r} to {write_contract}"),
               err=True)


def _cache_folder(cache):
    if cache == "":  # not the current folder by accident
        raise click.BadParameter("an empty path; give the cache's folder", param_hint="'--cache'")
    return cache


def _html_available(html):
    """``--html`` is refused before the scan, not after it, when Jinja2 is missing."""
    if html:
        from ..htmlreport import missing_dependency

        if missing_dependency():
            raise click.BadParameter(missing_dependency(), param_hint="'--html'")
    return html


def _check_html_to_stdout(html: Optional[str], output: Optional[str]) -> None:
    """``--html -`` is standard output, which must then be free of the report."""
    if html != "-":
        return
    if not output:
        raise UsageError("--html - and the report both go to standard output: give --output FILE "
                         "or an --html file name")
    if getattr(sys.stdout, "buffer", None) is None:
        raise UsageError("cannot write --html -: standard output is closed")


def _write_html(report, html, workers, time_limit) -> None:
    if not html:
        return
    if html == "-":
        _html_to_stdout(report, workers, time_limit)
        return
    try:
        report.to_html(html, workers=workers, time_limit=time_limit)
    except OSError as exc:
        raise UsageError(f"cannot write {html}: {exc.strerror or exc}") from None


def _html_to_stdout(report, workers, time_limit) -> None:
    """The page goes through a temporary file: ``to_html`` writes to a path, and opening
    /dev/stdout would truncate a file stdout was redirected to (``>>``) or fail on a socket."""
    import shutil
    import tempfile

    fd, path = tempfile.mkstemp(prefix="pipeguard-", suffix=".html")
    os.close(fd)
    try:
        try:
            report.to_html(path, workers=workers, time_limit=time_limit)
        except OSError as exc:
            raise UsageError(f"cannot write the page to {path}: {exc.strerror or exc}") from None
        with open(path, "rb") as page:
            sys.stdout.flush()
            shutil.copyfileobj(page, sys.stdout.buffer)
            sys.stdout.buffer.flush()
    except BrokenPipeError:  # `... --html - | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except OSError as exc:
        raise UsageError(f"cannot write --html - (standard output): {exc.strerror or exc}") from None
    finally:
        os.unlink(path)


def _write_report(report, fmt: str, output: Optional[str]) -> None:
    from ._scan_render import render_table, write_rows

    write = render_table if fmt == "table" else (lambda r, stream: write_rows(r, fmt, stream))
    try:
        if output:
            with open(output, "w", encoding="utf-8", errors="surrogateescape", newline="") as stream:
                write(report, stream)
        else:
            write(report, sys.stdout)
            sys.stdout.flush()
    except BrokenPipeError:  # `pipeguard scan ... | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except OSError as exc:
        raise UsageError(f"cannot write {output or 'the report'}: {exc.strerror or exc}") from None


def _contract(contract_file, channels, size):
    from ..core import Contract

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

"""``pipeguard scan`` given hostile paths and inputs (issue 24): outputs that would clobber a
file, special files, unbounded inputs, binary lists, signals and terminal escapes. Each is
one ``Error:`` line with exit status 2 (or a clean end), never a traceback, a hang or a
user's file lost. Whatever could hang or eat memory without its fix runs in a subprocess
with a time and a memory limit."""

import json
import os
import resource
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from pipeguard.cli import main

COMMAND = Path(sys.executable).with_name("pipeguard")
ESCAPES = ("b\x1b]0;title\x07.png", "c\x1b[2J\r.png")
linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/dev/zero, /dev/full, /proc")


def run(*args, stdin=None):
    result = CliRunner().invoke(main, ["scan", *map(str, args)], input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def _limited():
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))


def run_bounded(*args, cwd=None, timeout=60, shell_tail="", env=None):
    """The installed command in a subprocess: 60 s, 4 GiB of address space at most."""
    command = " ".join(f"'{a}'" for a in [COMMAND, "scan", *map(str, args)]) + shell_tail
    return subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          preexec_fn=_limited, env=None if env is None else {**os.environ, **env})


def one_line_error(result, *words):
    err = result.stderr
    code = result.returncode if hasattr(result, "returncode") else result.exit_code
    assert code == 2, err
    assert err.startswith("Error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, err


@pytest.fixture
def folder(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    Image.new("RGB", (8, 8)).save(data / "a.png")
    Image.new("RGB", (8, 8)).save(data / "b.png")
    return data


# -- 1. outputs that would clobber a file --------------------------------------------------
@pytest.mark.parametrize("second", ["--html", "--write-contract"])
def test_two_outputs_naming_one_file_are_refused(folder, tmp_path, second):
    out = tmp_path / "r.json"
    one_line_error(run(folder, "--output", out, second, out), second, "--output writes it too")
    assert not out.exists()


def test_an_output_that_is_the_files_from_list_is_refused_and_the_list_kept(folder, tmp_path):
    listed = tmp_path / "list.csv"
    listed.write_text(f"{folder / 'a.png'}\n")
    one_line_error(run("--files-from", listed, "--output", listed), "--files-from reads it")
    assert listed.read_text() == f"{folder / 'a.png'}\n"


def test_an_output_that_is_the_contract_file_is_refused(folder, tmp_path):
    contract = tmp_path / "c.json"
    contract.write_text('{"channels": 3}')
    one_line_error(run(folder, "--contract", contract, "--write-contract", contract), "--contract reads it")
    linked = tmp_path / "link.json"
    linked.symlink_to(contract)  # the same file under another name
    one_line_error(run(folder, "--contract", contract, "--output", linked), "--contract reads it")
    assert contract.read_text() == '{"channels": 3}'


def test_a_symlinked_output_is_written_through(folder, tmp_path):
    target = tmp_path / "target.jsonl"
    target.write_text("old\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)
    assert run(folder, "--output", link).exit_code == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert json.loads(target.read_text().splitlines()[-1])["summary"]["files"] == 2
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


@linux
@pytest.mark.parametrize("option", ["--output", "--write-contract", "--html"])
def test_a_fifo_named_as_an_output_is_refused_not_opened(folder, tmp_path, option):
    fifo = tmp_path / "out.json"
    os.mkfifo(fifo)
    if option == "--html":
        pytest.importorskip("jinja2")
    one_line_error(run_bounded(folder, option, fifo, timeout=60), "FIFO")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


# -- 2. where the report goes --------------------------------------------------------------
def test_an_explicit_format_wins_over_the_suffix(folder, tmp_path):
    out = tmp_path / "report.out"
    result = run(folder, "--format", "jsonl", "--output", out)
    assert result.exit_code == 0, result.stderr
    assert json.loads(out.read_text().splitlines()[-1])["summary"]["files"] == 2
    assert "report.out (jsonl)" in result.stderr


def test_output_dash_is_standard_output(folder):
    result = run(folder, "--format", "jsonl", "--output", "-")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["summary"]["files"] == 2
    assert not os.path.exists("-")


@linux
@pytest.mark.parametrize("fmt", ["jsonl", "table", "csv"])
def test_a_device_or_a_folder_as_output_is_one_line(folder, tmp_path, fmt):
    one_line_error(run(folder, "--format", fmt, "--output", "/dev/full"), "/dev/full: it is a device")
    one_line_error(run(folder, "--format", fmt, "--output", tmp_path), "it is a folder")


# -- 2b. --html -: the page on standard output, when the report is not there -------------
@pytest.fixture
def jinja():
    pytest.importorskip("jinja2")


@pytest.mark.parametrize("where", [[], ["--output", "-"], ["--format", "json"]])
def test_html_dash_with_the_report_on_stdout_is_one_line(jinja, folder, tmp_path, where):
    """--html - wrote a file named '-' in the current folder (and said 'page: -')."""
    one_line_error(run_bounded(folder, "--html", "-", *where, cwd=tmp_path),
                   "--html - and the report both go to standard output: give --output FILE")
    assert list(tmp_path.iterdir()) == [folder]


def test_html_dash_writes_the_page_to_stdout_beside_a_report_file(jinja, folder, tmp_path):
    temp = tmp_path / "temp"
    temp.mkdir()
    out = tmp_path / "r.jsonl"
    result = run_bounded(folder, "--output", out, "--html", "-", cwd=tmp_path, env={"TMPDIR": str(temp)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("<!DOCTYPE html>") and result.stdout.rstrip().endswith("</html>")
    assert json.loads(out.read_text().splitlines()[-1])["summary"]["files"] == 2
    assert result.stderr.rstrip().endswith("page: standard output")
    assert not (tmp_path / "-").exists() and list(temp.iterdir()) == []  # the page's temporary file is gone


def test_html_dash_redirected_into_a_file_the_scan_uses_is_refused(jinja, folder, tmp_path):
    out = tmp_path / "r.json"
    out.write_text("keep\n")
    one_line_error(run_bounded(folder, "--output", out, "--html", "-", cwd=tmp_path, shell_tail=f" >> '{out}'"),
                   "refusing to write --html - (standard output): --output writes it too")
    listed = tmp_path / "list.txt"
    listed.write_text(f"{folder / 'a.png'}\n")
    one_line_error(run_bounded("--files-from", listed, "--output", tmp_path / "r.jsonl", "--html", "-",
                               cwd=tmp_path, shell_tail=f" >> '{listed}'"), "--files-from reads it")
    assert out.read_text() == "keep\n" and listed.read_text() == f"{folder / 'a.png'}\n"


def test_a_report_file_named_dash_is_another_file_than_stdout(jinja, folder, tmp_path):
    """./- names a file: it and the page on stdout were taken for one path and refused."""
    result = run_bounded(folder, "--format", "jsonl", "--output", "./-", "--html", "-", cwd=tmp_path,
                         shell_tail=" > page.html")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "page.html").read_text().startswith("<!DOCTYPE html>")
    assert json.loads((tmp_path / "-").read_text().splitlines()[-1])["summary"]["files"] == 2


@linux
def test_html_dash_to_a_full_closed_or_gone_stdout(jinja, folder, tmp_path):
    def scan(tail):  # in tmp_path: without the fix, the page went to a file named '-'
        return run_bounded(folder, "-o", tmp_path / "r.jsonl", "--html", "-", cwd=tmp_path, shell_tail=tail)

    one_line_error(scan(" > /dev/full"), "cannot write --html - (standard output): No space left on device")
    one_line_error(scan(" >&-"), "standard output is closed")
    gone = scan(" | true; exit ${PIPESTATUS[0]}")  # the reader is gone before the page is written
    assert gone.returncode == 0 and "Error" not in gone.stderr and "Traceback" not in gone.stderr, gone.stderr


# -- 3. unbounded reads --------------------------------------------------------------------
@linux
def test_contract_from_dev_zero_is_refused_at_once(folder):
    one_line_error(run_bounded(folder, "--contract", "/dev/zero"), "--contract", "device")


@linux
def test_files_from_dev_zero_is_refused_at_once(folder):
    one_line_error(run_bounded("--files-from", "/dev/zero"), "NUL")


def test_an_oversized_contract_and_an_overlong_list_line_are_refused(folder, tmp_path):
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * (2 << 20) + "\nchannels = 3\n")
    one_line_error(run(folder, "--contract", big), "bytes")
    one_line_error(run(folder, "--write-contract", big), "bytes")
    assert big.stat().st_size > 2 << 20
    listed = tmp_path / "list.txt"
    listed.write_text("a" * (1 << 17) + "\n")
    one_line_error(run("--files-from", listed), "longer than")


@linux
def test_write_contract_to_dev_full_is_one_line(folder):
    one_line_error(run_bounded(folder, "--write-contract", "/dev/full"), "device")


# -- 4. lists that are not lists -----------------------------------------------------------
def test_binary_lists_are_one_line_errors(folder, tmp_path):
    paths = [str(folder / "a.png"), str(folder / "b.png")]
    nul = tmp_path / "nul.txt"
    nul.write_bytes(b"\0".join(p.encode() for p in paths) + b"\0")
    one_line_error(run("--files-from", nul), "NUL", "find -print, not -print0")
    utf16 = tmp_path / "utf16.txt"
    utf16.write_text("\n".join(paths) + "\n", encoding="utf-16")
    one_line_error(run("--files-from", utf16), "UTF-16")
    one_line_error(run("--files-from", folder / "a.png"), "NUL")
    one_line_error(run("--files-from", "-", stdin=b"a.png\0b.png\0"), "standard input", "NUL")


def test_files_from_a_closed_stdin_is_one_line(folder):
    one_line_error(run_bounded("--files-from", "-", shell_tail=" <&-"), "standard input is closed")


# -- 5. SIGTERM and SIGHUP end a streamed scan like Ctrl-C ---------------------------------
@pytest.fixture(scope="module")
def slow_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("slow")
    Image.new("RGB", (3000, 3000)).save(root / "000.png")
    for k in range(1, 200):
        os.link(root / "000.png", root / f"{k:03d}.png")
    return root


@linux
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_terminated_streamed_scan_leaves_no_part_file(slow_folder, tmp_path, sig):
    out = tmp_path / "r.jsonl"
    proc = subprocess.Popen([str(COMMAND), "scan", str(slow_folder), "--deep", "--workers", "2", "--output", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_limited)
    deadline = time.monotonic() + 60
    while not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]:  # the report is under way
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.02)
    time.sleep(0.2)
    proc.send_signal(sig)
    out_text, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + sig, err
    assert err.strip() == f"pipeguard: terminated ({signal.Signals(sig).name})" and out_text == ""
    assert list(tmp_path.iterdir()) == []


# -- 6. terminal escapes in names ----------------------------------------------------------
def test_control_characters_in_names_are_escaped_for_people_and_kept_in_data(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    Image.new("RGB", (8, 8)).save(data / "a.png")
    for name in ESCAPES:
        Image.new("L", (8, 8)).save(data / name)
    table = run(data, "--channels", "3")
    assert table.exit_code == 1
    assert "\x1b" not in table.stdout and "\r" not in table.stdout and "\x07" not in table.stdout
    assert "b\\x1b]0;title\\x07.png" in table.stdout and "c\\x1b[2J\\r.png" in table.stdout
    out = tmp_path / "r.jsonl"
    streamed = run(data, "--channels", "3", "--output", out)
    assert "\x1b" not in streamed.stderr and "c\\x1b[2J\\r.png" in streamed.stderr
    paths = {json.loads(line).get("path") for line in out.read_text().splitlines()}
    assert set(ESCAPES) <= paths  # the data keeps the exact names
    missing = run(data / "nope\x1b[2J")
    one_line_error(missing, "nope\\x1b[2J")
    assert "\x1b" not in missing.stderr

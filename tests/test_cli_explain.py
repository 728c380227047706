import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import pipeguard as pg
from pipeguard.cli import main

ENTRY_POINT = Path(sys.executable).with_name("pipeguard")   # the console script pyproject installs


def explain(*args):
    """``pipeguard ARGS`` in this process: (exit code, stdout, stderr)."""
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_the_installed_command_prints_the_diagnosis_and_exits_zero():
    result = subprocess.run([str(ENTRY_POINT), "explain", "--expected", "64,3,32,32", "--actual", "49152"],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(pg.explain((64, 3, 32, 32), 49152))


def test_explain_prints_the_diagnosis():
    code, out, err = explain("explain", "--expected", "64,3,32,32", "--actual", "49152")
    assert code == 0, err
    assert out.strip() == str(pg.explain((64, 3, 32, 32), 49152))
    assert "a batch of 16, not 64" in out


def test_explain_accepts_other_shape_spellings():
    code, out, err = explain("explain", "-e", "[3, 224, 224]", "-a", "224x224x3")
    assert code == 0, err
    assert "channels-last" in out


@pytest.mark.parametrize("malformed", ["64,three", "1,x", "1,,3", "-1,3", ""])
def test_a_malformed_shape_exits_two(malformed):
    code, out, err = explain("explain", "--expected", malformed, "--actual", "5")
    assert code == 2 and out == "" and "--expected" in err
    assert f"but got {malformed!r}" in err and "Traceback" not in err


def test_a_missing_side_exits_two():
    code, out, err = explain("explain", "--expected", "64,3,32,32")
    assert code == 2 and "--actual" in err


def test_help():
    code, out, _ = explain("--help")
    assert code == 0 and "explain" in out
    code, out, _ = explain("explain", "--help")
    assert code == 0 and "--expected" in out


@pytest.mark.parametrize("args, message", [
    (("--expected", "1,x", "--actual", "3"), "but got '1,x'"),
    (("--expected", "64,3,32,32"), "Missing option '--actual'"),
    (("--bogus",), "No such option '--bogus'"),
    (("-e", "1", "-a", "2", "extra"), "unexpected extra argument"),
])
def test_usage_errors_are_one_line_on_stderr(args, message):
    code, out, err = explain("explain", *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("Error: ") and message in err

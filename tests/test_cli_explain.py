import subprocess
import sys

import pipeguard as pg


def run(*args):
    return subprocess.run([sys.executable, "-m", "pipeguard", *args], capture_output=True, text=True, timeout=120)


def test_explain_prints_the_diagnosis_and_exits_zero():
    result = run("explain", "--expected", "64,3,32,32", "--actual", "49152")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(pg.explain((64, 3, 32, 32), 49152))
    assert "a batch of 16, not 64" in result.stdout


def test_explain_accepts_other_shape_spellings():
    result = run("explain", "-e", "[3, 224, 224]", "-a", "224x224x3")
    assert result.returncode == 0
    assert "channels-last" in result.stdout


def test_explain_usage_errors_exit_two():
    assert run("explain", "--expected", "64,3,32,32").returncode == 2
    bad = run("explain", "--expected", "64,three", "--actual", "5")
    assert bad.returncode == 2
    assert "64,three" in bad.stderr
    for malformed in ("1,x", "1,,3", "-1,3", ""):
        assert run("explain", "--expected", malformed, "--actual", "5").returncode == 2, malformed


def test_help():
    result = run("--help")
    assert result.returncode == 0 and "explain" in result.stdout
    assert run("explain", "--help").returncode == 0

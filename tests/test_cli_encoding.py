"""Every subcommand writes its output on a terminal whose encoding lacks ``≤ × …``: no crash,
the usual exit status, the characters it cannot hold escaped."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeguard.cli import ESCAPE_ERRORS

ROOT = Path(__file__).resolve().parents[1]
ENTRY_POINT = Path(sys.executable).with_name("pipeguard")
ENCODINGS = ["ascii", "latin-1"]


def run(encoding, *args):
    env = dict(os.environ, PYTHONIOENCODING=encoding,
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "tests"), os.environ.get("PYTHONPATH")])))
    result = subprocess.run([str(ENTRY_POINT), *args], capture_output=True, timeout=300, env=env, cwd=ROOT,
                            check=False)
    out, err = result.stdout.decode(encoding, "replace"), result.stderr.decode(encoding, "replace")
    assert "Traceback" not in err and "UnicodeEncodeError" not in err, err
    return result.returncode, out, err


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_explain_on_a_narrow_terminal(encoding):
    code, out, _ = run(encoding, "explain", "--expected", "64,3,32,32", "--actual", "49152")
    assert code == 0 and "a batch of 16, not 64" in out and "2^14" in out


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_trace_on_a_narrow_terminal(encoding):
    code, out, _ = run(encoding, "trace", "trace_models:PooledCNN", "--input", "1x3x64x64")
    assert code == 1 and "in_features=5120" in out


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_scan_table_on_a_narrow_terminal(encoding):
    code, out, _ = run(encoding, "scan", "fixtures", "--channels", "3", "--size", "64x64")
    assert code == 1 and "violation" in out and "\\u2026" in out


def test_the_handler_escapes_what_the_encoding_lacks_and_keeps_file_name_bytes():
    name = b"caf\xe9.png".decode("utf-8", "surrogateescape")
    text = f"{name} 3\u00d764 \u2264 1\u2026"
    assert text.encode("ascii", ESCAPE_ERRORS) == b"caf\xe9.png 3\\xd764 \\u2264 1\\u2026"
    assert text.encode("latin-1", ESCAPE_ERRORS) == b"caf\xe9.png 3\xd764 \\u2264 1\\u2026"
    assert text.encode("utf-8", ESCAPE_ERRORS) == b"caf\xe9.png 3\xc3\x9764 \xe2\x89\xa4 1\xe2\x80\xa6"

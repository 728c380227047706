import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeguard.cli import main
from pipeguard.model import FindingKind

TESTS = Path(__file__).resolve().parent
ENTRY_POINT = Path(sys.executable).with_name("pipeguard")   # the console script pyproject installs


@pytest.fixture
def trace(monkeypatch):
    """``pipeguard trace ARGS`` in this process: (exit code, stdout, stderr)."""
    monkeypatch.syspath_prepend(str(TESTS))
    runner = CliRunner()

    def run(*args):
        result = runner.invoke(main, ["trace", *args])
        return result.exit_code, result.stdout, result.stderr

    return run


def test_the_installed_command_traces_and_exits_with_the_verdict():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])))
    broken = subprocess.run([str(ENTRY_POINT), "trace", "trace_models:PooledCNN", "--input", "1x3x64x64"],
                            capture_output=True, text=True, timeout=120, env=env, check=False)
    assert broken.returncode == 1, broken.stderr
    assert "fc: Linear(in_features=2000) receives 5120 = 20×16×16 features" in broken.stdout


def test_resnet18_traces_and_exits_zero(trace):
    code, out, err = trace("torchvision.models:resnet18", "--input", "1,3,224,224")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("ResNet  input [1, 3, 224, 224] float32  (meta device")
    assert any(line.split()[1:3] == ["layer4.1.conv2", "Conv2d"] and "[1, 512, 7, 7]" in line for line in lines)
    assert lines[-1] == "output [1, 1000]; 60 layer calls, 11,689,512 parameters"


def test_a_broken_model_exits_one_and_names_the_layer(trace):
    code, out, err = trace("trace_models:PooledCNN", "--input", "1x3x64x64")
    assert code == 1, err
    assert "fc: Linear(in_features=2000) receives 5120 = 20×16×16 features" in out
    assert "set in_features=5120" in out


def test_json_output_and_a_model_given_by_file_path(trace):
    code, out, err = trace(str(TESTS / "trace_models.py") + ":LeNet", "--input", "2,1,28,28", "--format", "json")
    assert code == 1, err
    data = json.loads(out)
    assert data["ok"] is False and data["error"]["kind"] == FindingKind.VIEW.value and data["error"]["after"] == "conv2"
    assert [row["path"] for row in data["rows"]] == ["conv1", "conv2"]


@pytest.mark.parametrize("args, message", [
    (("no_such_module_xyz:Net", "--input", "1,3,8,8"), "cannot import 'no_such_module_xyz'"),
    (("trace_models:PooledCNN", "--input", "1,three,8,8"), "1,three,8,8"),
    (("trace_models:Nope", "--input", "1,3,8,8"), "has no attribute 'Nope'"),
    (("trace_models:not_a_model", "--input", "1,3,8,8"), "is of type int, not a model"),
    (("trace_models:needs_arguments", "--input", "1,3,8,8"), "cannot be called without arguments"),
    (("trace_models:broken", "--input", "1,3,8,8"), "RuntimeError: cannot build"),
    (("trace_models", "--input", "1,3,8,8"), "MODULE:ATTR"),
    (("trace_models:PooledCNN",), "--input"),
    (("trace_models:PooledCNN", "--input", "1,3,8,8", "--dtype", "float33"), "float33"),
    (("trace_models:PooledCNN", "--input", "1,0,8,8"), "positive sizes"),
])
def test_usage_errors_exit_two_with_one_message_on_stderr(trace, args, message):
    code, out, err = trace(*args)
    assert code == 2 and message in err and out == ""
    assert err.count("\n") == 1 and err.startswith("Error: "), err  # one line, no usage block


def test_a_model_that_fits_exits_zero(trace):
    code, out, err = trace("trace_models:PooledCNN", "--input", "1,3,40,40")
    assert code == 0, err
    assert out.splitlines()[-1].startswith("output [1, 10]")


def test_factories_are_built_without_downloading_weights(trace, monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))      # where torch.hub would put a download
    code, out, err = trace("torchvision.models.segmentation:lraspp_mobilenet_v3_large", "--input", "1,3,64,64")
    assert code == 0, err
    assert out.splitlines()[-1].startswith("output [1, 21, 64, 64]")
    assert list(tmp_path.iterdir()) == []


def test_a_forward_that_never_returns_is_stopped_at_the_time_limit(trace):
    code, out, err = trace("trace_models_misbehaving:Stuck", "--input", "1,3,8,8", "--timeout", "0.5")
    assert code == 1 and out == ""
    assert "still running after 0.5 s, in layer 'body'" in err and err.count("\n") == 1, err


def test_sys_exit_in_forward_is_the_models_failure(trace):
    code, out, err = trace("trace_models_misbehaving:Quits", "--input", "1,3,8,8")
    assert code == 1 and out == ""
    assert "called sys.exit(0) in layer 'head'" in err and err.count("\n") == 1, err


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-3"])
def test_the_trace_time_limit_is_a_finite_number_above_zero(trace, value):
    code, out, err = trace("trace_models:PooledCNN", "--input", "1,3,40,40", "--timeout", value)
    assert code == 2 and err.startswith("Error: ") and err.count("\n") == 1, err

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from pipeguard.cli import main
from pipeguard.model import FindingKind

TESTS = Path(__file__).resolve().parent


def run(*args):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-m", "pipeguard", "trace", *args], capture_output=True, text=True,
                          timeout=120, env=env)


def test_resnet18_traces_and_exits_zero():
    result = run("torchvision.models:resnet18", "--input", "1,3,224,224")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ResNet  input [1, 3, 224, 224] float32  (meta device")
    assert any(line.split()[1:3] == ["layer4.1.conv2", "Conv2d"] and "[1, 512, 7, 7]" in line for line in lines)
    assert lines[-1] == "output [1, 1000]; 60 layer calls, 11,689,512 parameters"


def test_a_broken_model_exits_one_and_names_the_layer():
    result = run("trace_models:PooledCNN", "--input", "1x3x64x64")
    assert result.returncode == 1, result.stderr
    assert "fc: Linear(in_features=2000) receives 5120 = 20×16×16 features" in result.stdout
    assert "set in_features=5120" in result.stdout


def test_json_output_and_a_model_given_by_file_path():
    result = run(str(TESTS / "trace_models.py") + ":LeNet", "--input", "2,1,28,28", "--format", "json")
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert data["ok"] is False and data["error"]["kind"] == FindingKind.VIEW.value and data["error"]["after"] == "conv2"
    assert [row["path"] for row in data["rows"]] == ["conv1", "conv2"]


def test_usage_errors_exit_two():
    missing = run("no_such_module_xyz:Net", "--input", "1,3,8,8")
    assert missing.returncode == 2 and "cannot import 'no_such_module_xyz'" in missing.stderr
    malformed = run("trace_models:PooledCNN", "--input", "1,three,8,8")
    assert malformed.returncode == 2 and "1,three,8,8" in malformed.stderr


def test_usage_errors_in_process(monkeypatch):
    monkeypatch.syspath_prepend(str(TESTS))
    runner = CliRunner()

    def code(*args):
        result = runner.invoke(main, ["trace", *args])
        return result.exit_code, result.output

    exit_code, out = code("trace_models:Nope", "--input", "1,3,8,8")
    assert exit_code == 2 and "has no attribute 'Nope'" in out
    exit_code, out = code("trace_models:not_a_model", "--input", "1,3,8,8")
    assert exit_code == 2 and "is of type int, not a model" in out
    exit_code, out = code("trace_models:needs_arguments", "--input", "1,3,8,8")
    assert exit_code == 2 and "cannot be called without arguments" in out
    exit_code, out = code("trace_models:broken", "--input", "1,3,8,8")
    assert exit_code == 2 and "RuntimeError: cannot build" in out
    exit_code, out = code("trace_models", "--input", "1,3,8,8")
    assert exit_code == 2 and "MODULE:ATTR" in out
    exit_code, out = code("trace_models:PooledCNN")
    assert exit_code == 2 and "--input" in out
    exit_code, out = code("trace_models:PooledCNN", "--input", "1,3,8,8", "--dtype", "float33")
    assert exit_code == 2 and "float33" in out
    exit_code, out = code("trace_models:PooledCNN", "--input", "1,3,40,40")
    assert exit_code == 0 and out.splitlines()[-1].startswith("output [1, 10]")

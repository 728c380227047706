"""``pipeguard.testing``: assertions that read like pipeguard's errors, and the pytest plugin's fixture."""

import subprocess
import sys
import textwrap

import pytest
import torch
from conftest import make_image
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset
from torchvision.datasets import ImageFolder
from torchvision.transforms import v2

import pipeguard as pg
from pipeguard.testing import assert_conforms, assert_model_accepts

SIDE = 8
CONTRACT = pg.Contract(channels=3, size=(SIDE, SIDE), name="tiny")
TO_TENSOR = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "cat").mkdir()
    for i in range(3):
        make_image("RGB", (SIDE, SIDE)).save(tmp_path / "cat" / f"{i}.png")
    return tmp_path


def keep_mode(path):
    """A loader without ImageFolder's ``convert("RGB")``, so a gray file stays one channel."""
    with Image.open(path) as image:
        image.load()
        return image


def add_gray(folder):
    make_image("L", (SIDE, SIDE)).save(folder / "cat" / "9_gray.png")


def tensors(channels, n=4):
    return TensorDataset(torch.rand(n, channels, SIDE, SIDE), torch.zeros(n, dtype=torch.long))


class Mixed(Dataset):
    """Three-channel samples, then one-channel ones from ``bad_from`` on."""

    def __init__(self, n, bad_from):
        self.n, self.bad_from = n, bad_from

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return torch.rand(1 if i >= self.bad_from else 3, SIDE, SIDE), 0


def test_a_conforming_dataset_loader_folder_and_sample_pass(folder):
    assert_conforms(ImageFolder(folder, transform=TO_TENSOR), CONTRACT)
    assert_conforms(DataLoader(tensors(3), batch_size=2), CONTRACT)
    assert_conforms(folder, CONTRACT)
    assert_conforms(torch.rand(3, SIDE, SIDE), {"channels": 3, "size": [SIDE, SIDE]})


def test_a_failing_dataset_reads_like_the_violation(folder):
    add_gray(folder)
    dataset = ImageFolder(folder, transform=TO_TENSOR, loader=keep_mode)
    with pytest.raises(AssertionError) as caught:
        assert_conforms(dataset, CONTRACT)
    with pytest.raises(pg.ContractViolation) as direct:
        pg.GuardedDataset(dataset, CONTRACT)[3]
    text = str(caught.value)
    assert text == str(direct.value)
    assert text.startswith("sample 3 (") and "9_gray.png) does not meet contract 'tiny'" in text
    assert "expected  [3, 8, 8]" in text and "actual    [1, 8, 8]" in text
    assert "fix       add pipeguard.EnsureChannels(3)" in text
    fixed = ImageFolder(folder, transform=v2.Compose([pg.EnsureChannels(3), TO_TENSOR]), loader=keep_mode)
    assert_conforms(fixed, CONTRACT)  # the fix the text suggests, applied


def test_samples_limits_what_is_checked():
    assert_conforms(Mixed(6, bad_from=4), CONTRACT, samples=4)
    with pytest.raises(AssertionError, match="sample 4 does not meet"):
        assert_conforms(Mixed(6, bad_from=4), CONTRACT)
    assert_conforms(DataLoader(Mixed(6, bad_from=4), batch_size=2), CONTRACT, samples=4)
    with pytest.raises(AssertionError, match="batch 2 of the DataLoader"):
        assert_conforms(DataLoader(Mixed(6, bad_from=4), batch_size=2), CONTRACT)


def test_a_failing_loader_names_the_batch_and_explains_it():
    with pytest.raises(AssertionError) as caught:
        assert_conforms(DataLoader(tensors(1), batch_size=2), CONTRACT)
    text = str(caught.value)
    assert text.startswith("the batch of 2 samples does not meet contract 'tiny'")
    assert "expected  [2, 3, 8, 8]" in text and "actual    [2, 1, 8, 8]" in text
    assert "batch 0 of the DataLoader" in text and "has 1 channel, not the 3 expected" in text


def test_a_failing_folder_lists_its_problem_files(folder):
    add_gray(folder)
    (folder / "cat" / "empty.png").write_bytes(b"")
    with pytest.raises(AssertionError) as caught:
        assert_conforms(folder, CONTRACT)
    lines = str(caught.value).splitlines()
    assert lines[0] == f"2 of 5 files under {folder} do not meet contract 'tiny' [3, 8, 8]"
    assert lines[1:] == [
        "  cat/9_gray.png: violation: channels: has 1 channel (mode 'L'), not the 3 expected "
        "(fix: add pipeguard.EnsureChannels(3) to the transform)",
        "  cat/empty.png: unreadable: empty file (0 bytes)"]


def net(channels):
    return nn.Sequential(nn.Conv2d(channels, 4, 3), nn.Flatten(), nn.Linear(4 * (SIDE - 2) ** 2, 2))


def test_assert_model_accepts_passes_and_fails_with_the_trace():
    assert_model_accepts(net(3), CONTRACT)
    with pytest.raises(AssertionError) as caught:
        assert_model_accepts(net(1), CONTRACT)
    text = str(caught.value)
    assert text.startswith("Sequential does not accept contract 'tiny': an input of [1, 3, 8, 8] (float32) breaks it")
    trace = pg.trace_model(net(1), (1, 3, SIDE, SIDE))
    assert str(trace) in text and "Conv2d(in_channels=1) receives 3 channels" in text
    assert "fix       convert the data to 1 channel: pipeguard.EnsureChannels(1)" in text
    with pytest.raises(AssertionError, match="in_features"):
        assert_model_accepts(net(3), pg.Contract(channels=3, size=(10, 10)))
    with pytest.raises(ValueError, match="no input shape"):
        assert_model_accepts(net(3), pg.Contract(channels=3))


def test_the_plugin_is_loaded_in_this_run(request):
    assert request.config.pluginmanager.has_plugin("pipeguard")


def run_inner_pytest(tmp_path, pyproject, test):
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent(pyproject))
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(test))
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_inner.py"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)


def test_the_fixture_reads_the_contract_from_the_projects_pyproject(tmp_path):
    result = run_inner_pytest(tmp_path, """
        [tool.pipeguard]
        name = "inner"
        channels = 1
        size = [28, 28]
    """, """
        import torch
        from pipeguard.testing import assert_conforms

        def test_contract(pipeguard_contract):
            assert (pipeguard_contract.name, pipeguard_contract.shape) == ("inner", (1, 28, 28))

        def test_fails_readably(pipeguard_contract):
            assert_conforms(torch.zeros(3, 28, 28), pipeguard_contract)
    """)
    assert "1 failed, 1 passed" in result.stdout, result.stdout + result.stderr
    assert "AssertionError: sample does not meet contract 'inner'" in result.stdout
    assert "has 3 channels, not the 1 expected" in result.stdout


def test_the_fixture_fails_readably_without_a_table(tmp_path):
    result = run_inner_pytest(tmp_path, """
        [project]
        name = "x"
    """, """
        def test_contract(pipeguard_contract):
            pass
    """)
    assert result.returncode == 1
    assert "pipeguard_contract: " in result.stdout and "has no [tool.pipeguard] table" in result.stdout

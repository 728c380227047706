import gc
import multiprocessing
import os
import signal
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import tv_tensors

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"

# Every PIL mode pipeguard promises to read, with its band count (what pil_to_tensor gives).
PIL_MODES = {"1": 1, "L": 1, "P": 1, "I": 1, "I;16": 1, "F": 1, "LA": 2, "PA": 2,
             "RGB": 3, "YCbCr": 3, "LAB": 3, "HSV": 3, "RGBA": 4, "CMYK": 4}


def make_image(mode: str, size=(32, 24)) -> Image.Image:
    """A PIL image of ``mode`` with ``size`` = (width, height) and non-constant content."""
    w, h = size
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[..., 0] = np.linspace(0, 255, w, dtype=np.uint8)[None, :]
    rgb[..., 1] = np.linspace(0, 255, h, dtype=np.uint8)[:, None]
    rgb[..., 2] = 128
    return Image.fromarray(rgb, "RGB").convert(mode)


# One conforming [3, 224, 224] sample per input type, built fresh on each call.
CONFORMING_RGB224 = {
    "pil": lambda: make_image("RGB", (224, 224)),
    "numpy": lambda: np.zeros((224, 224, 3), np.uint8),
    "tensor": lambda: torch.zeros(3, 224, 224),
    "tv_image": lambda: tv_tensors.Image(torch.zeros(3, 224, 224)),
    "batch": lambda: torch.zeros(4, 3, 224, 224),
}


def _end_with_the_test_process() -> None:
    """In every child forked from a test process (``os.fork``, multiprocessing's fork: scan
    and thumbnail workers, DataLoader workers): the kernel kills it when the test process ends.

    A forked child stuck on a lock it copied from another thread holds the pipes it inherited,
    pytest-xdist's among them: without this, a worker that pytest-timeout ended would never be
    seen to end (its child keeps the pipe open) and the whole run would hang anyway.
    """
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


PR_SET_PDEATHSIG = 1  # prctl option (linux/prctl.h)
if sys.platform.startswith("linux"):
    import ctypes

    _prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: a forked child only calls it
    os.register_at_fork(after_in_child=_end_with_the_test_process)


@pytest.fixture
def pillow_corpus() -> Path:
    root = os.environ.get("PIPEGUARD_PILLOW_CORPUS")
    if not root or not Path(root, "MANIFEST.csv").is_file():
        pytest.skip("PIPEGUARD_PILLOW_CORPUS is not set (set by .ci/run when ../shared is present)")
    return Path(root)


def _live_loader_iterators() -> list:
    """DataLoader iterators with worker processes that are still alive (leaked or not yet freed)."""
    return [obj for obj in gc.get_objects()
            if type(obj).__module__ == "torch.utils.data.dataloader" and hasattr(obj, "_shutdown_workers")
            and getattr(obj, "_workers", None) and not getattr(obj, "_shutdown", True)]


@pytest.fixture(autouse=True)
def _shut_down_loader_workers():
    """Each test ends with its DataLoader workers gone, so none is torn down in a later test.

    A loader's iterator shuts its workers down when it is freed. One kept alive by a
    reference cycle (a stored traceback) is freed only by the garbage collector, at some
    later test, and then slowly: by then its queues may be finalized, so each worker is
    waited on for 5 s before being terminated. Shutting it down here is immediate.
    """
    before = set(multiprocessing.active_children())
    yield
    if not set(multiprocessing.active_children()) - before:
        return
    for iterator in _live_loader_iterators():
        iterator._shutdown_workers()

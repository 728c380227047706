import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

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


@pytest.fixture
def pillow_corpus() -> Path:
    root = os.environ.get("PIPEGUARD_PILLOW_CORPUS")
    if not root or not Path(root, "MANIFEST.csv").is_file():
        pytest.skip("PIPEGUARD_PILLOW_CORPUS is not set (set by .ci/run when ../shared is present)")
    return Path(root)

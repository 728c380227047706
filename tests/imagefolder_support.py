"""Real ImageFolder trees with planted problems, built in a test's tmp_path.

Every image is tiny (16×16 by default) so worker-process tests stay fast. The tree:

    a/  ok_0.png ok_1.png ok_2.jpg  gray.png (L)  rgba.png (RGBA)  cmyk.jpg (CMYK)
    b/  ok_3.png ok_4.jpg ok_5.png  small.png (12×10 RGB)  truncated.jpg  empty.jpg
        not_image.jpg (text)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

SIDE = 16
CHANNEL_PROBLEMS = ("gray.png", "rgba.png", "cmyk.jpg")
SIZE_PROBLEMS = ("small.png",)
UNREADABLE = ("truncated.jpg", "empty.jpg", "not_image.jpg")


def rgb(seed: int, size=(SIDE, SIDE)) -> Image.Image:
    """A deterministic RGB image; ``size`` is (width, height) as in PIL."""
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    noise = np.random.default_rng(seed).integers(0, 40, size=(h, w, 3))
    base = np.stack([x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), np.full_like(x, 90)], -1)
    return Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8), "RGB")


@dataclass(frozen=True)
class Tree:
    root: Path

    def indices(self, dataset, names) -> set[int]:
        """Indices in an ImageFolder's ``samples`` of the files called ``names``."""
        return {i for i, (path, _) in enumerate(dataset.samples) if Path(path).name in names}

    def path(self, name: str) -> Path:
        return next(self.root.rglob(name))


def build_tree(root: Path) -> Tree:
    a, b = root / "a", root / "b"
    a.mkdir(parents=True)
    b.mkdir(parents=True)
    rgb(0).save(a / "ok_0.png")
    rgb(1).save(a / "ok_1.png")
    rgb(2).save(a / "ok_2.jpg", quality=95)
    rgb(3).convert("L").save(a / "gray.png")
    rgba = rgb(4).convert("RGBA")
    rgba.putalpha(128)
    rgba.save(a / "rgba.png")
    rgb(5).convert("CMYK").save(a / "cmyk.jpg", quality=95)
    rgb(6).save(b / "ok_3.png")
    rgb(7).save(b / "ok_4.jpg", quality=95)
    rgb(8).save(b / "ok_5.png")
    rgb(9, size=(10, 12)).save(b / "small.png")  # 12 high, 10 wide
    rgb(10).save(b / "truncated.jpg", quality=95)
    data = (b / "truncated.jpg").read_bytes()
    (b / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (b / "empty.jpg").write_bytes(b"")
    (b / "not_image.jpg").write_bytes(b"this is a text file saved as .jpg\n")
    return Tree(root)


def raw_loader(path) -> Image.Image:
    """Decode without converting (ImageFolder's default loader converts everything to RGB)."""
    with open(path, "rb") as f:
        img = Image.open(f)
        img.load()
        return img

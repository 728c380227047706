#!/usr/bin/env python3
"""Generate ``fixtures/``: a tiny ImageFolder-style sample folder with planted problems.

Deterministic (seeded pixels, no timestamps). Run again to regenerate; the result is
committed so the README's demo and the tests need no generation step.

Layout (64×64 RGB is the conforming case; the rest are planted problems):

    fixtures/cats/   RGB PNG and JPEG, grayscale L, palette P with transparency,
                     RGBA, 16-bit I;16, a 48×32 RGB, a truncated JPEG
    fixtures/dogs/   RGB, CMYK JPEG, LA, bilevel 1, float F TIFF, PA TIFF,
                     an empty .jpg, text saved as .jpg, a notes.txt, a hidden file
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

SIDE = 64


def _rgb(seed: int, size=(SIDE, SIDE)) -> Image.Image:
    rng = np.random.default_rng(seed)
    h, w = size[1], size[0]
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), (x + y) * 255 // max(h + w - 2, 1)], -1)
    noise = rng.integers(0, 32, size=(h, w, 3))
    return Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8), "RGB")


def build(root: Path) -> list[Path]:
    if root.exists():
        shutil.rmtree(root)
    cats, dogs = root / "cats", root / "dogs"
    cats.mkdir(parents=True)
    dogs.mkdir(parents=True)
    made: list[Path] = []

    def save(img: Image.Image, path: Path, **kw) -> None:
        img.save(path, **kw)
        made.append(path)

    # cats: the conforming RGB cases and channel/size problems
    save(_rgb(1), cats / "cat_rgb_01.png")
    save(_rgb(2), cats / "cat_rgb_02.jpg", quality=90)
    save(_rgb(3).convert("L"), cats / "cat_gray.png")
    pal = _rgb(4).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    save(pal, cats / "cat_palette.png", transparency=0)
    rgba = _rgb(5).convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize((SIDE, SIDE)))
    save(rgba, cats / "cat_rgba.png")
    gray16 = np.asarray(_rgb(6).convert("L"), dtype=np.uint16) * 257  # full 16-bit range
    save(Image.fromarray(gray16), cats / "cat_gray16.png")
    save(_rgb(7, size=(32, 48)), cats / "cat_small_48x32.png")
    truncated = cats / "cat_truncated.jpg"
    _rgb(8).save(truncated, quality=90)
    data = truncated.read_bytes()
    truncated.write_bytes(data[: len(data) * 2 // 3])  # no FF D9 end marker
    made.append(truncated)

    # dogs: more modes and files that are not images at all
    save(_rgb(9), dogs / "dog_rgb_01.png")
    save(_rgb(10).convert("CMYK"), dogs / "dog_cmyk.jpg", quality=90)
    la = _rgb(11).convert("LA")
    save(la, dogs / "dog_la.png")
    save(_rgb(12).convert("1"), dogs / "dog_bilevel.png")
    save(_rgb(13).convert("F"), dogs / "dog_float.tiff")
    save(_rgb(14).convert("PA"), dogs / "dog_palette_alpha.tiff")
    for path, content in ((dogs / "dog_empty.jpg", b""),
                          (dogs / "dog_not_really.jpg", b"this is a text file saved as .jpg\n"),
                          (dogs / "notes.txt", b"labels were checked by hand on 2026-11-01\n"),
                          (dogs / ".hidden.png", b"")):
        path.write_bytes(content)
        made.append(path)
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default=Path(__file__).resolve().parent.parent / "fixtures", type=Path)
    args = parser.parse_args()
    made = build(args.root)
    print(f"wrote {len(made)} files under {args.root}")


if __name__ == "__main__":
    main()

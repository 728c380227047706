"""on_error="fix" with torchvision's default ImageFolder loader converts at the source."""

import numpy as np
import torch
from PIL import Image
from torchvision.datasets import ImageFolder
from torchvision.transforms import v2

import pipeguard as pg
from pipeguard import Reason

TO_TENSOR = v2.Compose([v2.ToImage()])


def _folder(tmp_path):
    root = tmp_path / "data"
    (root / "a").mkdir(parents=True)
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[..., 0] = 200
    rgb[..., 2] = 40
    Image.fromarray(rgb).save(root / "a" / "0_rgb.png")
    Image.fromarray(rgb).convert("CMYK").save(root / "a" / "1_cmyk.jpg", quality=100)
    Image.fromarray(np.full((8, 8), 1000, np.uint16)).save(root / "a" / "2_gray16.png")
    rgba = Image.new("RGBA", (8, 8), (255, 0, 0, 0))       # fully transparent red
    rgba.save(root / "a" / "3_rgba.png")
    return root


def test_default_loader_samples_are_converted_before_the_transform(tmp_path):
    root = _folder(tmp_path)
    folder = ImageFolder(root, transform=TO_TENSOR)           # torchvision's default_loader
    naive = {file_name(p): folder[i][0] for i, (p, _) in enumerate(folder.samples)}
    assert naive["2_gray16.png"].min() == 255                  # convert("RGB") clips 16-bit to white

    ds = pg.GuardedDataset(folder, pg.Contract(channels=3, size=8), on_error="fix")
    out = {file_name(p): ds[i][0] for i, (p, _) in enumerate(folder.samples)}
    assert ds.fixed == 3 and ds.fixed_by_reason[Reason.CHANNELS] == 3
    torch.testing.assert_close(out["0_rgb.png"], naive["0_rgb.png"])           # RGB untouched
    gray16 = out["2_gray16.png"]
    # scaled by its 10-bit depth (1000 < 2**10), not white
    assert gray16.shape == (3, 8, 8) and int(gray16.max()) == round(1000 * 255 / 1023)
    assert out["3_rgba.png"].min() == 255                      # transparent -> white background
    assert naive["3_rgba.png"][0].max() == 255 and naive["3_rgba.png"][1].max() == 0  # naive: hidden red
    raw = Image.open(root / "a" / "1_cmyk.jpg")
    expected = TO_TENSOR(pg.EnsureChannels(3)(raw))
    torch.testing.assert_close(out["1_cmyk.jpg"], expected)


def test_unreadable_file_is_still_skipped_and_counted(tmp_path):
    root = _folder(tmp_path)
    (root / "a" / "4_empty.png").write_bytes(b"")
    folder = ImageFolder(root, transform=TO_TENSOR)
    ds = pg.GuardedDataset(folder, pg.Contract(channels=3, size=8), on_error="fix")
    items = [ds[i] for i in range(len(ds))]
    skipped = [x for x in items if isinstance(x, pg.Skipped)]
    assert len(skipped) == 1 and skipped[0].source.endswith("4_empty.png")
    assert skipped[0].reason == Reason.UNREADABLE


def file_name(p):
    return p.replace("\\", "/").rsplit("/", 1)[-1]

"""Generated folders with planted problems for the scan tests (tiny, deterministic)."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

from conftest import make_image
from PIL import Image

SIDE = 16  # the conforming size of the planted folder: 16×16 RGB


def png_bytes(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", **kw)
    return buf.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose IHDR claims ``width`` × ``height`` (CRC fixed, so Pillow trusts it)."""
    data = bytearray(png_bytes(make_image("L", (4, 4))))
    ihdr = 8  # after the signature: length(4) 'IHDR'(4) data(13) crc(4)
    data[ihdr + 8:ihdr + 16] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr + 4:ihdr + 21])) & 0xFFFFFFFF
    data[ihdr + 21:ihdr + 25] = struct.pack(">I", crc)
    return bytes(data)


def gif_claiming(width: int, height: int) -> bytes:
    """A tiny GIF whose logical screen claims ``width`` × ``height``."""
    buf = io.BytesIO()
    make_image("P", (4, 4)).save(buf, "GIF")
    data = bytearray(buf.getvalue())
    data[6:10] = struct.pack("<HH", width, height)
    return bytes(data)


def multi_frame_gif(n: int = 3) -> bytes:
    frames = [make_image("RGB", (SIDE, SIDE)).rotate(90 * i).convert("P") for i in range(n)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=50)
    return buf.getvalue()


def encoded(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def with_orientation(fmt: str, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encoded(make_image("RGB", (SIDE, SIDE)), fmt, exif=exif.tobytes())


def cut(data: bytes, keep: float = 2 / 3) -> bytes:
    return data[: int(len(data) * keep)]


# relative path -> (expected status, what the row must show); the planted problems of issue 6
def build(root: Path) -> dict[str, str]:
    """Write the planted folder under ``root``; return ``{relative path: expected status}``
    for the contract 3 channels, 16×16."""
    rgb = make_image("RGB", (SIDE, SIDE))
    files = {
        "cats/rgb.png": (png_bytes(rgb), "ok"),
        "cats/rgb.jpg": (encoded(rgb, "JPEG", quality=90), "ok"),
        "cats/gray.png": (png_bytes(make_image("L", (SIDE, SIDE))), "violation"),
        "cats/rgba.png": (png_bytes(make_image("RGBA", (SIDE, SIDE))), "violation"),
        "cats/cmyk.jpg": (encoded(make_image("CMYK", (SIDE, SIDE)), "JPEG"), "violation"),
        "cats/palette.png": (png_bytes(make_image("P", (SIDE, SIDE))), "violation"),
        "cats/wide.png": (png_bytes(make_image("RGB", (SIDE * 2, SIDE))), "violation"),
        "cats/gray_small.png": (png_bytes(make_image("L", (8, 8))), "violation"),
        "cats/rotated.jpg": (with_orientation("JPEG", 6), "ok"),
        "cats/rotated.png": (with_orientation("PNG", 8), "ok"),
        "cats/photo.dat": (png_bytes(rgb), "ok"),             # an image by header, not by name
        "cats/truncated.jpg": (cut(encoded(make_image("RGB", (64, 64)), "JPEG", quality=95)), "unreadable"),
        "cats/truncated.png": (cut(png_bytes(make_image("RGB", (64, 64)))), "unreadable"),
        "dogs/truncated.gif": (cut(multi_frame_gif()), "unreadable"),
        "dogs/animated.gif": (multi_frame_gif(), "violation"),   # P: 1 channel (GIF is found by header)
        "dogs/empty.jpg": (b"", "unreadable"),
        "dogs/text.jpg": (b"this is a text file saved as .jpg\n", "unreadable"),
        "dogs/notes.txt": (b"labels checked by hand\n", "not-image"),
        "dogs/labels.csv": (b"path,label\na.png,cat\n", "not-image"),
        "dogs/empty.csv": (b"", "not-image"),
        "dogs/bomb.png": (png_claiming(20000, 20000), "unreadable"),   # 4e8 px > 2 × MAX_IMAGE_PIXELS
        "dogs/bomb.gif": (gif_claiming(65535, 65535), "unreadable"),
        "dogs/big.png": (png_claiming(10000, 10000), "violation"),     # over the limit, under 2×: warns
        "dogs/.DS_Store": (b"\x00\x00\x00\x01Bud1\x00\x00", "not-image"),
        "dogs/._rgb.jpg": (b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        ", "unreadable"),
        ".hidden/rgb.png": (png_bytes(rgb), "ok"),
        "top.png": (png_bytes(rgb), "ok"),
    }
    for rel, (data, _) in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    os.symlink("does-not-exist.png", root / "dogs" / "broken_link.png")
    os.symlink(root / "cats" / "rgb.png", root / "dogs" / "link_to_cat.png")
    expected = {rel: status for rel, (_, status) in files.items()}
    expected["dogs/broken_link.png"] = "unreadable"
    expected["dogs/link_to_cat.png"] = "ok"
    return expected


def named(rows: list) -> list:
    """``rows`` as the scanner's batches hold them (ScanRows or plain tuples of their fields), as ScanRows."""
    from pipeguard.scanner._row import ScanRow

    return [row if type(row) is ScanRow else ScanRow._make(row) for row in rows]


def probed_in_fresh_processes(folder: Path, names: list[str], walk: str) -> tuple[str, str]:
    """The rows of ``names`` in ``folder`` as printed by a fresh process (a clean plugin
    registry), with the header walk ``walk`` (``read_png_header``, ``read_jpeg_header``) and
    with it switched off: ``(fast, slow)``."""
    script = (
        "import sys\nfrom unittest import mock\nfrom pipeguard.scanner.probe import _file as probe\n"
        "from pipeguard.scanner.probe._part import probe_part\nfrom pipeguard.scanner._units import Run\n"
        f"part = [Run(sys.argv[1], '', {names!r})]\n"
        "if sys.argv[2] == 'slow':\n"
        f"    with mock.patch.object(probe, {walk!r}, lambda f, size, head=None: None):\n"
        "        print(probe_part(part))\n"
        "else:\n"
        "    print(probe_part(part))\n")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    fast, slow = (subprocess.run([sys.executable, "-c", script, str(folder) + os.sep, how], cwd=root,
                                 capture_output=True, text=True, check=True).stdout for how in ("fast", "slow"))
    return fast, slow

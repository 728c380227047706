"""Generated archives with planted problems (WebDataset-style shards, tar.gz, zip)."""

from __future__ import annotations

import io
import os
import tarfile
import zipfile

from conftest import make_image
from scan_folders import SIDE, encoded


# member name -> (bytes, the status a scan must give it); a WebDataset sample is a key with
# one file per field (image + label), as img2dataset writes them
def planted_members() -> dict[str, tuple[bytes, str]]:
    jpeg = encoded(make_image("RGB", (SIDE, SIDE)), "JPEG")
    return {
        "000000.jpg": (jpeg, "ok"),
        "000000.cls": (b"3\n", "not-image"),
        "000001.png": (encoded(make_image("L", (SIDE, SIDE)), "PNG"), "violation"),
        "000001.json": (b'{"caption": "a gray cat"}', "not-image"),
        "000002.jpg": (jpeg[:-20], "unreadable"),  # cut in the scan data: no end marker
        "000003.jpg": (b"", "unreadable"),
        "000004.png": (encoded(make_image("RGBA", (SIDE, SIDE)), "PNG"), "violation"),
        "000004.txt": (b"a logo\n", "not-image"),
        "sub/000005.png": (encoded(make_image("RGB", (SIDE, SIDE)), "PNG"), "ok"),
    }


def write_tar(path: os.PathLike, members: dict[str, tuple[bytes, str]], mode: str = "w") -> None:
    with tarfile.open(path, mode) as tf:
        for name, (data, _) in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_700_000_000
            tf.addfile(info, io.BytesIO(data))


def write_zip(path: os.PathLike, members: dict[str, tuple[bytes, str]],
              compression: int = zipfile.ZIP_STORED) -> None:
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, (data, _) in members.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data, compress_type=compression)

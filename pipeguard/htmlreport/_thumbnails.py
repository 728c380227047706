"""Small previews of problem files, made in worker processes with a time limit per file.

Each file is decoded once and shown in up to three views, all scaled alike (longest side
``SIDE`` px), so they sit side by side at the same size:

* ``file``: the file as an image viewer shows it (transparency kept; 16-bit, float and
  CMYK images in their true colours);
* ``default-loader``: ``Image.open(f).convert("RGB")``, what torchvision's
  ``ImageFolder`` (``pil_loader``) hands to the transform;
* ``fixed``: what ``EnsureChannels(n)`` makes of the opened image (its PIL kernel).

Archive members and objects in a store (fsspec URLs) are read whole, up to
``MAX_BYTES``, in the worker. A file that cannot be decoded gets its error instead of images. A worker that hangs or
dies costs that file a "timed out" error, never the report: the pool is replaced and the
other files go on. The workers import Pillow, numpy and pipeguard's channel kernel only.
"""

from __future__ import annotations

import base64
import io
import multiprocessing as mp
from dataclasses import dataclass, field
from typing import Any, Optional

from .._child import quiet_child

SIDE = 128                 # longest side of a thumbnail, in pixels
MAX_BYTES = 256 << 20      # an archive member or remote object read whole for its preview
JPEG_QUALITY = 80
FILE, DEFAULT_LOADER, FIXED = "file", "default-loader", "fixed"
CHANNEL_VIEWS = (FILE, DEFAULT_LOADER, FIXED)
# modes a browser shows as they are (saved as PNG); other modes are shown in true colours
_SHOWN_AS_IS = frozenset({"RGB", "RGBA", "L", "LA", "1", "P"})
_ALPHA = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})


@dataclass(frozen=True)
class Job:
    """One file to preview: ``key`` names it in the result, ``views`` says which to make.

    ``path`` is a local path or an fsspec URL (read with ``storage_options``); ``member``
    names a file inside the archive at ``path``.
    """

    key: int
    path: str
    views: tuple[str, ...]
    channels: int = 3      # EnsureChannels(channels), 1 or 3
    member: Optional[str] = None
    storage_options: Optional[dict] = None


@dataclass
class Preview:
    """The previews of one file: view -> ``data:`` URI, and their common size; or the error."""

    images: dict[str, str] = field(default_factory=dict)
    width: int = 0
    height: int = 0
    error: Optional[str] = None


def render(job: Job, side: int = SIDE) -> Preview:
    """Decode ``job.path`` and make its views; never raises (the error is the preview).

    The decoded image is shrunk once, before the views are made from it: every view is a
    per-pixel conversion, so converting the thumbnail shows what converting the image shows,
    at a fraction of the cost.
    """
    from PIL import Image

    try:
        with _opened(job) as f, Image.open(f) as im:
            im.draft(None, (side, side))  # JPEG: decode at 1/2, 1/4 or 1/8 scale, no smaller than side
            im.load()
            small = _shrunk(im, side)
            views = {view: _view(small, view, job.channels) for view in job.views}
    except Exception as exc:  # any decoder failure is the file's, shown in its place
        text = str(exc).strip()
        return Preview(error=f"{type(exc).__name__}: {text}" if text else type(exc).__name__)
    out = Preview()
    encoded: dict[tuple, str] = {}  # views that came out the same (L: loader and fix) share one encoding
    for view, image in views.items():
        image.thumbnail((side, side), Image.Resampling.BILINEAR)  # a no-op unless shrinking failed
        same = (image.mode, image.size, image.tobytes())
        if same not in encoded:
            encoded[same] = _data_uri(image)
        out.images[view] = encoded[same]
        out.width, out.height = image.size
    return out


def _opened(job: Job) -> Any:
    """The file ``Image.open`` reads: the local file (a FIFO or device refused, never
    opened for reading), or the bytes of an archive member or a remote object (at most
    :data:`MAX_BYTES`)."""
    from .._regular_file import open_regular

    remote = "://" in job.path  # an fsspec URL: a list's local paths never hold one
    if job.member is None and not remote:
        return open_regular(job.path)
    if remote:
        import fsspec

        source = fsspec.open(job.path, "rb", **(job.storage_options or {}))
    else:
        source = open_regular(job.path)
    with source as f:
        return io.BytesIO(_bytes_of(f, job) if job.member is not None else _limited(f.read(MAX_BYTES + 1)))


def _bytes_of(f: Any, job: Job) -> bytes:
    """The bytes of ``job.member`` in the archive open as ``f`` (tar, tar.gz or zip)."""
    import tarfile
    import zipfile

    if job.path.lower().endswith(".zip"):
        with zipfile.ZipFile(f) as archive:
            with archive.open(job.member) as member:
                return _limited(member.read(MAX_BYTES + 1))
    with tarfile.open(fileobj=f, mode="r:*") as archive:
        member = archive.extractfile(job.member)
        if member is None:
            raise OSError(f"{job.member} is not a file in the archive")
        return _limited(member.read(MAX_BYTES + 1))


def _limited(data: bytes) -> bytes:
    if len(data) > MAX_BYTES:
        raise OSError(f"over {MAX_BYTES >> 20} MiB: not previewed")
    return data


def _shrunk(im, side: int):
    """``im`` with its longest side at most ``side`` (palette and bilevel images by nearest
    pixel, as Pillow resizes them); ``im`` itself when it is small already or its mode
    cannot be resized."""
    from PIL import Image

    scale = side / max(im.size)
    if scale >= 1:
        return im
    size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
    if im.mode.startswith("I;16"):  # Pillow resizes 32-bit "I", which holds the same values
        im = im.convert("I")
    try:
        return im.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    except (ValueError, OSError):  # a mode Pillow cannot resample: the views are made at full size
        return im


def _view(im, view: str, channels: int):
    from ..transforms._channels import pil_to_channels  # EnsureChannels' own PIL kernel

    if view == DEFAULT_LOADER:
        return im.convert("RGB")
    if view == FIXED:
        return pil_to_channels(im, channels)
    if im.mode in _ALPHA or (im.mode == "P" and im.has_transparency_data):
        return im.convert("LA" if im.mode == "La" else "RGBA")  # transparency kept, shown on a checkerboard
    if im.mode in _SHOWN_AS_IS:
        return im.copy()
    return pil_to_channels(im, 3)  # 16-bit, float, CMYK, YCbCr, LAB, HSV: as a viewer shows them


def _data_uri(image) -> str:
    buf = io.BytesIO()
    if image.mode in ("RGB", "L"):  # photographs: JPEG is a tenth of the size
        image.save(buf, "JPEG", quality=JPEG_QUALITY)
        kind = "jpeg"
    else:  # transparency, palettes, bilevel: PNG keeps them
        image.save(buf, "PNG", compress_level=1)  # thumbnails: speed over the last few bytes
        kind = "png"
    return f"data:image/{kind};base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def previews(jobs: list[Job], workers: int = 2, time_limit: float = 10.0, side: int = SIDE) -> dict[int, Preview]:
    """Every job's :class:`Preview`, by key, made in ``workers`` processes.

    A file still decoding ``time_limit`` seconds after its turn came (hung, or its worker
    died) gets a "timed out" preview; the pool is then replaced and the rest go on.
    """
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    done: dict[int, Preview] = {}
    pending = list(jobs)
    while pending:
        pool = ctx.Pool(max(1, min(workers, len(pending))), initializer=quiet_child)
        try:
            pending = _collect(pool, pending, done, time_limit, side)
        finally:
            pool.terminate()
            pool.join()
    return done


def _collect(pool, jobs: list[Job], done: dict[int, Preview], time_limit: float, side: int) -> list[Job]:
    """Run ``jobs`` on ``pool`` into ``done``; after a time-out, the jobs still to run."""
    handles = [(job, pool.apply_async(render, (job, side))) for job in jobs]
    for i, (job, handle) in enumerate(handles):
        try:
            done[job.key] = handle.get(timeout=time_limit)
        except mp.TimeoutError:
            done[job.key] = Preview(error=f"timed out: no preview after {time_limit:g} s")
            rest = []
            for later, h in handles[i + 1:]:
                if h.ready():
                    done[later.key] = h.get()
                else:
                    rest.append(later)
            return rest
    return []

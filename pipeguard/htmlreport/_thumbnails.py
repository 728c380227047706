"""Small previews of problem files, made in worker processes with a time limit per file.

Each file is decoded once and shown in up to three views, all scaled alike (longest side
``SIDE`` px), so they sit side by side at the same size:

* ``file``: the file as an image viewer shows it (transparency kept; 16-bit, float and
  CMYK images in their true colours);
* ``default-loader``: ``Image.open(f).convert("RGB")``, what torchvision's
  ``ImageFolder`` (``pil_loader``) hands to the transform;
* ``fixed``: what ``EnsureChannels(n)`` makes of the opened image (its PIL kernel).

Files come from :mod:`._preview_files`: local files, objects in a store, images stored
in a dataset (sent with the job), and archive members, read through
:func:`pipeguard._io.read_members`: an archive is read once for all of its listed members
(one job, whose time limit is the per-file limit times its members, at most
``ARCHIVE_LIMIT_FILES`` times). A file that cannot be decoded gets its error instead of images.
A worker that hangs or dies costs its job's files a "timed out" error, never the report:
the pool is replaced and the other jobs go on. The workers import Pillow, numpy and
pipeguard's channel kernel only.
"""

from __future__ import annotations

import base64
import io
import multiprocessing as mp
from dataclasses import dataclass, field
from typing import Any, Optional

from .._child import quiet_child
from ._preview_files import in_memory, members, opened
from ._text import EMPTY, UNIDENTIFIED, error_text, looks_like

SIDE = 128                 # longest side of a thumbnail, in pixels
ARCHIVE_LIMIT_FILES = 10   # an archive job's time limit: the per-file limit times its members, up to this many
JPEG_QUALITY = 80
FILE, DEFAULT_LOADER, FIXED = "file", "default-loader", "fixed"
CHANNEL_VIEWS = (FILE, DEFAULT_LOADER, FIXED)
# modes a browser shows as they are (saved as PNG); other modes are shown in true colours
_SHOWN_AS_IS = frozenset({"RGB", "RGBA", "L", "LA", "1", "P"})
_ALPHA = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})


@dataclass(frozen=True)
class Job:
    """One file to preview: ``key`` names it in the result, ``views`` says which to make.

    ``path`` is a local path or an fsspec URL (read with ``storage_options``), or only a
    name when ``data`` holds the image's bytes. For an archive, ``members`` holds
    ``(key, member name, views)`` of each of its files to preview, and ``key`` and
    ``views`` are unused.
    """

    key: int
    path: str
    views: tuple[str, ...]
    channels: int = 3      # EnsureChannels(channels), 1 or 3
    storage_options: Optional[dict] = None
    members: tuple = ()
    data: Any = None       # the image's bytes (or a buffer of them), when not read from ``path``

    @property
    def keys(self) -> list[int]:
        return [m[0] for m in self.members] if self.members else [self.key]


@dataclass
class Preview:
    """The previews of one file: view -> ``data:`` URI, and the size they are shown at; or the error.

    An image smaller than the thumbnail is shown scaled up to it, pixel by pixel
    (``pixelated``): its data stays at its own size.
    """

    images: dict[str, str] = field(default_factory=dict)
    width: int = 0
    height: int = 0
    error: Optional[str] = None
    pixelated: bool = False


def render(job: Job, side: int = SIDE) -> Preview:
    """Decode ``job.path`` and make its views; never raises (the error is the preview)."""
    try:
        with (opened(job.path, job.storage_options) if job.data is None else in_memory(job.data)) as f:
            return _rendered(f, job.views, job.channels, side)
    except Exception as exc:  # a file that cannot be opened: its error, shown in its place
        return failed(exc)


def run(job: Job, side: int = SIDE) -> dict[int, Preview]:
    """The previews of a job, by key: one file's, or those of an archive's members."""
    if not job.members:
        return {job.key: render(job, side)}
    wanted: dict[str, list] = {}  # a name may be listed twice (under two reasons)
    for key, name, views in job.members:
        wanted.setdefault(name, []).append((key, views))
    out: dict[int, Preview] = {}
    try:
        for name, data in members(job.path, set(wanted), job.storage_options):
            for key, views in wanted[name]:
                out[key] = failed(data) if isinstance(data, Exception) else _rendered(io.BytesIO(data), views,
                                                                                    job.channels, side)
    except Exception as exc:  # the archive itself cannot be read (any further)
        missing = failed(exc)
    else:
        missing = Preview(error="not found in the archive")
    return {key: out.get(key, missing) for key, _, _ in job.members}


def _rendered(f: Any, views: tuple[str, ...], channels: int, side: int) -> Preview:
    """The views of the image in ``f``; never raises.

    The decoded image is shrunk once, before the views are made from it: every view is a
    per-pixel conversion, so converting the thumbnail shows what converting the image shows,
    at a fraction of the cost.
    """
    from PIL import Image, UnidentifiedImageError

    if _length(f) == 0:
        return Preview(error=EMPTY)  # not handed to Pillow: there is nothing to identify
    try:
        with Image.open(f) as im:
            im.draft(None, (side, side))  # JPEG: decode at 1/2, 1/4 or 1/8 scale, no smaller than side
            im.load()
            small = _shrunk(im, side)
            made = {view: _view(small, view, channels) for view in views}
    except UnidentifiedImageError:
        return _unidentified(f)
    except Exception as exc:  # any decoder failure is the file's, shown in its place
        return failed(exc)
    out = Preview()
    encoded: dict[tuple, str] = {}  # views that came out the same (L: loader and fix) share one encoding
    for view, image in made.items():
        image.thumbnail((side, side), Image.Resampling.BILINEAR)  # a no-op unless shrinking failed
        same = (image.mode, image.size, image.tobytes())
        if same not in encoded:
            encoded[same] = _data_uri(image)
        out.images[view] = encoded[same]
        out.width, out.height = image.size
    if out.images and max(out.width, out.height) < side:  # a small image: shown at the thumbnail's size
        scale = side / max(out.width, out.height)
        out.width, out.height = max(1, round(out.width * scale)), max(1, round(out.height * scale))
        out.pixelated = True
    return out


def failed(exc: BaseException) -> Preview:
    """The preview of a file that cannot be shown: its error, without Python reprs."""
    return Preview(error=error_text(exc))


def _length(f: Any) -> int:
    """How many bytes ``f`` holds (a seekable binary file), read from the start afterwards."""
    length = f.seek(0, io.SEEK_END)
    f.seek(0)
    return length


def _unidentified(f: Any) -> Preview:
    """The preview of a file Pillow cannot identify: said so, with what it looks like."""
    try:
        f.seek(0)
        what = looks_like(f.read(512))
    except Exception:  # the file cannot be read again: say no more than Pillow did
        what = ""
    return Preview(error=f"{UNIDENTIFIED} (it looks like {what})" if what else UNIDENTIFIED)


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
    from ..transforms import pil_to_channels  # EnsureChannels' own PIL kernel

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
    """Every job's :class:`Preview` (an archive job's one a member), by key, made in
    ``workers`` processes.

    A job still running ``time_limit`` seconds a file (an archive's: at most
    ``ARCHIVE_LIMIT_FILES`` times) after its turn came, hung or its worker dead, gives its
    files a "timed out" preview; the pool is then replaced and the rest go on.
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
    handles = [(job, pool.apply_async(run, (job, side))) for job in jobs]
    for i, (job, handle) in enumerate(handles):
        limit = time_limit * min(len(job.keys), ARCHIVE_LIMIT_FILES)
        try:
            done.update(handle.get(timeout=limit))
        except mp.TimeoutError:
            done.update((key, Preview(error=f"timed out: no preview after {limit:g} s")) for key in job.keys)
            rest = []
            for later, h in handles[i + 1:]:
                if h.ready():
                    done.update(h.get())
                else:
                    rest.append(later)
            return rest
    return []

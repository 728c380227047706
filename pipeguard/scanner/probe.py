"""The per-file reader: one file in, one plain record (a dict) out. Never raises.

A plain scan reads what ``Image.open`` reads (the header: format, mode, size), the
frame count and EXIF orientation where the header already holds them, and the file's
last bytes for the end marker. It never decodes pixels. ``deep=True`` also decodes
the first frame, as ``ImageFolder``'s loader would.

Runs in worker processes, so it imports only Pillow and pipeguard's small modules.
Statuses set here: ``"ok"`` (readable; the contract is checked later over the whole
table), ``"unreadable"`` and ``"not-image"``.

``not-image`` is a file that neither its extension (torchvision's ``IMG_EXTENSIONS``)
nor its header (a Pillow format's signature) marks as an image: ``notes.txt``, a
PDF, an empty ``labels.csv``. Such files are counted from one 16-byte read, not
scanned. A file that is an image by extension or by header and still fails (a
truncated GIF, a text file saved as ``.jpg``, a decompression bomb) is ``unreadable``.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Optional

from PIL import Image, UnidentifiedImageError

from ..adapters import _pil_mode  # mode -> (band count, dtype): the one table pipeguard keeps
from .end_marker import TAIL_BYTES, checked_formats, missing_end_marker

# torchvision.datasets.folder.IMG_EXTENSIONS, copied so a scan does not import torch
# (tests/test_scan_probe.py asserts they stay equal).
IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")

COLUMNS = ("path", "status", "format", "mode", "channels", "height", "width", "bytes", "error",
           "violations", "class", "n_frames", "orientation", "fix", "hidden", "warnings")
_TEMPLATE = dict.fromkeys(COLUMNS)
_TEMPLATE.update(violations=(), warnings=(), hidden=False)
_END_CHECKED = checked_formats()
_ORIENTATION = 0x0112
_EXIF_KEYS = frozenset(("exif", "Raw profile type exif", "XML:com.adobe.xmp", "xmp"))
_sniffers: list = []


def is_image_name(name: str) -> bool:
    """Whether torchvision's ``ImageFolder`` would load a file of this name (case-insensitive)."""
    return name.lower().endswith(IMG_EXTENSIONS)


def probe(path: str, rel: Optional[str] = None, deep: bool = False) -> dict[str, Any]:
    """Read one file's header into a record; never raises.

    Args:
        path: the file to read.
        rel: the path to report (relative to the scanned folder, ``/``-separated);
            defaults to ``path``. Its first part is the ``class`` when it has two or more.
        deep: also decode the first frame fully.

    Returns:
        A dict with the keys of :data:`COLUMNS`. ``height``/``width`` are the stored
        size (EXIF orientation is not applied, as ``ImageFolder`` does not apply it);
        ``channels`` is the mode's band count (what ``pil_to_tensor`` gives).
    """
    rec = _TEMPLATE.copy()
    name = path if rel is None else rel
    rec["path"] = name
    parts = name.split("/")
    if rel is not None and len(parts) > 1:
        rec["class"] = sys.intern(parts[0])  # one string per class, not per file
    rec["hidden"] = name[:1] == "." or "/." in name
    image_ext = is_image_name(name)
    failed = "unreadable" if image_ext else "not-image"  # until the header says image
    try:
        f = open(path, "rb")
    except OSError as exc:
        rec["status"], rec["error"] = failed, _open_error(path, exc)
        return rec
    with f:
        try:
            size = rec["bytes"] = f.seek(0, 2)
            f.seek(0)
            if size == 0:
                rec["status"], rec["error"] = failed, "empty file (0 bytes)"
                return rec
            if not image_ext and not _sniff(f.read(16), os.path.splitext(name)[1].lower()):
                rec["status"] = "not-image"  # counted, not scanned: no image format claims it
                return rec
            f.seek(size - TAIL_BYTES if size > TAIL_BYTES else 0)
            tail = f.read(TAIL_BYTES)  # one small read, before Pillow owns the file position
            f.seek(0)
        except OSError as exc:
            rec["status"], rec["error"] = failed, f"cannot read: {exc.strerror or exc}"
            return rec
        _read_image(f, rec, image_ext, deep, tail)
    return rec


def _read_image(f: Any, rec: dict, image_ext: bool, deep: bool, tail: bytes) -> None:
    failed = "unreadable"  # by extension or by header, this is an image
    try:
        im = Image.open(f)
    except Image.DecompressionBombError as exc:  # not an OSError: caught by name
        rec["status"], rec["error"] = failed, f"decompression bomb, not decoded: {exc}"
        return
    except UnidentifiedImageError:
        # a header that only looked like an image (sniffed) is still not one
        rec["status"] = failed if image_ext else "not-image"
        rec["error"] = "not an image Pillow can identify"
        return
    except Exception as exc:  # plugins raise OSError, ValueError, SyntaxError, NotImplementedError...
        rec["status"], rec["error"] = failed, f"cannot open: {_describe(exc)}"
        return
    notes: list[str] = []
    with im:
        try:
            fmt, mode = im.format, im.mode
            w, h = im.size
        except Exception as exc:
            rec["status"], rec["error"] = failed, f"cannot read the header: {_describe(exc)}"
            return
        rec["format"], rec["mode"], rec["width"], rec["height"] = fmt, mode, w, h
        try:
            rec["channels"] = _pil_mode(mode)[0]
        except Exception as exc:
            notes.append(f"unknown mode {mode!r}: {_describe(exc)}")
        if w <= 0 or h <= 0:
            rec["status"], rec["error"] = failed, f"image has no pixels ({w}×{h})"
            return
        limit = Image.MAX_IMAGE_PIXELS
        if limit and w * h > limit:  # Pillow opens it, warns, and decodes on demand
            notes.append(f"{w}×{h} = {w * h:,} pixels is over Pillow's MAX_IMAGE_PIXELS ({limit:,}): "
                         "decoding it raises DecompressionBombWarning")
        try:
            rec["n_frames"] = getattr(im, "n_frames", 1)
        except Exception as exc:  # n_frames parses every frame header (GIF, TIFF, PSD)
            notes.append(f"frame count unreadable: {_describe(exc)}")
        rec["orientation"] = _orientation(im, notes)
        problem = missing_end_marker(fmt, tail) if fmt in _END_CHECKED else None
        if deep:
            try:
                im.load()  # the current frame is the first: n_frames seeks back after counting
            except Exception as exc:
                problem = f"decode failed: {_describe(exc)}"
            else:
                if problem is not None:  # decodes anyway: keep the finding, not the verdict
                    notes.append(problem + " (but the image decodes)")
                    problem = None
                if rec["orientation"] is None and "exif" in im.info:  # a PNG eXIf after IDAT
                    rec["orientation"] = _orientation(im, notes)
    if problem is not None:
        rec["status"], rec["error"] = failed, problem
    else:
        rec["status"] = "ok"
    if notes:
        rec["warnings"] = tuple(notes)


def _orientation(im: Any, notes: list[str]) -> Optional[int]:
    """EXIF orientation (1-8) where the header holds it; ``None`` when absent.

    Calls the base ``Image.getexif``: ``PngImageFile.getexif`` would decode the whole
    image to look for an ``eXIf`` chunk after the pixel data.
    """
    try:
        tags = getattr(im, "tag_v2", None)
        if tags is not None:  # TIFF: the tag is in the IFD already parsed
            value = tags.get(_ORIENTATION)
        elif not _EXIF_KEYS.isdisjoint(im.info):
            value = Image.Image.getexif(im).get(_ORIENTATION)
        else:
            return None
        return None if value is None else int(value)
    except Exception as exc:
        notes.append(f"EXIF unreadable: {_describe(exc)}")
        return None


def _sniff(head: bytes, ext: str) -> bool:
    """Whether some Pillow format claims a file from its first bytes (or its extension,
    for the few formats without a signature, such as TGA)."""
    if not _sniffers:
        Image.init()
        _sniffers.extend((fmt, accept) for fmt, (_, accept) in Image.OPEN.items() if accept is not None)
    for _, accept in _sniffers:
        try:
            if accept(head):
                return True
        except Exception:
            continue
    fmt = Image.registered_extensions().get(ext)
    return fmt in Image.OPEN and Image.OPEN[fmt][1] is None


def _open_error(path: str, exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError) and os.path.islink(path):
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        return f"broken symlink (target {target!r} does not exist)"
    if isinstance(exc, IsADirectoryError):
        return "a directory, not a file"
    return f"cannot open: {exc.strerror or exc}"


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def failure_record(path: str, rel: Optional[str], error: str) -> dict[str, Any]:
    """The record for a file whose probe never returned (it hung or killed its worker)."""
    rec = _TEMPLATE.copy()
    name = path if rel is None else rel
    parts = name.split("/")
    rec.update(path=name, status="unreadable", error=error, hidden=name[:1] == "." or "/." in name)
    if rel is not None and len(parts) > 1:
        rec["class"] = sys.intern(parts[0])
    try:
        rec["bytes"] = os.path.getsize(path)
    except OSError:
        pass
    return rec


def probe_many(items: Any, deep: bool = False, on_start: Any = None) -> Any:
    """Probe ``(rel, path)`` pairs in order, yielding records as tuples in :data:`COLUMNS` order.

    Python warnings raised while reading a file (``Corrupt EXIF data``,
    ``DecompressionBombWarning``) are attached to that file's ``warnings`` instead of
    being printed. ``on_start(i)`` is called before the ``i``-th file (worker progress).
    """
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i, (rel, path) in enumerate(items):
            if on_start is not None:
                on_start(i)
            rec = probe(path, rel, deep)
            if caught:
                found = dict.fromkeys(f"{w.category.__name__}: {str(w.message).strip()}" for w in caught
                                      if not issubclass(w.category, Image.DecompressionBombWarning))
                rec["warnings"] = tuple(rec["warnings"]) + tuple(found)  # the bomb is noted already
                caught.clear()
            yield tuple(rec.values())

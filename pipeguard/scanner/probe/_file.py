"""The per-file reader: one file in, one :class:`~.._row.ScanRow` out. Never raises.

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

Speed: this is the whole cost of a plain scan, so each file gets one ``open``, one
``seek`` to learn its size, Pillow's own header reads on that same file object, and,
for the formats with an end marker, a positional read of the last few bytes (which
leaves the file position alone); uncompressed formats are checked for truncation from
the header's own numbers (:mod:`._raw_extent`). A plain JPEG (most files of most
folders) skips Pillow's parser: :mod:`._jpeg_header` walks its markers from one read
and answers as Pillow would, or defers to Pillow; so does :mod:`._png_header` for a plain
PNG's chunks (icon themes: thousands of small PNGs). The row is built once, and
what a folder's files share (class, hidden folder) is worked out once per folder (see
:func:`~._part.probe_part`).
"""

from __future__ import annotations

import errno
import os
from typing import Any, NamedTuple, Optional

from PIL import Image, UnidentifiedImageError

from ..._io import Descriptor, NotRegularFile, open_regular_fd, read_at
from ..._io import file_type as _file_type
from ..._io import open_regular as _open_regular
from ...core import (
    UnreadableKind,
    pil_mode,  # mode -> (band count, dtype): the one table pipeguard keeps
)
from ...diagnosis import one_line
from .._row import COLUMNS, NOT_IMAGE, OK, UNREADABLE, ScanRow
from .._units import Run, class_of, is_hidden
from ._end_marker import SHORT_TAIL, TAIL_BYTES, checked_formats, missing_end_marker, trailing_data
from ._jpeg_header import HEAD_BYTES, read_jpeg_header
from ._png_header import read_png_header
from ._raw_extent import missing_pixel_data

# torchvision.datasets.folder.IMG_EXTENSIONS, copied so a scan does not import torch
# (tests/test_scan_probe.py asserts they stay equal).
IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")

# An explicit buffer size also spares the isatty() system call ``open`` makes to choose
# one; 4 KiB holds a typical header, and Pillow reads longer segments past the buffer.
READ_BUFFER = 4096
_END_CHECKED = checked_formats()
_ORIENTATION = 0x0112
_EXIF_KEYS = frozenset(("exif", "Raw profile type exif", "XML:com.adobe.xmp", "xmp"))
_sniffers: list = []
_no_signature: list = []  # formats Pillow identifies only by trying to open the file
TRUNCATED = UnreadableKind.TRUNCATED  # what a missing end marker or missing pixel data means


class _Header(NamedTuple):
    """What reading an opened file found: the fields of its row that come from its content."""

    status: str
    error: Optional[str] = None
    error_kind: Optional[str] = None
    format: Optional[str] = None
    mode: Optional[str] = None
    channels: Optional[int] = None
    height: Optional[int] = None
    width: Optional[int] = None
    n_frames: Optional[int] = None
    orientation: Optional[int] = None
    warnings: tuple = ()


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
    name = path if rel is None else rel
    cls = None if rel is None else class_of(rel)
    return dict(zip(COLUMNS, probe_row(path, name, cls, is_hidden(name), deep)))


def probe_row(path: str, name: str, cls: Optional[str], hidden: bool, deep: bool = False) -> ScanRow:
    """One file's row; never raises.

    Args:
        path: the file to read.
        name: the path to report (``path`` column).
        cls: its ``class`` column; hidden: its ``hidden`` column.
        deep: also decode the first frame fully.
    """
    if path.endswith(("/", os.sep)):  # a folder the walk could not list (see _walk)
        return bare_row(name, cls, hidden, None, UNREADABLE, *_unlisted_folder(path))
    try:
        fd, size = open_regular_fd(path)
    except OSError as exc:
        error, kind = _open_error(path, exc)
        status = UNREADABLE if kind is UnreadableKind.NOT_A_FILE else _failed_status(name)
        return bare_row(name, cls, hidden, None, status, error, kind)
    try:
        walk = not deep and size > 0 and is_image_name(name)
        if walk:  # most files of most folders: positional reads of the descriptor, no file object
            row = _plain_row(Descriptor(fd), size, name, cls, hidden)
            if row is not None:
                return row
        with open(fd, "rb", buffering=READ_BUFFER, closefd=False) as f:
            return probe_file(f, size, name, cls, hidden, deep, walked=walk)
    finally:
        os.close(fd)


def open_regular(path: str) -> Any:
    """:func:`pipeguard._io._regular_file.open_regular` with the probe's read buffer."""
    return _open_regular(path, READ_BUFFER)


def _unlisted_folder(path: str) -> tuple[str, UnreadableKind]:
    """Why a folder the walk could not list is unreadable: listing it again says."""
    try:
        with os.scandir(path):
            pass
    except OSError as exc:
        kind = UnreadableKind.PERMISSION_DENIED if isinstance(exc, PermissionError) else UnreadableKind.CANNOT_OPEN
        return f"cannot list the folder: {exc.strerror or exc}; its files were not scanned", kind
    return "the folder could not be listed during the scan; its files were not scanned", UnreadableKind.CANNOT_OPEN


def probe_file(f: Any, size: int, name: str, cls: Optional[str], hidden: bool, deep: bool = False,
               image: Optional[bool] = None, walked: bool = False) -> ScanRow:
    """The row of an open file of ``size`` bytes: a file on disk, an archive member, stored bytes.

    Never raises. ``image`` says whether the file is meant to be an image (a failure is then
    ``unreadable``, never ``not-image``); ``None`` decides by its extension, as ImageFolder does.
    ``walked``: the header walks already had their try (:func:`probe_row`).
    """
    image_ext = is_image_name(name) if image is None else image
    failed = UNREADABLE if image_ext else NOT_IMAGE  # until the header says image
    try:
        if size == 0:
            return bare_row(name, cls, hidden, size, failed, "empty file (0 bytes)", UnreadableKind.EMPTY)
        if not image_ext:
            f.seek(0)
            if not _sniff(f.read(16), os.path.splitext(name)[1].lower()) and not _signatureless(f):
                return bare_row(name, cls, hidden, size, NOT_IMAGE)  # counted, not scanned
    except OSError as exc:
        return bare_row(name, cls, hidden, size, failed, *_read_error(exc))
    if not deep and not walked and (image_ext or image is not None):  # ImageFolder skips it: Pillow's row, noted
        row = _plain_row(f, size, name, cls, hidden)  # most files of most folders, at a fraction of the cost
        if row is not None:
            return row
    head = _read_image(f, size, image_ext, deep)
    # unpacked, not read by name: this runs once per file, and _Header lists the fields
    status, error, kind, fmt, mode, channels, h, w, n_frames, orientation, notes = head
    if image is None and not image_ext and status != NOT_IMAGE:
        notes += (f"ImageFolder skips this file: {os.path.splitext(name)[1] or 'no extension'} is not one of "
                  "torchvision's IMG_EXTENSIONS",)
    return ScanRow(name, status, fmt, mode, channels, h, w, size, error, (), None, kind, cls, n_frames, orientation,
                   None, hidden, notes)


def _failed_status(name: str) -> str:
    return UNREADABLE if is_image_name(name) else NOT_IMAGE


def bare_row(name: str, cls: Optional[str], hidden: bool, size: Optional[int], status: str,
         error: Optional[str] = None, kind: Optional[UnreadableKind] = None) -> ScanRow:
    """The row of a file with no header (not opened, empty, not an image)."""
    return ScanRow(name, status, bytes=size, error=error, error_kind=_kind(status, kind), cls=cls, hidden=hidden)


def _kind(status: str, kind: Optional[UnreadableKind]) -> Optional[str]:
    """The ``error_kind`` column: the kind's value for an ``unreadable`` row, else ``None``."""
    return kind.value if kind is not None and status == UNREADABLE else None


def _failed(error: str, kind: UnreadableKind) -> _Header:
    return _Header(UNREADABLE, error, kind.value)


def _read_error(exc: OSError) -> tuple[str, UnreadableKind]:
    return f"cannot read: {exc.strerror or exc}", UnreadableKind.READ_ERROR


def _truncation(f: Any, size: int, fmt: str, whole: Optional[bytes] = None) -> tuple[Optional[str], tuple]:
    """What the end marker of a checked format says (see :mod:`._end_marker`), from the file's
    tail (sliced from ``whole``, the file's bytes, when a small file was read whole): the
    problem, and the notes (data appended after a whole image)."""
    tail = _read_tail(f, size, SHORT_TAIL) if whole is None else whole[max(0, size - SHORT_TAIL):size]
    if missing_end_marker(fmt, tail) is None:
        return None, ()
    tail = _read_tail(f, size, TAIL_BYTES) if whole is None else whole[max(0, size - TAIL_BYTES):size]
    read = (lambda offset, n: read_at(f, offset, n)) if whole is None else (lambda offset, n: whole[offset:offset + n])
    problem, note = trailing_data(fmt, read, size, tail)
    return problem, () if note is None else (note,)


def _read_tail(f: Any, size: int, n: int) -> bytes:
    return read_at(f, max(0, size - n), n)


XPM_VARIANT = "cannot read this XPM file"  # Pillow's words for an XPM whose colours are named (``c red``)


def _read_image(f: Any, size: int, image_ext: bool, deep: bool) -> _Header:
    """Read an image's header (and with ``deep``, its first frame) through Pillow from the open file ``f``."""
    try:
        im = Image.open(f)
    except Image.DecompressionBombError as exc:  # not an OSError: caught by name
        return _failed(f"decompression bomb, not decoded: {exc}", UnreadableKind.DECOMPRESSION_BOMB)
    except UnidentifiedImageError:
        # a header that only looked like an image (sniffed) is still not one
        status = UNREADABLE if image_ext else NOT_IMAGE
        return _Header(status, "not an image Pillow can identify", _kind(status, UnreadableKind.UNIDENTIFIED))
    except Exception as exc:  # plugins raise OSError, ValueError, SyntaxError, NotImplementedError...
        if str(exc) == XPM_VARIANT:
            return _failed("Pillow cannot read this XPM variant: its reader takes only 'c #RRGGBB' and 'c None' "
                           f"colours, not colour names or other keys ({one_line(exc)})", UnreadableKind.UNSUPPORTED)
        return _failed(f"cannot open: {one_line(exc)}", UnreadableKind.BAD_HEADER)
    # no ``with im``: the file is ours to close, and for a file object Image.__exit__ only drops it
    return _read_opened(im, f, size, deep)


def _plain_row(f: Any, size: int, name: str, cls: Optional[str], hidden: bool) -> Optional[ScanRow]:
    """A plain JPEG's or PNG's row from a header walk (:mod:`._jpeg_header`, :mod:`._png_header`);
    ``None`` when Pillow must read it."""
    try:
        head = read_at(f, 0, HEAD_BYTES)  # one read for both walks, and a small file's tail
        # the name only says which walk to try first: each checks the file's signature
        plain = (_plain_png(f, size, head) or _plain_jpeg(f, size, head) if name.endswith((".png", ".PNG"))
                 else _plain_jpeg(f, size, head) or _plain_png(f, size, head))
    except OSError:
        return None  # Pillow reads it again and words the error
    if plain is None:
        return None
    fmt, mode, w, h, n_frames = plain
    try:
        problem, notes = _truncation(f, size, fmt, head if len(head) >= size else None)
    except OSError as exc:
        return bare_row(name, cls, hidden, size, UNREADABLE, *_read_error(exc))
    status, kind = (OK, None) if problem is None else (UNREADABLE, TRUNCATED.value)
    return ScanRow(name, status, fmt, mode, pil_mode(mode)[0], h, w, size, problem, (), None, kind, cls, n_frames,
                   None, None, hidden, notes)


def _plain_jpeg(f: Any, size: int, head: bytes) -> Optional[tuple[str, str, int, int, int]]:
    found = read_jpeg_header(f, size, head)
    return None if found is None else ("JPEG", *found, 1)


def _plain_png(f: Any, size: int, head: bytes) -> Optional[tuple[str, str, int, int, int]]:
    found = read_png_header(f, size, head)
    return None if found is None else ("PNG", *found)


def _read_opened(im: Any, f: Any, size: int, deep: bool) -> _Header:
    """What an image Pillow opened says: header fields, frames, orientation, truncation."""
    notes: list[str] = []
    try:
        fmt, mode = im.format, im.mode
        w, h = im.size
    except Exception as exc:
        return _failed(f"cannot read the header: {one_line(exc)}", UnreadableKind.BAD_HEADER)
    channels = _channels(mode, notes)
    if w <= 0 or h <= 0:
        return _Header(UNREADABLE, f"image has no pixels ({w}×{h})", UnreadableKind.NO_PIXELS.value,
                       fmt, mode, channels, h, w)
    limit = Image.MAX_IMAGE_PIXELS
    if limit and w * h > limit:  # Pillow opens it, warns, and decodes on demand
        notes.append(f"{w}×{h} = {w * h:,} pixels is over Pillow's MAX_IMAGE_PIXELS ({limit:,}): "
                     "decoding it raises DecompressionBombWarning")
    # the first frame's (what ImageFolder loads), read before counting frames can move the image
    orientation = _orientation(im, notes)
    tiles = im.tile
    n_frames = _frame_count(im, notes)
    try:
        problem, trailing = (_truncation(f, size, fmt) if fmt in _END_CHECKED
                             else (missing_pixel_data(tiles, size), ()))  # uncompressed formats: from the header
        notes.extend(trailing)
    except OSError as exc:
        return _failed(*_read_error(exc))
    kind = None if problem is None else TRUNCATED
    if deep:
        problem, kind, orientation = _decode(im, problem, kind, orientation, notes)
    status = OK if problem is None else UNREADABLE
    return _Header(status, problem, _kind(status, kind), fmt, mode, channels, h, w, n_frames, orientation, tuple(notes))


def _channels(mode: str, notes: list[str]) -> Optional[int]:
    try:
        return pil_mode(mode)[0]
    except Exception as exc:
        notes.append(f"unknown mode {mode!r}: {one_line(exc)}")
        return None


def _frame_count(im: Any, notes: list[str]) -> Optional[int]:
    try:
        return getattr(im, "n_frames", 1)
    except Exception as exc:  # n_frames parses every frame header (GIF, TIFF, PSD)
        notes.append(f"frame count unreadable: {one_line(exc)}")
        _back_to_first_frame(im)  # a failed count can leave it on a later frame
        return None


def _decode(im: Any, problem: Optional[str], kind: Optional[UnreadableKind], orientation: Optional[int],
            notes: list[str]) -> tuple[Optional[str], Optional[UnreadableKind], Optional[int]]:
    """Decode the first frame (``--deep``): its failure is the verdict, and a truncation
    found from the header becomes a note when the image decodes anyway."""
    try:
        im.load()  # the current frame is the first: n_frames seeks back after counting
    except Exception as exc:
        return f"decode failed: {one_line(exc)}", UnreadableKind.DECODE_FAILED, orientation
    if problem is not None:  # decodes anyway: keep the finding, not the verdict
        notes.append(problem + " (but the image decodes)")
    if orientation is None and "exif" in im.info:  # a PNG eXIf after IDAT
        orientation = _orientation(im, notes)
    return None, None, orientation


def _back_to_first_frame(im: Any) -> None:
    try:
        if im.tell() != 0:
            im.seek(0)
    except Exception:  # the decode (--deep) then reports what it finds
        pass


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
        notes.append(f"EXIF unreadable: {one_line(exc)}")
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


def _signatureless(f: Any) -> bool:
    """Whether a format with no signature to sniff (IM, SPIDER, TGA...) reads the file:
    Pillow tries those on any file, so a scan does too before calling it ``not-image``."""
    if not _no_signature:
        Image.init()
        _no_signature.extend(fmt for fmt, (_, accept) in Image.OPEN.items() if accept is None)
    try:
        f.seek(0)
        Image.open(f, formats=_no_signature)
        return True
    except Exception:  # UnidentifiedImageError, or a plugin's own error: not one of them
        return False


def _open_error(path: str, exc: OSError) -> tuple[str, UnreadableKind]:
    if isinstance(exc, FileNotFoundError) and os.path.islink(path):
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        return f"broken symlink (target {target!r} does not exist)", UnreadableKind.BROKEN_LINK
    if isinstance(exc, IsADirectoryError):
        return "a directory, not a file", UnreadableKind.NOT_A_FILE
    if isinstance(exc, NotRegularFile):
        return f"{exc.strerror}, not a file", UnreadableKind.NOT_A_FILE
    if exc.errno == errno.ENXIO:  # a socket: open() refuses it
        return f"{_type_of(path)}, not a file", UnreadableKind.NOT_A_FILE
    kind = UnreadableKind.PERMISSION_DENIED if isinstance(exc, PermissionError) else UnreadableKind.CANNOT_OPEN
    return f"cannot open: {exc.strerror or exc}", kind


def _type_of(path: str) -> str:
    try:
        return _file_type(os.stat(path).st_mode)
    except OSError:
        return "a special file"


def failure_row(run: Run, name: str, error: str, kind: UnreadableKind) -> ScanRow:
    """The row of file ``name`` of ``run`` whose probe never returned (it hung or killed its
    worker, or its Dask task failed): its class and hidden flag as its probe gives them."""
    cls, hidden = run.flags()
    size = getattr(name, "size", None)  # a remote name knows it from the listing
    if run.fs is None:
        try:
            size = os.path.getsize(run.folder + name)
        except OSError:
            size = None
    return bare_row(run.prefix + name, cls, hidden or name.startswith("."), size, UNREADABLE, error, kind)

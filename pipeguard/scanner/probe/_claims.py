"""Whether a format ``Image.open`` tries before JPEG or PNG might take a file: the header
walks (:mod:`._jpeg_header`, :mod:`._png_header`) answer only when none could, so that a
file opens in the walk as it would in Pillow."""

from __future__ import annotations

from typing import Sequence

from PIL import Image

# formats without a signature that ``Image.open`` may try first: each needs a text header
# (IM, IMT) or a 0x1C first byte (IPTC), so none opens a file that starts FF D8 FF or with
# the PNG signature
SIGNATURELESS_NOT_JPEG_OR_PNG = frozenset(("IM", "IMT", "IPTC"))


def formats_before(fmt: str) -> list[str] | None:
    """The formats ``Image.open`` tries before ``fmt``, in its order (``None`` when ``fmt``
    is not registered). ``preinit()`` first, as ``Image.open`` does, so that asking leaves
    Pillow's registration order as Pillow itself would."""
    Image.preinit()
    try:
        return Image.ID[:Image.ID.index(fmt)]
    except ValueError:
        return None


def any_claims(before: Sequence[str], prefix: bytes) -> bool:
    """Whether one of the formats ``before`` might take a file that starts with ``prefix``."""
    for fmt in before:
        try:
            accept = Image.OPEN[fmt][1]
            if accept is None:
                if fmt not in SIGNATURELESS_NOT_JPEG_OR_PNG:
                    return True
                continue
            result = accept(prefix)
        except Exception:
            return True
        if result and not isinstance(result, str):  # a string is only a warning for later
            return True
    return False

"""Where the image is inside a sample, and how to put a converted one back.

A sample is what a dataset's ``__getitem__`` returns. pipeguard understands:

* a bare image (PIL image, numpy array, tensor, ``tv_tensors.Image``);
* a tuple or list whose first element is the image, ``(image, target, ...)``
  (torchvision's ``ImageFolder`` and most datasets);
* a mapping, where the image is under ``image_key`` when given, else under the
  first of :data:`DEFAULT_IMAGE_KEYS` present (``"image"``, ``"img"``,
  ``"pixel_values"``: torchvision v2, timm and Hugging Face conventions).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Hashable, Optional, cast

DEFAULT_IMAGE_KEYS = ("image", "img", "pixel_values")


class ImageNotFound(LookupError):
    """The sample has no recognisable image slot; the message says what was there."""


def image_slot(sample: Any, image_key: Optional[Hashable] = None) -> Optional[Hashable]:
    """The key or position of the image: ``None`` for a bare image, ``0`` for a tuple, a dict key.

    Raises:
        ImageNotFound: a mapping without the image key, or an empty sequence.
    """
    if isinstance(sample, Mapping):
        if image_key is not None:
            if image_key in sample:
                return image_key
            raise ImageNotFound(f"the sample dict has no key {image_key!r} (keys: {_keys(sample)})")
        for key in DEFAULT_IMAGE_KEYS:
            if key in sample:
                return key
        raise ImageNotFound(f"the sample dict has none of the keys {list(DEFAULT_IMAGE_KEYS)} "
                            f"(keys: {_keys(sample)}); pass image_key=...")
    if isinstance(sample, (tuple, list)):
        if not sample:
            raise ImageNotFound(f"the sample is an empty {type(sample).__name__}")
        return 0
    return None


def get_image(sample: Any, slot: Optional[Hashable]) -> Any:
    return sample if slot is None else sample[slot]


def replace_image(sample: Any, slot: Optional[Hashable], image: Any) -> Any:
    """``sample`` with its image replaced, keeping the container type (namedtuples too)."""
    if slot is None:
        return image
    if isinstance(sample, Mapping):
        out = dict(sample)
        out[slot] = image
        try:
            return cast(Any, type(sample))(out)   # a Mapping type's constructor is not typed
        except Exception:  # a mapping type that cannot be rebuilt from a dict
            return out
    items = list(sample)
    items[slot] = image  # type: ignore[call-overload]  # a sequence's slot is an index
    if isinstance(sample, list):
        return items
    if hasattr(sample, "_fields"):  # namedtuple
        return type(sample)(*items)
    return tuple(items)


def _keys(sample: Mapping) -> str:
    keys = list(sample)
    shown = ", ".join(repr(k) for k in keys[:8])
    return shown + (", ..." if len(keys) > 8 else "")

"""Which parts of a sample are its image: torchvision v2's rule, with numpy arrays counted as plain tensors.

PIL images, ``tv_tensors.Image`` and ``tv_tensors.Video`` are always images. A plain
tensor (not a tv_tensor) or numpy array is the image only when the sample holds no
explicit image, and then only the first one in ``tree_flatten`` order: later plain
tensors are labels, scores and the like. The transforms select what they transform by
this rule, and ``trace`` describes the image it picks.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import PIL.Image
import torch
from torchvision import tv_tensors

EXPLICIT_IMAGES = (PIL.Image.Image, tv_tensors.Image, tv_tensors.Video)

# type -> whether a bare input of that type is an image (cached per type: one dict lookup per sample)
_BARE_IMAGE: dict[type, bool] = {}


def is_plain(x: Any) -> bool:
    """A plain tensor (not a tv_tensor) or a numpy array: an image only by position."""
    return type(x) is torch.Tensor or isinstance(x, np.ndarray) or (
        isinstance(x, torch.Tensor) and not isinstance(x, tv_tensors.TVTensor))


def is_bare_image(x: Any) -> bool:
    """Whether ``x``, given alone, is an image."""
    try:
        return _BARE_IMAGE[type(x)]
    except KeyError:
        found = _BARE_IMAGE[type(x)] = isinstance(x, EXPLICIT_IMAGES) or is_plain(x)
        return found


def image_selection(flat: list[Any], companions: tuple[type, ...] = ()) -> list[bool]:
    """For each part of a flattened sample, whether it is an image (or one of ``companions``,
    such as boxes that move with the image)."""
    if len(flat) == 1:
        return [is_bare_image(flat[0]) or isinstance(flat[0], companions)]
    plain_taken = any(isinstance(x, EXPLICIT_IMAGES) for x in flat)
    selected = []
    for x in flat:
        if isinstance(x, EXPLICIT_IMAGES):
            take = True
        elif is_plain(x):
            take, plain_taken = not plain_taken, True
        else:
            take = isinstance(x, companions)
        selected.append(take)
    return selected


def first_image(flat: list[Any]) -> Optional[Any]:
    """The image of a flattened sample by the rule above (the first one), or ``None``."""
    return next((x for x, take in zip(flat, image_selection(flat)) if take), None)

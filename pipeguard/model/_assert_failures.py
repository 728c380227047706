"""Readings of a model's own checks on its input: an ``assert`` with the numbers it
compares, and an input-size check (timm, torchvision, Hugging Face) with the size that
passes it, or with the permute that puts the channels first when channels-last data
fails it (``[1, 224, 224, 3]`` reads as 224×3 to a model checking for 224×224).
"""

from __future__ import annotations

import re
from typing import Optional, cast

from ..diagnosis import ensure_size, explain, numbers
from . import _input_layout as layout
from ._findings import Finding, FindingKind
from ._history import History, Shape, model_input

_EXPECTED_GOT = re.compile(r"[Ee]xpected (\d+),? but got (\d+)")

# a model checking its input size: "Input height (256) doesn't match model (224)" (timm),
# "Wrong image height! Expected 224 but got 256!" (torchvision),
# "Input image size (256*256) doesn't match model (224*224)" (timm, Hugging Face)
_SIZE_PAIR = re.compile(r"\((\d+)\s*[*x×,]\s*(\d+)\)\s*(?:doesn't|does not|don't|do not) match"
                        r"[a-z ]*?\((\d+)\s*[*x×,]\s*(\d+)\)")
_SIZE_SIDE = re.compile(r"(height|width)\D{0,12}?\((\d+)\)\s*(?:doesn't|does not) match[a-z ]*?\((\d+)\)",
                        re.IGNORECASE)
_SIZE_EXPECTED = re.compile(r"(height|width)\b[^\d]*?expected (\d+),? but got (\d+)", re.IGNORECASE)


def read_assertion(text: str, line: str) -> Finding:
    """An ``AssertionError`` of the model's own, with the numbers it compares where it names them."""
    m = _EXPECTED_GOT.search(text)
    if m is None:
        return Finding(FindingKind.ASSERTION, f"assertion failed: {line}",
                       fix="the model's own check rejects this input (see the message above): give it what "
                           "the check asks for, or read the check in the model's code")
    want, got = int(m.group(1)), int(m.group(2))
    return Finding(FindingKind.ASSERTION, f"assertion failed: {line}", expected=want, actual=got,
                   fix=f"the model expects {want} where the input gives {got}: resize the data "
                       "(pipeguard.EnsureSize) or build the model for this size")


def read_size_assertion(text: str, history: History) -> Optional[Finding]:
    """A model's own check of the input's height or width, with the size that passes it."""
    image = cast(Shape, model_input(history, ()))  # the input's shape, or ()
    if len(image) != 4:
        return None
    got: tuple[int, ...]
    m = _SIZE_PAIR.search(text)
    if m is not None:
        got, want = (int(m.group(1)), int(m.group(2))), (int(m.group(3)), int(m.group(4)))
    else:
        m = _SIZE_SIDE.search(text) or _SIZE_EXPECTED.search(text)
        if m is None:
            return None
        first, second = (m.group(2), m.group(3)) if m.re is _SIZE_SIDE else (m.group(3), m.group(2))
        side, axis = int(second), m.group(1).lower()
        got = tuple(image[2:])
        want = (side, side)  # models that check one side are built square; the other check follows
        if axis == "height" and int(first) != image[2] or axis == "width" and int(first) != image[3]:
            return None
    h, w = want
    last = layout.channels_last(image, None, 2)
    if last is not None:
        return _channels_last_size(image, last, (h, w))
    return Finding(FindingKind.ASSERTION,
                   f"the model checks its input size: built for {h}×{w}, receives {got[0]}×{got[1]}",
                   expected=want, actual=got,
                   arithmetic=f"the model asserts its input is {h}×{w} (the size it was built for)",
                   fix=f"feed {h}×{w} images: {ensure_size(h, w)} in the transform, or build "
                       f"the model for {got[0]}×{got[1]} (its img_size / image_size argument)",
                   size=want)


def _channels_last_size(image: Shape, last: layout.Layout, want: tuple[int, int]) -> Finding:
    """A size check failed by channels-last data: the model reads ``[N, H, W, C]`` as
    ``[N, C, H, W]``, so its height × width is the image's width × channels."""
    h, w = want
    fix = layout.channels_last_fix(last, None, 2)
    if tuple(last.shape[2:]) != want:  # the wrong size as well: permute, then resize
        fix += f"; then feed {h}×{w} images: {ensure_size(h, w)} in the transform"
    return Finding(FindingKind.ASSERTION,
                   f"the model checks its input size: built for {h}×{w}, receives {image[2]}×{image[3]} "
                   f"from {last.what}",
                   expected=(*last.shape[:2], h, w), actual=image, diagnosis=explain(last.shape, image),
                   arithmetic=f"{numbers.shape(image)} has {image[-1]} last: read as [N, C, H, W], its "
                              f"height×width is {image[2]}×{image[3]}; the model asserts {h}×{w}",
                   fix=fix, size=want)

"""A segmentation mask against its image and a :class:`MaskSpec`; each failure carries its likely cause.

A semantic mask is one channel of integer class ids, ``[H, W]`` or ``[1, H, W]`` (a numpy
array ``[H, W]`` or ``[H, W, 1]``, a PIL image of one band). Instance masks (``"masks"``
beside boxes, ``[N, H, W]``, one a box) are checked for height × width and dtype only.
Values are read only when ``num_classes`` is set, or on a failure (to name its cause).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Optional

from ..diagnosis import Hypothesis, HypothesisKind, numbers
from ._errors import Reason, TargetViolation, Violation
from ._inspect import SampleInfo, inspect
from ._registry import loaded_tv_tensors

if TYPE_CHECKING:
    import numpy as np

    from ._target_specs import MaskSpec

_MASK_LAYOUTS = ("HW", "CHW", "HWC")


@functools.lru_cache(maxsize=64)
def _size_hint(hw: tuple[int, int]) -> Any:
    from . import Contract  # the package: _contract leads here through the checks

    return Contract(size=hw)


def _info(mask: Any, hw: Optional[tuple[int, int]]) -> SampleInfo:
    """The mask's metadata; an ambiguous 3-D shape is read the way that gives the image's size."""
    return inspect(mask, None if hw is None else _size_hint(hw))


def is_integer(dtype: Optional[str]) -> bool:
    return dtype is not None and (dtype.startswith(("int", "uint")) or dtype == "bool")


def is_tv_mask(x: Any) -> bool:
    tv = loaded_tv_tensors()
    return tv is not None and isinstance(x, tv.Mask)


def as_array(x: Any) -> "np.ndarray":
    """The values of a PIL image, numpy array or tensor as a numpy array (a CPU copy of a tensor)."""
    import numpy as np

    if hasattr(x, "detach"):
        import torch

        t = x.detach().as_subclass(torch.Tensor).cpu()
        return (t.float() if t.dtype == torch.bfloat16 else t).numpy()
    return np.asarray(x)


def _kind_words(mask: Any, info: SampleInfo) -> str:
    if is_tv_mask(mask):
        return "tv_tensors.Mask"
    return {"PIL.Image": "PIL", "numpy.ndarray": "numpy"}.get(info.kind, "plain tensor")


def check_mask(spec: MaskSpec, hw: Optional[tuple[int, int]], mask: Any) -> list[Violation]:
    """Every way a semantic ``mask`` fails ``spec`` beside an image of size ``hw`` (``None``: unknown)."""
    info = _info(mask, hw)
    if info.layout not in _MASK_LAYOUTS:
        return [TargetViolation(Reason.MASK_CHANNELS, "[H, W] or [1, H, W]", tuple(info.shape),
                                f"has a mask of shape {numbers.shape(info.shape)}, not the [H, W] or "
                                "[1, H, W] of class ids expected")]
    found: list[Violation] = []
    if hw is not None and info.size != hw:
        found.append(size_violation(mask, info, hw))
    if info.channels != 1:
        found.append(_channels_violation(spec, mask, info))
    if not is_integer(info.dtype):
        found.append(dtype_violation(mask, info))
    elif spec.num_classes is not None and info.channels == 1:
        found += _values_violations(spec, mask)
    return found


def check_instance_masks(hw: Optional[tuple[int, int]], masks: Any) -> list[Violation]:
    """Instance masks ``[N, H, W]`` (one a box): the image's height × width, an integer or bool dtype."""
    info = inspect(masks)
    shape = tuple(info.shape)
    found: list[Violation] = []
    if hw is not None and len(shape) >= 2 and shape[-2:] != hw:
        found.append(size_violation(masks, info, hw, size=(int(shape[-2]), int(shape[-1]))))
    if not is_integer(info.dtype):
        found.append(dtype_violation(masks, info))
    return found


def size_violation(mask: Any, info: SampleInfo, hw: tuple[int, int],
                   size: Optional[tuple[int, int]] = None) -> Violation:
    (h, w), (H, W) = size or info.size or (0, 0), hw
    kind = _kind_words(mask, info)
    summary = f"mask {h}×{w} where its image is {H}×{W}: "
    if kind == "tv_tensors.Mask":
        summary += "the image and its mask were transformed apart (separate calls draw separate random parameters)"
        fix = (f"call each v2 transform on (image, mask) together, so one set of parameters moves both; "
               f"or resize the mask to {H}×{W} with InterpolationMode.NEAREST")
    else:
        how = (f"a {kind} mask passes through v2 transforms untouched" if kind != "PIL"
               else "a PIL mask moved by v1 transforms, or a step called on the image alone")
        summary += f"a step changed the image only ({how})"
        fix = (f"wrap the mask as tv_tensors.Mask(mask) so v2 transforms move it too (nearest-neighbour), "
               f"calling them on (image, mask) together; or resize it to {H}×{W} with InterpolationMode.NEAREST")
    arithmetic = f"image ÷ mask: {H}/{h} = {H / h:.3g}× in height, {W}/{w} = {W / w:.3g}× in width" if h and w else ""
    return TargetViolation(Reason.MASK_SIZE, (H, W), (h, w),
                           f"has a {h}×{w} (H×W) mask where its image is {H}×{W}",
                           Hypothesis(HypothesisKind.TARGET_APART, 1.0, summary, arithmetic, fix))


def _equal_channels(mask: Any, info: SampleInfo) -> bool:
    a = as_array(mask)
    planes = [a[..., i] for i in range(3)] if info.layout == "HWC" or info.mode else [a[i] for i in range(3)]
    return bool((planes[0] == planes[1]).all() and (planes[1] == planes[2]).all())


def _channels_violation(spec: MaskSpec, mask: Any, info: SampleInfo) -> Violation:
    c = info.channels or 0
    mode = f" (mode {info.mode!r})" if info.mode else ""
    kind = _kind_words(mask, info)
    message = f"has a {c}-channel mask{mode}, not the 1 channel of class ids expected"
    if spec.num_classes is not None and c == spec.num_classes:
        take = "mask.argmax(-1)" if info.layout == "HWC" else "mask.argmax(0, keepdim=True)"
        hyp = Hypothesis(HypothesisKind.MASK_ONE_HOT, 0.97,
                         f"a one-hot mask: {c} channels, one a class, with num_classes={c}", "",
                         f"{take} gives the class ids, one channel")
    elif c in (3, 4) and _equal_channels(mask, info):
        take = {"PIL": "mask.convert('L')", "numpy": "mask[..., 0]"}.get(kind, "mask[:1]")
        hyp = Hypothesis(HypothesisKind.MASK_RGB, 0.99,
                         f"a mask saved as RGB: its {c}-channel pixels repeat one class id in every colour channel",
                         "", f"take one channel: {take}")
    else:
        hyp = Hypothesis(HypothesisKind.MASK_RGB, 0.9,
                         f"a colour-coded {c}-channel mask: its channels differ, so colours stand for the classes",
                         "", "open the mask as saved: a palette PNG (mode 'P', as VOC's) holds the class ids, so do "
                         "not .convert('RGB') it; otherwise map each colour to its class id")
    return TargetViolation(Reason.MASK_CHANNELS, 1, c, message, hyp)


def dtype_violation(mask: Any, info: SampleInfo) -> Violation:
    a = as_array(mask)
    import numpy as np

    whole = a.size == 0 or bool(np.all(np.isfinite(a)) and np.all(a == np.round(a)))
    if whole:
        hyp = Hypothesis(HypothesisKind.DTYPE, 0.9, f"a {info.dtype} mask of whole class ids", "",
                         "mask.long() (or load it integer: v2.PILToTensor() or tv_tensors.Mask(mask) keep its dtype)")
    else:
        hyp = Hypothesis(HypothesisKind.MASK_SCALED, 0.97,
                         f"a {info.dtype} mask of fractions: ToTensor() or ToDtype(..., scale=True) scaled its "
                         f"class ids to 0..1", f"values {float(a.min()):g}..{float(a.max()):g}",
                         "convert masks with v2.PILToTensor() or tv_tensors.Mask(mask), never ToTensor() "
                         "(v2.ToDtype(..., scale=True) leaves a tv_tensors.Mask alone)")
    return TargetViolation(Reason.MASK_DTYPE, "an integer type", info.dtype,
                           f"has a {info.dtype} mask, not one of integer class ids", hyp)


def _values_violations(spec: MaskSpec, mask: Any) -> list[Violation]:
    import numpy as np

    a = as_array(mask)
    nc, ignore = spec.num_classes, spec.ignore_index
    assert nc is not None  # called only when the spec sets num_classes
    if a.size == 0:
        return []
    lo, hi = int(a.min()), int(a.max())
    if lo >= 0 and hi < nc:
        return []
    bad = (a < 0) | (a >= nc)
    if ignore is not None:
        bad &= a != ignore
    n = int(np.count_nonzero(bad))
    if not n:
        return []
    allowed = f"[0, {nc})" + (f" or the ignore_index {ignore}" if ignore is not None else "")
    message = (f"has mask values {lo}..{hi}: {numbers.count(n)} of {numbers.count(a.size)} pixels "
               f"outside {allowed}")
    hyp = _values_hypothesis(spec, a, np.unique(a[bad]), lo, hi)
    return [TargetViolation(Reason.MASK_VALUES, (0, nc - 1), (lo, hi), message, hyp)]


def _values_hypothesis(spec: MaskSpec, a: Any, bad_values: Any, lo: int, hi: int) -> Hypothesis:
    import numpy as np

    nc, ignore = spec.num_classes, spec.ignore_index
    head = f"mask values {lo}..{hi} with num_classes={nc}"
    distinct = np.unique(a)
    if nc == 2 and set(distinct.tolist()) <= {0, 255}:
        return Hypothesis(HypothesisKind.MASK_BINARY_255, 0.97, f"{head}: a binary mask saved as 0/255", "",
                          "mask // 255 gives ids 0 and 1")
    if len(bad_values) == 1 and ignore is None and int(bad_values[0]) != nc:
        v = int(bad_values[0])
        return Hypothesis(HypothesisKind.MASK_IGNORE, 0.95,
                          f"{head}: {v} marks pixels to ignore (as the 255 borders of VOC masks)", "",
                          f"MaskSpec(num_classes={nc}, ignore_index={v}), and the loss's ignore_index={v}")
    allowed = (nc or 0) + (ignore is not None)
    if len(distinct) > allowed or (len(bad_values) > 1 and hi > 2 * (nc or 0)):  # blends far past the ids
        return Hypothesis(HypothesisKind.MASK_INTERPOLATED, 0.95,
                          f"{head}: the mask was resized with bilinear interpolation or saved as RGB",
                          f"{len(bad_values)} values no class has, between the ids: "
                          f"{', '.join(str(int(v)) for v in bad_values[:5])}{', ...' if len(bad_values) > 5 else ''}",
                          "use InterpolationMode.NEAREST to resize masks (v2 transforms do for tv_tensors.Mask); "
                          "open an RGB-saved mask as saved (mode 'P' or 'L')")
    return Hypothesis(HypothesisKind.CLASS_COUNT, 0.9, f"{head}: class ids past the contract's classes", "",
                      f"num_classes={hi + 1} if the dataset has {hi + 1} classes; "
                      f"else remap the ids past {(nc or 1) - 1}")

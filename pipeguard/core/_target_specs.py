"""``MaskSpec`` and ``BoxSpec``: the rules a sample's targets must meet, as a Contract's ``mask`` and ``boxes``."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from numbers import Integral, Real
from typing import Any, Mapping, Optional, TypeVar

from ..diagnosis import numbers
from ._errors import ContractFieldError


def _class_count(field: str, value: Any) -> Optional[int]:
    if value is None:
        return None
    try:
        return numbers.positive_int(value)
    except ValueError as exc:
        raise ContractFieldError(field, str(exc)) from None


def _ignore_index(value: Any) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ContractFieldError("mask.ignore_index", f"should be an integer, but got {numbers.brief(value)}")
    return int(value)


def _min_size(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(float(value)) or value < 0:
        raise ContractFieldError("boxes.min_size", f"should be a number of pixels ≥ 0, but got {numbers.brief(value)}")
    return float(value)


@dataclass(frozen=True, kw_only=True)
class MaskSpec:
    """What a segmentation mask must be, beside its image.

    A mask is one channel of integer class ids (``[H, W]``, ``[1, H, W]``, a PIL image of
    mode ``L``, ``P``, ``I`` or ``I;16``, or a ``tv_tensors.Mask``) with its image's height ×
    width. Metadata only, unless ``num_classes`` is set: then every value must lie in
    ``[0, num_classes)`` or equal ``ignore_index`` (the only target check that reads pixels).

    Args:
        num_classes: the number of classes; ids run from 0 to ``num_classes - 1``.
        ignore_index: a value that marks pixels the loss ignores (VOC's 255 borders).
    """

    num_classes: Optional[int] = None
    ignore_index: Optional[int] = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "num_classes", _class_count("mask.num_classes", self.num_classes))
        object.__setattr__(self, "ignore_index", _ignore_index(self.ignore_index))


@dataclass(frozen=True, kw_only=True)
class BoxSpec:
    """What a detection target's boxes and labels must be, beside their image.

    Boxes (``tv_tensors.BoundingBoxes`` in any format, or an ``[N, 4]`` XYXY tensor or
    array) lie inside the image, with ``x1 < x2`` and ``y1 < y2`` by at least
    ``min_size`` pixels (``v2.SanitizeBoundingBoxes``' rule); a ``BoundingBoxes``'
    ``canvas_size`` is the image's ``(height, width)``. There is one label a box, in
    ``[0, num_classes)`` when ``num_classes`` is set (torchvision's detection models
    count the background as class 0).

    Args:
        num_classes: the number of classes a label may name.
        min_size: the smallest width and height of a box, in pixels.
    """

    num_classes: Optional[int] = None
    min_size: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "num_classes", _class_count("boxes.num_classes", self.num_classes))
        object.__setattr__(self, "min_size", _min_size(self.min_size))


Spec = TypeVar("Spec", MaskSpec, BoxSpec)


def as_spec(field: str, cls: type[Spec], value: Any) -> Optional[Spec]:
    """A :class:`MaskSpec`/:class:`BoxSpec` from itself, a table of its fields (a contract
    file's ``[mask]``), ``True`` (the rules without numbers) or ``None``."""
    if value is None or isinstance(value, cls):
        return value
    if value is True:
        return cls()
    if not isinstance(value, Mapping):
        raise ContractFieldError(field, f"should be a {cls.__name__} or a table of its fields, "
                                 f"but got {numbers.brief(value)}")
    known = [f.name for f in fields(cls)]
    unknown = [k for k in value if k not in known]
    if unknown:
        raise ContractFieldError(f"{field}.{unknown[0]}", f"unknown key; known keys are {', '.join(known)}")
    return cls(**value)


def spec_dict(spec: Any) -> dict[str, Any]:
    """The fields of a spec that are set, as plain JSON/TOML values."""
    return {f.name: getattr(spec, f.name) for f in fields(spec) if getattr(spec, f.name) is not None}


def spec_repr(spec: Any) -> str:
    return f"{type(spec).__name__}(" + ", ".join(f"{k}={v!r}" for k, v in spec_dict(spec).items()) + ")"

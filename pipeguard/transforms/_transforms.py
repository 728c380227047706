"""Validator and conversion transforms that drop into torchvision chains (v1 and v2).

All three subclass :class:`torchvision.transforms.v2.Transform`, so they accept what
v2 transforms accept: a single image, or any structure of them (``(image, label)``,
dicts, lists). In a structure the images are transformed and everything else passes
through: PIL images, ``tv_tensors.Image`` and ``tv_tensors.Video`` always; a plain
tensor or numpy array only when the sample holds no explicit image, and then only
the first one (torchvision's rule for plain tensors). :class:`EnsureSize` also moves
``tv_tensors`` boxes, masks and keypoints with the image, through torchvision's own kernels.

Sample conventions: PIL images; numpy arrays ``HW``, ``HWC`` or ``NHWC``; tensors
``[..., C, H, W]`` (``[H, W]`` is one channel). They work inside
``torchvision.transforms.Compose`` and ``transforms.v2.Compose``, pickle for
DataLoader workers, and show their arguments in ``repr``. Like every transform
that handles PIL images, they cannot be JIT scripted.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np
import PIL.Image
import torch
from torchvision import tv_tensors
from torchvision.transforms.v2 import InterpolationMode, Transform
from torchvision.transforms.v2 import functional as F

from ..core import (
    Contract,
    ContractViolation,
    Reason,
    Violation,
    check,
    check_info,
    check_parts,
    inspect,
    parts_error,
    targets_of_flat,
    violation_error,
)
from ..diagnosis import numbers
from ._channels import (
    check_num_channels,
    normalize_background,
    numpy_through_tensor,
    to_channels,
)
from ._selection import first_image, image_selection, is_bare_image, is_plain


class _SampleTransform(Transform):
    """A v2 Transform that picks its images by :func:`image_selection` (numpy arrays count as plain tensors).

    Only the hooks torchvision documents are overridden (``transform``, ``make_params``,
    ``check_inputs``) and the selection step its subclasses refine; ``forward`` stays
    torchvision's, so structures, ``Compose`` (v1 and v2) and pickling behave as for
    any v2 transform.
    """

    # Other tv_tensors (boxes, masks, ...) this transform moves with the image.
    _companion_types: tuple[type, ...] = ()

    def _needs_transform_list(self, flat_inputs: list[Any]) -> list[bool]:
        return image_selection(flat_inputs, self._companion_types)

    def _stage(self) -> str:
        return repr(self)


def _metadata_key(x: Any) -> Any:
    """What a metadata check of ``x`` depends on, hashable; ``None`` for other types."""
    if isinstance(x, torch.Tensor):
        return (type(x), x.shape, x.dtype)
    if isinstance(x, PIL.Image.Image):
        return ("PIL", x.mode, x.size)
    if isinstance(x, np.ndarray):
        return (np.ndarray, x.shape, x.dtype)
    return None


class Validate(_SampleTransform):
    """Pass each image through unchanged if it meets ``contract``; raise otherwise.

    With a contract that has a ``mask`` or ``boxes`` rule it checks the whole sample: the
    image (torchvision's rule picks it) and its targets beside it, ``tv_tensors.Mask`` and
    ``tv_tensors.BoundingBoxes`` by type, a plain tensor, array or PIL mask as the first other
    part with a height and width, labels as the first other 1-D part. A plain-tensor mask
    that a random crop left behind fails here, naming both sizes.

    Works at any point of a chain: on PIL images before ``ToImage()``/``ToTensor()``
    (channels, size and numel are checked; dtype and value range apply to tensors
    only) and on tensors after. Metadata only: no pixel is read unless the contract
    sets a ``value_range``.

    Args:
        contract: the :class:`~pipeguard.Contract` each image must meet.

    Returns:
        The input object itself (no copy).

    Raises:
        ContractViolation: with expected vs actual shape, the failed checks, the
            diagnosis and ``stage`` naming this transform.

    Example:
        >>> v2.Compose([v2.ToImage(), v2.Resize((224, 224)),
        ...             pg.Validate(pg.Contract(channels=3, size=(224, 224)))])
    """

    _CACHE_SIZE = 64

    def __init__(self, contract: Contract) -> None:
        super().__init__()
        if not isinstance(contract, Contract):
            raise TypeError(f"Validate should get a pipeguard.Contract, but got {type(contract).__name__}")
        self.contract = contract
        # Metadata keys already seen to conform. Without a value range the verdict is a
        # function of (kind, shape, dtype, mode) alone, so a dataset of same-shaped
        # samples is checked in full once per worker and then by one dict lookup.
        self._conforming: dict[Any, None] = {}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        key = _metadata_key(inpt) if self.contract.value_range is None else None
        if key is not None and key in self._conforming:
            return inpt
        if check(self.contract, inpt):
            return self.contract.validate(inpt, stage=self._stage())  # raises, with the stage
        if key is not None and len(self._conforming) < self._CACHE_SIZE:
            self._conforming[key] = None
        return inpt

    def _needs_transform_list(self, flat_inputs: list[Any]) -> list[bool]:
        if self.contract.has_targets:  # check_inputs checks the whole sample
            return [False] * len(flat_inputs)
        return super()._needs_transform_list(flat_inputs)

    def _check_with_targets(self, flat_inputs: list[Any]) -> None:
        image = first_image(flat_inputs)
        if image is None:
            return self._no_image(flat_inputs)
        found = check_parts(self.contract, image, targets_of_flat(flat_inputs, image))
        if found:
            raise parts_error(self.contract, image, found, stage=self._stage())

    def _no_image(self, flat_inputs: list[Any]) -> None:
        kinds = ", ".join(dict.fromkeys(type(x).__name__ for x in flat_inputs))
        found = [Violation(Reason.TYPE, "an image or tensor", f"sample with no image ({kinds})",
                           f"is a sample of {len(flat_inputs)} parts ({kinds}), none an image or tensor")]
        raise violation_error(self.contract, None, found, stage=self._stage())

    def check_inputs(self, flat_inputs: list[Any]) -> None:
        if self.contract.has_targets:
            return self._check_with_targets(flat_inputs)
        # A validator must not wave through a sample it could not look at (converters pass it, like torchvision).
        if len(flat_inputs) == 1:
            if not is_bare_image(flat_inputs[0]):
                self.contract.validate(flat_inputs[0], stage=self._stage())
        elif not any(image_selection(flat_inputs)):
            self._no_image(flat_inputs)

    def extra_repr(self) -> str:
        return f"contract={self.contract!r}"


class EnsureChannels(_SampleTransform):
    """Convert each image to ``num_channels`` channels (1 or 3), colour-correctly.

    A no-op returning the same object when the image already has them (mode ``RGB``
    or ``L`` for PIL). Otherwise, per type (details in
    :mod:`pipeguard.transforms._channels`):

    * PIL: out as ``RGB`` or ``L``. Palettes use their colours; alpha (``RGBA``,
      ``LA``, ``PA``, a palette with transparency) is composited over ``background``;
      ``CMYK``, ``YCbCr``, ``LAB``, ``HSV`` through Pillow's conversions; 16-bit
      (``I``, ``I;16``, ``I;16B``) scaled to 8 bits by ``round(v / 257)``, never
      clipped; ``F`` read on Pillow's 0-255 scale (clipped, NaN -> 0).
    * Tensors ``[..., C, H, W]``, ``tv_tensors.Image``/``Video`` (type kept), numpy
      ``HW``/``HWC``/``NHWC``: dtype kept; 1 channel repeated; 2 (gray + alpha) and 4
      (RGBA) composited over ``background``; 3 -> 1 by ITU-R 601-2 luma.

    Args:
        num_channels: 1 or 3.
        background: colour transparent pixels are composited over, an ``(R, G, B)``
            triple or a gray level in 0-255 (scaled to the dtype's range for tensors).
            Default white, as image viewers show transparency.

    Raises:
        ContractViolation: a channel count with no standard conversion (5 channels,
            a flat tensor) or an ambiguous layout; never a silent reshape.
    """

    def __init__(self, num_channels: int = 3, background: Union[int, Sequence[int]] = (255, 255, 255)) -> None:
        super().__init__()
        self.num_channels = check_num_channels(num_channels)
        self.background = normalize_background(background)

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        try:
            return to_channels(inpt, self.num_channels, self.background)
        except ContractViolation as err:
            raise err.with_context(stage=self._stage()) from None


SIZE_POLICIES = ("resize", "center_crop", "pad", "raise")


def _target_size(size: Any) -> tuple[int, int]:
    try:
        return numbers.height_width(size)
    except ValueError as exc:
        raise ValueError(f"size {exc}") from None


def _image_size(x: Any) -> Optional[tuple[int, int]]:
    """``(height, width)`` of an image-like input, or ``None`` for boxes, masks, ..."""
    if isinstance(x, PIL.Image.Image):
        return (x.height, x.width)
    if isinstance(x, np.ndarray):
        info = inspect(x)
        return info.size
    if isinstance(x, (tv_tensors.Image, tv_tensors.Video)) or is_plain(x):
        return (int(x.shape[-2]), int(x.shape[-1])) if x.ndim >= 2 else None
    return None


class EnsureSize(_SampleTransform):
    """Make each image exactly ``size`` = ``(height, width)``, by the chosen ``policy``.

    A no-op returning the same object when the image already has that size.

    Policies:
        ``"resize"``: resize to ``(height, width)``, aspect ratio not kept (``Resize((h, w))``).
        ``"center_crop"``: scale, keeping the aspect ratio, just enough to cover
            ``(height, width)``, then crop the center (``Resize(min side) + CenterCrop``).
        ``"pad"``: letterbox: scale, keeping the aspect ratio, to fit inside
            ``(height, width)``, then pad the rest evenly with ``fill``.
        ``"raise"``: raise :class:`~pipeguard.ContractViolation` (reason ``SIZE``)
            naming both sizes.

    Uses torchvision's kernels, so interpolation and antialiasing follow its defaults
    and ``tv_tensors`` boxes, masks and keypoints in the sample move with the image.
    PIL images stay PIL (in their own mode), tensors keep their dtype and any leading
    dimensions ``[..., C, H, W]``, numpy arrays stay ``HW``/``HWC``/``NHWC``.

    Args:
        size: ``(height, width)``, one int for a square, or ``"HxW"`` (read as everywhere in pipeguard).
        policy: ``"resize"``, ``"center_crop"``, ``"pad"`` or ``"raise"``.
        interpolation: as in ``v2.Resize`` (default bilinear; masks use nearest).
        antialias: as in ``v2.Resize`` (default ``True``).
        fill: padding value for ``"pad"`` (a number, or a tuple per channel).
    """

    _companion_types = (tv_tensors.BoundingBoxes, tv_tensors.Mask, tv_tensors.KeyPoints) \
        if hasattr(tv_tensors, "KeyPoints") else (tv_tensors.BoundingBoxes, tv_tensors.Mask)

    def __init__(self, size: Union[int, Sequence[int]], policy: str = "resize",
                 interpolation: Union[InterpolationMode, int] = InterpolationMode.BILINEAR,
                 antialias: Optional[bool] = True, fill: Union[int, float, Sequence[float]] = 0) -> None:
        super().__init__()
        self.size = _target_size(size)
        if policy not in SIZE_POLICIES:
            raise ValueError(f"policy should be one of {', '.join(map(repr, SIZE_POLICIES))}, but got {policy!r}")
        self.policy = policy
        self.interpolation = interpolation
        self.antialias = antialias
        self.fill = tuple(fill) if isinstance(fill, list) else fill

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        sizes = [s for s in map(_image_size, flat_inputs) if s is not None]
        if not sizes:
            boxes = [x for x in flat_inputs if hasattr(x, "canvas_size")]
            sizes = [tuple(boxes[0].canvas_size)] if boxes else []
        return {"from_size": sizes[0] if sizes else None}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        own = _image_size(inpt)
        companion = isinstance(inpt, self._companion_types)
        if own is None and not companion:
            raise self._layout_error(inpt)  # a flat sample has no height and width
        if own == self.size or (companion and params["from_size"] in (None, self.size)):
            return inpt
        if self.policy == "raise":
            return inpt if companion else self._refuse(inpt)
        if isinstance(inpt, np.ndarray):
            return self._numpy(inpt, params)
        if is_plain(inpt) and inpt.ndim == 2:
            return self._geometry(inpt.unsqueeze(0), params).squeeze(0)
        return self._geometry(inpt, params)

    def _geometry(self, x: Any, params: dict[str, Any]) -> Any:
        (h, w), (H, W) = params["from_size"], self.size
        if self.policy == "resize":
            return F.resize(x, [H, W], interpolation=self.interpolation, antialias=self.antialias)
        if self.policy == "center_crop":
            scale = max(H / h, W / w)
            inner = (max(H, round(h * scale)), max(W, round(w * scale)))
        else:
            scale = min(H / h, W / w)
            inner = (max(1, min(H, round(h * scale))), max(1, min(W, round(w * scale))))
        if inner != (h, w):
            x = F.resize(x, list(inner), interpolation=self.interpolation, antialias=self.antialias)
        if self.policy == "center_crop":
            return F.center_crop(x, [H, W])
        left, top = (W - inner[1]) // 2, (H - inner[0]) // 2
        padding = [left, top, W - inner[1] - left, H - inner[0] - top]
        return F.pad(x, padding, fill=self.fill) if any(padding) else x

    def _numpy(self, a: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        info = inspect(a)
        if info.layout not in ("HW", "HWC", "NHWC"):
            raise self._layout_error(a)
        return numpy_through_tensor(a, lambda t: self._geometry(t, params))

    def _refuse(self, x: Any) -> Any:
        contract = Contract(size=self.size)
        info = inspect(x)
        raise violation_error(contract, info, check_info(contract, info) or [
            Violation(Reason.SIZE, self.size, info.size, f"is not {self.size[0]}×{self.size[1]}")],
            stage=self._stage())

    def _layout_error(self, x: Any) -> ContractViolation:
        contract = Contract(size=self.size)
        info = inspect(x)
        found = [v for v in check_info(contract, info) if v.reason in (Reason.LAYOUT, Reason.RANK)] or [
            Violation(Reason.RANK, "an image with height and width", info.layout,
                      f"is a {info.layout} {info.kind} {list(info.shape)}: it has no height and width to resize")]
        return violation_error(contract, info, found, stage=self._stage())


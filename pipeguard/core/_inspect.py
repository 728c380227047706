"""SampleInfo and ``inspect``: one metadata-only view of any image-like sample.

Layout rules (the same for ``inspect``, the checks and the transforms):

* PIL image: ``[C, H, W]`` as ``pil_to_tensor`` would make it; ``C`` is the mode's
  band count (``P`` 1, ``PA`` 2, ``LAB`` 3, ``CMYK`` 4, ``I;16`` 1).
* torch tensor (and ``tv_tensors.Image``): 1-D is ``flat``; 2-D is ``HW``; 3-D is
  ``CHW``; 4-D is ``NCHW``.
* numpy array: 1-D ``flat``; 2-D ``HW``; 3-D ``HWC``; 4-D ``NHWC`` (numpy and PIL
  convention, what ``ToTensor``/``ToImage`` expect).
* A 3-D or 4-D shape is read the other way round (``HWC`` for a tensor, ``CHW`` for
  an array) only when a contract is given and that reading matches its channels and
  size while the conventional one does not; or, with no contract, when the
  conventional reading gives more than 4 channels and the other 4 or fewer.
* A 2-D sample is ``[N, D]`` (``flat`` with a batch) only when a contract is given
  whose ``numel`` equals ``D`` and whose size does not match ``[H, W]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional

from ._registry import RawSample, reader_for, supported_types, type_name

if TYPE_CHECKING:
    from . import Contract  # the package: _contract calls into this module

CHANNELS_FIRST = {3: "CHW", 4: "NCHW"}
CHANNELS_LAST = {3: "HWC", 4: "NHWC"}


@dataclass(frozen=True, slots=True)
class SampleInfo:
    """What a sample is, read from metadata only.

    Attributes:
        kind: ``"PIL.Image"``, ``"numpy.ndarray"``, ``"torch.Tensor"`` or ``"tv_tensors.Image"``.
        shape: the sample's own shape (for a PIL image, ``(C, H, W)`` of its tensor).
        layout: ``"CHW"``, ``"HWC"``, ``"HW"``, ``"NCHW"``, ``"NHWC"``, ``"flat"`` or ``"unknown"``.
        channels, height, width: per sample; ``None`` where the layout has none.
        batch: the leading batch size of a batch, else ``None``.
        numel: elements per sample (``C × H × W``, or ``D`` for flat).
        dtype: torch or numpy dtype name (for PIL, what ``pil_to_tensor`` gives).
        mode: the PIL mode, for PIL images.
    """

    kind: str
    shape: tuple
    layout: str
    channels: Optional[int]
    height: Optional[int]
    width: Optional[int]
    batch: Optional[int]
    numel: int
    dtype: Optional[str]
    mode: Optional[str] = None

    @property
    def chw(self) -> Optional[tuple[int, int, int]]:
        """Per-sample ``(C, H, W)``, whatever the layout, or ``None`` for flat samples."""
        if self.channels is None or self.height is None:
            return None
        return (self.channels, self.height, self.width)  # type: ignore[return-value]  # a height comes with a width

    @property
    def size(self) -> Optional[tuple[int, int]]:
        return None if self.height is None else (self.height, self.width)  # type: ignore[return-value]  # as above

    @property
    def is_tensor(self) -> bool:
        return self.kind not in ("PIL.Image", "numpy.ndarray")

    @property
    def channels_last(self) -> bool:
        return self.layout in ("HWC", "NHWC")


def inspect(x: Any, contract: Optional[Contract] = None) -> SampleInfo:
    """Describe ``x`` from its metadata (mode, size, shape, dtype); copies no pixels.

    Args:
        x: a PIL image, numpy array, torch tensor or ``tv_tensors.Image``.
        contract: optional :class:`~pipeguard.Contract` that settles ambiguous layouts.

    Raises:
        TypeError: ``x`` is none of the supported types.
    """
    reader: Optional[Callable[[Any], RawSample]] = reader_for(x)
    if reader is None:
        raise TypeError(
            f"pipeguard.inspect() should get one of {', '.join(supported_types())}, "
            f"but got {type_name(x)}")
    raw = reader(x)
    if raw.mode is not None:  # PIL: mode and size say it all
        c, h, w = raw.shape
        return SampleInfo(raw.kind, raw.shape, "CHW", c, h, w, None, c * h * w, raw.dtype, raw.mode)
    return _interpret(raw, contract)


def _interpret(raw: RawSample, contract: Optional[Contract]) -> SampleInfo:
    shape, rank = raw.shape, len(raw.shape)
    if rank == 1:
        return SampleInfo(raw.kind, shape, "flat", None, None, None, None, shape[0], raw.dtype)
    if rank == 2:
        h, w = shape
        if (contract is not None and contract.numel is not None and w == contract.numel
                and contract.size != (h, w)):
            return SampleInfo(raw.kind, shape, "flat", None, None, None, h, w, raw.dtype)
        return SampleInfo(raw.kind, shape, "HW", 1, h, w, None, h * w, raw.dtype)
    if rank in (3, 4):
        first = CHANNELS_FIRST[rank]
        layout = first if raw.channels_first else CHANNELS_LAST[rank]
        other = CHANNELS_LAST[rank] if raw.channels_first else first
        if _prefers(_dims(shape, other), _dims(shape, layout), contract):
            layout = other
        c, h, w = _dims(shape, layout)
        batch = shape[0] if rank == 4 else None
        return SampleInfo(raw.kind, shape, layout, c, h, w, batch, c * h * w, raw.dtype)
    return SampleInfo(raw.kind, shape, "unknown", None, None, None, None, math.prod(shape), raw.dtype)


def _dims(shape: tuple, layout: str) -> tuple[int, int, int]:
    s = shape[-3:]
    return (s[0], s[1], s[2]) if layout in ("CHW", "NCHW") else (s[2], s[0], s[1])


def _fits(chw: tuple[int, int, int], contract: Contract) -> bool:
    return ((contract.channels is None or contract.channels == chw[0])
            and (contract.size is None or contract.size == chw[1:]))


def _prefers(alt: tuple, conventional: tuple, contract: Optional[Contract]) -> bool:
    """Whether the unconventional reading ``alt`` should win (see the module rules)."""
    if contract is not None and (contract.channels is not None or contract.size is not None):
        return _fits(alt, contract) and not _fits(conventional, contract)
    return conventional[0] > 4 and alt[0] <= 4

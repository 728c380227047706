"""From a sample's violations to a Diagnosis: what the sample is, why it fails, how to fix it."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Optional

from ..diagnosis import (
    Diagnosis,
    Dims,
    Hypothesis,
    HypothesisKind,
    ensure_channels,
    ensure_size,
    explain,
)
from ._errors import Reason, TargetViolation, Violation
from ._inspect import SampleInfo

if TYPE_CHECKING:
    from . import Contract  # the package: _contract calls into this module

_MODE_WORDS = {
    "1": "bilevel", "L": "grayscale", "P": "palette", "I": "32-bit grayscale", "F": "float grayscale",
    "LA": "grayscale + alpha", "PA": "palette + alpha", "RGBA": "RGB + alpha", "CMYK": "CMYK",
    "YCbCr": "YCbCr", "LAB": "Lab", "HSV": "HSV", "RGB": "RGB",
}


def expected_dims(contract: Contract, info: Optional[SampleInfo]) -> Dims:
    """The contract's shape in the sample's terms: with the batch size of a batch."""
    batch = () if info is None or info.batch is None else (info.batch,)
    if contract.shape is not None:
        shape = batch + contract.shape
    elif contract.numel is not None:
        shape = batch + (contract.numel,)
    elif contract.channels is not None or contract.size is not None:
        hw = contract.size or (None, None)
        return Dims(batch + (contract.channels, *hw), None)
    else:
        return Dims(None, None)
    return Dims(shape, math.prod(shape))


def _mode_word(info: Optional[SampleInfo]) -> str:
    if info is None or info.mode is None:
        return ""
    word = "16-bit grayscale" if info.mode.startswith("I;16") else _MODE_WORDS.get(info.mode)
    return f"({word}, mode {info.mode!r})" if word else f"(mode {info.mode!r})"


def _from_violation(v: Violation, contract: Contract, info: Optional[SampleInfo]) -> Optional[Hypothesis]:
    if isinstance(v, TargetViolation):  # its check saw the target, so it names the cause itself
        return v.hypothesis
    if v.reason is Reason.CHANNELS:
        mode = _mode_word(info)
        what = f"{v.actual}-channel {mode} image" if mode else f"{v.actual}-channel sample"
        fix = (f"add {ensure_channels(v.expected)} before ToImage()/ToTensor(), "
               "or GuardedDataset(..., on_error='fix')") if v.expected in (1, 3) else \
            f"the model wants {v.expected} channels: check the data source or the first layer"
        return Hypothesis(HypothesisKind.CHANNELS, 1.0, f"a {what} where {v.expected} channels are expected",
                          "", fix)
    if v.reason is Reason.SIZE:
        (h, w), (H, W) = v.actual, v.expected
        return Hypothesis(HypothesisKind.SIZE, 0.99, f"a {h}×{w} image where {H}×{W} is expected", "",
                          f"add {ensure_size(H, W)} (or Resize(({H}, {W}))) to the transform")
    if v.reason is Reason.LAYOUT:
        if info is not None and info.is_tensor:
            order = "(0, 3, 1, 2)" if info.batch else "(2, 0, 1)"
            return Hypothesis(HypothesisKind.LAYOUT, 1.0, "channels-last data where channels-first is expected", "",
                              f"x.permute{order}; ToImage()/ToTensor() convert HWC arrays for you")
        return Hypothesis(HypothesisKind.LAYOUT, 1.0, "a channels-first array where HWC is expected", "",
                          "np.transpose(x, (1, 2, 0)) before ToImage()/ToTensor()")
    if v.reason is Reason.DTYPE:
        fix = (f"add v2.ToDtype(torch.{v.expected}, scale=True)" if str(v.expected).startswith(("float", "bfloat"))
               else f"x.to(torch.{v.expected})")
        return Hypothesis(HypothesisKind.DTYPE, 0.97, f"{v.actual} values where {v.expected} is expected", "", fix)
    if v.reason is Reason.RANGE:
        lo, hi = v.actual
        if hi > 1.5 and v.expected[1] <= 1.0:
            return Hypothesis(HypothesisKind.RANGE, 0.96, "unscaled 0–255 pixel values",
                              f"max {hi:g} > {v.expected[1]:g}",
                              "scale with v2.ToDtype(torch.float32, scale=True) or ToTensor()")
        return Hypothesis(HypothesisKind.RANGE, 0.9,
                          f"values in [{lo:g}, {hi:g}] outside [{v.expected[0]:g}, {v.expected[1]:g}]",
                          "", "check the normalization (Normalize mean/std) against the contract's range")
    if v.reason is Reason.TYPE:
        return Hypothesis(HypothesisKind.TYPE, 1.0, f"a {v.actual} where an image or tensor is expected", "",
                          "make the dataset/transform return a PIL image, numpy array or tensor")
    if v.reason is Reason.RANK:
        return Hypothesis(HypothesisKind.RANK, 0.95, f"a {v.actual}-D sample where 1 to 4 dimensions are expected", "",
                          "check for a stray unsqueeze or a batch of batches")
    return None


def _channels_and_size(violations: list[Violation], info: Optional[SampleInfo]) -> Optional[Hypothesis]:
    """One hypothesis for a sample whose channels and size are both wrong, its fix both
    transforms (channels first: EnsureChannels converts PIL modes, EnsureSize any image)."""
    by_reason = {v.reason: v for v in violations}
    channels, size = by_reason.get(Reason.CHANNELS), by_reason.get(Reason.SIZE)
    if channels is None or size is None or channels.expected not in (1, 3):
        return None
    (h, w), (H, W) = size.actual, size.expected
    mode = _mode_word(info)
    what = f"{channels.actual}-channel {h}×{w} {mode + ' ' if mode else ''}image"
    return Hypothesis(HypothesisKind.CHANNELS_AND_SIZE, 1.0,
                      f"a {what} where {channels.expected} channels at {H}×{W} are expected", "",
                      f"add {ensure_channels(channels.expected)} and {ensure_size(H, W)} before "
                      "ToImage()/ToTensor(), or GuardedDataset(..., on_error='fix')")


def _image_dims(info: SampleInfo) -> Dims:
    """The sample as torch sees an image, ``[(N,) C, H, W]`` (an HWC array or an HW plane read
    as CHW), so the arithmetic reads its channels and size; other layouts as they are."""
    if info.channels is not None and info.height is not None and info.width is not None:
        batch = () if info.batch is None else (info.batch,)
        shape = (*batch, info.channels, info.height, info.width)
    else:
        shape = tuple(info.shape)
    return Dims(shape, math.prod(shape))


def diagnose(contract: Contract, info: Optional[SampleInfo], violations: list[Violation]) -> Diagnosis:
    """Hypotheses from the violations themselves first, then from the arithmetic of the shapes."""
    expected = expected_dims(contract, info)
    actual = Dims(None, None) if info is None else Dims(tuple(info.shape), math.prod(info.shape))
    direct = [h for h in (_from_violation(v, contract, info) for v in violations) if h is not None]
    both = _channels_and_size(violations, info)
    if both is not None:  # its fix names both transforms: either alone leaves the other violation
        direct.insert(0, both)
    numeric: list[Hypothesis] = []
    if expected.numel is not None and actual.numel is not None and not any(
            v.reason in (Reason.TYPE, Reason.RANK, Reason.LAYOUT) for v in violations):
        assert info is not None  # actual.numel is set only when info is
        kinds = {h.kind for h in direct}
        numeric = [h for h in explain(expected, _image_dims(info)).hypotheses if h.kind not in kinds]
    # Context-free numeric guesses rank below what the violations state outright.
    return Diagnosis(expected, actual, direct + numeric)

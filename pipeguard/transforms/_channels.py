"""Channel conversion kernels behind :class:`pipeguard.EnsureChannels`, one per sample type.

Every kernel turns a sample into ``num_channels`` channels (1 or 3) and returns the
input object itself when it already has them, so a conforming sample costs nothing.

Conventions (the same for every type):

* **PIL images** come out as mode ``RGB`` (3 channels) or ``L`` (1 channel), 8 bits:

  - ``1``, ``L``, ``P``, ``CMYK``, ``YCbCr``, ``LAB``, ``HSV``, ``RGBX``: Pillow's own
    conversion (the palette's colours for ``P``, ITU-R 601-2 luma for 3 -> 1 channel).
  - ``RGBA``, ``LA``, ``PA``, ``RGBa``, ``La`` and ``P`` with palette transparency: the
    colours are alpha-composited over ``background`` (an RGB triple, default white), as
    a browser shows them. ``convert('RGB')`` would instead expose whatever colour the
    transparent pixels happen to store. A colour-key transparency on ``L``/``RGB`` (a PNG
    ``tRNS`` single colour) is ignored: ``RGB`` is returned as it is.
  - ``I``, ``I;16``, ``I;16B``, ``I;16L``, ``I;16N``: scaled to 8 bits by the data's bit
    depth, the smallest power of two above its maximum (at least 8 bits):
    ``round(v · 255 / (2^bits - 1))``, so full-range 16-bit data is ``round(v / 257)``,
    12-bit medical or depth data (0-4095) ``round(v · 255 / 4095)``, and 8-bit data kept in
    an ``I`` container stays as it is; ``I`` values outside [0, 65535] saturate.
    ``convert('RGB')`` clips instead, turning most 16-bit images white. (Reading the
    maximum reads the pixels, which the conversion does anyway.)
  - ``F``: Pillow's own float scale, where 0.0-255.0 is black to white (what
    ``convert('F')`` of an ``L`` image holds, and how Pillow reads PFM files); values are
    rounded, clipped to [0, 255], NaN becomes 0. Data on another scale (e.g. [0, 1])
    must be rescaled before: this kernel never guesses a scale from the pixel values.
  - A conversion that would turn an image with varying pixels into a constant one (a
    blank) raises instead: that is data lost, not a fix.

* **Tensors** ``[..., C, H, W]`` (a 2-D ``[H, W]`` has one channel) keep their dtype:
  1 channel is repeated; 2 channels are gray + alpha and 4 are RGB + alpha,
  composited over ``background``; 3 -> 1 is ITU-R 601-2 luma (exactly Pillow's
  fixed-point formula for ``uint8``). Alpha and ``background`` are scaled to the dtype's
  range: 255 for ``uint8``, the maximum of other integer types, 1.0 for floats.
* **numpy arrays** ``HW``, ``HWC`` or ``NHWC`` follow the tensor rules along their last axis.

A 2-D sample converts as an ``[H, W]`` plane only when it can be one: both sides above 1
and neither more than ``MAX_PLANE_ASPECT`` (8) times the other. A wider 2-D shape
(``[10, 40000]``, ``[64, 784]``, ``[1, N]``) is a batch of flat rows ``[N, D]``: converting
it would mix samples into one image, so it is refused like a 1-D sample.

Anything else (5 channels, a flat sample, a channels-last tensor, a channels-first array)
raises :class:`~pipeguard.ContractViolation` and is never reshaped silently.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence, Union

from ..core import (
    Contract,
    ContractViolation,
    Reason,
    SampleInfo,
    TypeRegistry,
    Violation,
    check_info,
    inspect,
    violation_error,
)
from ..diagnosis import Diagnosis, Hypothesis, HypothesisKind, isqrt_exact, plural

Background = tuple[int, int, int]

# Pillow's fixed-point ITU-R 601-2 luma weights (sum 65536), from its Convert.c.
_LUMA_FIXED = (19595, 38470, 7471)
_LUMA = (0.299, 0.587, 0.114)

_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
_SIXTEEN_BIT_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})
TARGET_MODE = {1: "L", 3: "RGB"}  # channels -> the PIL mode EnsureChannels makes
_CONVERTIBLE = "1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA)"
# A 2-D sample more elongated than this is rows of features, not an image plane.
MAX_PLANE_ASPECT = 8


def normalize_background(value: Union[int, Sequence[int]]) -> Background:
    """``255`` -> ``(255, 255, 255)``; checks an RGB triple of 0-255 integers."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value, value)
    if (isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 3
            or any(isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 255 for v in value)):
        raise ValueError(f"background should be an int or an (R, G, B) triple of ints in [0, 255], "
                         f"but got {value!r}")
    return (int(value[0]), int(value[1]), int(value[2]))


def check_num_channels(num_channels: Any) -> int:
    if isinstance(num_channels, bool) or num_channels not in (1, 3):
        raise ValueError(f"num_channels should be 1 or 3, but got {num_channels!r}")
    return int(num_channels)


# -- errors -----------------------------------------------------------------------------

def _refuse(x: Any, num_channels: int, violation: Optional[Violation] = None) -> ContractViolation:
    """The ContractViolation for a sample these kernels cannot convert (no stage yet)."""
    contract = Contract(channels=num_channels)
    try:
        info: Optional[SampleInfo] = inspect(x)
    except Exception:
        info = None
    found = [v for v in check_info(contract, info) if v.reason is Reason.LAYOUT] if info else []
    if violation is not None:
        found.append(violation)
    elif not found and info is not None and info.channels is not None:
        found.append(Violation(Reason.CHANNELS, num_channels, info.channels,
                               f"has {info.channels} channels, which EnsureChannels cannot convert to "
                               f"{num_channels}: it converts {_CONVERTIBLE} channels"))
    err = violation_error(contract, info, found)
    if not any(v.reason is Reason.LAYOUT for v in found):
        # The generic diagnosis would suggest EnsureChannels, the very thing that refused.
        actual = found[0].actual if found else None
        what = f"a {actual}-channel sample" if isinstance(actual, int) else "a sample without a channel axis"
        fix = ("select or merge channels explicitly (x[..., :3, :, :] keeps the first three) "
               "or fix the data source") if isinstance(actual, int) else \
            "reshape it to [C, H, W] first: EnsureChannels does not guess a height and width"
        hint = Hypothesis(HypothesisKind.CHANNELS, 1.0, f"{what}, which no standard conversion maps to "
                          f"{num_channels} channels", "", fix)
        err.diagnosis = Diagnosis(err.diagnosis.expected, err.diagnosis.actual, [hint])
        err = err.with_context()  # re-render the message with the new diagnosis
    return err


def _refuse_rows(x: Any, num_channels: int, kind: str) -> None:
    """Raise for a 2-D sample that is not an ``[H, W]`` plane (see the module docstring)."""
    n, d = x.shape
    if min(n, d) > 1 and max(n, d) <= MAX_PLANE_ASPECT * min(n, d):
        return
    side = next((c for c in (3, 1) if d % c == 0 and isqrt_exact(d // c)), None)
    view = ""
    if side:
        hw = isqrt_exact(d // side)
        view = (f" (x.view({n}, {side}, {hw}, {hw}) if each row is an image)" if kind == "tensor"
                else f" (x.reshape({n}, {hw}, {hw}, {side}) if each row is an image)")
    raise _refuse(x, num_channels, Violation(
        Reason.CHANNELS, num_channels, None,
        f"is a 2-D {kind} of shape {list(x.shape)}, which reads as {plural(n, 'flat row')} of {d:,} values, "
        f"not an image plane: reshape it to {'[N, C, H, W]' if kind == 'tensor' else '[N, H, W, C]'} "
        f"first{view}"))


# -- PIL --------------------------------------------------------------------------------

def pil_to_channels(img: Any, num_channels: int, background: Background = (255, 255, 255)) -> Any:
    """A PIL image in mode ``RGB`` (``num_channels=3``) or ``L`` (1); ``img`` itself if already so.

    Args:
        img: a PIL image of any mode.
        num_channels: 1 or 3.
        background: RGB colour transparent pixels are composited over.

    Raises:
        ContractViolation: the mode has no conversion (reason ``CHANNELS``).
    """
    target = TARGET_MODE[num_channels]
    mode = img.mode
    if mode == target:
        return img
    from PIL import (
        Image,  # after the no-op check: the conforming path stays a few hundred ns
    )

    if mode in _ALPHA_MODES or (mode == "P" and img.has_transparency_data):
        # Pillow has no La -> RGBA; La -> LA un-premultiplies first.
        rgba = (img.convert("LA") if mode == "La" else img).convert("RGBA")
        base = Image.new("RGBA", img.size, (*normalize_background(background), 255))
        return Image.alpha_composite(base, rgba).convert(target)
    if mode in _SIXTEEN_BIT_MODES or mode == "F":
        return _scaled_to_l(img, num_channels, _float_to_eight if mode == "F" else _by_bit_depth).convert(target)
    try:
        rgb = img if mode == "RGB" else img.convert("RGB")  # LAB has no direct -> L
        return rgb if target == "RGB" else rgb.convert("L")
    except (ValueError, OSError) as exc:
        raise _refuse(img, num_channels, Violation(
            Reason.CHANNELS, num_channels, len(img.getbands()),
            f"is a mode {mode!r} image, which Pillow cannot convert to {target} ({exc})")) from None


def _scaled_to_l(img: Any, num_channels: int, scale: Callable[[Any], Any]) -> Any:
    """``img`` as an 8-bit ``L`` image by ``scale``; refused when that blanks varying pixels."""
    import numpy as np
    from PIL import Image

    pixels = np.asarray(img)
    out = scale(pixels)
    if out.size and out.min() == out.max() and _varies(pixels):
        lo, hi = np.nanmin(pixels), np.nanmax(pixels)
        raise _refuse(img, num_channels, Violation(
            Reason.CHANNELS, num_channels, 1,
            f"is a mode {img.mode!r} image with values {lo:g}..{hi:g} that the 8-bit conversion "
            f"would turn into one flat value ({int(out.flat[0])}): a blank image, not a fix"))
    return Image.fromarray(out, "L")


def _varies(a: Any) -> bool:
    import numpy as np

    finite = a[np.isfinite(a)] if a.dtype.kind == "f" else a
    return finite.size > 0 and finite.min() != finite.max()


def _by_bit_depth(a: Any) -> Any:
    """Integer samples to 0-255 by their bit depth: the smallest power of two above the maximum
    (at least 8 bits, at most 16), so 12-bit data is not divided by 257 into a blank."""
    import numpy as np

    wide = np.clip(a.astype(np.int64), 0, 65535)
    top = int(wide.max()) if wide.size else 0
    full = 2 ** max(8, top.bit_length()) - 1
    return ((wide * 255 + full // 2) // full).astype(np.uint8)


def _float_to_eight(a: Any) -> Any:
    import numpy as np

    a = np.nan_to_num(a.astype(np.float32), nan=0.0, posinf=255.0, neginf=0.0)
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


# -- tensors ----------------------------------------------------------------------------

def tensor_to_channels(t: Any, num_channels: int, background: Background = (255, 255, 255)) -> Any:
    """A ``[..., num_channels, H, W]`` tensor of the same dtype; ``t`` itself if already so.

    Args:
        t: a plain tensor ``[H, W]``, ``[C, H, W]`` or ``[..., C, H, W]`` (batches, videos).
        num_channels: 1 or 3.
        background: RGB colour (0-255) transparent pixels are composited over.

    Raises:
        ContractViolation: a channel count other than 1 to 4, a flat or channels-last tensor.
    """
    import torch

    if t.ndim == 2:
        _refuse_rows(t, num_channels, "tensor")
        return t if num_channels == 1 else torch.stack([t, t, t], dim=-3)
    if t.ndim < 2:
        raise _refuse(t, num_channels, Violation(
            Reason.CHANNELS, num_channels, None,
            f"is a flat tensor of shape {list(t.shape)}: it has no channel axis to convert"))
    if t.ndim in (3, 4) and _channels_last(t):
        raise _refuse(t, num_channels)
    channels = t.shape[-3]
    if channels == num_channels:
        return t
    if channels == 1 and num_channels == 3:
        return torch.cat([t, t, t], dim=-3)
    if channels == 3 and num_channels == 1:
        return _luma(t)
    if channels in (2, 4):
        color = t[..., :-1, :, :]
        if channels == 2:
            color = torch.cat([color, color, color], dim=-3)
        rgb = _composite(color, t[..., -1:, :, :], background)
        return rgb if num_channels == 3 else _luma(rgb)
    raise _refuse(t, num_channels)


def _channels_last(t: Any) -> bool:
    try:
        return inspect(t).channels_last
    except Exception:
        return False


def _max_value(dtype: Any) -> float:
    import torch

    if dtype.is_floating_point or dtype == torch.bool:
        return 1.0
    return float(torch.iinfo(dtype).max)


def _work_dtype(dtype: Any) -> Any:
    import torch

    return torch.float64 if dtype == torch.float64 else torch.float32


def _back_to(x: Any, dtype: Any) -> Any:
    """Round integer results and cast back to ``dtype`` (floats keep their values)."""
    if dtype.is_floating_point:
        return x.to(dtype)
    return x.round_().clamp_(0, _max_value(dtype)).to(dtype)


def _composite(rgb: Any, alpha: Any, background: Background) -> Any:
    """``rgb · a + background · (1 - a)`` with ``a = alpha / max``, in ``rgb``'s dtype."""
    import torch

    dtype = rgb.dtype
    work, top = _work_dtype(dtype), _max_value(dtype)
    a = alpha.to(work) / top
    bg = torch.tensor(normalize_background(background), dtype=work).mul_(top / 255.0).view(3, 1, 1)
    out = rgb.to(work) * a + bg * (1.0 - a)
    return _back_to(out, dtype)


def _luma(rgb: Any) -> Any:
    """ITU-R 601-2 luma ``[..., 1, H, W]``; exactly Pillow's ``convert('L')`` for uint8."""
    import torch

    r, g, b = rgb[..., 0:1, :, :], rgb[..., 1:2, :, :], rgb[..., 2:3, :, :]
    wr: float   # the integer weights, or the float ones
    wg: float
    wb: float
    if rgb.dtype == torch.uint8:
        wr, wg, wb = _LUMA_FIXED
        fixed = r.to(torch.int32) * wr + g.to(torch.int32) * wg + b.to(torch.int32) * wb
        return ((fixed + 0x8000) >> 16).to(torch.uint8)
    work = _work_dtype(rgb.dtype)
    wr, wg, wb = _LUMA
    out = r.to(work) * wr + g.to(work) * wg + b.to(work) * wb
    return _back_to(out, rgb.dtype)


def tv_tensor_to_channels(t: Any, num_channels: int, background: Background = (255, 255, 255)) -> Any:
    """``tv_tensors.Image``/``Video``: converted as a tensor and re-wrapped in the same type."""
    import torch
    from torchvision import tv_tensors

    plain = t.as_subclass(torch.Tensor)
    out = tensor_to_channels(plain, num_channels, background)
    return t if out is plain else tv_tensors.wrap(out, like=t)


# -- numpy ------------------------------------------------------------------------------

def numpy_to_channels(a: Any, num_channels: int, background: Background = (255, 255, 255)) -> Any:
    """An ``HWC``/``NHWC`` array with ``num_channels`` channels, same dtype; ``a`` itself if already so.

    A 2-D ``HW`` array has one channel: returned as it is for 1, stacked to ``HWC`` for 3.

    Raises:
        ContractViolation: a channel count other than 1 to 4, a flat or channels-first array.
    """
    import numpy as np

    if a.ndim == 2:
        _refuse_rows(a, num_channels, "array")
        return a if num_channels == 1 else np.stack([a, a, a], axis=-1)
    if a.ndim not in (3, 4):
        raise _refuse(a, num_channels, Violation(
            Reason.CHANNELS, num_channels, None,
            f"is a {a.ndim}-D array of shape {list(a.shape)}: only HW, HWC and NHWC have a channel axis"))
    info = inspect(a)
    if info.layout in ("CHW", "NCHW"):
        raise _refuse(a, num_channels)
    if a.shape[-1] == num_channels:
        return a
    if a.dtype.kind not in "biuf":
        raise _refuse(a, num_channels, Violation(
            Reason.CHANNELS, num_channels, a.shape[-1], f"has dtype {a.dtype}, which has no pixel scale"))
    # Convert through torch on a channels-first view: one implementation of the math.
    try:
        return numpy_through_tensor(a, lambda t: tensor_to_channels(t, num_channels, background))
    except ContractViolation:
        raise _refuse(a, num_channels) from None


def numpy_through_tensor(a: Any, fn: Callable[[Any], Any]) -> Any:
    """Apply ``fn``, a function of ``[..., C, H, W]`` tensors, to an ``HW``/``HWC``/``NHWC``
    array, and return the result in the array's own layout (a new contiguous array)."""
    import numpy as np
    import torch

    native = np.require(a, dtype=a.dtype.newbyteorder("="), requirements=["W"])  # torch reads native order
    t = torch.from_numpy(native)
    out = fn(t.unsqueeze(0) if a.ndim == 2 else t.movedim(-1, -3))
    out = out.squeeze(0) if a.ndim == 2 else out.movedim(-3, -1)
    return np.ascontiguousarray(out.numpy())


# -- dispatch ---------------------------------------------------------------------------

Kernel = Callable[[Any, int, Background], Any]
_installed = False


def register_kernel(cls: type, kernel: Kernel) -> None:
    """Use ``kernel(x, num_channels, background)`` for ``cls`` and its subclasses."""
    _KERNELS.register(cls, kernel)


def _install_builtin() -> None:
    global _installed
    if _installed:
        return
    import numpy as np
    import torch
    from PIL import Image
    from torchvision import tv_tensors

    for cls, kernel in ((Image.Image, pil_to_channels), (np.ndarray, numpy_to_channels),
                        (torch.Tensor, tensor_to_channels), (tv_tensors.Image, tv_tensor_to_channels),
                        (tv_tensors.Video, tv_tensor_to_channels)):
        _KERNELS.setdefault(cls, kernel)
    _installed = True


_KERNELS = TypeRegistry(install=_install_builtin)


def kernel_for(x: Any) -> Optional[Kernel]:
    """The kernel for ``type(x)``, looked up along its class hierarchy (cached); ``None`` if none."""
    return _KERNELS.lookup(x)


def to_channels(x: Any, num_channels: int, background: Background = (255, 255, 255)) -> Any:
    """Convert any supported sample to ``num_channels`` channels (see the module rules).

    Raises:
        TypeError: ``x`` is not a PIL image, numpy array or tensor.
        ContractViolation: ``x`` cannot be converted (reason ``CHANNELS`` or ``LAYOUT``).
    """
    kernel = kernel_for(x)
    if kernel is None:
        from ..core import type_name

        raise TypeError(f"EnsureChannels should get a PIL.Image.Image, numpy.ndarray, torch.Tensor or "
                        f"tv_tensors.Image, but got {type_name(x)}")
    return kernel(x, num_channels, background)

"""The type registry behind ``inspect``: one metadata reader per sample type.

Readers are looked up along the class hierarchy, so subclasses (``tv_tensors.Image``
is a ``torch.Tensor``) find their nearest registered ancestor. torch, numpy and PIL
are imported on first use only, and torchvision never: its types are registered once
torchvision has been imported by the user.
"""

from __future__ import annotations

import sys
from typing import Any, Callable, NamedTuple, Optional

from ..diagnosis import torch_dtype_name


class RawSample(NamedTuple):
    kind: str
    shape: tuple
    dtype: Optional[str]
    channels_first: bool = True   # the type's own convention for 3-D/4-D shapes
    mode: Optional[str] = None    # PIL only


class TypeRegistry:
    """Functions keyed by type, found along the class hierarchy, cached per concrete type.

    ``install`` (optional) runs before each uncached lookup, so built-in entries can be
    registered on first use (and types of libraries imported later still get found).
    The same mechanism serves ``inspect``'s readers and ``EnsureChannels``' kernels.
    """

    def __init__(self, install: Optional[Callable[[], None]] = None) -> None:
        self._entries: dict[type, Callable] = {}
        self._resolved: dict[type, Optional[Callable]] = {}
        self._install = install

    def register(self, cls: type, fn: Callable) -> None:
        self._entries[cls] = fn
        self._resolved.clear()

    def setdefault(self, cls: type, fn: Callable) -> None:
        if cls not in self._entries:
            self.register(cls, fn)

    def lookup(self, x: Any) -> Optional[Callable]:
        cls = type(x)
        try:
            return self._resolved[cls]
        except KeyError:
            pass
        if self._install is not None:
            self._install()
        found = next((self._entries[k] for k in cls.__mro__ if k in self._entries), None)
        self._resolved[cls] = found
        return found


Reader = Callable[[Any], RawSample]
_builtin_state = {"core": False, "torchvision": False}


def register(cls: type, reader: Reader) -> None:
    """Register ``reader`` for ``cls`` and its subclasses."""
    _READERS.register(cls, reader)


def supported_types() -> list[str]:
    _install_builtin()
    return ["PIL.Image.Image", "numpy.ndarray", "torch.Tensor", "torchvision.tv_tensors.Image"]


def type_name(x: Any) -> str:
    """``'str'``, ``'NoneType'``, ``'pandas.core.frame.DataFrame'``: builtins without a module."""
    cls = type(x)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def reader_for(x: Any) -> Optional[Reader]:
    return _READERS.lookup(x)


# -- built-in readers ---------------------------------------------------------------

_PIL_MODES: dict[str, tuple[int, str]] = {}
_TYPESTR_DTYPES = {"b1": "bool", "u1": "uint8", "u2": "uint16", "i2": "int16", "i4": "int32", "f4": "float32"}


def pil_mode(mode: str) -> tuple[int, str]:
    """Band count and the dtype ``pil_to_tensor`` produces, per PIL mode (cached)."""
    try:
        return _PIL_MODES[mode]
    except KeyError:
        from PIL import Image, ImageMode

        bands = Image.getmodebands(mode)
        try:
            dtype = _TYPESTR_DTYPES.get(ImageMode.getmode(mode).typestr[1:], "uint8")
        except (KeyError, ValueError):
            dtype = "uint8"
        _PIL_MODES[mode] = (bands, dtype)
        return bands, dtype


def _read_pil(img: Any) -> RawSample:
    bands, dtype = pil_mode(img.mode)
    w, h = img.size
    return RawSample("PIL.Image", (bands, h, w), dtype, True, img.mode)


def _read_numpy(a: Any) -> RawSample:
    return RawSample("numpy.ndarray", a.shape, a.dtype.name, False)


def _read_tensor(t: Any) -> RawSample:
    return RawSample("torch.Tensor", tuple(t.shape), torch_dtype_name(t.dtype), True)


def _read_tv_image(t: Any) -> RawSample:
    return RawSample("tv_tensors.Image", tuple(t.shape), torch_dtype_name(t.dtype), True)


def _install_builtin() -> None:
    if not _builtin_state["core"]:
        import numpy as np
        import torch
        from PIL import Image

        register(Image.Image, _read_pil)
        register(np.ndarray, _read_numpy)
        register(torch.Tensor, _read_tensor)
        _builtin_state["core"] = True
    if not _builtin_state["torchvision"] and "torchvision.tv_tensors" in sys.modules:
        register(sys.modules["torchvision.tv_tensors"].Image, _read_tv_image)
        _builtin_state["torchvision"] = True


_READERS = TypeRegistry(install=_install_builtin)


def loaded_tv_tensors() -> Any:
    """``torchvision.tv_tensors`` if torchvision has been imported, else ``None`` (no tv_tensor
    can exist then, and pipeguard never imports torchvision itself)."""
    return sys.modules.get("torchvision.tv_tensors")

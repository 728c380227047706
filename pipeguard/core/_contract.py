"""The Contract: what every sample must be before it reaches the model."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

from ..diagnosis import _numbers as numbers
from ._errors import ContractFieldError

if TYPE_CHECKING:  # pragma: no cover
    from ._errors import Violation


def _positive_int(field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            import numpy as np  # numpy integers are fine, floats are not
            if isinstance(value, np.integer):
                value = int(value)
        except ImportError:  # pragma: no cover
            pass
    if isinstance(value, bool) or not isinstance(value, int):
        raise ContractFieldError(field, f"should be a positive integer, but got {value!r}")
    if value < 1:
        raise ContractFieldError(field, f"should be a positive integer, but got {value}")
    return value


def _size(value: Any) -> tuple[int, int]:
    if isinstance(value, str):
        parts = value.lower().replace("×", "x").split("x")
        try:
            value = tuple(int(p) for p in parts)
        except ValueError:
            raise ContractFieldError("size", f"should be 'HxW', but got {value!r}") from None
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    if not isinstance(value, Sequence) or isinstance(value, (str, bytes)) or len(value) != 2:
        raise ContractFieldError("size", f"should be (height, width), but got {value!r}")
    h = _positive_int("size", value[0])
    w = _positive_int("size", value[1])
    return (h, w)


def dtype_name(value: Any) -> str:
    """The canonical torch name of a dtype given as ``torch.float32``, ``'float32'``,
    ``'torch.float32'``, ``'float'`` or a numpy dtype; ``ValueError`` if torch has none."""
    import torch

    if isinstance(value, torch.dtype):
        return str(value).removeprefix("torch.")
    text = str(getattr(value, "name", value)).removeprefix("torch.")
    candidate = getattr(torch, text, None) if text.isidentifier() else None
    if not isinstance(candidate, torch.dtype):
        raise ContractFieldError("dtype", f"should be a torch dtype name such as 'float32', but got {value!r}")
    return str(candidate).removeprefix("torch.")


def _value_range(value: Any) -> tuple[float, float]:
    if not isinstance(value, Sequence) or isinstance(value, (str, bytes)) or len(value) != 2:
        raise ContractFieldError("value_range", f"should be (low, high), but got {value!r}")
    lo, hi = value
    for v in (lo, hi):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or math.isnan(v):
            raise ContractFieldError("value_range", f"should hold two numbers, but got {value!r}")
    if not lo < hi:
        raise ContractFieldError("value_range", f"low should be below high, but got {value!r}")
    return (float(lo), float(hi))


@dataclass(frozen=True, kw_only=True, repr=False)
class Contract:
    """What a sample must be: channels, height × width, flattened length, dtype, value range.

    Any subset may be given; what follows from the rest is derived
    (``channels=3, size=(224, 224)`` gives ``numel=150528``; ``size`` and ``numel``
    give ``channels``). Values that contradict each other or make no sense raise
    ``ValueError`` naming the field.

    Shapes follow torch: a sample is ``[C, H, W]``, ``size`` is ``(height, width)``,
    ``numel`` is the per-sample element count ``C × H × W`` (the length after a
    flatten). ``dtype`` and ``value_range`` apply to tensors only: a PIL image or a
    numpy array has not been converted yet.

    Args:
        channels: channel count of the tensor a sample becomes (``pil_to_tensor``).
        size: ``(height, width)``, an int for a square, or ``"HxW"``.
        numel: flattened per-sample length.
        dtype: a torch dtype or its name (``"float32"``).
        value_range: ``(low, high)``; the only check that reads pixels.
        name: a label used in messages.
    """

    channels: Optional[int] = None
    size: Optional[tuple[int, int]] = None
    numel: Optional[int] = None
    dtype: Optional[str] = None
    value_range: Optional[tuple[float, float]] = None
    name: Optional[str] = None

    def __post_init__(self) -> None:
        put = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 (frozen dataclass)
        channels = None if self.channels is None else _positive_int("channels", self.channels)
        size = None if self.size is None else _size(self.size)
        numel = None if self.numel is None else _positive_int("numel", self.numel)
        if self.name is not None and not isinstance(self.name, str):
            raise ContractFieldError("name", f"should be a string, but got {self.name!r}")
        if channels is not None and size is not None:
            derived = channels * size[0] * size[1]
            if numel is not None and numel != derived:
                raise ContractFieldError(
                    "numel", f"{numel:,} disagrees with channels × height × width = "
                    f"{numbers.times((channels, *size))} = {derived:,}")
            numel = derived
        elif size is not None and numel is not None:
            if numel % (size[0] * size[1]):
                raise ContractFieldError(
                    "numel", f"{numel:,} is not a whole number of {size[0]}×{size[1]} channels")
            channels = numel // (size[0] * size[1])
        elif channels is not None and numel is not None and numel % channels:
            raise ContractFieldError("numel", f"{numel:,} is not divisible by {channels} channels")
        put("channels", channels)
        put("size", size)
        put("numel", numel)
        put("dtype", None if self.dtype is None else dtype_name(self.dtype))
        put("value_range", None if self.value_range is None else _value_range(self.value_range))

    # -- derived views -------------------------------------------------------------
    @property
    def shape(self) -> Optional[tuple[int, int, int]]:
        """``(C, H, W)`` when channels and size are both known, else ``None``."""
        if self.channels is None or self.size is None:
            return None
        return (self.channels, *self.size)

    @property
    def height(self) -> Optional[int]:
        return None if self.size is None else self.size[0]

    @property
    def width(self) -> Optional[int]:
        return None if self.size is None else self.size[1]

    @property
    def label(self) -> str:
        """Short text for messages: ``"'imagenet' [3, 224, 224]"``."""
        what = numbers.shape(self.shape) if self.shape else (
            f"numel {self.numel:,}" if self.numel else repr(self))
        return f"'{self.name}' {what}" if self.name else what

    def __repr__(self) -> str:
        fields = [(k, getattr(self, k)) for k in ("name", "channels", "size", "numel", "dtype", "value_range")]
        return "Contract(" + ", ".join(f"{k}={v!r}" for k, v in fields if v is not None) + ")"

    # -- checking ------------------------------------------------------------------
    def check(self, x: Any) -> list["Violation"]:
        """Every way ``x`` fails this contract; empty when it conforms. Never raises."""
        from ._check import check

        return check(self, x)

    def validate(self, x: Any, index: Optional[int] = None, source: Optional[str] = None,
                 stage: Optional[str] = None) -> Any:
        """Return ``x`` unchanged if it conforms, else raise :class:`ContractViolation`."""
        from ._check import validate

        return validate(self, x, index=index, source=source, stage=stage)

    # -- persistence ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The fields that are set, as plain JSON/TOML values."""
        out: dict[str, Any] = {}
        for key in ("name", "channels", "size", "numel", "dtype", "value_range"):
            value = getattr(self, key)
            if value is not None:
                out[key] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Contract":
        from ._contract_file import from_mapping

        return from_mapping(data, origin="<dict>")

    def save(self, path: Union[str, os.PathLike]) -> None:
        """Write as TOML, or JSON when the file name ends in ``.json``."""
        from ._contract_file import save

        save(self, path)

    @classmethod
    def load(cls, path: Union[str, os.PathLike]) -> "Contract":
        """Read a TOML or JSON contract, or the ``[tool.pipeguard]`` table of a pyproject.toml."""
        from ._contract_file import load

        return load(path)

    @classmethod
    def from_model(cls, model: Any, size: Optional[Union[int, tuple[int, int]]] = None) -> "Contract":
        """Read what a model's first layer expects (see :func:`pipeguard.model_contract.contract_from_model`)."""
        from ..model._from_model import contract_from_model

        return contract_from_model(model, size=size)

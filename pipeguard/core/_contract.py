"""The Contract: what every sample must be before it reaches the model."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from numbers import Real  # the standard library's, numpy scalars included
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence, Union

from ..diagnosis import numbers
from ._errors import ContractFieldError, ContractFileError
from ._target_specs import BoxSpec, MaskSpec, as_spec, spec_dict, spec_repr

if TYPE_CHECKING:  # pragma: no cover
    from ._errors import Violation


def _field(field: str, parse: Callable[[Any], Any], value: Any) -> Any:
    """``parse(value)``, its ``ValueError`` re-raised as a :class:`ContractFieldError` naming ``field``."""
    try:
        return parse(value)
    except ValueError as exc:
        raise ContractFieldError(field, str(exc)) from None


def _bound(v: Any, value: Any) -> float:
    """One end of a value range as a float: a real number (numpy scalars too), not NaN, not a
    bool, within float range (the check compares it with tensor values)."""
    if isinstance(v, bool) or not isinstance(v, Real):  # numpy's bool_ is no Real either
        raise ContractFieldError("value_range", f"should hold two numbers, but got {numbers.brief(value)}")
    try:
        bound = float(v)
    except (OverflowError, ValueError, TypeError):
        raise ContractFieldError("value_range", f"{numbers.brief(v)} does not fit a float "
                                 f"(use float('inf') for no bound)") from None
    if math.isnan(bound):
        raise ContractFieldError("value_range", f"should hold two numbers, not NaN; got {numbers.brief(value)}")
    return bound


def _value_range(value: Any) -> tuple[float, float]:
    if not isinstance(value, Sequence) or isinstance(value, (str, bytes)) or len(value) != 2:
        raise ContractFieldError("value_range", f"should be (low, high), but got {numbers.brief(value)}")
    lo, hi = (_bound(v, value) for v in value)
    if not lo < hi:
        raise ContractFieldError("value_range", f"low should be below high, but got {numbers.brief(value)}")
    return (lo, hi)


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
        value_range: ``(low, high)``; the only image check that reads pixels.
        name: a label used in messages.
        mask: a :class:`MaskSpec` (or a table of its fields): the sample carries a
            segmentation mask, checked with its image.
        boxes: a :class:`BoxSpec` (or a table of its fields): the sample carries boxes and
            labels, checked with its image.

    With ``mask`` or ``boxes``, a sample is ``(image, target)`` or a dict; a contract
    without them checks the image of such a sample and ignores its target.
    """

    channels: Optional[int] = None
    size: Optional[tuple[int, int]] = None
    numel: Optional[int] = None
    dtype: Optional[str] = None
    value_range: Optional[tuple[float, float]] = None
    name: Optional[str] = None
    mask: Optional[MaskSpec] = None
    boxes: Optional[BoxSpec] = None

    def __post_init__(self) -> None:
        put = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 (frozen dataclass)
        channels = None if self.channels is None else _field("channels", numbers.positive_int, self.channels)
        size = None if self.size is None else _field("size", numbers.height_width, self.size)
        numel = None if self.numel is None else _field("numel", numbers.positive_int, self.numel)
        if self.name is not None and not isinstance(self.name, str):
            raise ContractFieldError("name", f"should be a string, but got {numbers.brief(self.name)}")
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
        if numel is not None and numel > numbers.LARGEST_SIZE:
            raise ContractFieldError("numel", f"channels × height × width = {numel:.3g} elements, more than "
                                     f"a tensor can hold (2**63 - 1)")
        put("channels", channels)
        put("size", size)
        put("numel", numel)
        put("dtype", None if self.dtype is None else _field("dtype", numbers.dtype_name, self.dtype))
        put("value_range", None if self.value_range is None else _value_range(self.value_range))
        put("mask", as_spec("mask", MaskSpec, self.mask))
        put("boxes", as_spec("boxes", BoxSpec, self.boxes))

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

    @property
    def has_targets(self) -> bool:
        """Whether the contract has a rule for targets (``mask`` or ``boxes``)."""
        return self.mask is not None or self.boxes is not None

    def __repr__(self) -> str:
        fields = [(k, getattr(self, k)) for k in ("name", "channels", "size", "numel", "dtype", "value_range")]
        shown = [f"{k}={v!r}" for k, v in fields if v is not None]
        shown += [f"{k}={spec_repr(v)}" for k, v in (("mask", self.mask), ("boxes", self.boxes)) if v is not None]
        return "Contract(" + ", ".join(shown) + ")"

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
        for key in ("mask", "boxes"):
            spec = getattr(self, key)
            if spec is not None:
                out[key] = spec_dict(spec)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Contract":
        from ._contract_file import checked_table

        return cls._from_table(checked_table(data, "<dict>"), "<dict>")

    def save(self, path: Union[str, os.PathLike]) -> None:
        """Write as TOML, or JSON when the file name ends in ``.json``.

        Into a pyproject.toml (or any TOML file with a ``[project]`` or ``[tool]`` table)
        only its ``[tool.pipeguard]`` table is written; every other table, comment and line
        is kept. The file is replaced atomically, so a crash never leaves half of it.
        """
        from ._contract_file import write_table

        write_table(self.to_dict(), path)

    @classmethod
    def load(cls, path: Union[str, os.PathLike]) -> "Contract":
        """Read a TOML or JSON contract, or the ``[tool.pipeguard]`` table of a pyproject.toml."""
        from ._contract_file import read_table

        return cls._from_table(*read_table(path))

    @classmethod
    def _from_table(cls, data: dict[str, Any], origin: str) -> "Contract":
        try:
            return cls(**data)
        except ContractFieldError as exc:
            raise ContractFileError(origin, str(exc).split(": ", 1)[-1], key=exc.field) from None

    @classmethod
    def from_model(cls, model: Any, size: Optional[Union[int, tuple[int, int]]] = None) -> "Contract":
        """Read what a model's first layer expects (see :func:`pipeguard.model._from_model.input_fields`)."""
        from ..model import input_fields

        fields = input_fields(model, size=size)
        try:
            return cls(**fields)
        except ValueError as exc:
            if fields.get("numel") is None:
                raise
            raise ValueError(f"{fields['name']}'s first layer takes {fields['numel']:,} features, "
                             f"which does not fit size={size}: {exc}") from None


def as_contract(value: Any, required: bool = False) -> Optional[Contract]:
    """A contract from what APIs accept for one: a :class:`Contract`, a dict of its fields, a
    contract file's path, or (unless ``required``) ``None``."""
    if (value is None and not required) or isinstance(value, Contract):
        return value
    if isinstance(value, dict):
        return Contract.from_dict(value)
    if isinstance(value, (str, os.PathLike)):
        return Contract.load(value)
    raise TypeError(f"contract should be a Contract, a dict or a contract file path, but got {type(value).__name__}")

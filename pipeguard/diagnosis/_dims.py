"""A shape and its element count: the value every explanation compares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from . import _numbers as numbers


@dataclass(frozen=True)
class Dims:
    """A shape and its element count; either may be unknown (``None``).

    ``shape`` entries may be ``None`` where the contract leaves a dimension open.
    """

    shape: Optional[tuple] = None
    numel: Optional[int] = None

    def __str__(self) -> str:
        if self.shape is None:
            return f"{numbers.count(self.numel)} elements"
        return f"{numbers.shape(self.shape)} ({numbers.count(self.numel)} elements)"

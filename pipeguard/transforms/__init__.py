"""Steps for torchvision ``Compose`` chains (v1 and v2): ``Validate``, ``EnsureChannels``,
``EnsureSize``, their per-type kernels, and ``trace`` (a chain run step by step).
May import ``core`` and ``diagnosis``; the transforms load torch and torchvision, the PIL
kernel (``_channels.pil_to_channels``) does not, so the names here load lazily: the HTML
report's thumbnail workers convert PIL images without paying for a torch import.
"""

from __future__ import annotations

from typing import Any

from .._exports import resolve

__all__ = ["EnsureChannels", "EnsureSize", "TransformTrace", "Validate", "trace"]

# public names, then names the sibling packages use (not public API): name -> its module
_EXPORTS = {
    "EnsureChannels": "._transforms",
    "EnsureSize": "._transforms",
    "TransformTrace": "._trace",
    "Validate": "._transforms",
    "trace": "._trace",
    "SIZE_POLICIES": "._transforms",
    "TARGET_MODE": "._channels",
    "pil_to_channels": "._channels",
}


def __getattr__(name: str) -> Any:
    return resolve(__name__, _EXPORTS, name)

"""Steps for torchvision ``Compose`` chains (v1 and v2): ``Validate``, ``EnsureChannels``,
``EnsureSize``, their per-type kernels, and ``trace`` (a chain run step by step).
May import ``core`` and ``diagnosis``; the transforms load torch and torchvision, the PIL
kernel (``_channels.pil_to_channels``) does not, so the names here load lazily: the HTML
report's thumbnail workers convert PIL images without paying for a torch import.
"""

from __future__ import annotations

from typing import Any

__all__ = ["EnsureChannels", "EnsureSize", "TransformTrace", "Validate", "trace"]
_MODULE_OF = {"EnsureChannels": "_transforms", "EnsureSize": "_transforms", "Validate": "_transforms",
              "TransformTrace": "_trace", "trace": "_trace"}


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'pipeguard.transforms' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"{__name__}.{_MODULE_OF[name]}"), name)
    globals()[name] = value
    return value

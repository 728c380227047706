"""Steps for torchvision ``Compose`` chains (v1 and v2): ``Validate``, ``EnsureChannels``,
``EnsureSize``, their per-type kernels, and ``trace`` (a chain run step by step).
May import ``core`` and ``diagnosis``; loads torch and torchvision.
"""

from __future__ import annotations

from ._trace import TransformTrace, trace
from ._transforms import EnsureChannels, EnsureSize, Validate

__all__ = ["EnsureChannels", "EnsureSize", "TransformTrace", "Validate", "trace"]

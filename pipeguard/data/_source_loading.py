"""``on_error="fix"`` for ``ImageFolder`` with torchvision's default loader.

torchvision's ``pil_loader`` returns ``Image.open(path).convert("RGB")``: a naive
conversion that drops alpha without compositing, maps CMYK by formula and clips 16-bit
images to white. After it, every sample *looks* like a conforming 3-channel image, so a
check of the output can never see the problem. In fix mode pipeguard therefore loads
such files itself, once, and converts the decoded image with
:class:`~pipeguard.EnsureChannels` before the dataset's transform runs.
"""

from __future__ import annotations

from typing import Any


def replaces_default_loader(dataset: Any) -> bool:
    """Whether ``dataset`` is a ``DatasetFolder`` that loads with torchvision's own PIL loader."""
    from torchvision.datasets.folder import DatasetFolder, default_loader, pil_loader

    return (isinstance(dataset, DatasetFolder)
            and type(dataset).__getitem__ is DatasetFolder.__getitem__
            and getattr(dataset, "loader", None) in (default_loader, pil_loader))


def load_converted(path: str, channels: int) -> tuple[Any, bool]:
    """Decode ``path`` and convert it to ``channels`` (1 or 3) mode-correctly.

    Returns:
        ``(image, converted)``: ``converted`` is False when the file already had the
        target mode (the image is then exactly what ``pil_loader`` would return).
    """
    from PIL import Image

    from ..transforms import TARGET_MODE

    with open(path, "rb") as f:
        img = Image.open(f)
        img.load()  # decode while the file is open, as pil_loader does
    if img.mode == TARGET_MODE[channels]:
        return img, False
    from ..transforms import EnsureChannels

    return EnsureChannels(channels)(img), True

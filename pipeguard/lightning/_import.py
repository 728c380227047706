"""The Lightning ``Callback`` base: ``lightning.pytorch``'s, or ``pytorch_lightning``'s when only that is installed."""

from __future__ import annotations

try:
    from lightning.pytorch import Callback
except ImportError:
    try:
        from pytorch_lightning import Callback  # type: ignore[assignment]  # the same base, its older package
    except ImportError:
        raise ImportError("pipeguard.lightning needs Lightning, which is not installed: "
                          "pip install 'pipeguard[lightning]'") from None

__all__ = ["Callback"]

"""Lightning integration: ``ContractCheck``, a Callback that checks the model and the batches at fit start.

Needs Lightning (``pip install 'pipeguard[lightning]'``): ``lightning.pytorch``, or the
older ``pytorch_lightning`` when that is what is installed. Imported on first use; may
import every other subpackage.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ContractCheck"]


def __getattr__(name: str) -> Any:
    if name == "ContractCheck":
        from ._callback import ContractCheck

        return ContractCheck
    raise AttributeError(f"module 'pipeguard.lightning' has no attribute {name!r}")

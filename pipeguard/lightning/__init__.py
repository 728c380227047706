"""Lightning integration: ``ContractCheck``, a Callback that checks the model and the batches at fit start.

Needs Lightning (``pip install 'pipeguard[lightning]'``): ``lightning.pytorch``, or the
older ``pytorch_lightning`` when that is what is installed. Imported on first use; may
import every other subpackage.
"""

from __future__ import annotations

from typing import Any

from .._exports import resolve

__all__ = ["ContractCheck"]

# public names, then names the sibling packages use (not public API): name -> its module
_EXPORTS = {
    "ContractCheck": "._callback",
}


def __getattr__(name: str) -> Any:
    return resolve(__name__, _EXPORTS, name)

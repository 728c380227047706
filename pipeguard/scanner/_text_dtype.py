"""The dtype of the scan table's text columns (``path``, ``status``, the violations table)."""

from __future__ import annotations

from typing import Any


def text_dtype() -> Any:
    """pandas' ``str`` dtype kept in Python strings, whether or not pyarrow is installed.

    With pyarrow installed, pandas stores ``str`` columns as Arrow (UTF-8) strings, which
    cannot hold the surrogates that stand for the bytes of a non-UTF-8 file name.
    """
    import numpy as np
    import pandas as pd

    return pd.StringDtype("python", na_value=np.nan)

"""The dtypes of the scan table's text columns (``path``, ``status``, the violations table)."""

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


def categorical_text(values: list) -> Any:
    """A categorical of text values (``None`` where missing), its categories sorted and kept
    in Python strings.

    ``pd.Categorical(values)`` under pandas 3 makes Arrow categories, which cannot hold the
    surrogates of a non-UTF-8 folder name (a ``class``), and is 3-4 times slower.
    """
    import numpy as np
    import pandas as pd

    codes, found = pd.factorize(np.array(values, dtype=object))  # None: code -1
    try:
        order = np.argsort(found)
    except TypeError:  # values that do not sort together: kept in the order first seen, as pandas does
        order = np.arange(len(found))
    rank = np.empty(len(found) + 1, dtype=codes.dtype)  # old code -> new code; the last slot keeps -1
    rank[order], rank[-1] = np.arange(len(found)), -1
    dtype = pd.CategoricalDtype(pd.Index(found[order], dtype=object))
    return pd.Categorical.from_codes(rank[codes], dtype=dtype)

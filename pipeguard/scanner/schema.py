"""The contract as a pandera schema over the scan table, validated lazily.

Only rows that were read (``status == "ok"``) are validated: an unreadable file has no
channels or size to check. The contract's ``dtype`` and ``value_range`` describe
tensors, not files, and are not checked here. Lazy validation collects every failing
row in one pass; the failure cases become the violations table, one row per failing
check: ``path, check, expected, actual`` (``check`` is ``channels``, ``size`` or
``numel``; values are text such as ``"3"`` or ``"64x64"``, height × width).
"""

from __future__ import annotations

from typing import Any, Optional

VIOLATION_COLUMNS = ("path", "check", "expected", "actual")
_CHECK_OF_COLUMN = {"channels": "channels", "height": "size", "width": "size", "numel": "numel"}


def contract_schema(contract: Any) -> Any:
    """A ``pandera.DataFrameSchema`` with one column check per contract field.

    Columns: ``channels``, ``height`` and ``width`` (the size is checked as both), and
    ``numel`` (``channels × height × width``) when the contract gives only an element count.
    """
    import pandera.pandas as pa

    columns = {}
    if contract.channels is not None:
        columns["channels"] = pa.Column(checks=pa.Check.eq(contract.channels), nullable=False)
    if contract.size is not None:
        columns["height"] = pa.Column(checks=pa.Check.eq(contract.height), nullable=False)
        columns["width"] = pa.Column(checks=pa.Check.eq(contract.width), nullable=False)
    if contract.numel is not None and (contract.channels is None or contract.size is None):
        columns["numel"] = pa.Column(checks=pa.Check.eq(contract.numel), nullable=False)
    return pa.DataFrameSchema(columns, name=contract.name or "contract", strict=False, coerce=False)


def find_violations(frame: Any, contract: Any) -> Any:
    """Validate the readable rows of ``frame`` against ``contract``; return the violations table."""
    import pandas as pd
    from pandera.errors import SchemaErrors

    empty = pd.DataFrame({c: pd.Series(dtype="str") for c in VIOLATION_COLUMNS})
    if contract is None:
        return empty
    schema = contract_schema(contract)
    if not schema.columns:
        return empty
    readable = frame.loc[frame["status"] == "ok", ["path", "channels", "height", "width"]]
    if "numel" in schema.columns:
        readable = readable.assign(numel=readable["channels"] * readable["height"] * readable["width"])
    try:
        schema.validate(readable, lazy=True)
        return empty
    except SchemaErrors as errors:
        cases = errors.failure_cases
    cases = cases[cases["column"].isin(list(_CHECK_OF_COLUMN)) & cases["index"].notna()]
    failed = set(zip(cases["index"].astype(int).tolist(), cases["column"].map(_CHECK_OF_COLUMN).tolist()))
    # one pass over the failing rows, in frame (path) order; no per-row pandas access
    position = {label: k for k, label in enumerate(readable.index.tolist())}
    paths = readable["path"].tolist()
    values = {c: readable[c].tolist() for c in readable.columns if c != "path"}
    rows = []
    for i in sorted({i for i, _ in failed}):
        k = position[i]
        for check in ("channels", "size", "numel"):
            if (i, check) in failed:
                rows.append((paths[k], check, _expected(contract, check), _actual(values, k, check)))
    return pd.DataFrame(rows, columns=list(VIOLATION_COLUMNS)).astype("str")


def _expected(contract: Any, check: str) -> str:
    if check == "channels":
        return str(contract.channels)
    if check == "size":
        return f"{contract.height}x{contract.width}"
    return str(contract.numel)


def _text(value: Any) -> str:
    import pandas as pd

    return "unknown" if value is None or value is pd.NA else str(int(value))


def _actual(values: dict, k: int, check: str) -> str:
    if check == "channels":
        return _text(values["channels"][k])
    if check == "size":
        return f"{_text(values['height'][k])}x{_text(values['width'][k])}"
    return _text(values["numel"][k])


def fix_text(check: str, contract: Any) -> Optional[str]:
    """The pipeguard transform that fixes a failing ``check``: ``"EnsureChannels(3)"``,
    ``"EnsureSize((64, 64))"``; ``None`` where no transform does (an element count alone)."""
    if check == "channels" and contract.channels in (1, 3):
        return f"EnsureChannels({contract.channels})"
    if check == "size" and contract.size is not None:
        return f"EnsureSize(({contract.height}, {contract.width}))"
    return None

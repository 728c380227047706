"""The contract as a pandera schema over the scan table, validated lazily: what
``ScanReport.violations`` returns (the scan itself judges without pandera, :mod:`._judge`,
and its verdicts are tested against these).

Only rows that were read (``status == "ok"``) are validated: an unreadable file has no
channels or size to check. The contract's ``dtype`` and ``value_range`` describe
tensors, not files, and are not checked here. Lazy validation collects every failure
in one pass (over the distinct combinations of values, mapped back to rows); the
failure cases become the violations table, one row per failing check: ``path, member, check,
expected, actual`` (``check`` is the value of a :class:`~pipeguard.core.Reason`:
``channels``, ``size`` or ``numel``; values are text
such as ``"3"`` or ``"64x64"``, height × width; see :mod:`._cells`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from ...core import Reason

if TYPE_CHECKING:
    from ...core import Contract

from .._row import OK, VIOLATION
from ._cells import CHECKS, actual_text, expected_text, violation_table

_CHECK_OF_COLUMN = {"channels": Reason.CHANNELS, "height": Reason.SIZE, "width": Reason.SIZE, "numel": Reason.NUMEL}


def contract_schema(contract: Contract) -> Any:
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


def check_frame(frame: Any, contract: Optional[Contract],
                judged: bool = False) -> tuple[Any, dict[int, tuple[Reason, ...]]]:
    """Validate the readable rows of ``frame`` against ``contract``.

    ``judged``: the table already carries verdicts (read back from a streamed report), so
    its ``violation`` rows are readable rows too.

    Every check compares one column with a constant, so a row fails exactly the checks
    that its combination of checked values (``channels``, ``height``, ``width``,
    ``numel``) fails: the schema validates each distinct combination once (a folder has
    few), and the verdicts are mapped back to every row.

    Returns:
        ``(violations table, {row position in frame: failed checks})``, both in frame order.
    """
    from pandera.errors import SchemaErrors

    if contract is None:
        return violation_table([]), {}
    schema = contract_schema(contract)
    if not schema.columns:
        return violation_table([]), {}
    status = frame["status"].to_numpy()
    readable_rows = (status == OK) | (status == VIOLATION) if judged else status == OK
    readable = frame.loc[readable_rows, ["path", "member", "channels", "height", "width"]]
    if "numel" in schema.columns:
        readable = readable.assign(numel=readable["channels"] * readable["height"] * readable["width"])
    columns = list(schema.columns)  # the checked ones: rows alike in these fare alike
    distinct = readable[columns].drop_duplicates()
    try:
        schema.validate(distinct, lazy=True)
        return violation_table([]), {}
    except SchemaErrors as errors:
        cases = errors.failure_cases
    cases = cases[cases["column"].isin(list(_CHECK_OF_COLUMN)) & cases["index"].notna()]
    failures = list(zip(cases["index"].astype(int).tolist(), cases["column"].tolist()))  # (label in distinct, column)
    failed = {(label, _CHECK_OF_COLUMN[column]) for label, column in failures}
    # per failing combination: its (check, expected, actual) rows, in check order
    key_of = dict(zip(distinct.index.tolist(), _keys(distinct, columns)))
    verdicts: dict[tuple, tuple[tuple[Reason, ...], list[tuple[str, str, str]]]] = {}  # key -> (checks, cells)
    for label in sorted({label for label, _ in failed}):
        values = dict(zip(columns, key_of[label]))
        checks = tuple(check for check in CHECKS if (label, check) in failed)
        cells = [(c.value, expected_text(contract, c), actual_text(values, c)) for c in checks]
        verdicts[key_of[label]] = checks, cells
    return _map_back(readable, columns, failures, key_of, verdicts)


def _map_back(readable: Any, columns: list[str], failures: list, key_of: dict, verdicts: dict) -> tuple[Any, dict]:
    """The verdicts of the failing combinations, on every row that holds one."""
    import numpy as np

    # only rows holding a failing value can fail: visit just those one by one
    suspect = np.zeros(len(readable), dtype=bool)
    for column in {column for _, column in failures}:
        bad = {key_of[label][columns.index(column)] for label, c in failures if c == column}
        suspect |= readable[column].isin([v for v in bad if v is not None]).to_numpy()
        if None in bad:
            suspect |= readable[column].isna().to_numpy()
    suspects = readable[suspect]
    rows, failing = [], {}
    members = suspects["member"].tolist()
    for position, path, member, key in zip(suspects.index.tolist(), suspects["path"].tolist(), members,
                                           _keys(suspects, columns)):
        found = verdicts.get(key)
        if found is not None:
            failing[position], cells = found
            for cell in cells:
                rows.append((path, member, *cell))
    return violation_table(rows), failing


def _keys(table: Any, columns: list[str]) -> Any:
    """Each row's values of ``columns`` as a tuple, ``None`` where missing (hashable, unlike ``pd.NA``)."""
    return zip(*(table[c].to_numpy(dtype=object, na_value=None).tolist() for c in columns))

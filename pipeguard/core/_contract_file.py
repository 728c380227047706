"""Contracts on disk: TOML (plain or a pyproject's ``[tool.pipeguard]``) and JSON."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any, Mapping

from ._errors import ContractFileError

KEYS = ("name", "channels", "size", "numel", "dtype", "value_range")


def checked_table(data: Any, origin: str) -> dict[str, Any]:
    """``data`` as contract fields, or a :class:`ContractFileError` for a non-table or an unknown key."""
    if not isinstance(data, Mapping):
        raise ContractFileError(origin, f"should hold a table of contract fields, but got {type(data).__name__}")
    unknown = [k for k in data if k not in KEYS]
    if unknown:
        raise ContractFileError(origin, f"unknown key; known keys are {', '.join(KEYS)}", key=unknown[0])
    return dict(data)


def read_table(path: str | os.PathLike[str]) -> tuple[dict[str, Any], str]:
    """The contract fields a file holds, and where they came from (for error messages)."""
    path = Path(path)
    origin = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ContractFileError(origin, f"cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ContractFileError(origin, "is not UTF-8 text") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ContractFileError(origin, f"not valid JSON (line {exc.lineno}: {exc.msg})") from None
    else:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ContractFileError(origin, f"not valid TOML ({exc})") from None
        if "tool" in data or path.name == "pyproject.toml":
            table = data.get("tool", {}).get("pipeguard") if isinstance(data.get("tool"), dict) else None
            if table is None:
                raise ContractFileError(origin, "has no [tool.pipeguard] table")
            data, origin = table, f"{origin} [tool.pipeguard]"
    return checked_table(data, origin), origin


def _toml_value(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, float):
        return repr(value) if value == value and abs(value) != float("inf") else ("inf" if value > 0 else "-inf")
    return str(value)


def to_toml(fields: Mapping[str, Any]) -> str:
    return "".join(f"{k} = {_toml_value(v)}\n" for k, v in fields.items())


def write_table(fields: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    path = Path(path)
    if path.suffix.lower() == ".json":
        text = json.dumps(dict(fields), indent=2) + "\n"
    else:
        text = to_toml(fields)
    path.write_text(text, encoding="utf-8")

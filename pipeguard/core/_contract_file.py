"""Contracts on disk: TOML (plain or a pyproject's ``[tool.pipeguard]``) and JSON."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any, Mapping

from ._contract import Contract
from ._errors import ContractFieldError, ContractFileError

KEYS = ("name", "channels", "size", "numel", "dtype", "value_range")


def from_mapping(data: Mapping[str, Any], origin: str) -> Contract:
    if not isinstance(data, Mapping):
        raise ContractFileError(origin, f"should hold a table of contract fields, but got {type(data).__name__}")
    unknown = [k for k in data if k not in KEYS]
    if unknown:
        raise ContractFileError(origin, f"unknown key; known keys are {', '.join(KEYS)}", key=unknown[0])
    try:
        return Contract(**dict(data))
    except ContractFieldError as exc:
        raise ContractFileError(origin, str(exc).split(": ", 1)[-1], key=exc.field) from None


def load(path: str | os.PathLike[str]) -> Contract:
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
    return from_mapping(data, origin)


def _toml_value(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, float):
        return repr(value) if value == value and abs(value) != float("inf") else ("inf" if value > 0 else "-inf")
    return str(value)


def to_toml(contract: Contract) -> str:
    return "".join(f"{k} = {_toml_value(v)}\n" for k, v in contract.to_dict().items())


def save(contract: Contract, path: str | os.PathLike[str]) -> None:
    path = Path(path)
    if path.suffix.lower() == ".json":
        text = json.dumps(contract.to_dict(), indent=2) + "\n"
    else:
        text = to_toml(contract)
    path.write_text(text, encoding="utf-8")

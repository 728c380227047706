"""Contracts on disk: TOML (plain or a pyproject's ``[tool.pipeguard]``) and JSON."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any, Mapping, MutableMapping, Optional

from ._errors import ContractFileError

KEYS = ("name", "channels", "size", "numel", "dtype", "value_range", "mask", "boxes")


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


def _is_project_file(path: Path, existing: Optional[str]) -> bool:
    """Whether a save into ``path`` must keep the file and update only ``[tool.pipeguard]``:
    a pyproject.toml, or any TOML file that already holds ``[project]`` or ``[tool]``."""
    if path.name == "pyproject.toml":
        return True
    if existing is None or path.suffix.lower() == ".json":
        return False
    try:
        data = tomllib.loads(existing)
    except tomllib.TOMLDecodeError:
        return False
    return "project" in data or "tool" in data


def _updated_project_text(existing: Optional[str], fields: Mapping[str, Any], origin: str) -> str:
    """``existing`` (a pyproject's text) with only its ``[tool.pipeguard]`` table replaced by
    ``fields``; every other table, comment and line is kept as it was (tomlkit)."""
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    try:
        doc = tomlkit.parse(existing or "")
    except TOMLKitError as exc:
        raise ContractFileError(origin, f"not valid TOML ({exc}); not overwritten") from None
    # TOML values, each checked below to be a table (a tomlkit table is a MutableMapping)
    tool: Optional[MutableMapping[str, Any]] = doc.get("tool")
    if tool is None:
        tool = doc["tool"] = tomlkit.table(is_super_table=True)
    elif not isinstance(tool, Mapping):
        raise ContractFileError(origin, "should be a table; not overwritten", key="tool")
    table: Optional[MutableMapping[str, Any]] = tool.get("pipeguard")
    if not isinstance(table, Mapping):
        tool["pipeguard"] = tomlkit.table()
        table = tool["pipeguard"]
    for key in [k for k in table if k not in fields]:
        del table[key]
    for key, value in fields.items():
        table[key] = value
    return tomlkit.dumps(doc)


def _read_existing(path: Path) -> Optional[str]:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ContractFileError(str(path), f"cannot be read to update it ({exc}); not overwritten") from None


def _write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``:
    a crash leaves the old file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as for open()
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_table(fields: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """Save ``fields``: JSON for ``*.json``; into a pyproject (or any TOML file with ``[project]``
    or ``[tool]``) as its ``[tool.pipeguard]`` table, keeping the rest; else a plain TOML file."""
    path = Path(os.path.realpath(path))  # through a symlink, so the link stays a link
    existing = None if path.suffix.lower() == ".json" else _read_existing(path)
    if path.suffix.lower() == ".json":
        text = json.dumps(dict(fields), indent=2) + "\n"
    elif _is_project_file(path, existing):
        text = _updated_project_text(existing, fields, str(path))
    else:
        import tomlkit

        text = tomlkit.dumps(dict(fields))
    _write_atomically(path, text)

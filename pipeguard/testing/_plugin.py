"""The pytest plugin (entry point ``pytest11: pipeguard``): the ``pipeguard_contract`` fixture.

Loaded in every pytest run of a project with pipeguard installed, so it imports
nothing but pytest at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


def project_pyproject(config: Any) -> Path:
    """The project's pyproject.toml: pytest's config file when it is one, else the one at the rootdir."""
    inipath = getattr(config, "inipath", None)
    if inipath is not None and Path(inipath).name == "pyproject.toml":
        return Path(inipath)
    return Path(config.rootpath) / "pyproject.toml"


@pytest.fixture(scope="session")
def pipeguard_contract(pytestconfig: Any) -> Any:
    """The project's contract: the ``[tool.pipeguard]`` table of its pyproject.toml.

    Example:
        >>> def test_train_folder(pipeguard_contract):
        ...     assert_conforms("data/train", pipeguard_contract)
    """
    from ..core import Contract, ContractFileError

    path = project_pyproject(pytestconfig)
    if not path.is_file():
        pytest.fail(f"pipeguard_contract: no pyproject.toml at {path} (the contract is read from its "
                    "[tool.pipeguard] table)", pytrace=False)
    try:
        return Contract.load(path)
    except ContractFileError as exc:
        pytest.fail(f"pipeguard_contract: {exc}", pytrace=False)

"""Names a package exports to its siblings, imported from their module on first use.

A package's ``__init__`` maps each name to the private module that defines it and
delegates its module ``__getattr__`` here, so importing the package stays as cheap as
its eager imports (torch, pandas and Jinja2 load only when a name that needs them is
used), and siblings import the package, never its private modules.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any


def resolve(package: str, exports: dict[str, str], name: str) -> Any:
    """The value of ``package.name`` from its module (``exports[name]``, relative to the
    package), kept on the package so later lookups skip this.

    Raises:
        AttributeError: ``name`` is not one of the package's exports.
    """
    module = exports.get(name)
    if module is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, package), name)
    setattr(sys.modules[package], name, value)
    return value

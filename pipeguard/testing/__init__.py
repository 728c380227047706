"""Test helpers: ``assert_conforms`` and ``assert_model_accepts``, and the pytest plugin.

A failing helper raises ``AssertionError`` whose text is pipeguard's own explanation
(the violation's expected/actual, diagnosis and fix, or the model trace's), so a test
reads like pipeguard's errors. The pytest plugin (``_plugin``, registered as a
``pytest11`` entry point) adds a ``pipeguard_contract`` fixture read from
``[tool.pipeguard]`` in the project's pyproject.toml. May import every other
subpackage; names load on first use (no torch at import: the plugin loads in every
pytest run).
"""

from __future__ import annotations

from typing import Any

from .._exports import resolve

__all__ = ["assert_conforms", "assert_model_accepts"]

# public names, then names the sibling packages use (not public API): name -> its module
_EXPORTS = {
    "assert_conforms": "._asserts",
    "assert_model_accepts": "._asserts",
    "batch_violation": "._batch",
    "input_shape": "._model_check",
    "trace_failure": "._model_check",
    "trace_with": "._model_check",
}


def __getattr__(name: str) -> Any:
    return resolve(__name__, _EXPORTS, name)

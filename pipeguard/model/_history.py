"""The shapes a trace has seen so far (``History``: ``(where, shape)`` pairs, the model
input first, under the name :data:`INPUT`) and the one place that asks it about the model
input. The questions differ, and so do the findings that rest on them:

- :func:`model_input`: the input's shape;
- :func:`has_input_shape`: a shape equals the input's (layers that keep the shape, a
  ``ReLU`` say, may have run: the layer receives data laid out as given);
- :func:`before_any_layer`: no layer has run yet (functional code may have reshaped);
- :func:`first_layer_takes_input`: both: the layer is the first, and receives the input
  as given.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

Shape = tuple[int, ...]
History = Sequence[tuple[str, Shape]]

INPUT = "input"  # the name of the model input in a history (its first entry)


def model_input(history: History, default: Any = None) -> Optional[Shape]:
    """The model input's shape, the first entry of a trace's history (``default`` without one)."""
    return history[0][1] if history and history[0][0] == INPUT else default


def has_input_shape(x: Shape, history: History) -> bool:
    """``x`` has the model input's shape: the layer receives the data as it was given,
    though layers that keep the shape may have run before it."""
    return model_input(history) == tuple(x)


def before_any_layer(history: History) -> bool:
    """No layer has run yet: every entry of the history is the model input's."""
    return len(history) <= 1 or all(where == INPUT for where, _ in history)


def first_layer_takes_input(x: Shape, history: History) -> bool:
    """The layer is the first to run and receives the model input as given: both
    :func:`before_any_layer` and :func:`has_input_shape`."""
    return before_any_layer(history) and has_input_shape(x, history)


def latest_is_input(x: Shape, history: History) -> bool:
    """The latest entry carries the model input's name and ``x``'s shape. In a trace this
    adds to :func:`before_any_layer` only where a leaf module's path is itself ``input``."""
    return bool(history) and history[-1][1] == x and history[-1][0] == INPUT

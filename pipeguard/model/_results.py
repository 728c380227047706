"""What ``trace_model`` returns: one :class:`LayerRow` per leaf-module call, the
:class:`LayerError` where the trace stopped, and the :class:`ModelTrace` that holds them
and renders them as an aligned table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Optional, Sequence, Union

from ..diagnosis import Diagnosis, HypothesisKind, numbers, table
from ._findings import FindingKind

Shape = tuple[int, ...]


@dataclass(frozen=True)
class LayerRow:
    """One leaf-module call.

    Attributes:
        index: position in execution order, from 1.
        path: the module's name in ``model.named_modules()`` (``"layer4.1.conv2"``;
            ``""`` for the model itself).
        layer: the module's class name.
        input_shapes: shapes of the tensor arguments, in order.
        output_shapes: shapes of the tensors returned; empty when the call failed.
        params: parameters of the module (recursive), counted once per call.
        failed: this call is where the trace stopped.
    """

    index: int
    path: str
    layer: str
    input_shapes: tuple[Shape, ...]
    output_shapes: tuple[Shape, ...]
    params: int
    failed: bool = False

    @property
    def input_shape(self) -> Optional[Shape]:
        return self.input_shapes[0] if self.input_shapes else None

    @property
    def output_shape(self) -> Optional[Shape]:
        return self.output_shapes[0] if self.output_shapes else None

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "path": self.path, "layer": self.layer,
                "input_shape": _list(self.input_shape), "output_shape": _list(self.output_shape),
                "input_shapes": [list(s) for s in self.input_shapes],
                "output_shapes": [list(s) for s in self.output_shapes],
                "params": self.params, "failed": self.failed}


@dataclass(frozen=True)
class LayerError:
    """Where a trace stopped and why.

    Attributes:
        path: the failing module (``""`` for the model's own ``forward``).
        layer: its class name.
        kind: a :class:`FindingKind` (``FindingKind.IN_FEATURES`` ...); ``to_dict()``
            gives its text (``"in-features"``).
        summary: the layer and what it receives, e.g.
            ``"Linear(in_features=2000) receives 5120 = 20×16×16 features"``.
        expected, actual: shapes or element counts.
        arithmetic: the numbers behind the summary.
        fix: what would make it fit.
        input_shape: what the failing call received (for a layer).
        in_forward: the failure is in the ``forward`` code of ``path`` (functional calls,
            views, asserts) rather than in a layer.
        after: the last leaf module that ran before the failure, if any.
        exception: ``"Type: message"`` of the exception torch raised, if one was raised.
        diagnosis: :func:`pipeguard.explain`'s hypotheses for expected vs actual, if any.
        call: the torch function that raised, with its input shape (``"view on [4, 16, 4, 4]"``).
        size: the ``(height, width)`` input that cures the failure, when the failure says
            (a table sized for a fixed input, the model's own size check).
    """

    path: str
    layer: str
    kind: FindingKind
    summary: str
    expected: Any = None
    actual: Any = None
    arithmetic: str = ""
    fix: str = ""
    input_shape: Optional[Shape] = None
    in_forward: bool = False
    after: Optional[str] = None
    exception: Optional[str] = None
    diagnosis: Optional[Diagnosis] = None
    call: Optional[str] = None
    size: Optional[tuple[int, int]] = None

    @property
    def where(self) -> str:
        """``"fc"``, or ``"Net.forward, after pool2"`` for functional code."""
        if not self.in_forward:
            return self.path or "(model)"
        owner = f"{self.path} ({self.layer}.forward" if self.path else f"{self.layer}.forward"
        after = f", after {self.after}" if self.after else ", before any layer ran"
        return owner + after + (")" if self.path else "")

    @property
    def headline(self) -> str:
        return f"{self.where}: {self.summary}"

    @property
    def likely(self) -> str:
        """The diagnosis's best reading of the numbers, as the text shows it ("" when none adds to the why)."""
        best = self.diagnosis.best if self.diagnosis is not None else None
        duplicate = (self.kind is FindingKind.IN_FEATURES and self.arithmetic and best is not None
                     and best.kind is HypothesisKind.FEATURE_MAP)
        if best is None or best.kind is HypothesisKind.RATIO or duplicate:
            return ""
        return best.summary + (f": {best.arithmetic}" if best.arithmetic else "")

    @property
    def shown_fix(self) -> str:
        """The fix the text shows: the finding's own, else the diagnosis's."""
        best = self.diagnosis.best if self.diagnosis is not None else None
        return self.fix or (best.fix if best is not None else "")

    @property
    def is_shape_error(self) -> bool:
        """The input's shape is what the model rejects (not a dtype, device or code error)."""
        return self.kind.is_shape

    def __str__(self) -> str:
        try:
            return self._render()
        except Exception as exc:  # pragma: no cover - formatting must not crash
            return f"{self.path}: {self.summary} (error could not be formatted: {exc!r})"

    def _render(self) -> str:
        lines = [self.headline]
        if self.input_shape is not None:
            lines.append(f"  input     {numbers.shape(self.input_shape)}")
        if self.arithmetic:
            lines.append(f"  why       {self.arithmetic}")
        if self.call:
            lines.append(f"  call      {self.call}")
        if self.likely:
            lines.append(f"  likely    {self.likely}")
        if self.shown_fix:
            lines.append(f"  fix       {self.shown_fix}")
        message = self.exception.split(": ", 1)[-1] if self.exception else ""
        if self.exception and message not in self.summary:
            lines.append(f"  raised    {self.exception}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "layer": self.layer, "kind": self.kind.value, "summary": self.summary,
                "headline": self.headline, "expected": _jsonable(self.expected),
                "actual": _jsonable(self.actual), "arithmetic": self.arithmetic, "fix": self.shown_fix,
                "likely": self.likely or None, "call": self.call, "size": _list(self.size),
                "input_shape": _list(self.input_shape), "in_forward": self.in_forward,
                "after": self.after, "exception": self.exception}


@dataclass(frozen=True)
class ModelTrace:
    """The result of :func:`trace_model`: rows in execution order, and the error if a layer broke.

    ``str()`` is an aligned table. ``ok`` is true when the forward pass completed;
    ``output_shape`` is then the shape of the (first) tensor the model returned.
    ``params`` counts the parameters of the modules that ran, each module once.
    ``device`` is ``"meta"`` (no memory allocated) or ``"cpu"`` (the fallback, with
    ``fallback`` saying why meta tracing did not finish).
    """

    model: str
    input_shape: Shape
    dtype: str
    device: str
    rows: tuple[LayerRow, ...]
    error: Optional[LayerError] = None
    output_shape: Optional[Shape] = None
    params: int = 0
    fallback: Optional[str] = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def __iter__(self) -> Iterator[LayerRow]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, key: Union[int, str]) -> LayerRow:
        """A row by position, or the first call of the module at a path."""
        if isinstance(key, str):
            for row in self.rows:
                if row.path == key:
                    return row
            raise KeyError(f"no layer {key!r} ran in this trace")
        return self.rows[key]

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "input_shape": list(self.input_shape), "dtype": self.dtype,
                "device": self.device, "ok": self.ok, "output_shape": _list(self.output_shape),
                "params": self.params, "fallback": self.fallback,
                "rows": [r.to_dict() for r in self.rows],
                "error": None if self.error is None else self.error.to_dict()}

    def __str__(self) -> str:
        try:
            return _render(self)
        except Exception as exc:  # pragma: no cover - formatting must not crash
            return f"ModelTrace of {self.model} could not be formatted: {exc!r}"


def _list(shape: Optional[Sequence[int]]) -> Optional[list[int]]:
    return None if shape is None else list(shape)


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    return value


# -- rendering ------------------------------------------------------------------------

def _shapes_text(shapes: tuple[Shape, ...]) -> str:
    if not shapes:
        return "-"
    first = numbers.shape(shapes[0])
    if len(shapes) == 1:
        return first
    if all(s == shapes[0] for s in shapes):
        return f"{first} ×{len(shapes)}"
    return f"{first} +{len(shapes) - 1}"


def _render(trace: ModelTrace) -> str:
    where = ("meta device, no memory allocated" if trace.device == "meta"
             else f"real {trace.device} tensors")
    lines = [f"{trace.model}  input {numbers.shape(trace.input_shape)} {trace.dtype}  ({where})"]
    if trace.fallback:
        lines.append(f"  (meta tracing stopped: {trace.fallback})")
    header = ("#", "layer", "type", "input", "output", "params")
    body = [(str(r.index), r.path or "(model)", r.layer, _shapes_text(r.input_shapes),
             "FAILED" if r.failed else _shapes_text(r.output_shapes), numbers.count(r.params))
            for r in trace.rows]
    lines += table(header, body, right={0, 5})
    calls = numbers.plural(len(trace.rows), "layer call")
    if trace.ok:
        lines.append(f"output {numbers.shape(trace.output_shape)}; {calls}, "
                     f"{numbers.plural(trace.params, 'parameter')}")
    else:
        lines.append(f"FAILED after {calls}" if trace.rows else "FAILED before any layer ran")
        lines.append(str(trace.error))
    return "\n".join(lines)


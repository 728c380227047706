"""``trace_model``: the shape every layer receives and returns, up to the layer that breaks.

The model runs once on a copy whose parameters live on the ``meta`` device: shapes
propagate, no activation or weight memory is allocated, and the user's model is not
touched. A model that cannot run on ``meta`` (it reads tensor values: ``.item()``,
``nonzero``) is traced again with real CPU tensors. Forward hooks record one
:class:`LayerRow` per leaf-module call (a module call that calls no other module, so
``nn.MultiheadAttention`` counts as one layer); checks before each known layer
(Conv, Linear, pooling, norms) stop the trace with a :class:`LayerError` that explains
the numbers, and any other exception is reported where it happened, including
functional code between layers.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import operator
from dataclasses import dataclass
from typing import Any, Iterator, Optional, Sequence, Union

from ..diagnosis import _numbers as numbers
from ..diagnosis._explanation import Diagnosis
from ..diagnosis._text import first_line, table
from ._layer_failures import SHAPE_KINDS, Finding, check_layer, explain_exception

logger = logging.getLogger(__name__)

Shape = tuple[int, ...]

# meta kernels that raise with less to say than the CPU kernel: worth a CPU run
_VAGUE_ON_META = ("Invalid channel dimensions",)


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
        kind: a stable code: ``"in-features"``, ``"in-channels"``, ``"num-features"``,
            ``"rank"``, ``"shrink"``, ``"normalized-shape"``, ``"view"``, ``"broadcast"``,
            ``"assertion"``, ``"shape"``, ``"dtype"`` or ``"exception"``.
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
    """

    path: str
    layer: str
    kind: str
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
    def is_shape_error(self) -> bool:
        """The input's shape is what the model rejects (not a dtype, device or code error)."""
        return self.kind in SHAPE_KINDS

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
        best = self.diagnosis.best if self.diagnosis is not None else None
        duplicate = self.kind == "in-features" and self.arithmetic and best is not None and best.kind == "feature-map"
        if best is not None and best.kind != "ratio" and not duplicate:
            lines.append(f"  likely    {best.summary}" + (f": {best.arithmetic}" if best.arithmetic else ""))
        fix = self.fix or (best.fix if best is not None else "")
        if fix:
            lines.append(f"  fix       {fix}")
        message = self.exception.split(": ", 1)[-1] if self.exception else ""
        if self.exception and message not in self.summary:
            lines.append(f"  raised    {self.exception}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "layer": self.layer, "kind": self.kind, "summary": self.summary,
                "headline": self.headline, "expected": _jsonable(self.expected),
                "actual": _jsonable(self.actual), "arithmetic": self.arithmetic, "fix": self.fix,
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


# -- tracing --------------------------------------------------------------------------

class _Stop(Exception):
    """Raised from a pre-hook to stop the forward pass at a layer that cannot take its input."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.summary)
        self.finding = finding


@dataclass
class _Frame:
    module: Any
    path: str
    inputs: tuple[Shape, ...]
    called_child: bool = False


def _tensors(value: Any, out: Optional[list] = None, depth: int = 0) -> list[Any]:
    """The tensors in ``value``, looking a few levels into tuples, lists and dicts."""
    import torch

    out = [] if out is None else out
    if isinstance(value, torch.Tensor):
        out.append(value)
    elif depth < 4 and isinstance(value, (tuple, list)):
        for v in value:
            _tensors(v, out, depth + 1)
    elif depth < 4 and isinstance(value, dict):
        for v in value.values():
            _tensors(v, out, depth + 1)
    return out


def _tensor_shapes(value: Any) -> list[Shape]:
    return [tuple(t.shape) for t in _tensors(value)]


def _param_count(module: Any) -> int:
    total = 0
    for p in module.parameters():
        try:
            total += p.numel()
        except (RuntimeError, ValueError):  # an uninitialized lazy parameter
            pass
    return total


class _Recorder:
    """Forward pre-hooks and hooks on every module of the model being traced."""

    def __init__(self, model: Any, input_shape: Shape) -> None:
        self.paths = {id(m): path for path, m in model.named_modules()}
        self.stack: list[_Frame] = []
        self.rows: list[LayerRow] = []
        self.history: list[tuple[str, Shape]] = [("input", input_shape)]
        self.counted: dict[int, int] = {}
        self.failed_call: Optional[str] = None
        self.handles = []
        for module in model.modules():
            self.handles.append(module.register_forward_pre_hook(self.pre, with_kwargs=True))
            self.handles.append(module.register_forward_hook(self.post, with_kwargs=True))

    def remove(self) -> None:
        for h in self.handles:
            h.remove()

    def pre(self, module: Any, args: tuple, kwargs: dict) -> None:
        if self.stack:
            self.stack[-1].called_child = True
        tensors = _tensors((args, kwargs))
        shapes = tuple(tuple(t.shape) for t in tensors)
        self.stack.append(_Frame(module, self.paths.get(id(module), "?"), shapes))
        finding = check_layer(module, shapes[0] if shapes else None, self.history,
                              tensors[0].dtype if tensors else None)
        if finding is not None:
            raise _Stop(finding)

    def post(self, module: Any, args: tuple, kwargs: dict, output: Any) -> None:
        frame = self.stack.pop()
        if frame.called_child:
            return
        outs = tuple(_tensor_shapes(output))
        self.add_row(frame, outs)
        if outs:
            self.history.append((frame.path, outs[0]))

    def add_row(self, frame: _Frame, outs: tuple[Shape, ...], failed: bool = False) -> None:
        key = id(frame.module)
        if key not in self.counted:
            self.counted[key] = _param_count(frame.module)
        self.rows.append(LayerRow(len(self.rows) + 1, frame.path, type(frame.module).__name__,
                                  frame.inputs, outs, self.counted[key], failed))

    def failure(self, exc: BaseException) -> LayerError:
        """The :class:`LayerError` for an exception that escaped the forward pass."""
        frame = self.stack[-1] if self.stack else None
        finding = exc.finding if isinstance(exc, _Stop) else explain_exception(exc, self.history)
        exception = None if isinstance(exc, _Stop) else f"{type(exc).__name__}: {first_line(exc)}"
        after = self.rows[-1].path if self.rows else None
        if frame is None:
            return _layer_error(finding, "", "?", None, True, after, exception, self.failed_call)
        module = frame.module
        is_layer = isinstance(exc, _Stop) or (
            not frame.called_child and type(module).__module__.startswith("torch.nn."))
        if is_layer:
            self.add_row(frame, (), failed=True)
        return _layer_error(finding, frame.path, type(module).__name__,
                            frame.inputs[0] if (is_layer and frame.inputs) else None,
                            not is_layer, after, exception, None if is_layer else self.failed_call)


def _layer_error(finding: Finding, path: str, layer: str, input_shape: Optional[Shape], in_forward: bool,
                 after: Optional[str], exception: Optional[str], call: Optional[str]) -> LayerError:
    """A :class:`LayerError`: the finding's fields, and where the failure happened."""
    return LayerError(path, layer, finding.kind, finding.summary, finding.expected, finding.actual,
                      finding.arithmetic, finding.fix, input_shape, in_forward, after, exception,
                      finding.diagnosis, call)


def _meta_copy(model: Any) -> Any:
    """A deep copy of ``model`` whose parameters and buffers are meta tensors.

    The copy is made with a pre-filled ``deepcopy`` memo, so no weight is ever copied.
    """
    import torch
    from torch import nn

    memo: dict[int, Any] = {}
    for t in [*model.parameters(), *model.buffers()]:
        if isinstance(t, nn.parameter.UninitializedParameter):
            memo[id(t)] = nn.parameter.UninitializedParameter(t.requires_grad, device="meta", dtype=t.dtype)
        elif isinstance(t, nn.parameter.UninitializedBuffer):
            memo[id(t)] = nn.parameter.UninitializedBuffer(t.requires_grad, device="meta", dtype=t.dtype)
        elif isinstance(t, nn.Parameter):
            memo[id(t)] = nn.Parameter(t.detach().to("meta"), requires_grad=t.requires_grad)
        else:
            memo[id(t)] = t.detach().to("meta")
    with torch.no_grad():
        return copy.deepcopy(model, memo)


def _function_mode(recorder: "_Recorder") -> Any:
    """A torch function mode that records the shape every functional call returns (so a
    ``view`` after ``F.max_pool2d`` is explained from the pooled map) and names the call
    that raised."""
    import torch
    from torch.overrides import TorchFunctionMode

    class _Functions(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            try:
                out = func(*args, **kwargs)
            except Exception:
                if recorder.failed_call is None:
                    name = getattr(func, "__name__", str(func))
                    shapes = _tensor_shapes(args)
                    shown = " and ".join(numbers.shape(s) for s in shapes[:2])
                    recorder.failed_call = name + (f" on {shown}" if shapes else "")
                raise
            if isinstance(out, torch.Tensor) and not getattr(func, "__name__", "").startswith("__"):
                recorder.history.append((f"{getattr(func, '__name__', 'function')}()", tuple(out.shape)))
            return out

    return _Functions()


def _run(model: Any, input_shape: Shape, dtype: Any, device: str, original: Any) -> tuple:
    """Run ``model`` under hooks; returns (rows, error, output_shape, unique params, raw exception)."""
    import torch

    recorder = _Recorder(model, input_shape)
    modes = [(m, m.training) for m in model.modules()]
    try:
        model.eval()  # batch statistics and dropout would make the trace depend on data
        x = (torch.empty if device == "meta" else torch.zeros)(input_shape, dtype=dtype, device=device)
        with torch.no_grad(), _function_mode(recorder):
            out = model(x)
    except Exception as exc:  # noqa: BLE001 - every failure becomes data
        error = recorder.failure(exc)
        return recorder.rows, error, None, sum(recorder.counted.values()), exc
    finally:
        recorder.remove()
        if model is original:
            for m, training in modes:
                m.training = training
    shapes = _tensor_shapes(out)
    return recorder.rows, None, shapes[0] if shapes else None, sum(recorder.counted.values()), None


def _meta_is_final(exc: BaseException) -> bool:
    """A meta failure stands unless it comes from the meta device itself (a value read
    with ``.item()``, an op with no meta kernel, a CPU tensor made in ``forward``, or a
    meta kernel's vaguer message): real CPU tensors would fail the same way."""
    if isinstance(exc, _Stop):
        return True
    text = str(exc)
    return not (isinstance(exc, NotImplementedError) or "meta" in text.lower()
                or any(v in text for v in _VAGUE_ON_META))


def _cpu_model(model: Any) -> Any:
    """A real copy to run on CPU, or the model itself when it cannot be copied."""
    try:
        return copy.deepcopy(model)
    except Exception as exc:  # noqa: BLE001
        logger.info("could not copy %s (%s); tracing it in place", type(model).__name__, exc)
        return model


def trace_model(model: Any, input_shape: Sequence[int], dtype: Any = None) -> ModelTrace:
    """Trace the shape through every layer of ``model`` for an input of ``input_shape``.

    Args:
        model: an ``nn.Module``; it is not modified (a copy runs, in eval mode).
        input_shape: the full input shape, batch included, e.g. ``(1, 3, 224, 224)``
            for ``[N, C, H, W]`` images.
        dtype: the input's dtype (default ``torch.float32``).

    Returns:
        A :class:`ModelTrace`: ``.rows`` (one :class:`LayerRow` per leaf-module call,
        in execution order), ``.error`` (a :class:`LayerError` naming the layer that
        broke, or ``None``), ``.output_shape``. ``str()`` is an aligned table. When an
        image model breaks on the size of its feature map, the error's fix also names
        the smallest square input that fits (found with a few more meta traces).

    Raises:
        TypeError: ``model`` is not an ``nn.Module``.
        ValueError: ``input_shape`` is not a sequence of non-negative ints.

    Example:
        >>> print(trace_model(torchvision.models.resnet18(weights=None), (1, 3, 224, 224)))
    """
    return _with_size_hint(model, trace_shapes(model, input_shape, dtype))


def _with_size_hint(model: Any, trace: ModelTrace) -> ModelTrace:
    """For an image model that breaks on the map size, name the smallest square input that fits."""
    error, shape = trace.error, trace.input_shape
    if error is None or error.kind not in ("in-features", "shrink", "view") or len(shape) != 4:
        return trace
    if trace.device != "meta":
        return trace  # probing would run the model for real, many times
    if error.kind == "in-features" and not (error.input_shape is not None and len(error.input_shape) == 2):
        return trace  # an unflattened map: no input size cures that
    from ._fit import smallest_square

    try:
        fit = smallest_square(model, shape[1], trace.dtype)
    except Exception as exc:  # noqa: BLE001 - a hint must never break the trace
        logger.info("no input-size hint for %s: %r", trace.model, exc)
        return trace
    if fit.side is None or fit.side == shape[2] == shape[3]:
        return trace
    side = f"{fit.side}×{fit.side}"
    if not fit.pinned and "or feed larger inputs" in error.fix:
        fix = error.fix.replace("or feed larger inputs", f"or feed inputs of {side} or larger")
    else:
        hint = f"a {side} input fits" + ("" if fit.pinned else f" (as does any larger one)")
        fix = f"{error.fix}; {hint}" if error.fix else hint
    return dataclasses.replace(trace, error=dataclasses.replace(error, fix=fix))


def trace_shapes(model: Any, input_shape: Sequence[int], dtype: Any = None) -> ModelTrace:
    """:func:`trace_model` without the input-size hint (one forward pass, nothing more)."""
    import torch
    from torch import nn

    if not isinstance(model, nn.Module):
        raise TypeError(f"trace_model() should get a torch.nn.Module, but got {type(model).__name__}")
    if isinstance(model, torch.jit.ScriptModule):
        raise TypeError("trace_model() should get an eager nn.Module, but got a TorchScript module "
                        "(it supports no forward hooks); trace the module before scripting it")
    shape = _shape(input_shape)
    dtype = torch.float32 if dtype is None else dtype
    if not isinstance(dtype, torch.dtype):
        from ..diagnosis._numbers import dtype_name

        dtype = getattr(torch, dtype_name(dtype))
    name = type(model).__name__
    dtype_text = str(dtype).removeprefix("torch.")

    fallback = None
    try:
        meta = _meta_copy(model)
    except Exception as exc:  # noqa: BLE001 - some models cannot be deep-copied
        meta, fallback = None, f"the model could not be copied to the meta device ({type(exc).__name__}: {exc})"
    if meta is not None:
        rows, error, out, params, exc = _run(meta, shape, dtype, "meta", model)
        if error is None or _meta_is_final(exc):
            return ModelTrace(name, shape, dtype_text, "meta", tuple(rows), error, out, params)
        fallback = f"{type(exc).__name__}: {first_line(exc)}"
        logger.info("tracing %s on meta failed (%s); tracing with real CPU tensors", name, fallback)
    runnable = _cpu_model(model)
    device = "cpu"
    first = next(iter(runnable.parameters()), None)
    if first is not None and first.device.type not in ("meta",):
        device = str(first.device)
    rows, error, out, params, _ = _run(runnable, shape, dtype, device, model)
    return ModelTrace(name, shape, dtype_text, device, tuple(rows), error, out, params, fallback)


def _shape(input_shape: Any) -> Shape:
    if isinstance(input_shape, int) and not isinstance(input_shape, bool):
        input_shape = (input_shape,)
    try:
        shape = tuple(operator.index(d) for d in input_shape)  # 1.5 is an error, not 1
    except (TypeError, ValueError):
        raise ValueError(f"input_shape should be a sequence of sizes such as (1, 3, 224, 224), "
                         f"but got {input_shape!r}") from None
    if not shape or any(d < 0 for d in shape):
        raise ValueError(f"input_shape should be non-negative sizes, but got {list(shape)}")
    return shape

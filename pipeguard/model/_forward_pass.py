"""One hooked forward pass: the shape every leaf module receives and returns.

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
import logging
import operator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Sequence, Union, cast

from ..diagnosis import first_line, numbers
from ._findings import Call, Finding
from ._history import INPUT
from ._layer_failures import check_layer, explain_exception
from ._results import LayerError, LayerRow, ModelTrace, Shape

if TYPE_CHECKING:  # annotations only: torch is imported where it runs
    import torch
    from torch import nn

    DType = Optional[Union[torch.dtype, str]]  # a torch dtype or its name ('float32')

logger = logging.getLogger(__name__)

# meta kernels that raise with less to say than the CPU kernel: worth a CPU run
_VAGUE_ON_META = ("Invalid channel dimensions",)


class _Stop(Exception):
    """Raised from a pre-hook to stop the forward pass at a layer that cannot take its input."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.summary)
        self.finding = finding


@dataclass
class _Frame:
    module: nn.Module
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


def _param_count(module: nn.Module) -> int:
    total = 0
    for p in module.parameters():
        try:
            total += p.numel()
        except (RuntimeError, ValueError):  # an uninitialized lazy parameter
            pass
    return total


class _Recorder:
    """Forward pre-hooks and hooks on every module of the model being traced."""

    def __init__(self, model: nn.Module, input_shape: Shape) -> None:
        self.model = model
        self.paths = {id(m): path for path, m in model.named_modules()}
        self.stack: list[_Frame] = []
        self.rows: list[LayerRow] = []
        self.history: list[tuple[str, Shape]] = [(INPUT, input_shape)]
        self.counted: dict[int, int] = {}
        self.failed_call: Optional[Call] = None
        self.handles = []
        for module in model.modules():
            self.handles.append(module.register_forward_pre_hook(self.pre, with_kwargs=True))
            self.handles.append(module.register_forward_hook(self.post, with_kwargs=True))

    def remove(self) -> None:
        for h in self.handles:
            h.remove()

    def pre(self, module: nn.Module, args: tuple, kwargs: dict) -> None:
        if self.stack:
            self.stack[-1].called_child = True
        tensors = _tensors((args, kwargs))
        shapes = tuple(tuple(t.shape) for t in tensors)
        self.stack.append(_Frame(module, self.paths.get(id(module), "?"), shapes))
        finding = check_layer(module, shapes[0] if shapes else None, self.history,
                              tensors[0].dtype if tensors else None)
        if finding is not None:
            raise _Stop(finding)

    def post(self, module: nn.Module, args: tuple, kwargs: dict, output: Any) -> None:
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
        finding = exc.finding if isinstance(exc, _Stop) else explain_exception(exc, self.history, self.failed_call)
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

    def table_names(self, tensors: list) -> tuple[Optional[str], ...]:
        """The parameter or buffer name of each tensor (``None`` for an activation)."""
        named = {id(t): n for n, t in (*self.model.named_parameters(), *self.model.named_buffers())}
        return tuple(named.get(id(t)) for t in tensors)


def _layer_error(finding: Finding, path: str, layer: str, input_shape: Optional[Shape], in_forward: bool,
                 after: Optional[str], exception: Optional[str], call: Optional[Call]) -> LayerError:
    """A :class:`LayerError`: the finding's fields, and where the failure happened."""
    fix = finding.fix
    best = finding.diagnosis.best if finding.diagnosis is not None else None
    if not fix and not (best is not None and best.fix):
        owner = f"`{path}` ({layer})" if path else layer
        fix = (f"no change of the input is known to cure this: the error is raised inside {owner}'s own code"
               + (f", by {call}" if call else "") + "; read that code, or report it to the model's authors")
    return LayerError(path, layer, finding.kind, finding.summary, finding.expected, finding.actual,
                      finding.arithmetic, fix, input_shape, in_forward, after, exception,
                      finding.diagnosis, None if call is None else str(call), finding.size)


def _meta_copy(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` whose parameters and buffers are meta tensors.

    The copy is made with a pre-filled ``deepcopy`` memo, so no weight is ever copied.
    """
    import torch
    from torch import nn

    memo: dict[int, Any] = {}
    for t in [*model.parameters(), *model.buffers()]:
        if isinstance(t, nn.parameter.UninitializedParameter):
            # torch's stubs say (data, requires_grad); both classes take (requires_grad, device, dtype)
            memo[id(t)] = nn.parameter.UninitializedParameter(t.requires_grad, device="meta", dtype=t.dtype)  # type: ignore[call-arg, arg-type]
        elif isinstance(t, nn.parameter.UninitializedBuffer):
            memo[id(t)] = nn.parameter.UninitializedBuffer(t.requires_grad, device="meta", dtype=t.dtype)  # type: ignore[call-arg, arg-type]
        elif isinstance(t, nn.Parameter):
            memo[id(t)] = nn.Parameter(t.detach().to("meta"), requires_grad=t.requires_grad)
        else:
            memo[id(t)] = t.detach().to("meta")
    with torch.no_grad():
        meta = copy.deepcopy(model, memo)
    _pass_through_elementwise(meta)
    return meta


def _same_shape(x: Any, *args: Any, **kwargs: Any) -> Any:
    return x


# torch.nn layers whose output has their input's shape and dtype (batch norm in eval mode)
_ELEMENTWISE = ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU",
                "CELU", "GELU", "SiLU", "Mish", "Sigmoid", "Tanh", "Hardswish", "Hardsigmoid", "Hardtanh",
                "Softplus", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "Identity")


def _pass_through_elementwise(meta: nn.Module) -> None:
    """Shape-preserving layers of the meta copy pass their input through. On the meta
    device they would only copy its shape, many through slow Python decompositions (most
    of a mobile net's trace time: hardswish, batch norm). The check before each layer
    (a norm's channels and rank) still runs, from its pre-hook."""
    from torch import nn

    stock = {getattr(nn, name) for name in _ELEMENTWISE if hasattr(nn, name)}
    for module in meta.modules():
        if type(module) in stock:
            module.forward = _same_shape


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
                    tensors = _tensors(args)
                    recorder.failed_call = Call(getattr(func, "__name__", str(func)),
                                                tuple(tuple(t.shape) for t in tensors),
                                                recorder.table_names(tensors))
                raise
            if isinstance(out, torch.Tensor) and not getattr(func, "__name__", "").startswith("__"):
                recorder.history.append((f"{getattr(func, '__name__', 'function')}()", tuple(out.shape)))
            return out

    return _Functions()


def _run(model: nn.Module, input_shape: Shape, dtype: torch.dtype, device: str, original: nn.Module) -> tuple:
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


def _cpu_model(model: nn.Module) -> nn.Module:
    """A real copy to run on CPU, or the model itself when it cannot be copied."""
    try:
        return copy.deepcopy(model)
    except Exception as exc:  # noqa: BLE001
        logger.info("could not copy %s (%s); tracing it in place", type(model).__name__, exc)
        return model


def trace_shapes(model: nn.Module, input_shape: Sequence[int], dtype: DType = None) -> ModelTrace:
    """:func:`trace_model` without the input-size hint (one forward pass, nothing more)."""
    import torch
    from torch import nn

    if not isinstance(model, nn.Module):
        raise TypeError(f"trace_model() should get a torch.nn.Module, but got {type(model).__name__}")
    if isinstance(model, torch.jit.ScriptModule):
        raise TypeError("trace_model() should get an eager nn.Module, but got a TorchScript module "
                        "(it supports no forward hooks); trace the module before scripting it")
    shape = _shape(input_shape)
    dtype_text = numbers.dtype_name(torch.float32 if dtype is None else dtype)
    dtype = cast("torch.dtype", getattr(torch, dtype_text))
    name = type(model).__name__

    fallback = None
    try:
        meta = _meta_copy(model)
    except Exception as exc:  # noqa: BLE001 - some models cannot be deep-copied
        meta, fallback = None, f"the model could not be copied to the meta device ({type(exc).__name__}: {exc})"
    if meta is not None:
        # the except clause's exc is gone by here: this is a new binding
        rows, error, out, params, exc = _run(meta, shape, dtype, "meta", model)  # type: ignore[misc]
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

"""``pipeguard trace``: the per-layer shape table of a model built by an importable factory.

Exit status: 0 the model traces, 1 a layer breaks, 2 usage or input error (the
module does not import, the attribute is missing or does not build a model, a
malformed ``--input``).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any, Optional

import click

from ..diagnosis import one_line
from ._params import OneLineErrors, SecondsParam, ShapeParam


def _import(module_name: str) -> Any:
    """A module by dotted name, or a ``.py`` file by path."""
    if module_name.endswith(".py") or os.sep in module_name or "/" in module_name:
        path = Path(module_name)
        if not path.is_file():
            raise click.BadParameter(f"no such file: {module_name}", param_hint="MODULE:ATTR")
        spec = importlib.util.spec_from_file_location(path.stem, path)
        # spec is None for a file Python cannot import (no .py suffix): an AttributeError, as ever
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules[path.stem] = module
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        return module
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m` does: local modules import
    return importlib.import_module(module_name)


_WEIGHT_ARGUMENTS = ("weights", "weights_backbone", "pretrained", "pretrained_backbone")


def _no_downloads(factory: Any) -> dict[str, Any]:
    """The arguments that keep a factory from downloading weights: ``weights=None`` and
    ``weights_backbone=None`` (torchvision), ``pretrained=False`` (timm, older APIs), for
    those the factory takes."""
    import inspect

    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):  # a builtin or extension callable: call it as it is
        return {}
    return {name: (False if name.startswith("pretrained") else None)
            for name in _WEIGHT_ARGUMENTS if name in params}


def load_model(target: str) -> Any:
    """``"torchvision.models:resnet18"`` -> an ``nn.Module``.

    The attribute may be dotted (``pkg.mod:Zoo.small``). A module instance is used as
    is; a class or a factory function is called with no arguments but those that keep it
    from downloading weights (``weights=None``, ``weights_backbone=None``, ``pretrained=False``).

    Raises:
        click.BadParameter: with a message for each way the target fails to give a model.
    """
    from torch import nn

    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise click.BadParameter(f"should be MODULE:ATTR such as torchvision.models:resnet18, but got {target!r}",
                                 param_hint="MODULE:ATTR")
    try:
        obj = _import(module_name)
    except click.BadParameter:
        raise
    except Exception as exc:  # noqa: BLE001 - the user's module: whatever it raises is the user's input
        raise click.BadParameter(f"cannot import {module_name!r}: {one_line(exc)}",
                                 param_hint="MODULE:ATTR") from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise click.BadParameter(f"{module_name!r} has no attribute {attr!r}",
                                     param_hint="MODULE:ATTR") from None
    if isinstance(obj, nn.Module):
        return obj
    if not callable(obj):
        raise click.BadParameter(f"{target} is of type {type(obj).__name__}, not a model, a model class or a factory",
                                 param_hint="MODULE:ATTR")
    try:
        model = obj(**_no_downloads(obj))
    except TypeError as exc:
        raise click.BadParameter(f"{target} cannot be called without arguments ({exc}); point at a "
                                 "factory that builds the model", param_hint="MODULE:ATTR") from None
    except Exception as exc:  # noqa: BLE001 - the user's factory: whatever it raises is the user's input
        raise click.BadParameter(f"{target}() raised {one_line(exc)}", param_hint="MODULE:ATTR") from None
    if not isinstance(model, nn.Module):
        raise click.BadParameter(f"{target}() returned a {type(model).__name__}, not a torch.nn.Module",
                                 param_hint="MODULE:ATTR")
    return model


@click.command("trace", cls=OneLineErrors)
@click.argument("target", metavar="MODULE:ATTR")
@click.option("--input", "-i", "input_shape", required=True, type=ShapeParam(),
              help="The input shape with the batch: 1,3,224,224 (or 1x3x224x224).")
@click.option("--dtype", default="float32", show_default=True, help="The input dtype.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--timeout", "time_limit", type=SecondsParam(), default=60.0, show_default=True,
              help="Seconds the model's forward pass may take before the trace stops it.")
def trace_command(target: str, input_shape, dtype: str, fmt: str, time_limit: float) -> None:
    """Trace the shape through every layer of a model, up to the layer that breaks.

    MODULE:ATTR names a model, a model class or a factory callable with no arguments,
    e.g. torchvision.models:resnet18 (built with weights=None and, where the factory
    takes them, weights_backbone=None and pretrained=False: nothing is downloaded) or
    my_project/model.py:Net. Nothing is computed: the model runs on PyTorch's meta
    device. Exits 1 when a layer cannot take its input.

    \b
    Example:
        pipeguard trace torchvision.models:resnet18 --input 1,3,224,224
    """
    from ..diagnosis import dtype_name
    from ..model import trace_model

    shape = (input_shape,) if isinstance(input_shape, int) else tuple(input_shape)
    if any(d == 0 for d in shape):
        raise click.BadParameter(f"should be positive sizes, but got {list(shape)}", param_hint="--input")
    try:
        dtype = dtype_name(dtype)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--dtype") from None
    model = load_model(target)
    result = _guarded_trace(trace_model, model, shape, dtype, time_limit)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        click.echo(str(result))
    if not result.ok:
        sys.exit(1)


class _TimedOut(BaseException):
    """Raised in the forward pass at the time limit; a BaseException, so the tracer does not
    take it for the model's own error and try again."""


def _guarded_trace(trace_model: Any, model: Any, shape: tuple, dtype: str, time_limit: float) -> Any:
    """``trace_model`` under a time limit, with ``sys.exit`` in the model's forward taken
    as the model's failure: either way exit 1, naming the layer the forward pass reached."""
    reached = _LayerReached()
    previous = _alarm(time_limit)
    try:
        with reached.watching(model):
            return trace_model(model, shape, dtype=dtype)
    except _TimedOut:
        _fail(f"the forward pass was still running after {time_limit:g} s, in {reached} "
              "(a loop that never ends, or a model too slow to trace): stopped; raise --timeout if it is only slow")
    except SystemExit as exc:
        _fail(f"the model's forward called sys.exit({exc.code!r}) in {reached}: a model must raise an "
              "exception, not end the process; pipeguard traced no further")
    finally:
        _alarm(0, previous)


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def _alarm(seconds: float, handler: Any = None) -> Any:
    """Start (``seconds`` > 0) or stop a SIGALRM timer raising :class:`_TimedOut`; returns the
    previous handler. Without SIGALRM (Windows) there is no limit."""
    import signal

    if not hasattr(signal, "setitimer"):
        return None
    if seconds <= 0:
        signal.setitimer(signal.ITIMER_REAL, 0)
        if handler is not None:
            signal.signal(signal.SIGALRM, handler)
        return None

    def expire(signum, frame):
        raise _TimedOut()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    return previous


class _LayerReached:
    """The last layer whose forward began, by its path in the model (``body``, ``layer1.0.conv1``)."""

    def __init__(self) -> None:
        self.name: Optional[str] = None
        self._names: dict[int, str] = {}

    def __str__(self) -> str:
        return f"layer {self.name!r}" if self.name else "the model's own forward (before any layer)"

    def watching(self, model: Any) -> Any:
        import contextlib

        from torch.nn.modules.module import register_module_forward_pre_hook

        root_type = type(model)

        def pre(module: Any, args: Any) -> None:
            if type(module) is root_type and id(module) not in self._names:  # the tracer's copy: name its layers
                self._names = {id(m): name for name, m in module.named_modules()}
            name = self._names.get(id(module))
            if name:
                self.name = name

        @contextlib.contextmanager
        def hooked():
            handle = register_module_forward_pre_hook(pre)
            try:
                yield
            finally:
                handle.remove()

        return hooked()

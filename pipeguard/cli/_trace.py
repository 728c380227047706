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
from typing import Any

import click

from ._params import OneLineErrors, ShapeParam


def _import(module_name: str) -> Any:
    """A module by dotted name, or a ``.py`` file by path."""
    if module_name.endswith(".py") or os.sep in module_name or "/" in module_name:
        path = Path(module_name)
        if not path.is_file():
            raise click.BadParameter(f"no such file: {module_name}", param_hint="MODULE:ATTR")
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module
        spec.loader.exec_module(module)
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
    except Exception as exc:  # noqa: BLE001 - any import failure is the user's input
        raise click.BadParameter(f"cannot import {module_name!r}: {type(exc).__name__}: {exc}",
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
    except Exception as exc:  # noqa: BLE001
        raise click.BadParameter(f"{target}() raised {type(exc).__name__}: {exc}", param_hint="MODULE:ATTR") from None
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
def trace_command(target: str, input_shape, dtype: str, fmt: str) -> None:
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
    from ..diagnosis._numbers import dtype_name
    from ..model import trace_model

    shape = (input_shape,) if isinstance(input_shape, int) else tuple(input_shape)
    if any(d == 0 for d in shape):
        raise click.BadParameter(f"should be positive sizes, but got {list(shape)}", param_hint="--input")
    try:
        dtype = dtype_name(dtype)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--dtype") from None
    model = load_model(target)
    result = trace_model(model, shape, dtype=dtype)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        click.echo(str(result))
    if not result.ok:
        sys.exit(1)

"""What ``ContractCheck`` traces: the LightningModule when it has a ``forward``, else its one network.

A LightningModule need not define ``forward``: its ``training_step`` often calls
``self.net(x)``. Tracing such a module only re-raises PyTorch's "missing the required
forward function"; its network, when there is exactly one, is what the batches feed.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Optional

_LIGHTNING_PACKAGES = frozenset({"lightning", "pytorch_lightning"})


class Target(NamedTuple):
    """The module to trace (``None``: nothing can be), its name in messages, and what to log
    about the choice (``None`` when the LightningModule is traced as it is)."""

    module: Any
    name: str
    note: Optional[str]


def trace_target(pl_module: Any) -> Target:
    """``pl_module`` itself when it defines ``forward``; else its one direct submodule with
    weights (and a ``forward``); else no module, with a note that says why."""
    name = type(pl_module).__name__
    if has_forward(pl_module):
        return Target(pl_module, name, None)
    weighted = [(attr, child) for attr, child in pl_module.named_children() if _has_weights(child)]
    why = _no_network(pl_module, weighted)
    if why is None:
        attr, child = weighted[0]
        return Target(child, f"{name}.{attr}", f"{name} has no forward: tracing {name}.{attr} "
                                               f"({type(child).__name__}), its one submodule with weights, instead")
    return Target(None, name, f"{name} has no forward, so the model could not be traced: {why}; the training "
                              f"batches are still checked against the contract (define {name}.forward to trace it)")


def _no_network(pl_module: Any, weighted: list[tuple[str, Any]]) -> Optional[str]:
    """Why no one submodule is the network (``None`` when ``weighted`` holds exactly that one)."""
    if len(weighted) > 1:
        return f"it has {len(weighted)} submodules with weights ({', '.join(a for a, _ in weighted)}), not one network"
    if not weighted:
        return "it has no submodule with weights"
    attr, child = weighted[0]
    if _has_weights(pl_module, recurse=False):
        return f"it holds weights of its own besides {attr} ({type(child).__name__})"
    if not has_forward(child):
        return f"its one submodule with weights, {attr} ({type(child).__name__}), has no forward either"
    return None


def has_forward(module: Any) -> bool:
    """Whether ``forward`` is defined below ``nn.Module`` and Lightning's ``LightningModule``
    (both only raise, or call ``nn.Module``'s, which raises)."""
    from torch import nn

    for cls in type(module).__mro__:
        if "forward" in vars(cls):
            return not (cls is nn.Module or (
                cls.__name__ == "LightningModule" and cls.__module__.split(".")[0] in _LIGHTNING_PACKAGES))
    return False


def _has_weights(module: Any, recurse: bool = True) -> bool:
    return next(iter(module.parameters(recurse=recurse)), None) is not None

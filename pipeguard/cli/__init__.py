"""The ``pipeguard`` command: one module per subcommand, rendering kept apart from logic.

Subcommands are imported only when used, so ``pipeguard explain`` never loads torch.
Exit status: 0 conforms, 1 violations found (or a layer breaks), 2 usage or input error.
"""

from __future__ import annotations

import importlib

import click

# subcommand -> "module:attribute" of its click command
SUBCOMMANDS = {
    "scan": "pipeguard.cli._scan:scan_command",
    "explain": "pipeguard.cli._explain:explain_command",
    "trace": "pipeguard.cli._trace:trace_command",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return list(SUBCOMMANDS)

    def get_command(self, ctx, name):
        target = SUBCOMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pipeguard")
def main() -> None:
    """Shape contracts for PyTorch image pipelines: scan folders, explain shape errors,
    trace models."""

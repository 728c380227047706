"""The ``pipeguard`` command: one module per subcommand, rendering kept apart from logic.

Exit status: 0 conforms, 1 violations found (or a layer breaks), 2 usage or input error.
"""

import click

from .explain import explain_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pipeguard")
def main() -> None:
    """Shape contracts for PyTorch image pipelines: scan folders, explain shape errors."""


main.add_command(explain_command)

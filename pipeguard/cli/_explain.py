"""``pipeguard explain``: why two shapes or element counts disagree."""

import click

from ._params import OneLineErrors, ShapeParam


@click.command("explain", cls=OneLineErrors)
@click.option("--expected", "-e", required=True, type=ShapeParam(),
              help="What the consumer wants: a shape (64,3,32,32) or an element count.")
@click.option("--actual", "-a", required=True, type=ShapeParam(),
              help="What it got: a shape or an element count (49152).")
def explain_command(expected, actual) -> None:
    """Explain a shape mismatch with arithmetic, most likely cause first.

    \b
    Example, for "shape '[64, 3, 32, 32]' is invalid for input of size 49152":
        pipeguard explain --expected 64,3,32,32 --actual 49152
    """
    from ..diagnosis import explain

    click.echo(str(explain(expected, actual)))

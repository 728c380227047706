"""``pipeguard explain``: why two shapes or element counts disagree."""

import click

from ._params import ShapeParam


class OneLineUsageErrors(click.Command):
    """Usage errors as one ``Error: ...`` line on stderr (exit 2), without the usage block:
    a usage error raised while parsing or inside the command is shown without its context."""

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            exc.ctx = None
            raise

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            exc.ctx = None
            raise


@click.command("explain", cls=OneLineUsageErrors)
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
    from ..diagnosis._explanation import explain

    click.echo(str(explain(expected, actual)))

"""Plain help for the ``brainlike`` commands: ``CONFIG``, not typer's ``{config}`` / ``<path>``."""

from __future__ import annotations

import click
from typer.core import TyperCommand


class PlainHelpCommand(TyperCommand):
    """A typer command whose usage line and argument list show each argument's metavar only."""

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        pieces += [_name(p) for p in self.get_params(ctx) if _is_argument(p)]
        return pieces

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        params = self.get_params(ctx)
        arguments = [
            (_name(p), " ".join(x for x in (getattr(p, "help", None) or "",
                                             "[required]" if p.required else "") if x))
            for p in params if _is_argument(p)
        ]
        options = [r for p in params if not _is_argument(p)
                   for r in [p.get_help_record(ctx)] if r is not None]
        for title, rows in (("Arguments", arguments), ("Options", options)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


def _name(p: click.Parameter) -> str:
    return p.metavar or (p.name or "").upper()


def _is_argument(p: click.Parameter) -> bool:
    return p.param_type_name == "argument"

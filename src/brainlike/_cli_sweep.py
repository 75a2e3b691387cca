"""``brainlike sweep run SWEEP.yaml --out DIR`` and ``brainlike sweep status DIR``."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from ._cli_help import PlainHelpCommand


class _RunByDefault(TyperGroup):
    """``sweep X ...`` means ``sweep run X ...`` unless X is a subcommand (``status``)."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_RunByDefault,
    help="Sweeps over seeds and hyperparameters: `brainlike sweep run SWEEP.yaml --out DIR`, "
    "`brainlike sweep status DIR`.",
    short_help="Sweeps over seeds and hyperparameters.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: no {config} / <bool> placeholders
)


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@app.command("run", cls=PlainHelpCommand)
def run_cmd(
    sweep: Annotated[Path, typer.Argument(
        metavar="SWEEP_YAML", help="Sweep YAML: base config, grid/random, seeds.")],
    out: Annotated[Path, typer.Option(
        "--out", metavar="DIR", help="Sweep directory (a rerun resumes it).")],
    engine: Annotated[str, typer.Option(metavar="local|ray", help="Where runs train.")] = "local",
    address: Annotated[
        str | None, typer.Option(metavar="HOST:PORT", help="Ray head address (with --engine ray).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, metavar="N", help=(
            "Local processes training runs, this one included (default: up to CPUs / threads, "
            "started while a core is idle)."))
    ] = None,
    retries: Annotated[
        int | None,
        typer.Option(min=0, metavar="N", help="Retries of a failing run (default: the sweep's)."),
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Train every run of a sweep.

    Finished runs are skipped and unfinished ones resumed; `brainlike sweep SWEEP.yaml` is
    short for `brainlike sweep run SWEEP.yaml`.
    """
    from .experiments import ConfigError
    from .experiments.sweeps import ENGINES, load_sweep, run_sweep

    if engine not in ENGINES:
        _fail(f"--engine must be one of {list(ENGINES)}; got {engine!r}")
    try:
        spec = load_sweep(sweep)
        typer.echo(f"{len(spec.runs)} runs -> {out} (engine {engine})")
        result = run_sweep(spec, out, engine=engine, address=address, workers=workers,
                           retries=retries, echo=typer.echo, progress=progress)
    except (ConfigError, ValueError, ImportError) as e:
        _fail(str(e))
    except OSError as e:
        _fail(f"{e.filename or out}: {e.strerror or e}")
    typer.echo(
        f"{len(result.done)}/{len(spec.runs)} done ({len(result.skipped)} already), "
        f"{len(result.failed)} failed, {result.seconds:.1f} s; table {result.table}"
    )
    if result.failed:
        for name, error in result.failed.items():
            typer.echo(f"  failed {name}: {error}", err=True)
        raise typer.Exit(1)


@app.command("status", cls=PlainHelpCommand)
def status_cmd(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="Sweep directory.")],
) -> None:
    """Show how many runs are done, running, failed or pending.

    Lists every run with its state, its steps and, for a failed run, its error.
    """
    from .experiments.sweeps import sweep_status

    try:
        states = sweep_status(directory)
    except FileNotFoundError as e:
        _fail(str(e))
    counts = Counter(s.state for s in states)
    order = ("done", "running", "interrupted", "failed", "pending")
    typer.echo(", ".join(f"{counts.get(k, 0)} {k}" for k in order) + f" (of {len(states)})")
    width = max(len(s.name) for s in states)
    for s in states:
        steps = "-" if s.steps is None else str(s.steps)
        where = f"  {s.host}:{s.pid}" if s.state in ("running", "interrupted") else ""
        error = f"  {s.error}" if s.error else ""
        typer.echo(f"  {s.name:<{width}}  {s.state:<11}  steps {steps:>6}{where}{error}")

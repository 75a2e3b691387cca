"""The ``brainlike`` command line: demo, train, evaluate, report, tasks, sweep."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._cli_help import PlainHelpCommand

app = typer.Typer(
    help="Build, train and dissect brain-like neural networks (Yang & Wang 2020).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: no {config} / <bool> placeholders
)


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        from . import __version__

        typer.echo(f"brainlike {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.",
    )] = False,
) -> None:
    """Build, train and dissect brain-like neural networks (Yang & Wang 2020)."""


@app.command(cls=PlainHelpCommand)
def demo(
    out: Annotated[Path, typer.Option("--out", metavar="DIR", help="Run directory to write.")] = Path(
        "runs/demo"),
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Train a RateRNN on perceptual decisions; write figures.

    Trains a RateRNN on perceptual decision making to its criterion (or resumes it), then
    writes its figures and an HTML report (report.html) to the run directory.
    """
    from .demo import run_demo

    run_demo(out, progress=progress, echo=typer.echo)


@app.command("train", cls=PlainHelpCommand)
def train_cmd(
    config: Annotated[Path, typer.Argument(metavar="CONFIG", help="YAML run config.")],
    out: Annotated[Path, typer.Option(
        "--out", metavar="DIR", help="Run directory (resumes if it holds this run).")],
    restart: Annotated[bool, typer.Option(help="Discard an existing checkpoint in --out.")] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Train the run a config describes.

    Rerunning the same command resumes from the last checkpoint.
    """
    from .experiments import load_config, run_training
    from .training import TrainingDivergedError

    try:
        cfg = load_config(config)
        result = run_training(cfg, out, progress=progress, restart=restart)
    except TrainingDivergedError as e:
        _fail(str(e), code=1)
    except ValueError as e:  # ConfigError, RunDirectoryError, CheckpointError: user-fixable
        _fail(str(e))
    except OSError as e:
        _fail(f"{e.filename or out}: {e.strerror or e}")
    acc = "n/a" if result.accuracy is None else f"{result.accuracy:.3f}"
    typer.echo(f"{result.status} after {result.steps} steps; accuracy {acc}; run in {out}")


@app.command(cls=PlainHelpCommand)
def evaluate(
    run: Annotated[Path, typer.Argument(metavar="RUN_DIR", help="Run directory.")],
    trials: Annotated[int, typer.Option(min=1, metavar="N", help="Fresh trials to score.")] = 1000,
    seed: Annotated[int, typer.Option(min=0, metavar="SEED", help="Seed of the trials.")] = 12345,
) -> None:
    """Score a trained run on fresh trials.

    Prints the accuracy overall and by condition, and writes evaluation.json.
    """
    from .experiments import evaluate_run, load_config, write_evaluation
    from .experiments._run import accuracy_by_level

    try:
        results = evaluate_run(run, n_trials=trials, seed=seed, write=False)
        task = load_config(run / "config.yaml").task.build()
    except (FileNotFoundError, ValueError) as e:  # ConfigError, CheckpointError, ...
        _fail(str(e))
    except OSError as e:
        _fail(f"{e.filename or run}: {e.strerror or e}")
    parts = getattr(task, "tasks", None) or {task.name: task}
    for name, ev in results.items():
        typer.echo(f"{name}: accuracy {ev.accuracy:.4f} on {trials} trials (loss {ev.loss:.4f})")
        for variable, levels in accuracy_by_level(parts[name], ev).items():
            cells = ", ".join(f"{label}={row['accuracy']:.3f}" for label, row in levels.items())
            typer.echo(f"  by {variable}: {cells}")
    try:
        write_evaluation(run, results, n_trials=trials, seed=seed)
    except ValueError as e:  # the scores above stand; say why they were not saved
        _fail(f"the scores above were not saved: {e}", code=1)


@app.command(cls=PlainHelpCommand)
def report(
    run: Annotated[Path, typer.Argument(metavar="RUN_DIR", help="Run or sweep directory.")],
    out: Annotated[Path | None, typer.Option(
        "--out", metavar="FILE", help="HTML file to write [default: RUN_DIR/report.html].")] = None,
    trials: Annotated[int, typer.Option(
        min=10, metavar="N", help="Fresh trials simulated for the analyses.")] = 1000,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Write an HTML report of a run or a sweep.

    One self-contained file (figures embedded, no network needed to view it): config, model and
    its sorted weights, learning curve, accuracy by condition, psychometric curves, example trial,
    PCA trajectories and fixed points of a run; the table and plots across the runs of a sweep.
    """
    from ._report import report as write_report

    try:
        path = write_report(run, out, n_trials=trials, progress=progress)
    except (FileNotFoundError, ValueError) as e:  # ConfigError, CheckpointError, ...
        _fail(str(e))
    except OSError as e:
        _fail(f"{e.filename or run}: {e.strerror or e}")
    typer.echo(f"wrote {path}")


@app.command(cls=PlainHelpCommand)
def tasks() -> None:
    """List the registered tasks and their papers."""
    from .tasks import describe

    rows = describe()
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        typer.echo(f"{r['name']:<{width}}  {r['description']}  [{r['citation']}]")


from ._cli_sweep import app as _sweep_app  # noqa: E402

app.add_typer(_sweep_app, name="sweep")


def main() -> None:
    app()


if __name__ == "__main__":
    main()

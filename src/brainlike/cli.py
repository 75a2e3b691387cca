"""The ``brainlike`` command line: demo, train, evaluate, tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Build, train and dissect brain-like neural networks (Yang & Wang 2020).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Run directory to write.")] = Path("runs/demo"),
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Train a RateRNN on perceptual decision making, then write its figures."""
    from .demo import run_demo

    run_demo(out, progress=progress, echo=typer.echo)


@app.command("train")
def train_cmd(
    config: Annotated[Path, typer.Argument(help="YAML run config.")],
    out: Annotated[Path, typer.Option("--out", help="Run directory (resumes if it holds this run).")],
    restart: Annotated[bool, typer.Option(help="Discard an existing checkpoint in --out.")] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Train the run a config describes; rerunning resumes from the last checkpoint."""
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


@app.command()
def evaluate(
    run: Annotated[Path, typer.Argument(help="Run directory.")],
    trials: Annotated[int, typer.Option(min=1, help="Fresh trials to score.")] = 1000,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the trials.")] = 12345,
) -> None:
    """Score a trained run on fresh trials, overall and by condition."""
    import numpy as np

    from .experiments import evaluate_run, write_evaluation

    try:
        results = evaluate_run(run, n_trials=trials, seed=seed, write=False)
    except (FileNotFoundError, ValueError) as e:  # ConfigError, CheckpointError, ...
        _fail(str(e))
    except OSError as e:
        _fail(f"{e.filename or run}: {e.strerror or e}")
    for task, ev in results.items():
        typer.echo(f"{task}: accuracy {ev.accuracy:.4f} on {trials} trials (loss {ev.loss:.4f})")
        for name, values in ev.conditions.items():
            levels = np.unique(values)
            if 1 < levels.size <= 12:
                parts = ", ".join(
                    f"{v + 0.0:g}: {ev.correct[values == v].mean():.3f}" for v in levels
                )
                typer.echo(f"  by {name}: {parts}")
    try:
        write_evaluation(run, results, n_trials=trials, seed=seed)
    except ValueError as e:  # the scores above stand; say why they were not saved
        _fail(f"the scores above were not saved: {e}", code=1)


@app.command()
def tasks() -> None:
    """List the registered tasks with a one-line description and the paper."""
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

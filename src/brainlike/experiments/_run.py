"""Run directories: a config, a checkpoint, a metrics log and a summary, all resumable.

Layout of a run directory::

    config.yaml               the validated config (written first; a rerun must match it)
    checkpoint.safetensors    weights + optimizer state (atomic, at every evaluation)
    metrics.jsonl             one JSON row per training step
    summary.json              written when training ends (status, steps, accuracy, seconds)
    figures/                  written by ``brainlike demo`` and the analyses
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from ..models import RecurrentModel
from ..tasks import Task
from ..training import Evaluation, TrainResult, evaluate, load_model_state, train
from ..training._checkpoint import CHECKPOINT, atomic_write_text
from ._config import ConfigError, RunConfig, dump_config, load_config

CONFIG = "config.yaml"
SUMMARY = "summary.json"


@dataclass(frozen=True)
class Run:
    """A run directory opened for analysis: its config, task and (trained) model."""

    directory: Path
    config: RunConfig
    task: Task
    model: RecurrentModel
    summary: dict | None


def build_model(config: RunConfig, task: Task) -> RecurrentModel:
    """The untrained model a config describes, sized for ``task``: ``models.make(type, ...)``
    with the section's fields, the task's ``n_inputs``, ``n_outputs`` and ``dt``."""
    return config.model.build(task)


def run_training(
    config: RunConfig, out: str | Path, *, progress: bool = False, restart: bool = False
) -> TrainResult:
    """Train the run that ``config`` describes in directory ``out``.

    If ``out`` already holds a run, it must have the same config: training resumes from its
    checkpoint (or returns at once if it finished). ``restart=True`` starts it over instead.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / CONFIG
    if path.exists() and not restart:
        existing = load_config(path)
        if existing != config:
            raise ConfigError(
                f"{out} holds a run with another config ({path}); choose another --out "
                "or restart it"
            )
    if restart:
        for name in (CHECKPOINT, SUMMARY, "metrics.jsonl"):
            (out / name).unlink(missing_ok=True)
    atomic_write_text(path, dump_config(config))
    torch.set_num_threads(config.threads)
    task = config.task.build()
    model = build_model(config, task)
    t = config.training
    result = train(
        model, task,
        steps=t.steps, batch_size=t.batch_size, optimizer=t.optimizer, lr=t.lr,
        weight_decay=t.weight_decay, momentum=t.momentum, grad_clip=t.grad_clip,
        schedule=t.schedule, penalties=config.penalties.build(), eval_every=t.eval_every,
        eval_trials=t.eval_trials, criterion=config.criterion_for(task), seed=t.seed,
        out=out, resume=True, progress=progress,
    )
    summary = {
        "status": result.status,
        "steps": result.steps,
        "accuracy": result.accuracy,
        "criterion": config.criterion_for(task),
        "ceiling": task.ceiling,
        "train_seconds_last_session": result.train_seconds,
        "eval_seconds_last_session": result.eval_seconds,
    }
    atomic_write_text(out / SUMMARY, json.dumps(summary, indent=2))
    return result


def load_run(directory: str | Path) -> Run:
    """Open a run directory: rebuild task and model and load the checkpoint's weights."""
    directory = Path(directory)
    if not (directory / CONFIG).is_file():
        raise FileNotFoundError(f"{directory} is not a run directory (no {CONFIG})")
    config = load_config(directory / CONFIG)
    task = config.task.build()
    model = build_model(config, task)
    ckpt = directory / CHECKPOINT
    if not ckpt.is_file():
        raise FileNotFoundError(f"{directory} has no checkpoint yet ({CHECKPOINT})")
    load_model_state(ckpt, model)
    model.eval()
    summary_path = directory / SUMMARY
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else None
    return Run(directory, config, task, model, summary)


def evaluate_run(
    directory: str | Path, *, n_trials: int = 1000, seed: int = 12345
) -> dict[str, Evaluation]:
    """Score a run's model on fresh trials of each of its tasks; write ``evaluation.json``.

    Returns
    -------
    dict of str to Evaluation
        One entry per task: the run's task, or each task of a multi-task run.
    """
    run = load_run(directory)
    torch.set_num_threads(run.config.threads)
    parts = getattr(run.task, "tasks", None) or {run.task.name: run.task}
    results = {
        name: evaluate(run.model, task, n_trials=n_trials, seed=seed + k)
        for k, (name, task) in enumerate(parts.items())
    }
    report = {
        "n_trials": n_trials,
        "seed": seed,
        "tasks": {
            name: {"accuracy": ev.accuracy, "loss": ev.loss, "ceiling": parts[name].ceiling}
            for name, ev in results.items()
        },
    }
    atomic_write_text(run.directory / "evaluation.json", json.dumps(report, indent=2))
    return results

"""Run directories: a config, a checkpoint, a metrics log and a summary, all resumable.

Layout of a run directory::

    config.yaml               the validated config (a rerun must match it)
    checkpoint.safetensors    weights + optimizer state (atomic, checksummed, at every evaluation)
    metrics.jsonl             one JSON row per training step
    summary.json              written when training ends (status, steps, accuracy, seconds)
    .lock                     the pid of the process writing the run (an OS lock)
    figures/                  written by ``brainlike demo`` and the analyses
    report.html               written by ``brainlike report`` (and ``brainlike demo``)

``train(out=...)`` from Python writes the same ``config.yaml`` and ``summary.json`` (where a run
config can describe its run), so both kinds of run directory open the same way.

Nothing is written before the config, the model and the training arguments are validated and
the directory's existing run (if any) is known to be this one: a refused start leaves the
directory as it was (a directory it created is removed again).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..models import RecurrentModel
from ..tasks import Task
from ..training import Evaluation, TrainResult, evaluate, load_model_state
from ..training._checkpoint import CHECKPOINT, atomic_write_text
from ..training._session import RunDirectoryError, lock_run_directory, run_summary
from ._config import ConfigError, RunConfig, dump_config, load_config

CONFIG = "config.yaml"
SUMMARY = "summary.json"
EVALUATION = "evaluation.json"


@dataclass(frozen=True)
class Run:
    """A run directory opened for analysis: its config, task and (trained) model."""

    directory: Path
    config: RunConfig
    task: Task
    model: RecurrentModel
    summary: dict | None

    def __repr__(self) -> str:
        """One line: the directory, the task, the model's kind and size, and how it ended."""
        s = self.summary or {}
        acc = s.get("accuracy")
        ended = (f", status={s.get('status')!r}, steps={s.get('steps')}, "
                 f"accuracy={'None' if acc is None else f'{acc:.4f}'}") if s else ""
        return (f"Run(directory={str(self.directory)!r}, task={self.task.name!r}, "
                f"model={type(self.model).__name__}(n_hidden={self.model.n_hidden}){ended})")


def build_model(config: RunConfig, task: Task) -> RecurrentModel:
    """The untrained model a config describes, sized for ``task``: ``models.make(type, ...)``
    with the section's fields, the task's ``n_inputs``, ``n_outputs`` and ``dt``."""
    return config.model.build(task)


def _model_for(config: RunConfig, task: Task) -> RecurrentModel:
    """:func:`build_model`, with a failure (e.g. no memory for the weights) as a ConfigError."""
    try:
        return build_model(config, task)
    except (RuntimeError, MemoryError, OverflowError, ValueError, TypeError) as e:
        why = " ".join(str(e).split())
        raise ConfigError(f"model: cannot build it ({type(e).__name__}: {why})") from None


def _differences(a: dict, b: dict, prefix: str = "") -> list[str]:
    out = []
    for key in sorted(set(a) | set(b), key=str):
        x, y = a.get(key), b.get(key)
        if isinstance(x, dict) and isinstance(y, dict):
            out.extend(_differences(x, y, f"{prefix}{key}."))
        elif x != y:
            out.append(f"{prefix}{key}")
    return out


def _check_same_run(config: RunConfig, out: Path) -> None:
    """Refuse to continue a run directory that holds another run.

    A config that differs from the stored one only in ``training.steps`` continues the run
    (training longer; the checkpoint's own check refuses it where the schedule depends on
    ``steps``). A checkpoint without a ``config.yaml`` is refused: what it was trained with
    (the model's seed, for one) cannot be verified.
    """
    path = out / CONFIG
    if path.exists():
        try:
            existing = load_config(path)
        except ConfigError as e:
            raise ConfigError(
                f"{out} holds a {CONFIG} that does not validate ({e}); restart the run "
                "(--restart) or choose another --out"
            ) from None
        diff = _differences(existing.to_dict(), config.to_dict())
        if diff and diff != ["training.steps"]:
            raise ConfigError(
                f"{out} holds a run with another config ({path}; it differs in {diff}); "
                "choose another --out or restart it (--restart)"
            )
    elif (out / CHECKPOINT).exists():
        raise ConfigError(
            f"{out} holds a checkpoint but no {CONFIG}, so the run it belongs to cannot be "
            f"verified; restore {CONFIG}, or restart the run (--restart) to discard it"
        )


def read_summary(directory: str | Path) -> dict | None:
    """A run's ``summary.json`` (None while it has none); a damaged one is a named error."""
    path = Path(directory) / SUMMARY
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except (ValueError, OSError) as e:
        raise RunDirectoryError(
            f"{path} is damaged ({e}); rerun training on this run to rewrite it"
        ) from None
    if not isinstance(data, dict):
        raise RunDirectoryError(f"{path} is damaged (not a JSON object); rerun training on "
                                "this run to rewrite it")
    return data


def run_training(
    config: RunConfig, out: str | Path, *, progress: bool = False, restart: bool = False
) -> TrainResult:
    """Train the run that ``config`` describes in directory ``out``.

    If ``out`` already holds a run, it must have the same config: training resumes from its
    checkpoint (or returns at once if it finished). A config that raises only
    ``training.steps`` continues a finished run for more steps (where the schedule allows it).
    ``restart=True`` starts it over instead. The directory is locked while training.

    Raises
    ------
    ConfigError
        The model cannot be built, or ``out`` holds another run.
    RunDirectoryError
        ``out`` is locked by another process, not writable, or its checkpoint or log is
        damaged (``restart=True`` discards them).
    """
    out = Path(out)
    # Everything that can be refused is checked before anything is written.
    task = config.task.build()
    model = _model_for(config, task)
    criterion = config.criterion_for(task)
    penalties = config.penalties.build()
    text = dump_config(config)
    with lock_run_directory(out) as directory:
        if not restart:
            _check_same_run(config, out)

        def start() -> None:  # once the training function has checked the run directory
            (out / SUMMARY).unlink(missing_ok=True)
            atomic_write_text(out / CONFIG, text)

        directory.defer(start)
        torch.set_num_threads(config.threads)
        result = config.training.train(
            model, task, out=out, criterion=criterion, penalties=penalties,
            resume=not restart, progress=progress,
        )
        summary = run_summary(result, criterion, task.ceiling)
        atomic_write_text(out / SUMMARY, json.dumps(summary, indent=2))
    return result


def load_run(directory: str | Path) -> Run:
    """Open a run directory: rebuild task and model and load the checkpoint's weights."""
    directory = Path(directory)
    if not (directory / CONFIG).is_file():
        raise FileNotFoundError(f"{directory} is not a run directory (no {CONFIG})")
    config = load_config(directory / CONFIG)
    task = config.task.build()
    model = _model_for(config, task)
    ckpt = directory / CHECKPOINT
    if not ckpt.is_file():
        raise FileNotFoundError(f"{directory} has no checkpoint yet ({CHECKPOINT})")
    load_model_state(ckpt, model)
    model.eval()
    return Run(directory, config, task, model, read_summary(directory))


def evaluate_run(
    directory: str | Path, *, n_trials: int = 1000, seed: int = 12345, write: bool = True
) -> dict[str, Evaluation]:
    """Score a run's model on fresh trials of each of its tasks; write ``evaluation.json``.

    Parameters
    ----------
    directory : path
    n_trials, seed : int
        Trials per task and their seed.
    write : bool
        Write ``evaluation.json`` (see :func:`write_evaluation`); ``False`` only scores.

    Returns
    -------
    dict of str to Evaluation
        One entry per task: the run's task, or each task of a multi-task run.
    """
    run = load_run(directory)
    torch.set_num_threads(run.config.threads)
    parts = getattr(run.task, "tasks", None) or {run.task.name: run.task}
    results = {  # a data set's held-out split where the task has one
        name: evaluate(run.model, getattr(task, "evaluation_task", task), n_trials=n_trials,
                       seed=seed + k)
        for k, (name, task) in enumerate(parts.items())
    }
    if write:
        write_evaluation(directory, results, n_trials=n_trials, seed=seed)
    return results


#: A condition variable is broken down by level when it takes 2 to this many values.
MAX_LEVELS = 12


def accuracy_by_level(task: Any, evaluation: Evaluation) -> dict[str, dict[str, dict]]:
    """Accuracy per level of each task variable with 2 to :data:`MAX_LEVELS` values.

    Levels are named by :meth:`brainlike.tasks.Task.level_label` (``"motion"``/``"colour"`` for
    ``context``, ``"choice_1"`` for ``ground_truth``, the number otherwise), in the order of
    their values.

    Returns
    -------
    dict
        ``{variable: {label: {"value": v, "accuracy": a, "n_trials": n}}}``.
    """
    label = getattr(task, "level_label", None)
    out: dict[str, dict[str, dict]] = {}
    for name, values in evaluation.conditions.items():
        values = np.asarray(values)
        if values.dtype.kind not in "biuf":
            continue
        levels = np.unique(values)
        if not 1 < levels.size <= MAX_LEVELS:
            continue
        rows = {}
        for v in levels:
            sel = values == v
            key = label(name, v) if label is not None else f"{v + 0.0:g}"
            rows[key] = {"value": v.item() + 0, "accuracy": float(evaluation.correct[sel].mean()),
                         "n_trials": int(sel.sum())}
        out[name] = rows
    return out


def write_evaluation(
    directory: str | Path, results: dict[str, Evaluation], *, n_trials: int, seed: int
) -> Path:
    """Write the scores of :func:`evaluate_run` to ``directory/evaluation.json``.

    Each task's entry holds its accuracy, loss and ceiling and, under ``by_condition``, the
    accuracy per level of its task variables (:func:`accuracy_by_level`).

    Raises
    ------
    RunDirectoryError
        The file cannot be written (a read-only run directory, a full disk); the message says
        why.
    """
    directory = Path(directory)
    run_config = load_config(directory / CONFIG)
    task = run_config.task.build()
    parts = getattr(task, "tasks", None) or {task.name: task}
    report = {
        "n_trials": n_trials,
        "seed": seed,
        "tasks": {
            name: {"accuracy": ev.accuracy, "loss": ev.loss, "ceiling": parts[name].ceiling,
                   "by_condition": accuracy_by_level(parts[name], ev)}
            for name, ev in results.items()
        },
    }
    path = directory / EVALUATION
    try:
        atomic_write_text(path, json.dumps(report, indent=2))
    except OSError as e:
        raise RunDirectoryError(f"could not write {path}: {e.strerror or e}") from None
    return path

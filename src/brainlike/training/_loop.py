"""Supervised training by backpropagation through time (Yang & Wang 2020, Section 2)."""

from __future__ import annotations

import inspect
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from .. import _checks
from ._checkpoint import CHECKPOINT, atomic_write_text, load_checkpoint, save_checkpoint
from ._losses import task_loss

METRICS = "metrics.jsonl"
OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "cosine", "linear")
# Independent random streams derived from (seed, stream, step): a resumed run draws exactly the
# trials and noise an uninterrupted run would have drawn.
_TRAIN_TRIALS, _EVAL_TRIALS, _TRAIN_NOISE, _EVAL_NOISE = range(4)


class TrainingDivergedError(FloatingPointError):
    """The loss or the gradient became NaN or infinite; the weights were not updated."""


@dataclass(frozen=True)
class StepInfo:
    """What a callback sees after each optimization step.

    ``metrics`` holds this step's row of the log: ``loss``, ``task_loss``, ``penalty``, ``lr``,
    ``grad_norm`` and, on evaluation steps, ``accuracy`` and ``eval_loss``.
    """

    step: int
    metrics: Mapping[str, float]
    model: nn.Module


@dataclass(frozen=True)
class Evaluation:
    """Performance on a batch of fresh trials.

    Attributes
    ----------
    accuracy : float
        Fraction of trials scored correct by ``task.score``.
    loss : float
        Task loss on these trials.
    correct : ndarray, shape (n_trials,)
    decision : ndarray, shape (n_trials,)
    conditions : mapping of str to ndarray, each (n_trials,)
        The trials' task variables, to break performance down by condition.
    """

    accuracy: float
    loss: float
    correct: np.ndarray
    decision: np.ndarray
    conditions: Mapping[str, np.ndarray]


@dataclass(frozen=True)
class TrainResult:
    """Outcome of :func:`train`.

    Attributes
    ----------
    status : {"criterion", "max_steps", "stopped"}
        Why training ended: the evaluation accuracy reached ``criterion``, the step budget ran
        out, or a callback asked to stop.
    steps : int
        Optimization steps taken in total (including steps before a resume).
    history : dict of str to ndarray
        Per-step log, each array of length ``steps``: ``step``, ``loss``, ``task_loss``,
        ``penalty``, ``lr``, ``grad_norm``; ``accuracy`` and ``eval_loss`` (and, for a
        multi-task, ``accuracy_mean`` and ``accuracy/<task>``) are NaN off evaluation steps.
    accuracy : float or None
        Accuracy at the last evaluation.
    train_seconds, eval_seconds : float
        Wall time spent in this call on training steps and on evaluations.
    directory : Path or None
        Where checkpoint and metrics were written.
    """

    status: str
    steps: int
    history: dict[str, np.ndarray]
    accuracy: float | None
    train_seconds: float
    eval_seconds: float
    directory: Path | None = None


def _to_tensors(batch: Any) -> tuple[Tensor, Tensor, Tensor]:
    # torch.tensor copies: TrialBatch arrays are read-only and must stay so.
    inputs = torch.tensor(batch.inputs, dtype=torch.float32)
    if batch.target_kind == "class":
        targets = torch.tensor(batch.targets, dtype=torch.long)
    else:
        targets = torch.tensor(batch.targets, dtype=torch.float32)
    # Per-output weights, where a task gives them, replace the per-step mask (value tasks).
    mask = batch.mask if getattr(batch, "output_mask", None) is None else batch.output_mask
    return inputs, targets, torch.tensor(mask, dtype=torch.float32)


def _generator(seed: int, stream: int, step: int) -> torch.Generator:
    state = np.random.SeedSequence([seed, stream, step]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 31 | int(state[1]) >> 1)


def evaluate(model: nn.Module, task: Any, *, n_trials: int = 500, seed: int = 0) -> Evaluation:
    """Score ``model`` on ``n_trials`` fresh trials of ``task`` by the task's own rule.

    Parameters
    ----------
    model : nn.Module
        A recurrent model taking ``(B, T, I)`` inputs and returning ``(outputs, activity, state)``.
    task : Task
    n_trials : int
    seed : int
        Seed of the trials and of the recurrent noise.

    Returns
    -------
    Evaluation
    """
    _checks.positive_int("n_trials", n_trials, "evaluate")
    batch = task.generate(n_trials, seed=[seed, _EVAL_TRIALS, 0])
    inputs, targets, mask = _to_tensors(batch)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(inputs, generator=_generator(seed, _EVAL_NOISE, 0))
            loss = task_loss(out.outputs, targets, mask, batch.target_kind).item()
    finally:
        model.train(was_training)
    score = task.score(out.outputs.numpy(), batch)
    return Evaluation(
        float(score.accuracy), loss, score.correct, score.decision, dict(batch.conditions)
    )


def _make_optimizer(
    name: str, params: Sequence[Tensor], lr: float, weight_decay: float, momentum: float
) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    cls = torch.optim.Adam if name == "adam" else torch.optim.AdamW
    # foreach: one kernel launch per state tensor type instead of per parameter. (The fused
    # kernel is faster still, but a run resumed from a checkpoint then drifts from an
    # uninterrupted one at the first update; foreach resumes bitwise.)
    return cls(params, lr=lr, weight_decay=weight_decay, foreach=True)


def _make_schedule(name: str, optimizer: torch.optim.Optimizer, steps: int) -> Any:
    if name == "constant":
        return None
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda k: max(0.0, 1.0 - k / steps))


def _read_metrics(directory: Path, up_to: int) -> list[dict]:
    path = directory / METRICS
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in rows if r["step"] <= up_to]


def _json_number(x: float) -> float | None:
    return x if math.isfinite(x) else None


def train(
    model: nn.Module,
    task: Any,
    *,
    steps: int = 5000,
    batch_size: int = 64,
    optimizer: str = "adam",
    lr: float = 3e-3,
    weight_decay: float = 0.0,
    momentum: float = 0.9,
    grad_clip: float | None = 1.0,
    schedule: str = "constant",
    penalties: Sequence[Callable[[nn.Module, Tensor], Tensor]] = (),
    eval_every: int = 50,
    eval_trials: int = 500,
    criterion: float | None = None,
    seed: int = 0,
    callbacks: Sequence[Callable[[StepInfo], bool | None]] = (),
    out: str | Path | None = None,
    resume: bool = True,
    progress: bool = False,
) -> TrainResult:
    """Train a recurrent model on a task with masked BPTT.

    Each step draws a fresh batch of trials (``task.generate``), runs the model, and minimizes the
    task's masked loss (cross-entropy for class targets, MSE for value targets) plus the
    ``penalties``. Every ``eval_every`` steps the model is scored by ``task.score`` on
    ``eval_trials`` fresh trials; training stops when that accuracy reaches ``criterion``.

    Parameters
    ----------
    model : nn.Module
        Takes inputs ``(B, T, I)`` (and ``generator=``) and returns ``(outputs, activity,
        final_state)``, like :class:`brainlike.models.RateRNN`.
    task : Task or MultiTask
        A :mod:`brainlike.tasks` task, or several behind one object with a ``tasks`` mapping
        (:class:`brainlike.tasks.MultiTask`): each step then trains on the batch it draws, and
        every evaluation scores each task on its own trials.
    steps : int
        Maximum number of optimization steps (in total, counting those before a resume).
    batch_size : int
        Trials per step.
    optimizer : {"adam", "adamw", "sgd"}
        ``"sgd"`` uses ``momentum``.
    lr : float
        Learning rate.
    weight_decay : float
        Decoupled for AdamW, L2 for Adam and SGD.
    grad_clip : float or None
        Clip the global gradient norm to this value.
    schedule : {"constant", "cosine", "linear"}
        Learning-rate schedule over ``steps``.
    penalties : sequence of callables
        ``penalty(model, activity) -> scalar``, e.g. :class:`WeightPenalty`, :class:`RatePenalty`.
    eval_every : int
        Steps between evaluations (and checkpoints, when ``out`` is given).
    eval_trials : int
        Fresh trials per evaluation.
    criterion : float, optional
        Stop when the evaluation accuracy is at least this (for a multi-task: the worst
        task's). Set it from ``task.ceiling`` when the task has one: an accuracy above the ideal
        observer's is reached only by chance.
    seed : int
        Seed of the trial and noise streams. The model's initialization has its own seed.
    callbacks : sequence of callables
        Called with a :class:`StepInfo` after every step; returning True stops training.
    out : path, optional
        Run directory: ``checkpoint.safetensors`` (atomic) and ``metrics.jsonl`` are written
        there at every evaluation.
    resume : bool
        If ``out`` holds a checkpoint of a run with the same settings, continue from it; the
        continued run takes exactly the steps an uninterrupted run would have taken.
    progress : bool
        Show a progress bar.

    Returns
    -------
    TrainResult

    Raises
    ------
    TrainingDivergedError
        When the loss or the gradient norm is not finite. The weights keep their last finite
        values and the last checkpoint in ``out`` is untouched.

    Examples
    --------
    >>> from brainlike.models import RateRNN
    >>> from brainlike.tasks import make
    >>> from brainlike.training import train
    >>> task = make("perceptual_decision", dt=100.0)
    >>> model = RateRNN(task.n_inputs, 16, task.n_outputs, dt=100.0, tau=100.0, seed=0)
    >>> result = train(model, task, steps=3, batch_size=8, eval_every=3, eval_trials=20)
    >>> result.status, result.steps, len(result.history["loss"])
    ('max_steps', 3, 3)
    """
    owner = "train"
    steps = _checks.positive_int("steps", steps, owner)
    batch_size = _checks.positive_int("batch_size", batch_size, owner)
    eval_every = _checks.positive_int("eval_every", eval_every, owner)
    eval_trials = _checks.positive_int("eval_trials", eval_trials, owner)
    _checks.one_of("optimizer", optimizer, owner, OPTIMIZERS)
    _checks.one_of("schedule", schedule, owner, SCHEDULES)
    _checks.in_range("lr", lr, owner, 0.0, math.inf)
    _checks.in_range("weight_decay", weight_decay, owner, 0.0, math.inf, low_open=False)
    _checks.in_range("momentum", momentum, owner, 0.0, 1.0, low_open=False)
    if grad_clip is not None:
        _checks.in_range("grad_clip", grad_clip, owner, 0.0, math.inf)
    if criterion is not None:
        _checks.in_range("criterion", criterion, owner, 0.0, 1.0, high_open=False)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"The 'seed' parameter of train must be an int >= 0. Got {seed!r} instead.")
    n_in = getattr(model, "n_input", None)
    if n_in is not None and n_in != task.n_inputs:
        raise ValueError(
            f"model.n_input ({n_in}) must equal task.n_inputs ({task.n_inputs}) of task "
            f"{task.name!r}"
        )
    n_out = getattr(model, "n_output", None)
    if n_out is not None and n_out != task.n_outputs:
        raise ValueError(
            f"model.n_output ({n_out}) must equal task.n_outputs ({task.n_outputs}) of task "
            f"{task.name!r}"
        )

    settings = {
        "task": task.name, "task_params": task.params, "steps": steps, "batch_size": batch_size,
        "optimizer": optimizer, "lr": lr, "weight_decay": weight_decay, "momentum": momentum,
        "grad_clip": grad_clip, "schedule": schedule, "eval_every": eval_every,
        "eval_trials": eval_trials, "criterion": criterion, "seed": seed,
        "penalties": [_describe(p) for p in penalties],
    }
    params = [p for p in model.parameters() if p.requires_grad]
    opt = _make_optimizer(optimizer, params, lr, weight_decay, momentum)
    sched = _make_schedule(schedule, opt, steps)

    directory = Path(out) if out is not None else None
    rows: list[dict] = []
    start = 0
    status = None
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
        ckpt = directory / CHECKPOINT
        if ckpt.exists() and resume:
            state = load_checkpoint(ckpt, model, opt, sched)
            if state["settings"] != json.loads(json.dumps(settings)):
                diff = sorted(
                    k for k in settings
                    if state["settings"].get(k) != json.loads(json.dumps(settings[k]))
                )
                raise ValueError(
                    f"{directory} holds a checkpoint of a run with other settings ({diff}); "
                    "use another out directory or resume=False to start over"
                )
            start = state["step"]
            status = state.get("status")
            rows = _read_metrics(directory, start)
            atomic_write_text(directory / METRICS, "".join(json.dumps(r) + "\n" for r in rows))
        elif (directory / METRICS).exists():
            (directory / METRICS).unlink()

    def checkpoint(step: int, pending: list[dict], status: str | None) -> None:
        if directory is None:
            return
        with open(directory / METRICS, "a") as f:
            f.writelines(json.dumps(r) + "\n" for r in pending)
            f.flush()
        save_checkpoint(
            directory, model, opt, sched,
            {"step": step, "status": status, "settings": settings},
        )
        pending.clear()

    last_accuracy = next(
        (r["accuracy"] for r in reversed(rows) if r.get("accuracy") is not None), None
    )
    train_seconds = eval_seconds = 0.0
    pending: list[dict] = []
    model.train()
    bar = tqdm(total=steps, initial=start, disable=not progress, desc="train", leave=False)
    step = start
    try:
        while status is None and step < steps:
            t0 = time.perf_counter()
            batch = task.generate(batch_size, seed=[seed, _TRAIN_TRIALS, step])
            inputs, targets, mask = _to_tensors(batch)
            out_ = model(inputs, generator=_generator(seed, _TRAIN_NOISE, step))
            main = task_loss(out_.outputs, targets, mask, batch.target_kind)
            penalty = sum((p(model, out_.activity) for p in penalties), main.new_zeros(()))
            loss = main + penalty
            if not torch.isfinite(loss):
                raise TrainingDivergedError(
                    f"loss became {loss.item()} at step {step + 1}; the weights were not updated"
                    + _last_good(directory)
                )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            max_norm = grad_clip if grad_clip is not None else math.inf
            grad_norm = float(torch.nn.utils.clip_grad_norm_(params, max_norm))
            if not math.isfinite(grad_norm):
                raise TrainingDivergedError(
                    f"gradient norm became {grad_norm} at step {step + 1}; the weights were not "
                    "updated" + _last_good(directory)
                )
            lr_now = opt.param_groups[0]["lr"]
            opt.step()
            if sched is not None:
                sched.step()
            step += 1
            train_seconds += time.perf_counter() - t0
            row: dict[str, Any] = {
                "step": step, "loss": loss.item(), "task_loss": main.item(),
                "penalty": penalty.item(), "lr": lr_now, "grad_norm": grad_norm,
            }
            if step % eval_every == 0 or step == steps:
                t1 = time.perf_counter()
                row.update(_evaluate_row(model, task, eval_trials, _eval_seed(seed, step)))
                eval_seconds += time.perf_counter() - t1
                last_accuracy = row["accuracy"]
                if criterion is not None and last_accuracy >= criterion:
                    status = "criterion"
            pending.append(row)
            rows.append(row)
            bar.update(1)
            if "accuracy" in row:
                bar.set_postfix(loss=f"{row['loss']:.4f}", acc=f"{row['accuracy']:.3f}")
            info = StepInfo(step, row, model)
            if any(bool(cb(info)) for cb in callbacks) and status is None:
                status = "stopped"
            if status is None and step == steps:
                status = "max_steps"
            if "accuracy" in row or status is not None:
                checkpoint(step, pending, status)
    finally:
        bar.close()
    return TrainResult(
        status=status or "max_steps",
        steps=step,
        history=_history(rows),
        accuracy=last_accuracy,
        train_seconds=train_seconds,
        eval_seconds=eval_seconds,
        directory=directory,
    )


def _evaluate_row(model: nn.Module, task: Any, n_trials: int, seed: int) -> dict[str, Any]:
    """Evaluation metrics of one log row.

    For a multi-task (an object with a ``tasks`` mapping, such as
    :class:`brainlike.tasks.MultiTask`) every task is scored on its own trials:
    ``accuracy/<name>`` and ``eval_loss/<name>`` per task, ``accuracy`` the worst task's (what
    the criterion applies to, as in Yang et al. 2019) and ``accuracy_mean`` their mean.
    """
    subtasks = getattr(task, "tasks", None)
    if subtasks is None:
        ev = evaluate(model, task, n_trials=n_trials, seed=seed)
        return {"accuracy": ev.accuracy, "eval_loss": _json_number(ev.loss)}
    row: dict[str, Any] = {}
    accuracies, losses = [], []
    for k, (name, sub) in enumerate(subtasks.items()):
        ev = evaluate(model, sub, n_trials=n_trials, seed=seed + k)
        row[f"accuracy/{name}"] = ev.accuracy
        row[f"eval_loss/{name}"] = _json_number(ev.loss)
        accuracies.append(ev.accuracy)
        losses.append(ev.loss)
    row["accuracy"] = min(accuracies)
    row["accuracy_mean"] = float(np.mean(accuracies))
    row["eval_loss"] = _json_number(float(np.mean(losses)))
    return row


def _describe(penalty: Any) -> str:
    """A penalty's identity for the resume check, the same in every process: a function by
    its qualified name (its repr holds a memory address), anything else by its repr."""
    if inspect.isfunction(penalty) or inspect.ismethod(penalty):
        return f"{penalty.__module__}.{penalty.__qualname__}"
    return repr(penalty)


def _eval_seed(seed: int, step: int) -> int:
    return int(np.random.SeedSequence([seed, _EVAL_TRIALS, step]).generate_state(1)[0])


def _last_good(directory: Path | None) -> str:
    if directory is None or not (directory / CHECKPOINT).exists():
        return "."
    return f"; the last good checkpoint is {directory / CHECKPOINT}"


_COLUMNS = ("step", "loss", "task_loss", "penalty", "lr", "grad_norm", "accuracy", "eval_loss")


def _history(rows: list[dict]) -> dict[str, np.ndarray]:
    extra = sorted({k for r in rows for k in r} - set(_COLUMNS))
    hist = {}
    for key in (*_COLUMNS, *extra):
        values = [r.get(key) for r in rows]
        if key == "step":
            hist[key] = np.array(values, dtype=np.int64)
        else:
            hist[key] = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    return hist

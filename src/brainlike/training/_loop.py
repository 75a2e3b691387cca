"""Supervised training by backpropagation through time (Yang & Wang 2020, Section 2).

The loop below is BPTT's own update only; the run directory, resume, checkpoints, metrics, the
NaN guard, evaluations, callbacks and the result come from :class:`._session.Session`.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from .. import _checks
from ._losses import NORMALIZATIONS
from ._regularizers import takes_valid
from ._session import (
    METRICS,
    TRAIN_NOISE,
    TRAIN_TRIALS,
    Evaluation,
    Session,
    StepInfo,
    TrainingDivergedError,
    TrainResult,
    batch_loss,
    evaluate,
    generator,
    valid_steps,
)

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "cosine", "linear")


def _make_optimizer(
    name: str, params: Sequence[Tensor], lr: float, weight_decay: float, momentum: float
) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    cls = torch.optim.Adam if name == "adam" else torch.optim.AdamW
    # foreach: one kernel launch per state tensor type instead of per parameter. (The fused
    # kernel is faster still, and resumes bitwise once the state gets its parameter's strides,
    # but the demo network it trained (demo.py, seed 0) had no fixed point at 0 % coherence,
    # where foreach's has 3: issue 19 kept foreach.)
    return cls(params, lr=lr, weight_decay=weight_decay, foreach=True)


def _clip_and_norm(params: Sequence[Tensor], max_norm: float) -> Tensor:
    """``torch.nn.utils.clip_grad_norm_(params, max_norm)`` for parameters on one device and of
    one dtype (the same operations, hence the same values), without its per-call grouping;
    ``max_norm = inf`` measures the norm only. Returns the total norm (a tensor: no host sync).
    """
    grads = [p.grad for p in params if p.grad is not None]
    if not grads or len({(g.device, g.dtype) for g in grads}) > 1:
        return torch.nn.utils.clip_grad_norm_(params, max_norm)
    total_norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads, 2.0)), 2.0)
    if max_norm != math.inf:
        clip_coef = max_norm / (total_norm + 1e-6)
        torch._foreach_mul_(grads, torch.clamp(clip_coef, max=1.0))
    return total_norm


def _make_schedule(name: str, optimizer: torch.optim.Optimizer, steps: int) -> Any:
    if name == "constant":
        return None
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda k: max(0.0, 1.0 - k / steps))


def _describe(penalty: Any) -> str:
    """A penalty's identity for the resume check, the same in every process: a function by
    its qualified name (its repr holds a memory address), anything else by its repr."""
    if inspect.isfunction(penalty) or inspect.ismethod(penalty):
        return f"{penalty.__module__}.{penalty.__qualname__}"
    return repr(penalty)


def check_hyperparameters(
    owner: str, *, steps: Any, batch_size: Any, eval_every: Any, eval_trials: Any,
    optimizer: Any, schedule: Any, lr: Any, weight_decay: Any, momentum: Any, grad_clip: Any,
    criterion: Any, loss_normalization: Any,
) -> dict[str, Any]:
    """Validate the hyperparameters ``train`` and ``train_ensemble`` share; return them cleaned.

    Factors and rates stay below the largest float32 (3.4e38): the weights are float32, and a
    larger factor overflows them at the first update.
    """
    top = _checks.FLOAT32_MAX
    out = {
        "steps": _checks.positive_int("steps", steps, owner),
        "batch_size": _checks.positive_int("batch_size", batch_size, owner),
        "eval_every": _checks.positive_int("eval_every", eval_every, owner),
        "eval_trials": _checks.positive_int("eval_trials", eval_trials, owner),
        "optimizer": _checks.one_of("optimizer", optimizer, owner, OPTIMIZERS),
        "schedule": _checks.one_of("schedule", schedule, owner, SCHEDULES),
        "lr": _checks.in_range("lr", lr, owner, 0.0, top),
        "weight_decay": _checks.in_range("weight_decay", weight_decay, owner, 0.0, top,
                                         low_open=False),
        "momentum": _checks.in_range("momentum", momentum, owner, 0.0, 1.0, low_open=False,
                                     high_open=False),
        "grad_clip": None if grad_clip is None else _checks.in_range(
            "grad_clip", grad_clip, owner, 0.0, top),
        "criterion": None if criterion is None else _checks.in_range(
            "criterion", criterion, owner, 0.0, 1.0, high_open=False),
        "loss_normalization": _checks.one_of("loss_normalization", loss_normalization, owner,
                                             NORMALIZATIONS),
    }
    for name in ("steps", "batch_size", "eval_every", "eval_trials"):
        if out[name] >= _checks.SEED_BOUND:
            raise ValueError(f"The '{name}' parameter of {owner} must be an int < 2**63. "
                             f"Got {out[name]!r} instead.")
    return out


def bptt_settings(hp: dict[str, Any], penalties: Sequence[Any]) -> dict[str, Any]:
    """What a BPTT run's checkpoint records beside what :class:`Session` adds (shared by
    ``train`` and ``train_ensemble``, so that either resumes the other's runs)."""
    keys = ("batch_size", "optimizer", "lr", "weight_decay", "momentum", "grad_clip", "schedule",
            "loss_normalization")
    return {**{k: hp[k] for k in keys}, "penalties": [_describe(p) for p in penalties]}


def penalty_sum(
    penalties: Sequence[Callable[..., Tensor]], with_valid: Sequence[bool], model: nn.Module,
    activity: Tensor, batch: Any, like: Tensor,
) -> Tensor:
    """The sum of ``penalties`` for one step (a 0-dim tensor like ``like`` when there are none);
    those with ``with_valid`` get the ``(B, T)`` mask of the steps before each trial ended."""
    valid = valid_steps(batch, like.device) if any(with_valid) else None
    total = like.new_zeros(())
    for p, masked in zip(penalties, with_valid):
        total = total + (p(model, activity, valid=valid) if masked else p(model, activity))
    return total


def check_model_fits_task(model: nn.Module, task: Any, name: str = "model") -> None:
    """Sizes and time step of a model must be those of the task (duck-typed, where known)."""
    for attr, want in (("n_input", task.n_inputs), ("n_output", task.n_outputs)):
        have = getattr(model, attr, None)
        if have is not None and have != want:
            kind = "n_inputs" if attr == "n_input" else "n_outputs"
            raise ValueError(
                f"{name}.{attr} ({have}) must equal task.{kind} ({want}) of task {task.name!r}"
            )
    dt, task_dt = getattr(model, "dt", None), getattr(task, "dt", None)
    if dt is not None and task_dt is not None and not math.isclose(dt, task_dt, rel_tol=1e-9):
        raise ValueError(
            f"{name}.dt ({dt} ms) must equal task.dt ({task_dt} ms) of task {task.name!r}: the "
            "model would integrate the trials at another time step than they were made for"
        )


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
    penalties: Sequence[Callable[..., Tensor]] = (),
    eval_every: int = 50,
    eval_trials: int = 500,
    criterion: float | None = None,
    seed: int = 0,
    callbacks: Sequence[Callable[[StepInfo], bool | None]] = (),
    out: str | Path | None = None,
    resume: bool = True,
    progress: bool = True,
    loss_normalization: str = "weights",
    device: str | torch.device | None = None,
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
        final_state)``, like :class:`brainlike.models.RateRNN`. Its ``n_input``, ``n_output``
        and ``dt``, where it has them, must be the task's.
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
        ``penalty(model, activity) -> scalar``, e.g. :class:`WeightPenalty`,
        :class:`RatePenalty`; a penalty that takes a ``valid`` keyword also gets the ``(B, T)``
        mask of the steps before each trial ended.
    eval_every : int
        Steps between evaluations (and checkpoints, when ``out`` is given).
    eval_trials : int
        Fresh trials per evaluation.
    criterion : float, optional
        Stop when the evaluation accuracy is at least this (for a multi-task: the worst
        task's). Set it from ``task.ceiling`` when the task has one: an accuracy above the ideal
        observer's is reached only by chance.
    seed : int
        Seed of the trial and noise streams, in [0, 2**63). The model's initialization has its
        own seed.
    callbacks : sequence of callables
        Called with a :class:`StepInfo` after every step; returning True stops training. A
        callback with a ``close()`` method (:class:`TensorBoardLogger`, :class:`WandbLogger`)
        is closed when the run ends, also when it fails.
    out : path, optional
        Run directory: ``checkpoint.safetensors`` (atomic, with a checksum) and
        ``metrics.jsonl`` are written there at every evaluation, and at the start the
        ``config.yaml`` that ``brainlike train`` would write for this run (where a run config
        can describe it: a registered task and model kind, penalties of the config's kinds), so
        ``load_run`` and ``brainlike evaluate``/``report`` open it. The directory is locked
        while training: a second writer is refused.
    resume : bool
        If ``out`` holds a checkpoint of a run with the same settings (model config included),
        continue from it; the continued run takes exactly the steps an uninterrupted run would
        have taken. A run may be continued with a larger ``steps`` when the ``schedule`` is
        ``"constant"``; a schedule over ``steps`` refuses it. ``resume=False`` discards what
        ``out`` holds.
    progress : bool
        Show a progress bar (on stderr) with the loss and the accuracy of the last evaluation.
    loss_normalization : {"weights", "entries"}
        Divide the weighted loss by the sum of the weights (default) or by the number of valid
        entries, as Yang et al. (2019) do (see :func:`task_loss`).
    device : str or torch.device, optional
        Where to train: the model is moved there (``model.to(device)``) and every batch is sent
        there. Default: the device the model is on. Trials and the recurrent noise are drawn
        on the CPU from the same streams on every device, so a seed gives the same batches
        and noise on a GPU (the arithmetic then rounds differently).

    Returns
    -------
    TrainResult

    Raises
    ------
    TrainingDivergedError
        When the loss or the gradient norm is not finite (the weights keep their last finite
        values), or the update made a parameter non-finite; the last checkpoint in ``out`` is
        untouched either way.
    RunDirectoryError
        When ``out`` is locked by another process, holds another run, or its checkpoint or log
        is damaged (the message says how to start over).

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
    hp = check_hyperparameters(
        owner, steps=steps, batch_size=batch_size, eval_every=eval_every,
        eval_trials=eval_trials, optimizer=optimizer, schedule=schedule, lr=lr,
        weight_decay=weight_decay, momentum=momentum, grad_clip=grad_clip, criterion=criterion,
        loss_normalization=loss_normalization,
    )
    seed = _checks.seed("seed", seed, owner)
    if hasattr(task, "blocks") and not hasattr(task, "generate"):
        raise TypeError(f"train trains one task or a MultiTask; {task.name!r} is a Sequential "
                        "schedule: train it with brainlike.training.train_sequential")
    check_model_fits_task(model, task)
    if device is not None:
        model.to(_checks.device("device", device, owner))
    penalties = list(penalties)
    with_valid = [takes_valid(p) for p in penalties]

    settings = bptt_settings(hp, penalties)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = _make_optimizer(hp["optimizer"], params, hp["lr"], hp["weight_decay"], hp["momentum"])
    sched = _make_schedule(hp["schedule"], opt, hp["steps"])
    max_norm = hp["grad_clip"] if hp["grad_clip"] is not None else math.inf
    norm = hp["loss_normalization"]

    session = Session(
        out, algorithm="bptt", settings=settings, model=model, task=task, steps=hp["steps"],
        seed=seed, eval_every=hp["eval_every"], eval_trials=hp["eval_trials"],
        criterion=hp["criterion"], callbacks=callbacks, optimizer=opt, scheduler=sched,
        resume=resume, progress=progress, loss_normalization=norm, owner=owner,
        steps_tied_to=None if hp["schedule"] == "constant" else f"schedule {hp['schedule']!r}",
    )
    model.train()
    with session as run:
        run.write_config(penalties)
        for step in run:
            batch = task.generate(hp["batch_size"], seed=[seed, TRAIN_TRIALS, step])
            main, out_, _ = batch_loss(model, task, batch, generator(seed, TRAIN_NOISE, step), norm)
            parts = [main]
            if penalties:
                penalty = penalty_sum(penalties, with_valid, model, out_.activity, batch, main)
                parts.append(penalty)
                loss = main + penalty
            else:
                loss = main  # what main + 0 would give, bit for bit
            opt.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = _clip_and_norm(params, max_norm)
            # One transfer to the host per step for the guard and the log; the weights are
            # updated only after both checks (the gradient of a non-finite loss is dropped).
            values = torch.stack([t.detach() for t in (loss, *parts, grad_norm)]).tolist()
            run.check_loss(values[0])
            run.check_gradient(values[-1])
            lr_now = opt.param_groups[0]["lr"]
            opt.step()
            if sched is not None:
                sched.step()
            run.check_parameters()
            run.record({
                "loss": values[0], "task_loss": values[1],
                "penalty": values[2] if penalties else 0.0, "lr": lr_now,
                "grad_norm": values[-1],
            })
        run.write_summary()
    return run.result()


__all__ = [
    "METRICS",
    "OPTIMIZERS",
    "SCHEDULES",
    "Evaluation",
    "StepInfo",
    "TrainResult",
    "TrainingDivergedError",
    "evaluate",
    "train",
]

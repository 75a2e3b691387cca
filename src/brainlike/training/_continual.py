"""Continual learning: tasks trained one after another, with or without consolidation.

Yang & Wang (2020), Section 5.3, and Eq. 44: a network trained on task B after task A forgets A
("catastrophic forgetting") unless the weights that mattered for A are kept close to their
values after A,

    L = L_B + beta sum_i M_i (theta_i - theta*_i)^2,

with an importance ``M_i`` per parameter. The two estimators of the importance here are

* **EWC**, elastic weight consolidation (Kirkpatrick et al. 2017): ``M`` is the diagonal of the
  Fisher information at the end of each task, ``F_i = E[(d log p(y|x) / d theta_i)^2]``, and
  each task keeps its own anchor, ``L = L_B + sum_tasks (lambda / 2) sum_i F_i (theta_i -
  theta*_i)^2``;
* **SI**, synaptic intelligence (Zenke, Poole & Ganguli 2017): while a task is trained each
  parameter accumulates the path integral ``omega_i = -sum_t g_i(t) Delta theta_i(t)`` of the
  gradient ``g`` of the task loss (without penalties) along its updates; at the end of the task
  ``Omega_i <- max(0, Omega_i + omega_i / (Delta_i^2 + xi))`` with ``Delta_i`` its total change
  over the task, and ``L = L_B + c sum_i Omega_i (theta_i - theta*_i)^2`` with ``theta*`` the
  values at the end of the last task. The clipping at 0 is Yang et al.'s (2019)
  ``train_sequential``; Zenke et al. leave negative ``Omega`` (possible with momentum) in.

Both are one anchored quadratic penalty (:class:`Consolidation`) with a different importance,
composable with the other penalties (``penalty(model, activity) -> scalar``).
:func:`train_sequential` trains a :class:`brainlike.tasks.Sequential` schedule block by block,
consolidating at each block's end, evaluating every task seen so far after each block and
writing the retention matrix.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from .. import _checks
from ._checkpoint import CheckpointError, atomic_write_text, orphaned_temporaries
from ._loop import (
    _make_optimizer,
    bptt_settings,
    check_hyperparameters,
    check_model_fits_task,
    penalty_sum,
)
from ._regularizers import takes_valid
from ._session import (
    TRAIN_NOISE,
    TRAIN_TRIALS,
    Session,
    StepInfo,
    TrainResult,
    batch_loss,
    generator,
    to_tensors,
)

__all__ = ["EWC", "SI", "Consolidation", "SequentialResult", "retention_matrix", "train_sequential"]

RETENTION = "retention.json"
# Random streams beside those of _session (0-3): the trials and noise of EWC's Fisher estimate,
# and the targets drawn from the model's own distribution for the true Fisher.
FISHER_TRIALS, FISHER_NOISE, FISHER_SAMPLES = 4, 5, 6
FISHER_KINDS = ("empirical", "true")


def _trainable(model: nn.Module) -> list[tuple[str, Tensor]]:
    return [(n, p) for n, p in model.named_parameters() if p.requires_grad]


class Consolidation:
    r"""An anchored quadratic penalty, ``sum_k coefficient * sum_i M_ki (theta_i - theta*_ki)^2``
    (primer Eq. 44) over a model's trainable parameters: the common part of :class:`EWC` and
    :class:`SI`, which differ in how they estimate the importance ``M``.

    Called as ``penalty(model, activity) -> scalar`` like every penalty of
    :mod:`brainlike.training`; 0 until a task has been consolidated. :func:`train_sequential`
    calls the hooks :meth:`begin_task`, :meth:`observe` (after every update, when
    :attr:`needs_task_gradient`) and :meth:`end_task`.

    Attributes
    ----------
    terms : list of (dict, dict)
        ``(importance, anchor)`` pairs, each a mapping parameter name -> tensor.
    coefficient : float
        The factor of every term (``strength`` for SI, ``strength / 2`` for EWC).
    """

    method: ClassVar[str] = ""
    needs_task_gradient: ClassVar[bool] = False

    def __init__(self, strength: float) -> None:
        self.strength = _checks.in_range("strength", strength, type(self).__name__, 0.0,
                                         _checks.FLOAT32_MAX, low_open=False)
        self.terms: list[tuple[dict[str, Tensor], dict[str, Tensor]]] = []

    @property
    def coefficient(self) -> float:
        return self.strength

    def settings(self) -> dict[str, Any]:
        """The hyperparameters (JSON), which a resumed run must match."""
        return {"method": self.method, "strength": self.strength}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.settings().items() if k != "method")
        return f"{type(self).__name__}({args})"

    def __call__(self, model: nn.Module, activity: Tensor | None = None) -> Tensor:
        named = dict(model.named_parameters())
        ref = next(iter(named.values()))
        total = ref.new_zeros(())
        for importance, anchor in self.terms:
            unknown = sorted(set(importance) - set(named))
            if unknown:
                raise ValueError(
                    f"{type(self).__name__} holds importances for parameters {unknown} that "
                    f"{type(model).__name__} does not have; it was consolidated on another model"
                )
            for name, p in named.items():  # the model's order: the same sum after a resume
                if name in importance:
                    total = total + (importance[name] * (p - anchor[name]).square()).sum()
        return self.coefficient * total

    # -- hooks ------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every consolidated task (a fresh run)."""
        self.terms = []

    def begin_task(self, model: nn.Module) -> None:
        """Called before the first update of each block."""

    def observe(self, task_gradient: Mapping[str, Tensor], before: Mapping[str, Tensor],
                model: nn.Module) -> None:
        """Called after each update with the gradient of the task loss alone and the parameters
        before the update (only when :attr:`needs_task_gradient`)."""

    def end_task(self, model: nn.Module, task: Any, *, seed: int, block: int) -> None:
        """Consolidate after the last update of a block."""
        raise NotImplementedError

    # -- checkpoints ------------------------------------------------------------------------------

    def state(self) -> dict[str, Tensor]:
        """Tensors to checkpoint (names ``<method>/...``)."""
        raise NotImplementedError

    def load_state(self, state: Mapping[str, Tensor]) -> None:
        """Restore :meth:`state`'s tensors."""
        raise NotImplementedError


def _snapshot(model: nn.Module) -> dict[str, Tensor]:
    return {n: p.detach().clone() for n, p in _trainable(model)}


def _split(state: Mapping[str, Tensor], prefix: str) -> dict[str, dict[str, Tensor]]:
    """``{"<prefix>/<group>/<param>": t}`` -> ``{group: {param: t}}``."""
    out: dict[str, dict[str, Tensor]] = {}
    for key, value in state.items():
        if not key.startswith(prefix + "/"):
            continue
        group, _, name = key[len(prefix) + 1:].partition("/")
        if not name:
            raise CheckpointError(f"continual-learning state {key!r} is malformed")
        out.setdefault(group, {})[name] = value.clone()
    return out


class EWC(Consolidation):
    r"""Elastic weight consolidation (Kirkpatrick et al. 2017, PNAS 114, 3521).

    After each task ``A`` the diagonal Fisher information ``F_i = E[(d log p(y|x) / d theta_i)^2]``
    is estimated and a term ``(lambda / 2) sum_i F_i (theta_i - theta*_A,i)^2`` is added to the
    loss of every later task, one term per task (the paper's form for several tasks).

    The Fisher (:func:`fisher_information`) is the mean over ``fisher_trials`` fresh single
    trials of the block of the squared gradient of the trial's negative log-likelihood, its loss
    summed over steps and outputs (a Gaussian of variance ``1 / (2 w)`` for value targets of
    weight ``w``), with the targets of the data (``fisher="empirical"``, the default) or drawn
    from the network's own output distribution (``"true"``, the Fisher's definition).

    Parameters
    ----------
    strength : float
        ``lambda`` (>= 0).
    fisher_trials : int
        Trials of the Fisher estimate at the end of each task.
    fisher : {"empirical", "true"}
        Which Fisher (see :func:`fisher_information`).

    Examples
    --------
    >>> import torch
    >>> from brainlike.models import RateRNN
    >>> from brainlike.tasks import make
    >>> from brainlike.training import EWC
    >>> task = make("perceptual_decision", dt=100.0)
    >>> rnn = RateRNN(3, 8, 3, dt=100.0, seed=0)
    >>> ewc = EWC(strength=100.0, fisher_trials=4)
    >>> float(ewc(rnn))                          # nothing consolidated yet
    0.0
    >>> ewc.end_task(rnn, task, seed=0, block=0)
    >>> with torch.no_grad():
    ...     _ = rnn.w_rec.add_(0.1)
    >>> bool(ewc(rnn) > 0)
    True
    """

    method = "ewc"

    def __init__(self, strength: float, *, fisher_trials: int = 200,
                 fisher: str = "empirical") -> None:
        super().__init__(strength)
        self.fisher_trials = _checks.positive_int("fisher_trials", fisher_trials, "EWC")
        self.fisher = _checks.one_of("fisher", fisher, "EWC", FISHER_KINDS)

    @property
    def coefficient(self) -> float:
        return self.strength / 2

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "fisher_trials": self.fisher_trials, "fisher": self.fisher}

    def end_task(self, model: nn.Module, task: Any, *, seed: int, block: int) -> None:
        """Add the term of the task just trained: its Fisher and the parameters now."""
        self.terms.append((fisher_information(model, task, n_trials=self.fisher_trials, seed=seed,
                                              block=block, kind=self.fisher), _snapshot(model)))

    def state(self) -> dict[str, Tensor]:
        out = {}
        for k, (fisher, anchor) in enumerate(self.terms):
            out.update({f"ewc/fisher{k}/{n}": t for n, t in fisher.items()})
            out.update({f"ewc/anchor{k}/{n}": t for n, t in anchor.items()})
        return out

    def load_state(self, state: Mapping[str, Tensor]) -> None:
        groups = _split(state, "ewc")
        n = len(groups) // 2
        try:
            self.terms = [(groups[f"fisher{k}"], groups[f"anchor{k}"]) for k in range(n)]
        except KeyError as e:
            raise CheckpointError(f"the EWC state of the checkpoint lacks {e}") from None


class SI(Consolidation):
    r"""Synaptic intelligence (Zenke, Poole & Ganguli 2017, ICML), as in Yang et al. (2019).

    During each task, after every update ``Delta theta(t)``, each parameter accumulates
    ``omega_i -= g_i(t) Delta theta_i(t)``, ``g`` the gradient of the task loss alone at the
    parameters before the update. At the end of the task, with ``Delta_i`` the parameter's change
    over the task,

        Omega_i <- max(0, Omega_i + omega_i / (Delta_i^2 + xi)),    theta*_i <- theta_i,

    and later tasks add ``c sum_i Omega_i (theta_i - theta*_i)^2``. Yang et al. (2019) use
    ``c = 1``, ``xi = 0.01`` (``damping``) on their cognitive tasks; Zenke et al. ``c = 0.1``,
    ``xi = 1e-3`` on split MNIST.

    Parameters
    ----------
    strength : float
        ``c`` (>= 0).
    damping : float
        ``xi`` (> 0), which keeps a parameter that barely moved from getting a huge importance.

    Attributes
    ----------
    importance, anchor : dict of str to Tensor
        ``Omega`` and ``theta*`` (empty before the first task ended).
    path : dict of str to Tensor
        ``omega``, the running path integral of the current task.

    Examples
    --------
    >>> from brainlike.training import SI
    >>> SI(strength=1.0, damping=0.01)
    SI(strength=1.0, damping=0.01)
    """

    method = "si"
    needs_task_gradient = True

    def __init__(self, strength: float, *, damping: float = 0.01) -> None:
        super().__init__(strength)
        self.damping = _checks.in_range("damping", damping, "SI", 0.0, _checks.FLOAT32_MAX)
        self.reset()

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "damping": self.damping}

    def reset(self) -> None:
        super().reset()
        self.importance: dict[str, Tensor] = {}
        self.anchor: dict[str, Tensor] = {}
        self.path: dict[str, Tensor] = {}
        self.start: dict[str, Tensor] = {}

    def begin_task(self, model: nn.Module) -> None:
        self.start = _snapshot(model)
        self.path = {n: torch.zeros_like(p) for n, p in self.start.items()}

    def observe(self, task_gradient: Mapping[str, Tensor], before: Mapping[str, Tensor],
                model: nn.Module) -> None:
        with torch.no_grad():
            for name, p in _trainable(model):
                g = task_gradient.get(name)
                if g is not None:
                    self.path[name].sub_(g * (p - before[name]))

    def end_task(self, model: nn.Module, task: Any, *, seed: int, block: int) -> None:
        if not self.start:
            raise RuntimeError("SI.end_task was called before begin_task")
        with torch.no_grad():
            for name, p in _trainable(model):
                delta = p.detach() - self.start[name]
                old = self.importance.get(name, torch.zeros_like(delta))
                self.importance[name] = (old + self.path[name] / (delta.square() + self.damping)
                                         ).clamp_min(0.0)
                self.anchor[name] = p.detach().clone()
                self.path[name].zero_()
        self.terms = [(self.importance, self.anchor)]

    def state(self) -> dict[str, Tensor]:
        out = {}
        for group in ("importance", "anchor", "path", "start"):
            out.update({f"si/{group}/{n}": t for n, t in getattr(self, group).items()})
        return out

    def load_state(self, state: Mapping[str, Tensor]) -> None:
        groups = _split(state, "si")
        self.reset()
        for group in ("importance", "anchor", "path", "start"):
            setattr(self, group, groups.get(group, {}))
        self.terms = [(self.importance, self.anchor)] if self.importance else []


def _weight_total(batch: Any, outputs: Tensor) -> float:
    """The sum of the loss weights of a batch, so that ``mean * total`` is the weighted sum
    (the normalization ``"weights"`` of :func:`brainlike.training.task_loss` divides by it)."""
    _, _, mask = to_tensors(batch)
    per_output = batch.target_kind == "value" and mask.ndim == outputs.ndim - 1
    return float(mask.sum()) * (outputs.shape[-1] if per_output else 1)


def _sampled_nll(batch: Any, outputs: Tensor, g: torch.Generator) -> Tensor:
    """A trial's negative log-likelihood (up to a constant) with its targets drawn from the
    model's own distribution, ``y ~ p(y | x, theta)``, the outputs ``(1, T, O)`` as scored.

    Value targets of weight ``w``: ``-log p = sum_e w_e (y_e - f_e)^2`` is a Gaussian of variance
    ``1 / (2 w_e)``, so ``y_e = f_e + z_e / sqrt(2 w_e)`` and the gradient is that of
    ``-sum_e sqrt(2 w_e) z_e f_e`` (``z`` standard normal, ``f`` differentiated, ``y`` not).
    Class targets: a class drawn per step from the softmax, then the weighted cross-entropy.
    """
    _, _, mask = to_tensors(batch, outputs.device)
    if batch.target_kind == "value":
        weights = mask.unsqueeze(-1).expand_as(outputs) if mask.ndim == outputs.ndim - 1 else mask
        z = torch.randn(outputs.shape, generator=g).to(outputs.device)
        return -((2.0 * weights).sqrt() * z * outputs).sum()
    logits = outputs.detach().reshape(-1, outputs.shape[-1])
    labels = torch.multinomial(torch.softmax(logits, -1).cpu(), 1, generator=g).view(-1)
    labels = labels.to(outputs.device)
    per_step = torch.nn.functional.cross_entropy(outputs.reshape(-1, outputs.shape[-1]), labels,
                                                 reduction="none")
    return (per_step * mask.reshape(-1)).sum()


def fisher_information(
    model: nn.Module, task: Any, *, n_trials: int, seed: int = 0, block: int = 0,
    kind: str = "empirical",
) -> dict[str, Tensor]:
    """Diagonal Fisher information of ``model`` on ``task``, per trainable parameter.

    The mean over ``n_trials`` single trials of the squared gradient of the trial's negative
    log-likelihood: its loss *summed* (not averaged) over its steps and outputs with the task's
    weights ``w`` -- cross-entropy per step for class targets (exactly ``-log p(y|x)`` of
    independent steps), the squared error for value targets (``-log p`` of a Gaussian with
    variance ``1 / (2 w)``, up to a constant). A sum keeps the Fisher of one trial independent of
    how the training loss is normalized and of the trial's length, as the likelihood is.

    ``kind="empirical"`` takes the targets of the trials (the *empirical* Fisher, what most
    continual-learning code computes); ``kind="true"`` draws them from the model's own output
    distribution, one draw per trial, an unbiased estimate of the Fisher's definition
    ``E_x E_{y ~ p(y|x)}[(d log p / d theta)^2]`` -- for value targets
    ``sum_e 2 w_e (d f_e / d theta)^2``, the output's sensitivity, whatever the residuals. The
    two differ most where the network fits the data well (the empirical Fisher scales with the
    squared residuals; Kunstner, Hennig & Balles 2019, "Limitations of the empirical Fisher
    approximation").

    The trials (and their noise) come from their own random streams, ``[seed, 4, block, i]``,
    independent of the training trials; the drawn targets from stream ``[seed, 6, ...]``.
    """
    kind = _checks.one_of("kind", kind, "fisher_information", FISHER_KINDS)
    named = _trainable(model)
    sums = {n: torch.zeros_like(p) for n, p in named}
    params = [p for _, p in named]
    for i in range(n_trials):
        batch = task.generate(1, seed=[seed, FISHER_TRIALS, block, i])
        noise = generator(seed, FISHER_NOISE, block * n_trials + i)
        mean, out, scored = batch_loss(model, task, batch, noise, "weights")
        if kind == "true":
            nll = _sampled_nll(batch, scored, generator(seed, FISHER_SAMPLES, block * n_trials + i))
        else:
            nll = mean * _weight_total(batch, out.outputs)  # summed over the trial's steps, outputs
        grads = torch.autograd.grad(nll, params, allow_unused=True)
        for (name, _), g in zip(named, grads):
            if g is not None:
                sums[name].add_(g.detach().square())
    return {n: s / n_trials for n, s in sums.items()}


# -- training on a sequence ------------------------------------------------------------------------


@dataclass(frozen=True)
class SequentialResult(TrainResult):
    """The :class:`TrainResult` of :func:`train_sequential`, with the retention matrix.

    Attributes
    ----------
    retention : ndarray, shape (n_blocks, n_tasks)
        ``retention[k, j]``: accuracy on task ``j`` (held-out trials or examples) after block
        ``k``; NaN for tasks not trained yet and blocks not reached.
    task_names : tuple of str
        The tasks, in the order they are first trained (columns of ``retention``).
    """

    retention: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    task_names: tuple[str, ...] = ()

    @property
    def final_accuracy(self) -> float:
        """Mean accuracy over all tasks after the last block (NaN if it was not reached)."""
        return float(np.mean(self.retention[-1])) if self.retention.size else math.nan


def retention_matrix(rows: Sequence[Mapping[str, Any]], schedule: Any) -> np.ndarray:
    """``(n_blocks, n_tasks)`` accuracies of every task after each block from a run's log rows
    (``metrics.jsonl``); NaN where a task was not evaluated (not trained yet, block not reached)."""
    names = list(schedule.tasks)
    out = np.full((len(schedule.blocks), len(names)), np.nan)
    by_step = {int(r["step"]): r for r in rows}
    for k, end in enumerate(schedule.ends):
        row = by_step.get(end, {})
        for j, name in enumerate(names):
            value = row.get(f"accuracy/{name}")
            if value is not None:
                out[k, j] = value
    return out


class _Seen:
    """The tasks trained so far: what an evaluation during block ``k`` scores."""

    def __init__(self, tasks: Mapping[str, Any]) -> None:
        self.tasks = dict(tasks)


class _SequentialSession(Session):
    """A :class:`Session` that also evaluates at the end of every block."""

    def __init__(self, *args: Any, block_ends: Sequence[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._block_ends = frozenset(block_ends)

    def evaluates_at(self, step: int) -> bool:
        return step in self._block_ends or super().evaluates_at(step)


def _check_schedule(schedule: Any, owner: str) -> None:
    if not all(hasattr(schedule, a) for a in ("blocks", "ends", "tasks", "block_at")):
        raise TypeError(
            f"The 'schedule' parameter of {owner} must be a brainlike.tasks.Sequential (blocks of "
            f"tasks with step counts). Got {type(schedule).__name__} instead; train one task or a "
            "MultiTask with train()"
        )


def train_sequential(
    model: nn.Module,
    schedule: Any,
    *,
    continual: Consolidation | None = None,
    batch_size: int = 64,
    optimizer: str = "adam",
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    momentum: float = 0.9,
    grad_clip: float | None = 1.0,
    reset_optimizer: bool = True,
    penalties: Sequence[Callable[..., Tensor]] = (),
    eval_every: int | None = None,
    eval_trials: int = 500,
    seed: int = 0,
    callbacks: Sequence[Callable[[StepInfo], bool | None]] = (),
    out: str | Path | None = None,
    resume: bool = True,
    progress: bool = False,
    loss_normalization: str = "weights",
) -> SequentialResult:
    """Train a model on the blocks of a :class:`brainlike.tasks.Sequential`, one after another.

    Block ``k`` takes ``schedule.blocks[k].steps`` BPTT steps on its (multi-)task, exactly as
    :func:`train` does (fresh trials per step, masked loss, penalties, gradient clipping), with
    the ``continual`` penalty added. At the end of every block the penalty consolidates (EWC:
    Fisher and anchor; SI: importance and anchor) and every task trained so far is scored on
    ``eval_trials`` fresh trials (held-out examples for a data set); those rows make the
    retention matrix (:class:`SequentialResult`, and ``retention.json`` in ``out``). Yang et al.
    (2019) train their sequence with Adam (lr 1e-3) and SI (``c = 1``, ``xi = 0.01``).

    Parameters
    ----------
    model : nn.Module
        A recurrent model (or a feedforward one for image tasks) sized for the schedule's tasks.
    schedule : Sequential
    continual : EWC, SI or None
        The consolidation penalty; None trains plainly in sequence (the forgetting baseline).
        Its state is reset at the start of a run (or restored from the checkpoint on resume).
    batch_size, optimizer, lr, weight_decay, momentum, grad_clip, penalties, seed, callbacks
        As in :func:`train` (a constant learning rate).
    progress, loss_normalization
        As in :func:`train`.
    reset_optimizer : bool
        Start every block with a fresh optimizer state (Adam's moments), as continual-learning
        libraries do by default; False keeps one state through the sequence.
    eval_every : int, optional
        Also evaluate (and checkpoint) every ``eval_every`` steps, for learning curves of every
        task seen so far; default only at block ends.
    eval_trials : int
        Trials (or examples) per task and evaluation.
    out : path, optional
        Run directory (``checkpoint.safetensors``, ``metrics.jsonl``, ``retention.json``). A run
        resumed in the middle of a block continues that block with the penalty's state of the
        checkpoint (EWC's Fisher and anchors, SI's importance, anchor, path integral and start)
        and ends bitwise equal to an uninterrupted run.
    resume : bool
        As in :func:`train`; the schedule, the penalty's settings and every hyperparameter must
        be those of the checkpoint.

    Returns
    -------
    SequentialResult
        ``history`` has a ``block`` column; evaluation rows have ``accuracy/<task>`` for every
        task seen so far and ``accuracy`` (the worst of them).

    Examples
    --------
    >>> from brainlike.models import RateRNN
    >>> from brainlike.tasks import Sequential
    >>> from brainlike.training import SI, train_sequential
    >>> plan = Sequential([("yang19.go", 2), ("yang19.anti", 2)])
    >>> rnn = RateRNN(plan.n_inputs, 16, plan.n_outputs, dt=plan.dt, seed=0)
    >>> result = train_sequential(rnn, plan, continual=SI(1.0), batch_size=4, eval_trials=8)
    >>> result.retention.shape, result.task_names, result.steps
    ((2, 2), ('yang19.go', 'yang19.anti'), 4)
    """
    owner = "train_sequential"
    _check_schedule(schedule, owner)
    total = schedule.ends[-1]
    hp = check_hyperparameters(
        owner, steps=total, batch_size=batch_size,
        eval_every=total if eval_every is None else eval_every, eval_trials=eval_trials,
        optimizer=optimizer, schedule="constant", lr=lr,
        weight_decay=weight_decay, momentum=momentum, grad_clip=grad_clip, criterion=None,
        loss_normalization=loss_normalization,
    )
    if continual is not None and not isinstance(continual, Consolidation):
        raise TypeError(f"The 'continual' parameter of {owner} must be an EWC, an SI or None. Got "
                        f"{type(continual).__name__} instead.")
    if not isinstance(reset_optimizer, bool):
        raise TypeError(f"The 'reset_optimizer' parameter of {owner} must be a bool. Got "
                        f"{reset_optimizer!r} instead.")
    seed = _checks.seed("seed", seed, owner)
    check_model_fits_task(model, schedule)
    penalties = list(penalties)
    with_valid = [takes_valid(p) for p in penalties]
    settings = {
        **bptt_settings(hp, penalties), "reset_optimizer": reset_optimizer,
        "continual": None if continual is None else continual.settings(),
    }
    params = [p for p in model.parameters() if p.requires_grad]
    named = _trainable(model)
    opt = _make_optimizer(hp["optimizer"], params, hp["lr"], hp["weight_decay"], hp["momentum"])
    max_norm = hp["grad_clip"] if hp["grad_clip"] is not None else math.inf
    norm = hp["loss_normalization"]
    starts = [0, *schedule.ends[:-1]]
    seen: list[_Seen] = []
    for block in schedule.blocks:
        seen.append(_Seen({**(seen[-1].tasks if seen else {}), **block.task.tasks}))

    session = _SequentialSession(
        out, algorithm="sequential", settings=settings, model=model, task=schedule, steps=total,
        seed=seed, eval_every=hp["eval_every"], eval_trials=hp["eval_trials"], callbacks=callbacks,
        optimizer=opt, resume=resume, progress=progress, loss_normalization=norm, owner=owner,
        steps_tied_to="block schedule", block_ends=schedule.ends,
        state=(lambda: continual.state()) if continual is not None else None,
    )
    model.train()
    with session as run:
        if continual is not None:
            continual.reset()
            if run.state:
                continual.load_state(run.state)
        if run.directory is not None:
            for tmp in orphaned_temporaries(run.directory, (RETENTION,)):
                tmp.unlink(missing_ok=True)
        for step in run:
            k = schedule.block_at(step)
            task = schedule.blocks[k].task
            run.task = seen[k]  # evaluations score every task trained so far
            if step == starts[k]:
                if reset_optimizer and k > 0:
                    opt.state.clear()
                if continual is not None:
                    continual.begin_task(model)
            batch = task.generate(hp["batch_size"], seed=[seed, TRAIN_TRIALS, step])
            main, out_, _ = batch_loss(model, task, batch, generator(seed, TRAIN_NOISE, step), norm)
            penalty = penalty_sum(penalties, with_valid, model, out_.activity, batch, main)
            if continual is not None:
                penalty = penalty + continual(model, out_.activity)
            loss = main + penalty
            run.check_loss(loss)
            opt.zero_grad(set_to_none=True)
            observe = continual is not None and continual.needs_task_gradient
            if observe:
                # The path integral needs the gradient of the task loss alone.
                main.backward(retain_graph=penalty.requires_grad)
                task_grad = {n: p.grad.detach().clone() for n, p in named if p.grad is not None}
                if penalty.requires_grad:
                    penalty.backward()
                before = {n: p.detach().clone() for n, p in named}
            else:
                loss.backward()
            grad_norm = float(torch.nn.utils.clip_grad_norm_(params, max_norm))
            run.check_gradient(grad_norm)
            opt.step()
            run.check_parameters()
            if observe:
                continual.observe(task_grad, before, model)
            if continual is not None and step + 1 == schedule.ends[k]:
                continual.end_task(model, task, seed=seed, block=k)
            run.record({
                "loss": loss.item(), "task_loss": main.item(), "penalty": penalty.item(),
                "lr": hp["lr"], "grad_norm": grad_norm, "block": k,
            })
            if run.directory is not None and step + 1 in schedule.ends:
                _write_retention(run.directory, run.rows, schedule)
        if run.directory is not None:
            _write_retention(run.directory, run.rows, schedule)
    base = run.result()
    return SequentialResult(**vars(base), retention=retention_matrix(run.rows, schedule),
                            task_names=tuple(schedule.tasks))


def _write_retention(directory: Path, rows: Sequence[Mapping[str, Any]], schedule: Any) -> None:
    matrix = retention_matrix(rows, schedule)
    report = {
        "tasks": list(schedule.tasks),
        "blocks": [list(b.task.tasks) for b in schedule.blocks],
        "block_ends": list(schedule.ends),
        "accuracy": [[None if math.isnan(v) else float(v) for v in row] for row in matrix],
        "note": "accuracy[k][j]: task j after block k (held-out trials); null: not trained yet "
                "or block not reached",
    }
    atomic_write_text(directory / RETENTION, json.dumps(report, indent=2))

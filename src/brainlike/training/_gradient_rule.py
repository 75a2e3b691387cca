"""What the rules that replace BPTT's gradient share: the optimizer, the schedule and the step.

Feedback alignment, RFLO and e-prop compute an update for every parameter in their own way and
then step exactly as :func:`brainlike.training.train` does: the same optimizers, schedules,
gradient clipping and NaN guard, in one :class:`~brainlike.training._session.Session`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from .. import _checks
from ._loop import _make_optimizer, _make_schedule, check_hyperparameters
from ._session import Session, StepInfo

#: The options of such a rule and their defaults: those of :func:`brainlike.training.train`.
DEFAULTS: dict[str, Any] = {
    "steps": 5000, "batch_size": 64, "optimizer": "adam", "lr": 3e-3, "weight_decay": 0.0,
    "momentum": 0.9, "grad_clip": 1.0, "schedule": "constant", "eval_every": 50,
    "eval_trials": 500, "criterion": None, "seed": 0, "loss_normalization": "weights",
}
#: The settings every such rule records (a resumed run must match them).
_RECORDED = ("batch_size", "optimizer", "lr", "weight_decay", "momentum", "grad_clip", "schedule",
             "loss_normalization")


def feedback_generator(seed: int, stream: int) -> torch.Generator:
    """The generator of a rule's fixed random feedback, from stream ``stream`` of ``seed``."""
    state = np.random.SeedSequence([seed, stream]).generate_state(1)[0]
    return torch.Generator().manual_seed(int(state))


class GradientRule:
    """Optimizer, schedule and guarded step of a rule that supplies its own updates.

    Parameters
    ----------
    owner : str
        The public function's name, for messages.
    model : nn.Module
    options : mapping
        Any of :data:`DEFAULTS` (the options of :func:`brainlike.training.train` that such a
        rule takes), validated here; an unknown name is refused listing the allowed ones.
    own : sequence of str
        The rule's other keyword arguments, for that list.
    """

    def __init__(self, owner: str, model: nn.Module, options: Mapping[str, Any], *,
                 own: Sequence[str] = ()) -> None:
        unknown = sorted(set(options) - set(DEFAULTS))
        if unknown:
            raise TypeError(f"{owner} has no parameter {unknown[0]!r}; allowed: "
                            f"{[*own, *DEFAULTS]}")
        opts = {**DEFAULTS, **options}
        self.seed = _checks.seed("seed", opts.pop("seed"), owner)
        self.hp = check_hyperparameters(owner, **opts)
        hp = self.hp
        self.owner, self.model = owner, model
        named = [(k, p) for k, p in model.named_parameters() if p.requires_grad]
        self.names = [k for k, _ in named]
        self.params = [p for _, p in named]
        self.optimizer = _make_optimizer(hp["optimizer"], self.params, hp["lr"],
                                         hp["weight_decay"], hp["momentum"])
        self.scheduler = _make_schedule(hp["schedule"], self.optimizer, hp["steps"])
        self.max_norm = hp["grad_clip"] if hp["grad_clip"] is not None else math.inf

    def session(
        self, out: str | Path | None, *, algorithm: str, settings: Mapping[str, Any], task: Any,
        callbacks: Sequence[Callable[[StepInfo], bool | None]], resume: bool, progress: bool,
        state: Callable[[], dict[str, Tensor]], evaluation: Callable[[int], dict] | None = None,
    ) -> Session:
        """The run's :class:`Session`, recording ``settings`` and the optimizer's settings."""
        hp = self.hp
        return Session(
            out, algorithm=algorithm,
            settings={**settings, **{k: hp[k] for k in _RECORDED}},
            model=self.model, task=task, steps=hp["steps"], seed=self.seed,
            eval_every=hp["eval_every"], eval_trials=hp["eval_trials"],
            criterion=hp["criterion"], callbacks=callbacks, optimizer=self.optimizer,
            scheduler=self.scheduler, state=state, resume=resume, progress=progress,
            loss_normalization=hp["loss_normalization"], owner=self.owner, evaluation=evaluation,
            steps_tied_to=None if hp["schedule"] == "constant" else f"schedule {hp['schedule']!r}",
        )

    def step(self, run: Session, loss: Tensor, grads: Mapping[str, Tensor]) -> dict[str, Any]:
        """Check the loss, install ``grads`` (by parameter name; missing ones are zero), clip,
        check, step the optimizer and the schedule, check the parameters; return the log row's
        ``loss``, ``task_loss``, ``penalty``, ``lr`` and ``grad_norm``."""
        run.check_loss(loss)
        for name, p in zip(self.names, self.params):
            p.grad = grads[name] if name in grads else torch.zeros_like(p)
        grad_norm = float(torch.nn.utils.clip_grad_norm_(self.params, self.max_norm))
        run.check_gradient(grad_norm)
        lr = self.optimizer.param_groups[0]["lr"]
        self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()
        run.check_parameters()
        value = float(loss)
        return {"loss": value, "task_loss": value, "penalty": 0.0, "lr": lr,
                "grad_norm": grad_norm}

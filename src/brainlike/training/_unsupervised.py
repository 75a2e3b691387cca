"""Hebbian learning of principal components: Oja's and Sanger's rules (Yang & Wang 2020, §3.2).

A linear neuron ``y = w . x`` that changes its weights by Hebb's rule ``dw ~ y x`` grows without
bound; Oja (1982) added a decay that keeps ``|w| = 1``,

    Delta w = eta y (x - y w),

and ``w`` then converges to the top principal component of the inputs (the leading eigenvector
of ``E[x x^T]``; centred inputs make it the first principal component). For ``k`` neurons
``y = W x`` (``W`` is ``(k, D)``):

* Oja's subspace rule, ``Delta W = eta (y x^T - y y^T W)``, converges to an orthonormal basis of
  the top-``k`` principal subspace (any rotation of it);
* Sanger's rule (the generalized Hebbian algorithm, Sanger 1989),
  ``Delta W = eta (y x^T - LT(y y^T) W)`` with ``LT`` the lower triangle (diagonal included),
  converges to the top ``k`` principal components themselves, in order: neuron ``i`` learns
  Oja's rule on the input left after the projections of neurons ``1..i-1`` are removed.

Both update on the mean over a batch of examples. The network is the tied linear
:class:`brainlike.models.Autoencoder` without biases, whose reconstruction ``x_hat = W^T y`` is
what a run logs (its mean squared error) and scores.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .. import _checks
from ._session import TRAIN_TRIALS, Session, StepInfo, TrainResult, batch_loss, to_tensors

__all__ = ["HEBBIAN_RULES", "train_hebbian"]

HEBBIAN_RULES = ("oja", "sanger")


def hebbian_update(w: torch.Tensor, x: torch.Tensor, rule: str) -> torch.Tensor:
    """``Delta W / eta`` of ``rule`` for weights ``w (k, D)`` and a batch ``x (B, D)`` (mean)."""
    y = x @ w.t()                                  # (B, k)
    hebb = y.t() @ x / x.shape[0]                  # <y x^T>
    corr = y.t() @ y / x.shape[0]                  # <y y^T>
    if rule == "sanger":
        corr = torch.tril(corr)
    return hebb - corr @ w


def _check_network(model: nn.Module, owner: str) -> None:
    ok = (getattr(model, "tied", False) and not getattr(model, "hidden", [None])
          and getattr(model, "activation", None) == "linear" and not getattr(model, "bias", True))
    if not ok:
        raise TypeError(
            f"{owner} trains the single-layer linear network y = W x with tied weights and no "
            "biases: brainlike.models.Autoencoder(D, k, tied=True, bias=False) (activation "
            f"'linear', no hidden layers). Got {model!r} instead; train other autoencoders with "
            "brainlike.training.train"
        )


def train_hebbian(
    model: nn.Module,
    task: Any,
    *,
    rule: str = "oja",
    steps: int = 2000,
    batch_size: int = 32,
    lr: float = 1e-2,
    eval_every: int = 100,
    eval_trials: int = 500,
    seed: int = 0,
    callbacks: Sequence[Callable[[StepInfo], bool | None]] = (),
    out: str | Path | None = None,
    resume: bool = True,
    progress: bool = False,
) -> TrainResult:
    """Learn principal components with Oja's or Sanger's Hebbian rule.

    Each step draws ``batch_size`` examples of ``task`` (``x``, e.g. a
    :class:`brainlike.tasks.Samples`) and applies ``W <- W + lr * Delta W`` (module notes). No
    gradient is computed: the rule is local (each weight changes with its input, its output and
    the outputs of the network). The run shares :func:`train`'s run directory, checkpoints,
    resume, NaN guard, callbacks and evaluations (on held-out examples: the reconstruction
    ``x_hat = W^T W x`` scored by the task).

    Parameters
    ----------
    model : Autoencoder
        ``Autoencoder(D, k, tied=True, bias=False)``: its encoder weight is ``W``.
    task : Samples
        Examples ``(B, D)`` whose target is the example.
    rule : {"oja", "sanger"}
        Oja's (subspace) rule or Sanger's generalized Hebbian algorithm; the same for ``k = 1``.
    steps, batch_size, eval_every, eval_trials, seed, callbacks, out, resume, progress
        As in :func:`train`.
    lr : float
        ``eta``. The rules converge for ``eta`` well below ``1 / lambda_max`` (the largest
        variance of the data).

    Returns
    -------
    TrainResult
        ``history`` has ``loss`` (the batch's reconstruction MSE before the update) and
        ``orthonormality`` (``|W W^T - I|_F`` after it).

    Examples
    --------
    >>> import numpy as np
    >>> from brainlike.models import Autoencoder
    >>> from brainlike.tasks import Samples
    >>> from brainlike.training import train_hebbian
    >>> task = Samples.planted([5.0, 1.0, 0.5, 0.2], n_examples=2000, seed=0)
    >>> net = Autoencoder(4, 1, tied=True, bias=False, seed=0)
    >>> result = train_hebbian(net, task, rule="oja", steps=500, lr=0.02, eval_every=500)
    >>> w = net.encoder_weights[0].detach().numpy()[0]
    >>> top = np.linalg.eigh(np.cov(task.data.T))[1][:, -1]  # PCA's first component
    >>> bool(abs(w @ top) / np.linalg.norm(w) > 0.99), bool(abs(np.linalg.norm(w) - 1) < 0.05)
    (True, True)

    References
    ----------
    Oja, E. (1982). A simplified neuron model as a principal component analyzer. J. Math. Biol.
    15, 267-273. Sanger, T. D. (1989). Optimal unsupervised learning in a single-layer linear
    feedforward neural network. Neural Networks 2, 459-473.
    """
    owner = "train_hebbian"
    rule = _checks.one_of("rule", rule, owner, HEBBIAN_RULES)
    _check_network(model, owner)
    steps = _checks.positive_int("steps", steps, owner)
    batch_size = _checks.positive_int("batch_size", batch_size, owner)
    eval_every = _checks.positive_int("eval_every", eval_every, owner)
    eval_trials = _checks.positive_int("eval_trials", eval_trials, owner)
    lr = _checks.in_range("lr", lr, owner, 0.0, _checks.FLOAT32_MAX)
    seed = _checks.seed("seed", seed, owner)
    if getattr(task, "n_inputs", None) != model.n_input:
        raise ValueError(f"model.n_input ({model.n_input}) must equal task.n_inputs "
                         f"({getattr(task, 'n_inputs', None)}) of task {getattr(task, 'name', task)!r}")
    w = model.encoder_weights[0]
    eye = torch.eye(w.shape[0], dtype=w.dtype)
    with Session(out, algorithm="hebbian", settings={"rule": rule, "lr": lr, "batch_size": batch_size},
                 model=model, task=task, steps=steps, seed=seed, eval_every=eval_every,
                 eval_trials=eval_trials, callbacks=callbacks, resume=resume, progress=progress,
                 owner=owner) as run:
        for step in run:
            batch = task.generate(batch_size, seed=[seed, TRAIN_TRIALS, step])
            with torch.no_grad():
                loss, _, _ = batch_loss(model, task, batch, None)
                run.check_loss(loss)
                x = to_tensors(batch)[0]
                w.add_(hebbian_update(w, x, rule), alpha=lr)
            run.check_parameters()
            with torch.no_grad():
                ortho = float(torch.linalg.matrix_norm(w @ w.t() - eye))
            run.record({"loss": float(loss), "orthonormality": ortho})
    return run.result()

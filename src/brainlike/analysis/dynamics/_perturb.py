"""Perturbations (Yang & Wang 2020, Sec. 4): lesions, connection lesions, inactivation, noise.

Every perturbation simulates the same trials (same inputs, same recurrent noise seed) with and
without the perturbation and returns a :class:`PerturbationEffect`: accuracy per condition before
and after, so that perturbations can be compared with each other.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "PerturbationEffect",
    "add_noise",
    "inactivate",
    "lesion_connections",
    "lesion_units",
    "simulate_clamped",
]


@dataclass(frozen=True)
class PerturbationEffect:
    """Behaviour with and without a perturbation, per condition.

    Attributes
    ----------
    name : str
        What was done, e.g. ``"lesion 8 units"``.
    condition : tuple of str
        Condition keys the trials are grouped by.
    groups : tuple
        The distinct condition values, sorted.
    counts : ndarray of int, shape (G,)
        Trials per group.
    baseline : ndarray, shape (G,)
        Accuracy per group, unperturbed.
    perturbed : ndarray, shape (G,)
        Accuracy per group, perturbed.
    no_response : ndarray, shape (G,)
        Fraction of perturbed trials without a response (decision -1).
    """

    name: str
    condition: tuple
    groups: tuple
    counts: np.ndarray
    baseline: np.ndarray
    perturbed: np.ndarray
    no_response: np.ndarray

    @property
    def change(self) -> np.ndarray:
        """``perturbed - baseline`` per group, shape (G,)."""
        return self.perturbed - self.baseline

    @property
    def overall_change(self) -> float:
        """Trial-weighted change of accuracy over all groups."""
        return float((self.change * self.counts).sum() / self.counts.sum())


def _units(units, n: int, name: str = "units") -> np.ndarray:
    idx = np.asarray(units, dtype=np.int64).reshape(-1)
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise ValueError(f"{name} must be unit indices in [0, {n}); got min {idx.min()}, "
                         f"max {idx.max()}")
    return idx


def simulate_clamped(model, inputs: Tensor, *, units=(), window=None, value: float = 0.0,
                     generator: torch.Generator | None = None, noise: bool = True):
    """Run ``model`` with the activity of ``units`` clamped to ``value`` during ``window``.

    Works for every recurrent model of :mod:`brainlike.models`. Inside the window the network
    is stepped one time step at a time with ``model(inputs[:, t:t+1], state)``, and after each
    step the state is replaced by ``model.clamp(state, units, value)``: the clamped activity is
    what the other units see at the next step and what the readout sees (the outputs are
    ``model.readout`` of the clamped state). For a rate network that silences the rates; for an
    LSTM it silences ``h`` (the cells keep integrating, but their output reaches no one).

    Parameters
    ----------
    model : RecurrentModel
    inputs : Tensor, shape (B, T, I)
    units : sequence of int
    window : (int, int), optional
        Steps ``[start, stop)`` of the clamp; default the whole trial.
    value : float
    generator : torch.Generator, optional
        Recurrent noise source. The noise is drawn segment by segment (before, step by step
        inside, and after the window), so a clamped and an unclamped call of this function
        with the same seed see the same noise; a single ``forward`` call may draw it
        differently.
    noise : bool

    Returns
    -------
    outputs : Tensor, shape (B, T, O)
    activity : Tensor, shape (B, T, N)
    """
    t = inputs.shape[1]
    idx = _units(units, model.n_hidden)
    start, stop = (0, t) if window is None else (int(window[0]), int(window[1]))
    if not 0 <= start <= stop <= t:
        raise ValueError(f"window must satisfy 0 <= start <= stop <= T={t}; got {window!r}")
    outputs, rates = [], []
    with torch.no_grad():
        out, act, state = model(inputs[:, :start], None, noise=noise, generator=generator)
        outputs.append(out)
        rates.append(act)
        for s in range(start, stop):
            _, _, state = model(inputs[:, s:s + 1], state, noise=noise, generator=generator)
            state = model.clamp(state, idx, value)
            outputs.append(model.readout(state).unsqueeze(1))
            rates.append(model.activity_of(state).unsqueeze(1))
        out, act, _ = model(inputs[:, stop:], state, noise=noise, generator=generator)
        outputs.append(out)
        rates.append(act)
    return torch.cat(outputs, dim=1), torch.cat(rates, dim=1)


def _inputs(model, batch) -> Tensor:
    """A batch's inputs as a tensor of the model's dtype and device."""
    ref = next(iter(model.parameters()), None)
    x = torch.tensor(batch.inputs)
    return x if ref is None else x.to(device=ref.device, dtype=ref.dtype)


def _keys(batch, condition) -> tuple[tuple, list]:
    names = (condition,) if isinstance(condition, str) else tuple(condition)
    for k in names:
        if k not in batch.conditions:
            raise ValueError(f"condition {k!r} is not in the batch's conditions "
                             f"{sorted(batch.conditions)}")
    cols = [np.asarray(batch.conditions[k]).tolist() for k in names]
    labels = cols[0] if len(cols) == 1 else list(zip(*cols))
    return names, labels


def _effect(name, task, batch, condition, base_out, pert_out) -> PerturbationEffect:
    base = task.score(base_out.cpu().numpy(), batch)
    pert = task.score(pert_out.cpu().numpy(), batch)
    names, labels = _keys(batch, condition)
    groups = tuple(sorted(set(labels)))
    index = np.array([groups.index(k) for k in labels])
    counts = np.bincount(index, minlength=len(groups))

    def per(x):
        return np.bincount(index, weights=np.asarray(x, float), minlength=len(groups)) / counts

    return PerturbationEffect(
        name=name, condition=names, groups=groups, counts=counts,
        baseline=per(base.correct), perturbed=per(pert.correct),
        no_response=per(pert.decision < 0),
    )


def _baseline(model, batch, seed):
    x = _inputs(model, batch)
    with torch.no_grad():
        out = model(x, generator=torch.Generator().manual_seed(seed)).outputs
    return x, out


def lesion_units(model, task, batch, units, *, condition="ground_truth",
                 seed: int = 0) -> PerturbationEffect:
    """Silence ``units`` (rates clamped to 0 for the whole trial).

    Parameters
    ----------
    model : RecurrentModel
    task : Task
        Scores the outputs (``task.score``).
    batch : TrialBatch
        Trials to simulate, ``inputs (B, T, I)``.
    units : sequence of int
        Units (or a group, e.g. ``np.flatnonzero(cluster == 2)``) to silence.
    condition : str or sequence of str
        Condition key(s) of ``batch.conditions`` to group trials by.
    seed : int
        Recurrent-noise seed, shared by the baseline and the perturbed run.

    Returns
    -------
    PerturbationEffect
    """
    idx = _units(units, model.n_hidden)
    x = _inputs(model, batch)
    base, _ = simulate_clamped(model, x, generator=torch.Generator().manual_seed(seed))
    out, _ = simulate_clamped(model, x, units=idx, generator=torch.Generator().manual_seed(seed))
    return _effect(f"lesion {idx.size} units", task, batch, condition, base, out)


def inactivate(model, task, batch, units, window, *, condition="ground_truth",
               seed: int = 0) -> PerturbationEffect:
    """Transient inactivation (optogenetics-like): rates of ``units`` at 0 during ``window``.

    ``window = (start, stop)`` in time steps, or an epoch name of ``batch.epochs`` (then each
    trial's epoch must start and stop at the same steps). Other arguments as
    :func:`lesion_units`.
    """
    if isinstance(window, str):
        if window not in batch.epochs:
            raise ValueError(f"window {window!r} is not an epoch of the batch "
                             f"{sorted(batch.epochs)}")
        ep = np.asarray(batch.epochs[window])
        if not (ep == ep[0]).all():
            raise ValueError(f"epoch {window!r} does not start and stop at the same steps in "
                             "every trial; generate the batch with fixed timing or pass steps")
        label, window = window, (int(ep[0, 0]), int(ep[0, 1]))
    else:
        label = f"steps {window[0]}-{window[1]}"
    idx = _units(units, model.n_hidden)
    x = _inputs(model, batch)
    # The baseline goes through the same segmented simulation, so both see the same noise.
    base, _ = simulate_clamped(model, x, window=window,
                               generator=torch.Generator().manual_seed(seed))
    out, _ = simulate_clamped(model, x, units=idx, window=window,
                              generator=torch.Generator().manual_seed(seed))
    return _effect(f"inactivate {idx.size} units during {label}", task, batch, condition,
                   base, out)


def lesion_connections(model, task, batch, from_units, to_units, *, condition="ground_truth",
                       seed: int = 0) -> PerturbationEffect:
    """Cut the recurrent connections from ``from_units`` to ``to_units`` (weights set to 0).

    Works on the copy that ``model.without_connections(from_units, to_units)`` returns
    (:class:`~brainlike.models.RateRNN` without a connectivity parameterization, ``LSTM``,
    ``GRU``). Other arguments as :func:`lesion_units`.
    """
    if not callable(getattr(model, "without_connections", None)):
        raise ValueError(f"lesion_connections needs a model with without_connections(from_units, "
                         f"to_units); {type(model).__name__} has none")
    src = _units(from_units, model.n_hidden, "from_units")
    dst = _units(to_units, model.n_hidden, "to_units")
    cut = model.without_connections(src, dst)
    _, base = _baseline(model, batch, seed)
    _, out = _baseline(cut, batch, seed)
    return _effect(f"cut {src.size}->{dst.size} connections", task, batch, condition, base, out)


def add_noise(model, task, batch, sigma_rec: float, *, condition="ground_truth",
              seed: int = 0) -> PerturbationEffect:
    """Change the recurrent noise to ``sigma_rec`` (on a copy). Other arguments as
    :func:`lesion_units`."""
    if not sigma_rec >= 0:
        raise ValueError(f"sigma_rec must be >= 0; got {sigma_rec!r}")
    if not hasattr(model, "sigma_rec"):
        raise ValueError(f"add_noise needs a model with recurrent noise (a sigma_rec); "
                         f"{type(model).__name__} has none")
    noisy = copy.deepcopy(model)
    noisy.sigma_rec = float(sigma_rec)
    _, base = _baseline(model, batch, seed)
    _, out = _baseline(noisy, batch, seed)
    return _effect(f"recurrent noise {sigma_rec:g}", task, batch, condition, base, out)

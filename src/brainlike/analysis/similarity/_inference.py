"""Inference on RDM comparisons: bootstrap confidence intervals and noise ceilings."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

from ._rdm import RDM, _compare, _vectors, compare_rdms


@dataclass(frozen=True)
class BootstrapResult:
    """Model-to-data RDM similarity with bootstrap confidence intervals.

    Attributes
    ----------
    estimate : ndarray, shape (n_models,)
        Mean over data RDMs of ``compare_rdms(model, data)`` on the full data.
    samples : ndarray, shape (n_bootstrap, n_models)
    ci_low, ci_high : ndarray, shape (n_models,)
        Percentile interval at level ``ci``.
    ci : float
    over : str
    """

    estimate: np.ndarray
    samples: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    ci: float
    over: str


def bootstrap_compare(models, data, method: str = "cosine", *, over: str = "conditions",
                      n_bootstrap: int = 1000, ci: float = 0.95, seed: int = 0) -> BootstrapResult:
    """Bootstrap the mean similarity of model RDMs to data RDMs (subjects or networks).

    Parameters
    ----------
    models, data : RDM or array-like (see :func:`compare_rdms`)
    over : {"conditions", "subjects", "both"}
        Resample conditions (pairs of a resampled condition with itself are dropped, as
        rsatoolbox does), data RDMs (subjects/networks), or both at once.
    """
    if over not in ("conditions", "subjects", "both"):
        raise ValueError(f"over must be 'conditions', 'subjects' or 'both'; got {over!r}")
    vm, n = _vectors(models, "models")
    vd, nd = _vectors(data, "data")
    if n != nd:
        raise ValueError(f"models and data must have the same number of conditions; got {n} and {nd}")
    rng = np.random.default_rng(seed)
    mm = RDM(vm, n, "given").matrices
    md = RDM(vd, n, "given").matrices
    estimate = compare_rdms(vm, vd, method).mean(axis=1)
    samples = np.empty((n_bootstrap, len(vm)))
    for b in range(n_bootstrap):
        subj = rng.integers(0, len(vd), len(vd)) if over != "conditions" else np.arange(len(vd))
        if over == "subjects":
            samples[b] = compare_rdms(vm, vd[subj], method).mean(axis=1)
            continue
        idx = np.sort(rng.integers(0, n, n))
        i, j = np.triu_indices(n, 1)
        keep = idx[i] != idx[j]
        a = mm[:, idx][:, :, idx][:, i[keep], j[keep]]
        d = md[subj][:, idx][:, :, idx][:, i[keep], j[keep]]
        samples[b] = _compare_vectors(a, d, method).mean(axis=1)
    lo, hi = np.percentile(samples, [50 * (1 - ci), 50 * (1 + ci)], axis=0)
    return BootstrapResult(estimate, samples, lo, hi, ci, over)


def _compare_vectors(a: np.ndarray, b: np.ndarray, method: str) -> np.ndarray:
    """compare_rdms for subsets of the pairs (bootstrap samples of conditions)."""
    if method == "whitened_cosine":
        raise ValueError("bootstrap over conditions does not support whitened_cosine")
    return _compare(a, b, method, None)


@dataclass(frozen=True)
class NoiseCeiling:
    """Bounds on the best achievable mean similarity to the data RDMs.

    Attributes
    ----------
    lower : float
        Mean similarity of each data RDM to the pooled RDM of the others (leave one out).
    upper : float
        Mean similarity of each data RDM to the pooled RDM of all.
    """

    lower: float
    upper: float


def _pool(v: np.ndarray, method: str) -> np.ndarray:
    if method in ("cosine", "whitened_cosine"):
        v = v / np.sqrt(np.mean(v**2, axis=1, keepdims=True))
    elif method == "pearson":
        v = (v - v.mean(1, keepdims=True)) / v.std(1, keepdims=True)
    else:  # rank methods: mean of ranks
        v = rankdata(v, axis=1)
    return v.mean(axis=0, keepdims=True)


def noise_ceiling(data, method: str = "cosine") -> NoiseCeiling:
    """Lower/upper noise ceiling from several data RDMs (Nili et al. 2014; rsatoolbox's
    ``boot_noise_ceiling`` pooling: RMS-normalized mean for cosine, z-scored mean for Pearson,
    mean ranks for rank methods)."""
    vd, _ = _vectors(data, "data")
    if len(vd) < 2:
        raise ValueError(f"a noise ceiling needs at least 2 data RDMs; got {len(vd)}")
    upper = compare_rdms(_pool(vd, method), vd, method).mean()
    lower = np.mean([
        compare_rdms(_pool(np.delete(vd, i, axis=0), method), vd[i], method)[0, 0]
        for i in range(len(vd))
    ])
    return NoiseCeiling(float(lower), float(upper))

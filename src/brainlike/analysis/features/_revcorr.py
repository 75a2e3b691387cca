"""Reverse correlation: spike-triggered average and covariance, classification images."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["ClassificationImage", "ReverseCorrelation", "classification_image", "reverse_correlation"]


def _stimuli(stimuli: Any) -> tuple[np.ndarray, tuple[int, ...]]:
    s = np.asarray(stimuli, dtype=np.float64)
    if s.ndim < 2 or s.shape[0] < 2:
        raise ValueError(f"stimuli must have shape (n_samples, ...) with n_samples >= 2; got {s.shape}")
    if not np.isfinite(s).all():
        raise ValueError("stimuli must be finite")
    return s.reshape(s.shape[0], -1), s.shape[1:]


@dataclass(frozen=True)
class ReverseCorrelation:
    """Response-triggered statistics of a stimulus ensemble.

    Attributes
    ----------
    sta : ndarray, shape stimulus_shape
        Spike-triggered average ``Σ_i r_i (s_i − s̄) / Σ_i r_i``: the response-weighted mean
        stimulus minus the ensemble's mean.
    stc_values : ndarray, shape (n_stc,)
        Eigenvalues of ``C_r − C`` (the response-weighted covariance around the STA minus the
        ensemble's covariance) of the largest magnitude, sorted by magnitude.
    stc_filters : ndarray, shape (n_stc, *stimulus_shape)
        Their unit-norm eigenvectors: directions along which responses change the variance of
        the stimuli (excitatory > 0, suppressive < 0).
    n_samples : int
    total_response : float
        ``Σ r_i``.
    """

    sta: np.ndarray
    stc_values: np.ndarray
    stc_filters: np.ndarray
    n_samples: int
    total_response: float


def reverse_correlation(stimuli: Any, responses: Any, *, n_stc: int = 0) -> ReverseCorrelation:
    """Spike-triggered average (and covariance) of responses to a noise ensemble.

    For a linear-nonlinear unit ``r = g(k · s)`` driven by Gaussian white noise, the STA is
    proportional to the filter ``k`` (Bussgang 1952; Chichilnisky 2001), whatever ``g`` (as long
    as ``E[g'] ≠ 0``); STC finds the filters of units whose ``g`` is symmetric (energy units),
    for which the STA vanishes (Schwartz et al. 2006).

    Parameters
    ----------
    stimuli : array, shape (n_samples, ...)
        E.g. :func:`brainlike.tasks.white_noise` images ``(N, 1, H, W)``.
    responses : array, shape (n_samples,)
        Non-negative responses (spike counts, rates, a unit's activation).
    n_stc : int
        Number of STC eigenvectors to return (0: skip the covariance).

    Returns
    -------
    ReverseCorrelation

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> s = rng.standard_normal((20000, 5)); k = np.array([1.0, -1.0, 0.0, 0.5, 0.0])
    >>> sta = reverse_correlation(s, np.maximum(s @ k, 0)).sta
    >>> bool(np.dot(sta, k) / np.linalg.norm(sta) / np.linalg.norm(k) > 0.99)
    True
    """
    s, shape = _stimuli(stimuli)
    r = np.asarray(responses, dtype=np.float64)
    if r.shape != (s.shape[0],):
        raise ValueError(f"responses must have shape (n_samples,) = ({s.shape[0]},); got {r.shape}")
    if not np.isfinite(r).all() or (r < 0).any():
        raise ValueError(
            "responses must be finite and non-negative (rates, counts or rectified activations)"
        )
    total = float(r.sum())
    if total <= 0:
        raise ValueError("responses are all zero: the unit never responded to these stimuli")
    if isinstance(n_stc, bool) or not isinstance(n_stc, int) or not 0 <= n_stc <= s.shape[1]:
        raise ValueError(
            f"The 'n_stc' parameter of reverse_correlation must be an int in [0, {s.shape[1]}]. "
            f"Got {n_stc!r} instead."
        )
    centered = s - s.mean(axis=0)
    sta = r @ centered / total
    if n_stc:
        d = centered - sta
        c_r = (d * r[:, None]).T @ d / total
        c_0 = centered.T @ centered / (s.shape[0] - 1)
        vals, vecs = np.linalg.eigh(c_r - c_0)
        order = np.argsort(-np.abs(vals))[:n_stc]
        stc_values, stc_filters = vals[order], vecs[:, order].T
    else:
        stc_values, stc_filters = np.empty(0), np.empty((0, s.shape[1]))
    return ReverseCorrelation(
        sta.reshape(shape), stc_values, stc_filters.reshape(-1, *shape), s.shape[0], total
    )


@dataclass(frozen=True)
class ClassificationImage:
    """What noise pushes an observer towards one answer (Ahumada 1996; Murray 2011).

    Attributes
    ----------
    image : ndarray, shape stimulus_shape
        ``Σ_c [mean(noise | answer 1, class c) − mean(noise | answer 0, class c)]``, summed
        over the stimulus classes (signals) so that the signal itself cancels.
    n_trials : ndarray, shape (n_classes, 2)
        Trials per class and answer (0, 1).
    classes : ndarray
    """

    image: np.ndarray
    n_trials: np.ndarray
    classes: np.ndarray


def classification_image(noise: Any, answers: Any, signal: Any = None) -> ClassificationImage:
    """Classification image of binary answers to signal-plus-noise stimuli.

    Parameters
    ----------
    noise : array, shape (n_trials, ...)
        The noise field added on each trial (not the stimulus itself).
    answers : array of bool or {0, 1}, shape (n_trials,)
        The observer's (a person's, a network's) answer on each trial.
    signal : array, shape (n_trials,), optional
        Which signal was shown (class labels); None for noise-only trials.

    Returns
    -------
    ClassificationImage

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> n = rng.standard_normal((5000, 4)); template = np.array([1.0, 0, 0, -1.0])
    >>> ci = classification_image(n, n @ template > 0)
    >>> np.round(ci.image / np.abs(ci.image).max(), 1) + 0.0  # + 0.0 turns -0.0 into 0.0
    array([ 1.,  0.,  0., -1.])
    """
    x, shape = _stimuli(noise)
    a = np.asarray(answers)
    if a.shape != (x.shape[0],):
        raise ValueError(f"answers must have shape (n_trials,) = ({x.shape[0]},); got {a.shape}")
    if a.dtype != bool:
        if not np.isin(a, (0, 1)).all():
            raise ValueError("answers must be boolean or 0/1")
        a = a.astype(bool)
    sig = np.zeros(x.shape[0], dtype=np.int64) if signal is None else np.asarray(signal)
    if sig.shape != (x.shape[0],):
        raise ValueError(f"signal must have shape (n_trials,) = ({x.shape[0]},); got {sig.shape}")
    classes = np.unique(sig)
    image = np.zeros(x.shape[1])
    counts = np.zeros((classes.size, 2), dtype=np.int64)
    for i, c in enumerate(classes):
        yes, no = (sig == c) & a, (sig == c) & ~a
        counts[i] = no.sum(), yes.sum()
        if yes.any() and no.any():
            image += x[yes].mean(axis=0) - x[no].mean(axis=0)
    if not (counts > 0).all(axis=1).any():
        raise ValueError(
            "every class needs trials with both answers; the observer always gave one answer"
        )
    return ClassificationImage(image.reshape(shape), counts, classes)

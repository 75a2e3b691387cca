"""Behaviour: psychometric curves with a fitted logistic or probit (Yang & Wang 2020, Section 4)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

KINDS = ("logistic", "probit")


@dataclass(frozen=True)
class PsychometricFit:
    r"""A psychometric curve and its maximum-likelihood fit.

    The model is ``P(choice) = F((x - bias) / scale)`` with ``F`` the logistic function or the
    standard normal CDF (probit).

    Attributes
    ----------
    levels : ndarray, shape (k,)
        Distinct stimulus values, sorted.
    proportion : ndarray, shape (k,)
        Fraction of the chosen option at each level.
    counts : ndarray, shape (k,)
        Trials per level.
    bias : float
        Point of subjective equality (``P = 0.5``).
    scale : float
        Spread; the slope at ``bias`` is ``1 / (4 scale)`` (logistic) or
        ``1 / (sqrt(2 pi) scale)`` (probit).
    kind : str
    """

    levels: np.ndarray
    proportion: np.ndarray
    counts: np.ndarray
    bias: float
    scale: float
    kind: str

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Fitted probability of the choice at stimulus values ``x``."""
        return _cdf(self.kind, (np.asarray(x, dtype=float) - self.bias) / self.scale)


def _cdf(kind: str, z: np.ndarray) -> np.ndarray:
    return special.expit(z) if kind == "logistic" else stats.norm.cdf(z)


def fit_psychometric(stimulus, chose, *, kind: str = "logistic") -> PsychometricFit:
    """Fit ``P(chose | stimulus)`` by maximum likelihood (Bernoulli trials).

    Parameters
    ----------
    stimulus : array-like, shape (n_trials,)
        Signed stimulus strength of each trial (e.g. signed coherence).
    chose : array-like of bool, shape (n_trials,)
        Whether the trial ended with the option whose probability is modelled.
    kind : {"logistic", "probit"}

    Returns
    -------
    PsychometricFit

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = np.repeat([-20.0, -10.0, -5.0, 0.0, 5.0, 10.0, 20.0], 400)
    >>> chose = rng.random(x.size) < 1 / (1 + np.exp(-(x - 2.0) / 4.0))
    >>> fit = fit_psychometric(x, chose)
    >>> round(fit.bias), round(fit.scale)
    (2, 4)
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {list(KINDS)}; got {kind!r}")
    x = np.asarray(stimulus, dtype=float)
    y = np.asarray(chose)
    if x.ndim != 1 or y.shape != x.shape:
        raise ValueError(
            f"stimulus and chose must be 1-D of equal length; got shapes {x.shape} and {y.shape}"
        )
    if y.dtype != bool and not np.isin(y, (0, 1)).all():
        raise ValueError("chose must be boolean (or 0/1)")
    y = y.astype(bool)
    levels, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    if levels.size < 2:
        raise ValueError(f"need at least 2 distinct stimulus levels; got {levels.size}")
    hits = np.bincount(inverse, weights=y, minlength=levels.size)
    spread = max(float(np.ptp(levels)), 1e-12)

    def nll(theta: np.ndarray) -> float:
        p = _cdf(kind, (levels - theta[0]) / np.exp(theta[1]))
        p = np.clip(p, 1e-12, 1 - 1e-12)
        return -float(np.sum(hits * np.log(p) + (counts - hits) * np.log1p(-p)))

    # Explicit simplex: Nelder-Mead's default one scales each coordinate by 5 %, which does not
    # move a bias that starts at (nearly) zero.
    start = np.array([float(np.mean(levels)), np.log(spread / 8)])
    simplex = np.stack([start, start + np.array([spread / 8, 0.0]), start + np.array([0.0, 1.0])])
    res = optimize.minimize(
        nll, start, method="Nelder-Mead",
        options={"initial_simplex": simplex, "xatol": 1e-9, "fatol": 1e-10, "maxiter": 4000},
    )
    return PsychometricFit(
        levels=levels,
        proportion=hits / counts,
        counts=counts,
        bias=float(res.x[0]),
        scale=float(np.exp(res.x[1])),
        kind=kind,
    )

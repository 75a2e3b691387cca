"""Behaviour: psychometric curves (per context), chronometric curves, accuracy by condition.

Yang & Wang 2020, Section 4: a trained network is first compared to animals on behaviour.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

__all__ = [
    "ChronometricCurve",
    "ConditionAccuracy",
    "DegenerateFitWarning",
    "GroupedPsychometricFit",
    "PsychometricFit",
    "accuracy_by_condition",
    "chronometric",
    "fit_psychometric",
    "fit_psychometric_by_group",
]

KINDS = ("logistic", "probit")


class DegenerateFitWarning(UserWarning):
    """A psychometric fit whose parameters the data do not determine (flat or step-like
    choices): the fitted bias or scale ran off to where the likelihood no longer changes."""


def _degenerate(levels: np.ndarray, proportion: np.ndarray, bias: float, scale: float) -> str | None:
    """Why a fit is not meaningful, or None. ``levels`` sorted, at least 2 of them."""
    span = float(levels[-1] - levels[0])
    lo, hi = float(proportion.min()), float(proportion.max())
    if np.isin(proportion, (0.0, 1.0)).all() and lo < hi and np.all(np.diff(proportion) >= 0):
        return (f"the choices switch from all-0 to all-1 between two adjacent levels (perfect "
                f"separation), so any scale below the spacing of the levels fits equally well "
                f"(fitted scale {scale:.3g})")
    if not levels[0] - span <= bias <= levels[-1] + span or scale > 10 * span:
        fitted = f"fitted bias {bias:.3g}, scale {scale:.3g}"
        if hi - lo > 0.5 and np.corrcoef(levels, proportion)[0, 1] < 0:
            return (f"the choices fall as the stimulus grows (proportions from {proportion[0]:.2f} "
                    f"to {proportion[-1]:.2f}), which the rising curve cannot follow: {fitted}; "
                    "flip the stimulus' sign or model the other choice")
        return (f"the choices barely depend on the stimulus (proportions {lo:.2f} to {hi:.2f} "
                f"over levels {levels[0]:g} to {levels[-1]:g}), so the curve is flat: {fitted}")
    return None


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

    Warns
    -----
    DegenerateFitWarning
        When the data do not determine the fit: choices that do not depend on the stimulus, or
        fall as it grows (the bias runs off beyond the stimulus range, or the scale beyond 10
        times it), or that switch from all-0 to all-1 between two levels (the scale is then only
        bounded by the level spacing).

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
    fit = PsychometricFit(
        levels=levels,
        proportion=hits / counts,
        counts=counts,
        bias=float(res.x[0]),
        scale=float(np.exp(res.x[1])),
        kind=kind,
    )
    why = _degenerate(levels, fit.proportion, fit.bias, fit.scale)
    if why is not None:
        warnings.warn(f"degenerate psychometric fit: {why}; the bias and scale are not "
                      "meaningful", DegenerateFitWarning, stacklevel=2)
    return fit


@dataclass(frozen=True)
class GroupedPsychometricFit:
    """One psychometric fit per group (e.g. per context), from one call.

    Attributes
    ----------
    groups : ndarray, shape (g,)
        Distinct group values, sorted.
    fits : tuple of PsychometricFit, length g
        ``fits[i]`` is the fit to the trials of ``groups[i]``.
    bias, scale : ndarray, shape (g,)
        The fits' parameters, side by side.
    counts : ndarray of int, shape (g,)
        Trials per group.
    kind : str
    """

    groups: np.ndarray
    fits: tuple
    bias: np.ndarray
    scale: np.ndarray
    counts: np.ndarray
    kind: str

    def fit_for(self, group) -> PsychometricFit:
        """The fit of one group value."""
        hit = np.flatnonzero(self.groups == group)
        if hit.size == 0:
            raise KeyError(f"group {group!r} not in {self.groups.tolist()}")
        return self.fits[int(hit[0])]


def fit_psychometric_by_group(stimulus, chose, groups, *,
                              kind: str = "logistic") -> GroupedPsychometricFit:
    """Fit a psychometric curve separately for every value of a grouping variable.

    Parameters
    ----------
    stimulus : array-like, shape (n_trials,)
        Signed stimulus strength of each trial.
    chose : array-like of bool, shape (n_trials,)
    groups : array-like, shape (n_trials,)
        The group of each trial (e.g. the context); every group needs at least 2 stimulus levels.
    kind : {"logistic", "probit"}

    Returns
    -------
    GroupedPsychometricFit

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = np.tile(np.repeat([-20.0, -10.0, -5.0, 0.0, 5.0, 10.0, 20.0], 400), 2)
    >>> context = np.repeat([0, 1], x.size // 2)
    >>> bias = np.where(context == 0, -3.0, 3.0)
    >>> chose = rng.random(x.size) < 1 / (1 + np.exp(-(x - bias) / 4.0))
    >>> res = fit_psychometric_by_group(x, chose, context)
    >>> res.groups.tolist(), np.round(res.bias).tolist()
    ([0, 1], [-3.0, 3.0])
    """
    x = np.asarray(stimulus, dtype=float)
    g = np.asarray(groups)
    if g.shape != x.shape:
        raise ValueError(f"groups must have one value per trial; got shape {g.shape} for "
                         f"{x.shape[0] if x.ndim == 1 else x.shape} trials")
    y = np.asarray(chose)
    if y.shape != x.shape:
        raise ValueError(
            f"stimulus and chose must be 1-D of equal length; got shapes {x.shape} and {y.shape}"
        )
    values, counts = np.unique(g, return_counts=True)
    fits = []
    for v in values:
        sel = g == v
        if np.unique(x[sel]).size < 2:
            raise ValueError(f"group {v.item()!r} has fewer than 2 distinct stimulus levels")
        fits.append(fit_psychometric(x[sel], y[sel], kind=kind))
    return GroupedPsychometricFit(
        groups=values, fits=tuple(fits), bias=np.array([f.bias for f in fits]),
        scale=np.array([f.scale for f in fits]), counts=counts, kind=kind)


@dataclass(frozen=True)
class ChronometricCurve:
    """Mean reaction time per stimulus level.

    Attributes
    ----------
    levels : ndarray, shape (k,)
        Distinct stimulus values with at least one valid reaction time, sorted.
    mean_rt : ndarray, shape (k,)
        Mean reaction time at each level (units of the input, e.g. ms).
    sem : ndarray, shape (k,)
        Standard error of the mean (``std(ddof=1) / sqrt(n)``; NaN where ``n = 1``).
    counts : ndarray of int, shape (k,)
        Trials used at each level.
    n_excluded : int
        Trials left out: reaction time NaN (no response) or, with ``correct``, errors.
    """

    levels: np.ndarray
    mean_rt: np.ndarray
    sem: np.ndarray
    counts: np.ndarray
    n_excluded: int


def chronometric(stimulus, reaction_time, *, correct=None) -> ChronometricCurve:
    """Chronometric curve of a reaction-time task: mean reaction time per stimulus level.

    Parameters
    ----------
    stimulus : array-like, shape (n_trials,)
        Stimulus strength of each trial (pass ``abs(signed coherence)`` for the usual curve).
    reaction_time : array-like, shape (n_trials,)
        Reaction time of each trial; NaN marks a trial without a response (left out).
    correct : array-like of bool, shape (n_trials,), optional
        Keep only these trials (chronometric curves are often drawn from correct trials).

    Returns
    -------
    ChronometricCurve

    Examples
    --------
    >>> res = chronometric([0, 0, 50, 50, 50], [600.0, 700.0, 300.0, 320.0, float("nan")])
    >>> res.levels.tolist(), res.mean_rt.tolist(), res.counts.tolist(), res.n_excluded
    ([0.0, 50.0], [650.0, 310.0], [2, 2], 1)
    """
    x = np.asarray(stimulus, dtype=float)
    rt = np.asarray(reaction_time, dtype=float)
    if x.ndim != 1 or rt.shape != x.shape:
        raise ValueError(f"stimulus and reaction_time must be 1-D of equal length; got shapes "
                         f"{x.shape} and {rt.shape}")
    keep = ~np.isnan(rt)
    if correct is not None:
        c = np.asarray(correct)
        if c.shape != x.shape or (c.dtype != bool and not np.isin(c, (0, 1)).all()):
            raise ValueError(f"correct must be boolean (or 0/1) with shape {x.shape}; got "
                             f"{c.dtype} of shape {c.shape}")
        keep &= c.astype(bool)
    if not keep.any():
        raise ValueError("no trial has a reaction time (all NaN or excluded by correct)")
    levels, inverse, counts = np.unique(x[keep], return_inverse=True, return_counts=True)
    total = np.bincount(inverse, weights=rt[keep], minlength=levels.size)
    mean = total / counts
    sq = np.bincount(inverse, weights=(rt[keep] - mean[inverse]) ** 2, minlength=levels.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        sem = np.where(counts > 1, np.sqrt(sq / np.maximum(counts - 1, 1) / counts), np.nan)
    return ChronometricCurve(levels=levels, mean_rt=mean, sem=sem, counts=counts,
                             n_excluded=int((~keep).sum()))


@dataclass(frozen=True)
class ConditionAccuracy:
    """Accuracy per combination of condition values (a table, one row per combination).

    Attributes
    ----------
    names : tuple of str
        The condition variables (the table's key columns).
    values : tuple of ndarray, each shape (k,)
        ``values[j][i]`` is variable ``names[j]`` in row ``i``; rows sorted by the values.
    accuracy : ndarray, shape (k,)
        Fraction correct in each row.
    counts : ndarray of int, shape (k,)
        Trials in each row.
    sem : ndarray, shape (k,)
        Binomial standard error ``sqrt(p (1 - p) / n)``.
    """

    names: tuple
    values: tuple
    accuracy: np.ndarray
    counts: np.ndarray
    sem: np.ndarray

    def rows(self) -> list[dict]:
        """The table as a list of ``{name: value, ..., "accuracy", "counts"}`` dicts."""
        return [
            {**{n: v[i].item() for n, v in zip(self.names, self.values)},
             "accuracy": float(self.accuracy[i]), "counts": int(self.counts[i])}
            for i in range(len(self.accuracy))
        ]


def accuracy_by_condition(correct, conditions: Mapping) -> ConditionAccuracy:
    """Fraction correct for every combination of the given condition variables.

    Parameters
    ----------
    correct : array-like of bool, shape (n_trials,)
    conditions : mapping str -> array-like of shape (n_trials,)
        The variables to break accuracy down by (e.g. ``Evaluation.conditions`` or a subset:
        ``{"context": ..., "coherence": ...}``); the combinations present in the data are rows.

    Returns
    -------
    ConditionAccuracy

    Examples
    --------
    >>> res = accuracy_by_condition([1, 0, 1, 1], {"coh": [5, 5, 50, 50]})
    >>> res.values[0].tolist(), res.accuracy.tolist(), res.counts.tolist()
    ([5, 50], [0.5, 1.0], [2, 2])
    """
    c = np.asarray(correct)
    if c.ndim != 1 or (c.dtype != bool and not np.isin(c, (0, 1)).all()):
        raise ValueError(f"correct must be 1-D boolean (or 0/1); got {c.dtype} of shape {c.shape}")
    if not isinstance(conditions, Mapping) or not conditions:
        raise ValueError("conditions must be a non-empty mapping of name -> per-trial values")
    names = tuple(conditions)
    cols = [np.asarray(conditions[k]) for k in names]
    for name, col in zip(names, cols):
        if col.shape != c.shape:
            raise ValueError(f"condition {name!r} must have one value per trial ({c.size}); "
                             f"got shape {col.shape}")
    codes, uniques = [], []
    for col in cols:
        u, inv = np.unique(col, return_inverse=True)
        uniques.append(u)
        codes.append(inv)
    keys, inverse, counts = np.unique(np.stack(codes, 1), axis=0, return_inverse=True,
                                      return_counts=True)
    inverse = inverse.reshape(-1)
    hits = np.bincount(inverse, weights=c.astype(float), minlength=len(keys))
    acc = hits / counts
    return ConditionAccuracy(
        names=names,
        values=tuple(u[keys[:, j]] for j, u in enumerate(uniques)),
        accuracy=acc, counts=counts, sem=np.sqrt(acc * (1 - acc) / counts))

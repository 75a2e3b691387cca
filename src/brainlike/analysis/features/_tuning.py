"""Tuning curves and selectivity indices of single units (orientation, frequency, category)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "CategoryTuning",
    "CircularSelectivity",
    "TuningCurve",
    "category_tuning",
    "circular_selectivity",
    "lifetime_sparseness",
    "modulation_index",
    "tuning_curve",
]


def _responses(responses: Any, name: str = "responses") -> np.ndarray:
    """(N, n_units) float64 from an array or a Recording (time-averaged per stimulus)."""
    data = getattr(responses, "data", None)
    if data is not None and np.ndim(data) == 3:  # a Recording (trial, time, unit)
        r = np.nanmean(np.asarray(data, dtype=np.float64), axis=1)
    else:
        r = np.asarray(responses, dtype=np.float64)
    if r.ndim == 1:
        r = r[:, None]
    if r.ndim != 2 or r.shape[0] < 1:
        raise ValueError(f"{name} must have shape (n_stimuli, n_units); got {np.shape(responses)}")
    if not np.isfinite(r).all():
        raise ValueError(f"{name} must be finite")
    return r


def _values(responses: Any, values: Any, n: int, name: str = "values") -> tuple[np.ndarray, str]:
    label = "value"
    if isinstance(values, str):
        conds = getattr(responses, "conditions", None)
        if conds is None or values not in conds:
            have = list(conds) if conds is not None else []
            raise ValueError(f"{name} {values!r} is not a condition of the recording; it has {have}")
        label, values = values, conds[values]
    v = np.asarray(values)
    if v.shape != (n,):
        raise ValueError(f"{name} must have shape (n_stimuli,) = ({n},); got {v.shape}")
    return v, label


@dataclass(frozen=True)
class TuningCurve:
    """Mean response of each unit to each value of a stimulus variable.

    Attributes
    ----------
    variable : str
    values : ndarray, shape (n_values,)
        Sorted distinct values of the variable.
    mean, sem : ndarray, shape (n_values, n_units)
        Mean and standard error over the stimuli sharing a value (other variables, e.g. phase,
        are averaged over).
    count : ndarray, shape (n_values,)
    preferred : ndarray, shape (n_units,)
        Value of the largest mean response.
    """

    variable: str
    values: np.ndarray
    mean: np.ndarray
    sem: np.ndarray
    count: np.ndarray
    preferred: np.ndarray


def tuning_curve(responses: Any, values: Any) -> TuningCurve:
    """Tuning curves: responses averaged within each value of a stimulus variable.

    Parameters
    ----------
    responses : array (n_stimuli, n_units) or (n_stimuli,), or a Recording
        A Recording (e.g. from :meth:`~brainlike.recordings.Recording.from_layers`) is averaged
        over time first.
    values : array (n_stimuli,) or str
        The variable's value on each stimulus, or the name of a condition of the Recording.

    Returns
    -------
    TuningCurve

    Examples
    --------
    >>> import numpy as np
    >>> theta = np.repeat([0.0, 45.0, 90.0], 2)
    >>> tc = tuning_curve(np.cos(np.deg2rad(theta))[:, None] + 1, theta)
    >>> tc.values.tolist(), tc.preferred.tolist()
    ([0.0, 45.0, 90.0], [0.0])
    """
    r = _responses(responses)
    v, label = _values(responses, values, r.shape[0])
    keys, inverse = np.unique(v, return_inverse=True)
    count = np.bincount(inverse, minlength=keys.size)
    mean = np.zeros((keys.size, r.shape[1]))
    np.add.at(mean, inverse, r)
    mean /= count[:, None]
    sq = np.zeros_like(mean)
    np.add.at(sq, inverse, (r - mean[inverse]) ** 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt(sq / np.maximum(count - 1, 1)[:, None])
        sem = np.where(count[:, None] > 1, sd / np.sqrt(count)[:, None], np.nan)
    return TuningCurve(label, keys, mean, sem, count, keys[np.argmax(mean, axis=0)])


@dataclass(frozen=True)
class CircularSelectivity:
    """Vector-sum selectivity of a circular variable (orientation, direction).

    Attributes
    ----------
    index : ndarray, shape (n_units,)
        ``|Σ_k r_k e^{i 2π θ_k / period}| / Σ_k r_k`` in [0, 1] (1 − circular variance; the
        global orientation selectivity index for ``period = 180``).
    preferred : ndarray, shape (n_units,)
        Angle of the vector sum, in the variable's units, in ``[0, period)``.
    """

    index: np.ndarray
    preferred: np.ndarray


def circular_selectivity(curve: TuningCurve, *, period: float = 180.0) -> CircularSelectivity:
    """Orientation (``period=180``) or direction (``period=360``) selectivity of tuning curves.

    Responses are shifted to be non-negative per unit (minus the unit's minimum) only if some
    are negative; the vector sum is over the curve's values (Ringach et al. 2002's global OSI).

    Examples
    --------
    >>> import numpy as np
    >>> theta = np.arange(0.0, 180.0, 22.5)
    >>> r = np.stack([np.exp(np.cos(np.deg2rad(2 * (theta - 45)))), np.ones_like(theta)], 1)
    >>> sel = circular_selectivity(tuning_curve(r, theta))
    >>> np.round(sel.preferred[0], 6), bool(sel.index[0] > 0.4), float(np.round(sel.index[1], 6))
    (np.float64(45.0), True, 0.0)
    """
    if not period > 0:
        raise ValueError(
            f"The 'period' parameter of circular_selectivity must be > 0. Got {period!r} instead."
        )
    r = curve.mean
    r = np.where((r < 0).any(axis=0, keepdims=True), r - r.min(axis=0, keepdims=True), r)
    phase = np.exp(1j * 2 * np.pi * np.asarray(curve.values, dtype=np.float64) / period)
    vec = phase @ r
    total = r.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        index = np.where(total > 0, np.abs(vec) / total, 0.0)
    pref = np.mod(np.angle(vec) * period / (2 * np.pi), period)
    return CircularSelectivity(index, pref)


def modulation_index(curve: TuningCurve) -> np.ndarray:
    """``(r_max − r_min) / (r_max + r_min)`` of each unit's tuning curve, shape (n_units,).

    For non-negative responses it lies in [0, 1] (0: untuned); 0 where both are 0.
    """
    hi, lo = curve.mean.max(axis=0), curve.mean.min(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(hi + lo != 0, (hi - lo) / (hi + lo), 0.0)


def lifetime_sparseness(responses: Any) -> np.ndarray:
    """Lifetime sparseness of each unit over stimuli (Vinje & Gallant 2000), shape (n_units,).

    ``S = (1 − (Σ r / n)² / (Σ r² / n)) / (1 − 1/n)``: 0 for a unit that responds equally to
    every stimulus, 1 for one that responds to a single stimulus. Responses must be
    non-negative (rates); a silent unit gets 0.

    Examples
    --------
    >>> import numpy as np
    >>> lifetime_sparseness(np.array([[1.0, 1.0], [0.0, 1.0], [0.0, 1.0]])).tolist()
    [1.0, 0.0]
    """
    r = _responses(responses)
    if (r < 0).any():
        raise ValueError("lifetime_sparseness needs non-negative responses (rates)")
    n = r.shape[0]
    if n < 2:
        raise ValueError(f"lifetime_sparseness needs at least 2 stimuli; got {n}")
    m1, m2 = r.mean(axis=0), (r * r).mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where(m2 > 0, (1.0 - m1**2 / m2) / (1.0 - 1.0 / n), 0.0)
    return s


@dataclass(frozen=True)
class CategoryTuning:
    """Category tuning of units (Lindsay & Miller 2018's tuning values).

    Attributes
    ----------
    categories : ndarray, shape (n_categories,)
    mean : ndarray, shape (n_categories, n_units)
        Mean response to each category.
    tuning : ndarray, shape (n_categories, n_units)
        ``(mean_c − mean over categories) / std over categories`` (z-scored across categories;
        0 for a unit whose category means are all equal): the gain profile of feature-similarity
        attention to category ``c``.
    d_prime : ndarray, shape (n_units,)
        Selectivity for the preferred category: ``(μ_pref − μ_rest) / sqrt((σ²_pref + σ²_rest) / 2)``
        over single stimuli.
    preferred : ndarray, shape (n_units,)
        The category of the largest mean.
    """

    categories: np.ndarray
    mean: np.ndarray
    tuning: np.ndarray
    d_prime: np.ndarray
    preferred: np.ndarray


def category_tuning(responses: Any, labels: Any) -> CategoryTuning:
    """Category tuning values and d' of each unit.

    Parameters
    ----------
    responses : array (n_stimuli, n_units) or Recording
        For a conv layer use one value per channel (e.g. the spatial mean), as Lindsay & Miller
        do for feature maps.
    labels : array (n_stimuli,) or str (a condition of the Recording)

    Returns
    -------
    CategoryTuning

    Examples
    --------
    >>> import numpy as np
    >>> r = np.array([[1.0, 0.0], [1.2, 0.1], [0.0, 0.0], [0.2, 0.1]])
    >>> ct = category_tuning(r, [0, 0, 1, 1])
    >>> ct.preferred.tolist(), np.round(ct.tuning[:, 0], 3).tolist()
    ([0, 0], [1.0, -1.0])
    """
    r = _responses(responses)
    lab, _ = _values(responses, labels, r.shape[0], "labels")
    cats, inverse = np.unique(lab, return_inverse=True)
    if cats.size < 2:
        raise ValueError(f"labels must hold at least 2 categories; got {cats.tolist()}")
    count = np.bincount(inverse)
    mean = np.zeros((cats.size, r.shape[1]))
    np.add.at(mean, inverse, r)
    mean /= count[:, None]
    sd = mean.std(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        tuning = np.where(sd > 0, (mean - mean.mean(axis=0)) / sd, 0.0)
    best = np.argmax(mean, axis=0)
    in_pref = inverse[:, None] == best[None, :]
    d = np.zeros(r.shape[1])
    for u in range(r.shape[1]):
        a, b = r[in_pref[:, u], u], r[~in_pref[:, u], u]
        pooled = np.sqrt((a.var() + b.var()) / 2)
        d[u] = (a.mean() - b.mean()) / pooled if pooled > 0 else 0.0
    return CategoryTuning(cats, mean, tuning, d, cats[best])

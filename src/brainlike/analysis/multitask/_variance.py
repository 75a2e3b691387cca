"""Task variance of single units and fractional task variance (Yang et al. 2019, Figs. 2-3)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["FractionalVariance", "TaskVariance", "fractional_task_variance", "task_variance"]

NORMALIZATIONS = ("max", "sum", "none")


@dataclass(frozen=True)
class TaskVariance:
    """Variance of each unit's activity across the conditions of each task.

    Attributes
    ----------
    tasks : tuple of str
        Task names, in the order of the columns.
    variance : ndarray, shape (n_units, n_tasks)
        Task variance of every unit (raw, not normalized).
    active : ndarray of bool, shape (n_units,)
        Units whose total variance over the tasks exceeds ``threshold``.
    units : ndarray of int, shape (n_active,)
        Indices of the active units (``np.flatnonzero(active)``).
    normalized : ndarray, shape (n_active, n_tasks)
        The active units' variances divided per unit by their maximum over tasks
        (``normalization="max"``, the paper's default), their sum (``"sum"``) or left as they
        are (``"none"``).
    normalization : str
    threshold : float
    """

    tasks: tuple[str, ...]
    variance: np.ndarray
    active: np.ndarray
    units: np.ndarray
    normalized: np.ndarray
    normalization: str
    threshold: float

    @property
    def n_active(self) -> int:
        """Number of active units."""
        return int(self.units.size)


def _task_array(name: str, item: Any, include, exclude) -> np.ndarray:
    """(C, T, N) float64 with NaN where a step is left out (trial ended, epoch excluded)."""
    data = getattr(item, "data", item)
    x = np.array(data, dtype=np.float64)
    if x.ndim != 3:
        raise ValueError(
            f"activity[{name!r}] must have shape (n_conditions, n_time, n_units); got {np.shape(data)}"
        )
    if include is None and exclude is None:
        return x
    epochs = getattr(item, "epochs", None)
    if epochs is None:
        raise ValueError(
            f"epochs/exclude_epochs need per-trial epochs; activity[{name!r}] is a bare array: pass a "
            "Recording (or an object with 'data' and 'epochs')"
        )
    steps = np.arange(x.shape[1])[None, :]

    def inside(names: Sequence[str]) -> np.ndarray:
        sel = np.zeros(x.shape[:2], dtype=bool)
        for e in names:
            if e in epochs:
                b = np.asarray(epochs[e])
                sel |= (steps >= b[:, :1]) & (steps < b[:, 1:2])
        return sel

    keep = np.ones(x.shape[:2], dtype=bool)
    if include is not None:
        missing = [e for e in include if e not in epochs]
        if len(missing) == len(include):
            raise ValueError(
                f"activity[{name!r}] has none of the epochs {list(include)}; it has {sorted(epochs)}"
            )
        keep &= inside(include)
    if exclude is not None:
        keep &= ~inside(exclude)
    x[~keep] = np.nan
    return x


def _names(value: Any, label: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    out = tuple(value)
    if not out or not all(isinstance(v, str) for v in out):
        raise ValueError(
            f"{label} must be an epoch name or a non-empty sequence of names; got {value!r}"
        )
    return out


def task_variance(
    activity: Mapping[str, Any],
    *,
    epochs: str | Sequence[str] | None = None,
    exclude_epochs: str | Sequence[str] | None = None,
    threshold: float = 1e-3,
    normalization: str = "max",
) -> TaskVariance:
    """Task variance of every unit in every task, normalized per unit (Yang et al. 2019).

    For task ``k`` with activity ``r_i(c, t)`` of unit ``i`` in condition ``c`` at step ``t``,

        TV_ik = mean_t  Var_c r_i(c, t),

    the variance across conditions at each time step, averaged over the steps (the paper's
    ``h.var(axis=1).mean(axis=0)`` in ``analysis/variance.py``; a population variance, ``ddof=0``).
    Units with ``Σ_k TV_ik <= threshold`` are inactive and left out of ``normalized`` (the paper's
    rule: total variance over tasks > 1e-3); each active unit's row is then divided by its
    maximum over tasks (``normalization="max"``, used for the clustering) or by its sum.

    The paper computes it on the noise-free test grid of each task (``mode='test'``, recurrent
    noise off) from the end of the fixation epoch ``fix1`` to the end of the trial:
    ``exclude_epochs="fix1"`` with ``Recording``s of ``task.grid()``. Steps after a trial ended
    (NaN) are skipped; a step needs at least two conditions with data to count.

    Parameters
    ----------
    activity : mapping of str to Recording or array
        Per task, the activity ``(n_conditions, n_time, n_units)`` (one trial per condition),
        as an array or a :class:`~brainlike.recordings.Recording` (anything with ``data`` and,
        for ``epochs``/``exclude_epochs``, ``epochs``). All tasks must have the same units.
    epochs : str or sequence of str, optional
        Use only the steps inside these epochs (per trial, from ``epochs[name]`` bounds).
    exclude_epochs : str or sequence of str, optional
        Leave out the steps inside these epochs (the paper: ``"fix1"``).
    threshold : float
        Minimum total variance over tasks of an active unit (the paper's 1e-3).
    normalization : {"max", "sum", "none"}

    Returns
    -------
    TaskVariance

    References
    ----------
    Yang, Joglekar, Song, Newsome & Wang (2019) Task representations in neural networks trained
    to perform many cognitive tasks. Nat Neurosci 22:297 (code ``gyyang/multitask``).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=(10, 5, 3)) * [1.0, 0.0, 0.0]   # unit 0 varies in task A only,
    >>> b = rng.normal(size=(10, 5, 3)) * [0.0, 1.0, 0.0]   # unit 1 in B only, unit 2 never
    >>> tv = task_variance({"A": a, "B": b})
    >>> tv.active.tolist(), tv.normalized.round(2).tolist()
    ([True, True, False], [[1.0, 0.0], [0.0, 1.0]])
    """
    if not isinstance(activity, Mapping) or not activity:
        raise ValueError(
            "activity must be a non-empty mapping of task name to activity; got "
            f"{type(activity).__name__}"
        )
    if normalization not in NORMALIZATIONS:
        raise ValueError(
            f"normalization must be one of {list(NORMALIZATIONS)}; got {normalization!r}"
        )
    if isinstance(threshold, bool) or not np.isfinite(threshold) or threshold < 0:
        raise ValueError(f"threshold must be a finite number >= 0; got {threshold!r}")
    include, exclude = _names(epochs, "epochs"), _names(exclude_epochs, "exclude_epochs")
    tasks = tuple(str(k) for k in activity)
    columns = []
    n_units = None
    for name, item in activity.items():
        x = _task_array(name, item, include, exclude)
        if n_units is None:
            n_units = x.shape[2]
        elif x.shape[2] != n_units:
            raise ValueError(
                f"every task must have the same units; activity[{name!r}] has {x.shape[2]}, "
                f"the first task {n_units}"
            )
        counts = np.isfinite(x).sum(axis=0)  # (T, N)
        usable = counts.min(axis=1) >= 2
        if not usable.any():
            raise ValueError(
                f"activity[{name!r}] has no time step with data in at least two conditions "
                "(after the epoch selection)"
            )
        xs = x[:, usable]
        mean = np.nanmean(xs, axis=0)
        var = np.nanmean((xs - mean) ** 2, axis=0)  # (T', N), ddof=0 as numpy's var
        columns.append(var.mean(axis=0))
    variance = np.stack(columns, axis=1)
    total = variance.sum(axis=1)
    active = total > threshold
    units = np.flatnonzero(active)
    v = variance[active]
    if normalization == "max":
        normed = v / v.max(axis=1, keepdims=True)
    elif normalization == "sum":
        normed = v / v.sum(axis=1, keepdims=True)
    else:
        normed = v.copy()
    return TaskVariance(tasks, variance, active, units, normed, normalization, float(threshold))


@dataclass(frozen=True)
class FractionalVariance:
    """Fractional task variance of the units between two tasks, and its histogram.

    Attributes
    ----------
    task_a, task_b : str
    values : ndarray, shape (n_units,)
        ``FTV = (TV_a - TV_b) / (TV_a + TV_b)`` in [-1, 1] for the units whose summed variance
        over the two tasks exceeds the threshold.
    units : ndarray of int, shape (n_units,)
        Their indices.
    counts : ndarray of int, shape (n_bins,)
    edges : ndarray, shape (n_bins + 1,)
    """

    task_a: str
    task_b: str
    values: np.ndarray
    units: np.ndarray
    counts: np.ndarray
    edges: np.ndarray


def fractional_task_variance(
    tv: TaskVariance, task_a: str, task_b: str, *, bins: int = 20, threshold: float | None = None
) -> FractionalVariance:
    """Fractional task variance ``(TV_a - TV_b)/(TV_a + TV_b)`` of each unit (Yang et al. 2019 Fig. 3).

    As the paper's ``analysis/variance.py``: the units counted are those whose variance summed
    over the *two* tasks exceeds ``threshold`` (default ``tv.threshold``, 1e-3); the histogram has
    ``bins`` equal bins on [-1, 1] (20 in the paper). A value near 1 marks a unit engaged only in
    ``task_a``, near -1 only in ``task_b``, near 0 in both alike.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.ones((4, 2, 3)) * np.array([0.0, 1.0, 0.0, 1.0])[:, None, None]
    >>> tv = task_variance({"A": a, "B": np.zeros((4, 2, 3))})
    >>> fractional_task_variance(tv, "A", "B", bins=4).counts.tolist()
    [0, 0, 0, 3]
    """
    for label, name in (("task_a", task_a), ("task_b", task_b)):
        if name not in tv.tasks:
            raise ValueError(f"{label} {name!r} is not one of the tasks {list(tv.tasks)}")
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"bins must be an int >= 1; got {bins!r}")
    thr = tv.threshold if threshold is None else float(threshold)
    a = tv.variance[:, tv.tasks.index(task_a)]
    b = tv.variance[:, tv.tasks.index(task_b)]
    units = np.flatnonzero(a + b > thr)
    values = (a[units] - b[units]) / (a[units] + b[units])
    counts, edges = np.histogram(values, bins=int(bins), range=(-1.0, 1.0))
    return FractionalVariance(task_a, task_b, values, units, counts, edges)

"""Spike-train statistics: PSTH, firing rates per population, ISI CV and Fano factor.

Every function takes spikes ``(B, T, N)`` of 0 and 1 per time step (a spiking network's
``activity``, or binned spikes of recorded neurons) and the step ``dt`` in ms, like the rest of
:mod:`brainlike.analysis`; rates are in Hz. ``lengths`` (valid steps per trial) keeps the padding
of shorter trials out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from ._population import trial_average

__all__ = ["PSTH", "SpikeStatistics", "fano_factor", "isi_cv", "population_rates", "psth",
           "spike_statistics", "unit_rates"]


def _spikes(spikes, dt: float) -> np.ndarray:
    s = np.asarray(spikes, dtype=float)
    if s.ndim != 3:
        raise ValueError(f"spikes must have shape (B, T, N); got {s.shape}")
    if not (np.isfinite(dt) and dt > 0):
        raise ValueError(f"dt must be a time step in ms > 0; got {dt!r}")
    if s.size and not np.isin(s, (0.0, 1.0)).all():
        raise ValueError("spikes must hold only 0 and 1 (one spike at most per step); got other "
                         "values (bin recorded spike times at a step short enough)")
    return s


def _valid(shape: tuple, lengths) -> np.ndarray:
    b, t = shape[:2]
    if lengths is None:
        return np.ones((b, t), dtype=bool)
    lengths = np.asarray(lengths)
    if lengths.shape != (b,):
        raise ValueError(f"lengths must have shape (B,) = ({b},); got {lengths.shape}")
    return np.arange(t) < lengths[:, None]


@dataclass(frozen=True)
class PSTH:
    """Peri-stimulus time histograms: trial-averaged firing rates per group.

    Attributes
    ----------
    groups : tuple
        The condition of each average (``(None,)`` without ``keys``).
    rates : ndarray, shape (n_groups, T, N)
        Hz; NaN where no trial of the group is still running.
    times : ndarray, shape (T,)
        The end of each step in ms (``(t + 1) dt``).
    smooth_ms : float
        Standard deviation of the Gaussian smoothing (0: none).
    """

    groups: tuple
    rates: np.ndarray
    times: np.ndarray
    smooth_ms: float


def psth(spikes, dt: float, keys=None, *, lengths=None, smooth_ms: float = 0.0) -> PSTH:
    """Trial-averaged firing rate of every unit per step, per condition, in Hz.

    Parameters
    ----------
    spikes : array-like, shape (B, T, N)
    dt : float
        Step in ms.
    keys : sequence of length B, or list of such sequences, optional
        The condition of each trial (as :func:`trial_average`); all trials together if None.
    lengths : array-like of int, shape (B,), optional
    smooth_ms : float
        Gaussian smoothing over time (standard deviation in ms), normalized where trials end so
        that it does not bias the rate down at the end of short trials.

    Returns
    -------
    PSTH

    Examples
    --------
    >>> import numpy as np
    >>> s = np.zeros((4, 10, 2))
    >>> s[:, ::2, 0] = 1                      # unit 0: a spike every other 10-ms step
    >>> round(float(np.nanmean(psth(s, dt=10.0).rates[0, :, 0])), 6)
    50.0
    """
    s = _spikes(spikes, dt)
    if smooth_ms < 0:
        raise ValueError(f"smooth_ms must be >= 0; got {smooth_ms!r}")
    groups, avg = trial_average(s, np.zeros(len(s), dtype=int) if keys is None else keys, lengths)
    if keys is None:
        groups = (None,)
    rates = avg * (1000.0 / dt)
    if smooth_ms > 0:
        finite = np.isfinite(rates)
        sigma = smooth_ms / dt
        num = gaussian_filter1d(np.where(finite, rates, 0.0), sigma, axis=1, mode="constant")
        den = gaussian_filter1d(finite.astype(float), sigma, axis=1, mode="constant")
        with np.errstate(invalid="ignore", divide="ignore"):
            rates = np.where(finite, num / den, np.nan)
    return PSTH(groups, rates, (np.arange(s.shape[1]) + 1) * dt, float(smooth_ms))


def unit_rates(spikes, dt: float, *, lengths=None) -> np.ndarray:
    """Each unit's mean firing rate in Hz over all trials and valid steps, ``(N,)``."""
    s = _spikes(spikes, dt)
    valid = _valid(s.shape, lengths)
    steps = max(int(valid.sum()), 1)
    return (s * valid[..., None]).sum(axis=(0, 1)) / steps * (1000.0 / dt)


def population_rates(spikes, dt: float,
                     populations: Mapping[str, Sequence[int] | np.ndarray | slice] | None = None,
                     *, lengths=None) -> dict[str, float]:
    """Mean firing rate in Hz of each population of units.

    Parameters
    ----------
    spikes : array-like, shape (B, T, N)
    dt : float
    populations : mapping of str to unit indices, a slice or a boolean mask of shape (N,), optional
        E.g. ``{"E": sign > 0, "I": sign < 0}`` from a Dale connectivity's ``cell_sign``, or a
        multi-area network's ``area_slices``. Default: one population ``"all"``.
    lengths : array-like of int, shape (B,), optional

    Returns
    -------
    dict of str to float
        The mean over the population's units of :func:`unit_rates`.
    """
    rates = unit_rates(spikes, dt, lengths=lengths)
    n = rates.shape[0]
    populations = {"all": np.arange(n)} if populations is None else populations
    out = {}
    for name, units in populations.items():
        idx = np.arange(n)[units] if isinstance(units, slice) else np.asarray(units)
        if idx.dtype == bool:
            if idx.shape != (n,):
                raise ValueError(f"population {name!r}: a boolean mask must have shape ({n},); "
                                 f"got {idx.shape}")
            idx = np.flatnonzero(idx)
        if idx.size == 0:
            raise ValueError(f"population {name!r} has no units")
        if idx.min() < 0 or idx.max() >= n:
            raise ValueError(f"population {name!r}: unit indices must lie in [0, {n}); got "
                             f"min {idx.min()}, max {idx.max()}")
        out[name] = float(rates[idx].mean())
    return out


def isi_cv(spikes, dt: float, *, lengths=None, min_intervals: int = 2) -> np.ndarray:
    """Coefficient of variation of each unit's interspike intervals, ``(N,)``.

    The intervals between consecutive spikes of a unit within each trial (never across trials
    or into padding), pooled over trials; ``CV = std / mean`` (sample standard deviation). A
    Poisson process has CV 1, a clock 0. NaN for units with fewer than ``min_intervals``
    intervals.

    Examples
    --------
    >>> import numpy as np
    >>> s = np.zeros((2, 20, 2))
    >>> s[:, ::4, 0] = 1                       # regular: every 4th step
    >>> s[0, [0, 1, 9], 1] = 1                 # intervals 1 and 8
    >>> s[1, [3, 4], 1] = 1                    # interval 1
    >>> cv = isi_cv(s, dt=1.0)
    >>> float(cv[0]), round(float(cv[1]), 4)   # intervals (1, 8, 1): std 4.0415 / mean 3.3333
    (0.0, 1.2124)
    """
    s = _spikes(spikes, dt)
    s = s * _valid(s.shape, lengths)[..., None]
    n = s.shape[2]
    b, t, unit = np.nonzero(s)
    order = np.lexsort((t, b, unit))
    b, t, unit = b[order], t[order], unit[order]
    same = (unit[1:] == unit[:-1]) & (b[1:] == b[:-1])
    isi = (t[1:] - t[:-1])[same] * dt
    owner = unit[1:][same]
    count = np.bincount(owner, minlength=n).astype(float)
    total = np.bincount(owner, weights=isi, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
        var = np.bincount(owner, weights=(isi - mean[owner]) ** 2, minlength=n) / (count - 1)
        cv = np.sqrt(var) / mean
    return np.where(count >= max(min_intervals, 2), cv, np.nan)


def fano_factor(spikes, dt: float, *, window: tuple[int, int] | None = None, keys=None,
                lengths=None) -> np.ndarray:
    """Fano factor of each unit's spike count in a window across trials, ``(N,)``.

    ``var / mean`` of the count in steps ``[start, stop)`` over the trials of each condition
    (``keys``; sample variance), averaged over conditions weighted by their trial counts (the
    variability of responses to the same stimulus, Churchland et al. 2010). A Poisson process
    gives 1. NaN for units that never spike in the window. Trials shorter than ``stop`` are
    refused (their counts would be cut short).

    Examples
    --------
    >>> import numpy as np
    >>> s = np.zeros((4, 10, 1))
    >>> s[:2, :2, 0] = 1                       # counts 2, 2, 0, 0: mean 1, sample variance 4/3
    >>> round(float(fano_factor(s, dt=1.0)[0]), 4)
    1.3333
    """
    s = _spikes(spikes, dt)
    b, t, n = s.shape
    start, stop = (0, t) if window is None else (int(window[0]), int(window[1]))
    if not 0 <= start < stop <= t:
        raise ValueError(f"window must satisfy 0 <= start < stop <= T={t}; got {window!r}")
    if lengths is not None and (np.asarray(lengths) < stop).any():
        raise ValueError(f"every trial must last at least until the window's end (step {stop}); "
                         f"the shortest lasts {int(np.min(lengths))} steps")
    counts = s[:, start:stop].sum(axis=1)  # (B, N)
    if keys is None:
        labels = [0] * b
    elif len(keys) and np.ndim(keys[0]) == 1:
        labels = list(zip(*(np.asarray(k).tolist() for k in keys)))
    else:
        labels = np.asarray(keys).tolist()
    if len(labels) != b:
        raise ValueError(f"keys must have one entry per trial ({b}); got {len(labels)}")
    labels_arr = np.empty(b, dtype=object)
    labels_arr[:] = labels
    total, weight = np.zeros(n), np.zeros(n)
    for g in set(labels):
        c = counts[labels_arr == g]
        if len(c) < 2:
            continue
        m = c.mean(axis=0)
        spiking = m > 0
        ratio = np.divide(c.var(axis=0, ddof=1), m, out=np.zeros(n), where=spiking)
        total += ratio * len(c) * spiking
        weight += len(c) * spiking
    if not any(labels.count(g) >= 2 for g in set(labels)):
        raise ValueError("the Fano factor needs at least two trials of one condition")
    return np.divide(total, weight, out=np.full(n, np.nan), where=weight > 0)


@dataclass(frozen=True)
class SpikeStatistics:
    """Summary of a spiking population's activity.

    Attributes
    ----------
    unit_rates_hz : ndarray, shape (N,)
    population_rates_hz : dict of str to float
    isi_cv : ndarray, shape (N,)
        NaN for units with too few spikes.
    fano : ndarray, shape (N,)
        NaN for units silent in the window.
    mean_rate_hz : float
    mean_isi_cv, mean_fano : float
        Means over the units where they are defined (NaN if none).
    """

    unit_rates_hz: np.ndarray
    population_rates_hz: dict
    isi_cv: np.ndarray
    fano: np.ndarray
    mean_rate_hz: float
    mean_isi_cv: float
    mean_fano: float


def spike_statistics(spikes, dt: float, *, populations=None, keys=None, lengths=None,
                     window: tuple[int, int] | None = None) -> SpikeStatistics:
    """:func:`unit_rates`, :func:`population_rates`, :func:`isi_cv` and :func:`fano_factor` at
    once (arguments as there; ``window`` and ``keys`` are the Fano factor's)."""
    rates = unit_rates(spikes, dt, lengths=lengths)
    cv = isi_cv(spikes, dt, lengths=lengths)
    ff = fano_factor(spikes, dt, window=window, keys=keys, lengths=lengths)

    def mean(x):
        return float(np.nanmean(x)) if np.isfinite(x).any() else float("nan")

    return SpikeStatistics(rates, population_rates(spikes, dt, populations, lengths=lengths), cv, ff,
                           float(rates.mean()), mean(cv), mean(ff))

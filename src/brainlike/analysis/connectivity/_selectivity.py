"""Unit selectivity and the wiring found by training (Yang & Wang 2020, Figure 7; Song et al. 2016).

Weights follow the models' convention: ``w[i, j]`` is the weight from unit ``j`` to unit ``i``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


def _array(name: str, x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _square(name: str, w: Any) -> np.ndarray:
    w = _array(name, w).astype(np.float64)
    if w.ndim != 2 or w.shape[0] != w.shape[1]:
        raise ValueError(f"'{name}' must be a square (N, N) matrix. Got shape {w.shape} instead.")
    return w


def _sign(cell_sign: Any, n: int) -> np.ndarray:
    s = _array("cell_sign", cell_sign).astype(np.float64)
    if s.shape != (n,) or not np.all(np.isin(s, (-1.0, 1.0))):
        raise ValueError(
            f"'cell_sign' must be a ({n},) array of +1 (excitatory) and -1 (inhibitory). "
            f"Got shape {s.shape} instead." if s.shape != (n,) else
            "'cell_sign' must hold only +1 (excitatory) and -1 (inhibitory)."
        )
    return s


@dataclass(frozen=True)
class Selectivity:
    """Selectivity of every unit between two conditions.

    Attributes
    ----------
    d_prime : ndarray, shape (N,)
        ``(mean_b - mean_a) / sqrt((var_a + var_b) / 2)`` of each unit's rate averaged over the
        window, across trials; positive means the unit prefers ``labels[1]``. 0 for a unit
        whose rate never varies.
    mean : ndarray, shape (2, N)
        Mean window-averaged rate per condition.
    labels : tuple
        The two condition values ``(a, b)``, sorted.
    """

    d_prime: np.ndarray
    mean: np.ndarray
    labels: tuple


def unit_selectivity(activity: Any, labels: Any, window: Any = None) -> Selectivity:
    """d′ of every unit between two conditions (e.g. the two choices), Song et al. (2016).

    Parameters
    ----------
    activity : array-like, shape (B, T, N)
        Rates, (trial, time, unit).
    labels : array-like, shape (B,)
        Condition of each trial; exactly two distinct values.
    window : array-like of int, shape (B, 2), optional
        ``[start, stop)`` steps averaged per trial, e.g. ``batch.epochs["stimulus"]``; default
        every step.

    Returns
    -------
    Selectivity

    Examples
    --------
    >>> import numpy as np
    >>> rates = np.zeros((4, 3, 2))
    >>> rates[2:, :, 0] = 1.0          # unit 0 fires for condition 2
    >>> rates[[0, 2], :, 0] += 0.1     # with a little trial-to-trial variability
    >>> rates[:, :, 1] = np.arange(3)  # unit 1 ramps identically in both conditions
    >>> s = unit_selectivity(rates, [1, 1, 2, 2])
    >>> np.round(s.d_prime, 2).tolist()
    [20.0, 0.0]
    """
    a = _array("activity", activity).astype(np.float64)
    if a.ndim != 3:
        raise ValueError(f"'activity' must have shape (batch, time, unit). Got shape {a.shape} instead.")
    y = _array("labels", labels)
    if y.shape != (a.shape[0],):
        raise ValueError(
            f"'labels' must have shape (batch,) = ({a.shape[0]},). Got shape {y.shape} instead."
        )
    values = np.unique(y)
    if values.size != 2:
        raise ValueError(f"'labels' must take exactly two values. Got {values.tolist()} instead.")
    if window is None:
        feats = a.mean(1)
    else:
        win = _array("window", window).astype(np.int64)
        if win.shape != (a.shape[0], 2) or np.any(win[:, 1] <= win[:, 0]):
            raise ValueError(
                f"'window' must be a (batch, 2) = ({a.shape[0]}, 2) array of non-empty "
                f"[start, stop) steps. Got shape {win.shape} instead."
            )
        t = np.arange(a.shape[1])
        m = (t[None, :] >= win[:, :1]) & (t[None, :] < win[:, 1:])
        feats = (a * m[:, :, None]).sum(1) / m.sum(1)[:, None]
    first, second = feats[y == values[0]], feats[y == values[1]]
    mean = np.stack([first.mean(0), second.mean(0)])
    pooled = np.sqrt((first.var(0) + second.var(0)) / 2)
    diff = mean[1] - mean[0]
    d = np.divide(diff, pooled, out=np.zeros_like(diff), where=pooled > 1e-12)
    return Selectivity(d, mean, (values[0].item(), values[1].item()))


@dataclass(frozen=True)
class SortedConnectivity:
    """A weight matrix with units sorted by cell type, then selectivity (primer Figure 7).

    Attributes
    ----------
    weights : ndarray, shape (N, N)
        ``w[order][:, order]``.
    order : ndarray of int, shape (N,)
        Original index of each sorted unit.
    d_prime : ndarray, shape (N,)
        Sorted selectivities.
    cell_sign : ndarray, shape (N,)
        Sorted cell types (+1 E, -1 I).
    n_excitatory : int
        The first ``n_excitatory`` sorted units are excitatory.
    """

    weights: np.ndarray
    order: np.ndarray
    d_prime: np.ndarray
    cell_sign: np.ndarray
    n_excitatory: int


def sort_by_selectivity(w: Any, d_prime: Any, cell_sign: Any = None) -> SortedConnectivity:
    """Reorder a connectivity matrix: excitatory units then inhibitory, each by increasing d′.

    Parameters
    ----------
    w : array-like, shape (N, N)
        ``w[i, j]`` from unit ``j`` to unit ``i`` (e.g. ``model.effective_weights().w_rec``).
    d_prime : array-like, shape (N,)
        From :func:`unit_selectivity`.
    cell_sign : array-like, shape (N,), optional
        +1 / -1 per unit (``connectivity.cell_sign``); default all excitatory.

    Examples
    --------
    >>> import numpy as np
    >>> s = sort_by_selectivity(np.arange(9.).reshape(3, 3), [0.5, -1.0, 2.0], [1, -1, 1])
    >>> s.order.tolist(), s.n_excitatory
    ([0, 2, 1], 2)
    """
    w = _square("w", w)
    n = w.shape[0]
    d = _array("d_prime", d_prime).astype(np.float64)
    if d.shape != (n,):
        raise ValueError(f"'d_prime' must have shape ({n},). Got shape {d.shape} instead.")
    s = np.ones(n) if cell_sign is None else _sign(cell_sign, n)
    order = np.lexsort((d, -s))  # E (+1) first, then by d'
    return SortedConnectivity(w[order][:, order], order, d[order], s[order], int((s > 0).sum()))


@dataclass(frozen=True)
class WeightsByType:
    """Recurrent weights grouped by presynaptic -> postsynaptic cell type.

    Each attribute is a 1-D array of the weights of existing connections (nonzero entries, or
    the entries of ``mask`` when given), self-connections excluded.
    """

    e_to_e: np.ndarray
    e_to_i: np.ndarray
    i_to_e: np.ndarray
    i_to_i: np.ndarray


def weights_by_type(w: Any, cell_sign: Any, mask: Any = None) -> WeightsByType:
    """Split the recurrent weights by connection type (E→E, E→I, I→E, I→I).

    Parameters
    ----------
    w : array-like, shape (N, N)
        ``w[i, j]`` from unit ``j`` to unit ``i``.
    cell_sign : array-like, shape (N,)
        +1 / -1 per unit.
    mask : array-like of bool, shape (N, N), optional
        Existing connections; default the nonzero entries of ``w``.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.array([[0., 1., -2.], [3., 0., -4.], [5., 6., 0.]])
    >>> t = weights_by_type(w, [1, 1, -1])
    >>> t.e_to_e.tolist(), t.i_to_e.tolist(), t.e_to_i.tolist(), t.i_to_i.tolist()
    ([1.0, 3.0], [-2.0, -4.0], [5.0, 6.0], [])
    """
    w = _square("w", w)
    n = w.shape[0]
    s = _sign(cell_sign, n)
    exists = (w != 0) if mask is None else _array("mask", mask).astype(bool)
    if exists.shape != (n, n):
        raise ValueError(f"'mask' must have shape ({n}, {n}). Got shape {exists.shape} instead.")
    exists = exists & ~np.eye(n, dtype=bool)
    e = s > 0

    def pick(post: np.ndarray, pre: np.ndarray) -> np.ndarray:
        sel = exists & post[:, None] & pre[None, :]
        return w[sel]

    return WeightsByType(pick(e, e), pick(~e, e), pick(e, ~e), pick(~e, ~e))


@dataclass(frozen=True)
class ChoiceWiring:
    """Mean E→E weight between units selective to the same vs to different choices.

    Attributes
    ----------
    same, different : float
        Mean weight over pairs of distinct selective excitatory units preferring the same
        condition / different conditions (absent connections count as 0 when they are
        excluded by neither a mask nor the diagonal).
    ratio : float
        ``same / different`` (inf when ``different`` is 0).
    n_same, n_different : int
        Numbers of pairs averaged.
    threshold : float
        Units with ``|d′| >= threshold`` count as selective.
    """

    same: float
    different: float
    ratio: float
    n_same: int
    n_different: int
    threshold: float


def choice_wiring(w: Any, d_prime: Any, cell_sign: Any, *, threshold: float = 0.5) -> ChoiceWiring:
    """Do excitatory units selective to the same choice excite each other more (Song et al. 2016)?

    Parameters
    ----------
    w : array-like, shape (N, N)
        ``w[i, j]`` from unit ``j`` to unit ``i``.
    d_prime : array-like, shape (N,)
        From :func:`unit_selectivity`; the sign gives the preferred choice.
    cell_sign : array-like, shape (N,)
        +1 / -1 per unit.
    threshold : float
        Minimum ``|d′|`` of a selective unit.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.array([[0., 2., 1.], [2., 0., 1.], [1., 1., 0.]])
    >>> c = choice_wiring(w, [-1.0, -2.0, 3.0], [1, 1, 1])
    >>> c.same, c.different, c.ratio
    (2.0, 1.0, 2.0)
    """
    w = _square("w", w)
    n = w.shape[0]
    d = _array("d_prime", d_prime).astype(np.float64)
    if d.shape != (n,):
        raise ValueError(f"'d_prime' must have shape ({n},). Got shape {d.shape} instead.")
    s = _sign(cell_sign, n)
    if not threshold >= 0:
        raise ValueError(f"'threshold' must be >= 0. Got {threshold!r} instead.")
    sel = (s > 0) & (np.abs(d) >= threshold)
    pref = np.sign(d)
    pair = sel[:, None] & sel[None, :] & ~np.eye(n, dtype=bool)
    same = pair & (pref[:, None] == pref[None, :])
    diff = pair & (pref[:, None] != pref[None, :])
    if not same.any() or not diff.any():
        raise ValueError(
            f"choice_wiring needs selective excitatory units preferring each choice; with "
            f"threshold={threshold} there are {int(same.sum())} same-choice and "
            f"{int(diff.sum())} different-choice pairs. Lower the threshold."
        )
    m_same, m_diff = float(w[same].mean()), float(w[diff].mean())
    ratio = m_same / m_diff if m_diff != 0 else float("inf")
    return ChoiceWiring(m_same, m_diff, ratio, int(same.sum()), int(diff.sum()), float(threshold))

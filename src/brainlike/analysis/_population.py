"""Population activity: trial averages by condition and their principal components."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import PCA


@dataclass(frozen=True)
class TrajectoryPCA:
    """Principal components of condition-averaged trajectories.

    Attributes
    ----------
    groups : tuple
        The condition value (or tuple of values) of each average, in order.
    averages : ndarray, shape (n_groups, T, N)
        Trial-averaged activity per group (over trials of that group still running at t).
    projections : ndarray, shape (n_groups, T, n_components)
        ``averages`` projected on the components.
    components : ndarray, shape (n_components, N)
    mean : ndarray, shape (N,)
    explained_variance_ratio : ndarray, shape (n_components,)
    """

    groups: tuple
    averages: np.ndarray
    projections: np.ndarray
    components: np.ndarray
    mean: np.ndarray
    explained_variance_ratio: np.ndarray

    def transform(self, activity: np.ndarray) -> np.ndarray:
        """Project activity ``(..., N)`` (single trials, fixed points) into the same space."""
        return (np.asarray(activity) - self.mean) @ self.components.T


def trial_average(activity, keys, lengths=None) -> tuple[tuple, np.ndarray]:
    """Average activity ``(B, T, N)`` over trials that share a key.

    Parameters
    ----------
    activity : array-like, shape (B, T, N)
    keys : sequence of length B, or list of such sequences
        The condition of each trial; several arrays are combined into tuples.
    lengths : array-like of int, shape (B,), optional
        Valid steps per trial; padding beyond a trial's end is excluded from the averages.

    Returns
    -------
    groups : tuple
        Sorted distinct keys.
    averages : ndarray, shape (n_groups, T, N)
        NaN where no trial of the group is still running.
    """
    a = np.asarray(activity, dtype=float)
    if a.ndim != 3:
        raise ValueError(f"activity must have shape (B, T, N); got {a.shape}")
    b, t, _ = a.shape
    if isinstance(keys, (list, tuple)) and len(keys) and np.ndim(keys[0]) == 1:
        cols = [np.asarray(k) for k in keys]
        labels = list(zip(*(c.tolist() for c in cols)))
    else:
        labels = np.asarray(keys).tolist()
    if len(labels) != b:
        raise ValueError(f"keys must have one entry per trial ({b}); got {len(labels)}")
    valid = np.ones((b, t), dtype=bool)
    if lengths is not None:
        valid = np.arange(t) < np.asarray(lengths)[:, None]
    groups = tuple(sorted(set(labels)))
    index = {g: i for i, g in enumerate(groups)}
    member = np.zeros((len(groups), b))
    member[[index[k] for k in labels], np.arange(b)] = 1.0
    weights = member[:, :, None] * valid[None]  # (G, B, T)
    sums = np.einsum("gbt,btn->gtn", weights, np.where(valid[..., None], a, 0.0))
    counts = weights.sum(axis=1)[..., None]
    with np.errstate(invalid="ignore", divide="ignore"):
        averages = sums / counts
    return groups, averages


def trajectory_pca(
    activity, keys, *, lengths=None, n_components: int = 3, condition_dependent: bool = False
) -> TrajectoryPCA:
    """PCA of condition-averaged trajectories (the state-space view of Yang & Wang 2020, Fig. 6).

    Parameters
    ----------
    activity : array-like, shape (B, T, N)
    keys : condition per trial (see :func:`trial_average`)
    lengths : array-like, shape (B,), optional
    n_components : int
    condition_dependent : bool
        Fit the components to the averages minus their mean across groups at each time step,
        so that they capture how trajectories differ between conditions rather than the
        condition-independent time course they share (Kobak et al. 2016, eLife). The returned
        ``averages`` and ``projections`` keep that shared part; only the axes change.

    Returns
    -------
    TrajectoryPCA
    """
    groups, averages = trial_average(activity, keys, lengths)
    g, t, n = averages.shape
    if not 1 <= n_components <= n:
        raise ValueError(f"n_components must be in [1, {n}]; got {n_components}")
    flat = averages.reshape(g * t, n)
    rows = np.isfinite(flat).all(axis=1)
    fit_on = averages
    if condition_dependent:
        with np.errstate(invalid="ignore"):
            fit_on = averages - np.nanmean(averages, axis=0, keepdims=True)
    pca = PCA(n_components=n_components, svd_solver="full").fit(fit_on.reshape(g * t, n)[rows])
    proj = np.full((g * t, n_components), np.nan)
    proj[rows] = pca.transform(flat[rows])
    return TrajectoryPCA(
        groups=groups,
        averages=averages,
        projections=proj.reshape(g, t, n_components),
        components=pca.components_,
        mean=pca.mean_,
        explained_variance_ratio=pca.explained_variance_ratio_,
    )

"""Clustering of units by their task-variance profiles (Yang et al. 2019)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["UnitClusters", "cluster_units"]

METHODS = ("kmeans", "hierarchical")
LINKAGES = ("ward", "average", "complete", "single")


@dataclass(frozen=True)
class UnitClusters:
    """Units grouped by their feature profiles, with the number of clusters chosen by silhouette.

    Attributes
    ----------
    labels : ndarray of int, shape (n_units,)
        Cluster of each unit, 0..k-1, numbered by preferred feature (cluster 0 prefers the
        lowest-numbered task, as the paper relabels them).
    units : ndarray of int, shape (n_units,)
        The units' indices in the network (``TaskVariance.units`` when clustering one).
    k : int
        Chosen number of clusters (``argmax`` of ``silhouette``, or the ``k`` given).
    ks : ndarray of int, shape (n_k,)
        Numbers of clusters tried.
    silhouette : ndarray, shape (n_k,)
        Mean silhouette score of each clustering tried.
    profiles : ndarray, shape (k, n_features)
        Mean feature profile of each cluster (e.g. normalized task variance per task).
    preferred : ndarray of int, shape (k,)
        Feature with the largest summed profile in each cluster.
    order : ndarray of int, shape (n_units,)
        Positions that sort the units by cluster (stable), for plotting.
    method : str
    features : tuple of str
        Feature (task) names, if known.
    """

    labels: np.ndarray
    units: np.ndarray
    k: int
    ks: np.ndarray
    silhouette: np.ndarray
    profiles: np.ndarray
    preferred: np.ndarray
    order: np.ndarray
    method: str
    features: tuple[str, ...] = ()

    def members(self, cluster: int) -> np.ndarray:
        """Network indices of the units in ``cluster``."""
        if not 0 <= cluster < self.k:
            raise ValueError(f"cluster must be in [0, {self.k}); got {cluster!r}")
        return self.units[self.labels == cluster]


def _labels_for(x: np.ndarray, ks: np.ndarray, method: str, linkage: str, n_init: int,
                seed: int) -> list[np.ndarray]:
    if method == "kmeans":
        from sklearn.cluster import KMeans

        return [KMeans(int(k), n_init=n_init, random_state=seed).fit(x).labels_ for k in ks]
    from scipy.cluster.hierarchy import fcluster
    from scipy.cluster.hierarchy import linkage as build

    tree = build(x, method=linkage, metric="euclidean")
    return [fcluster(tree, t=int(k), criterion="maxclust") - 1 for k in ks]


def cluster_units(
    features: Any,
    *,
    method: str = "kmeans",
    k: int | None = None,
    k_range: Any = range(2, 30),
    linkage: str = "ward",
    n_init: int = 20,
    seed: int = 0,
) -> UnitClusters:
    """Cluster units by their profiles; the number of clusters maximizes the silhouette score.

    As Yang et al. (2019, ``analysis/clustering.py``): every ``k`` in ``k_range`` (2..29 in the
    paper) is tried, each clustering scored by its mean silhouette coefficient (scikit-learn,
    Euclidean), and the best kept; clusters are then renumbered by the feature each prefers
    (largest summed profile), so that cluster numbers line up across networks.

    Parameters
    ----------
    features : TaskVariance or ndarray, shape (n_units, n_features)
        A :class:`TaskVariance` (its ``normalized`` rows, the active units) or any profiles.
    method : {"kmeans", "hierarchical"}
        k-means (scikit-learn, ``n_init`` restarts, the paper's choice) or agglomerative
        clustering (SciPy ``linkage`` with ``linkage`` = ward/average/complete/single, cut into
        ``k`` clusters; the primer's Fig. 5).
    k : int, optional
        Use this number of clusters instead of choosing by silhouette (its score is still
        reported).
    k_range : iterable of int
        Numbers of clusters to try; values >= n_units, or above the number of distinct profiles,
        are dropped.
    n_init, seed : int
        k-means restarts and random state.

    Returns
    -------
    UnitClusters

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> centers = np.eye(3)
    >>> x = np.repeat(centers, 10, axis=0) + 0.05 * rng.normal(size=(30, 3))
    >>> cl = cluster_units(x, k_range=range(2, 8))
    >>> cl.k, np.bincount(cl.labels).tolist(), cl.preferred.tolist()
    (3, [10, 10, 10], [0, 1, 2])
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}; got {method!r}")
    if linkage not in LINKAGES:
        raise ValueError(f"linkage must be one of {list(LINKAGES)}; got {linkage!r}")
    names: tuple[str, ...] = ()
    units = None
    if hasattr(features, "normalized") and hasattr(features, "units"):
        names, units = tuple(features.tasks), np.asarray(features.units)
        features = features.normalized
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 3:
        raise ValueError(
            f"features must have shape (n_units, n_features) with n_units >= 3; got {x.shape}"
        )
    if not np.isfinite(x).all():
        raise ValueError("features must be finite")
    n = x.shape[0]
    distinct = np.unique(x, axis=0).shape[0]
    top = min(n - 1, distinct)  # more clusters than distinct profiles cannot be told apart
    units = np.arange(n) if units is None else units
    if k is not None:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 2 <= k <= top:
            raise ValueError(
                f"k must be an int in [2, {top}] (n_units - 1, and at most the {distinct} distinct "
                f"profiles); got {k!r}"
            )
        ks = np.array([int(k)])
    else:
        ks = np.array(sorted({int(v) for v in k_range if 2 <= int(v) <= top}))
        if ks.size == 0:
            raise ValueError(
                f"k_range must hold a number of clusters in [2, {top}] (n_units - 1, and at most the "
                f"{distinct} distinct profiles); got {list(k_range)}"
            )
    from sklearn.metrics import silhouette_score

    all_labels = _labels_for(x, ks, method, linkage, n_init, seed)
    scores = np.array([
        silhouette_score(x, lab) if 1 < len(np.unique(lab)) < n else np.nan for lab in all_labels
    ])
    if np.isnan(scores).all():
        raise ValueError("no clustering tried has between 2 and n_units - 1 distinct clusters")
    best = int(np.nanargmax(scores))
    raw = np.asarray(all_labels[best])
    uniq = np.unique(raw)
    pref = np.array([np.argmax(x[raw == c].sum(axis=0)) for c in uniq])
    rank = np.argsort(pref, kind="stable")
    relabel = np.empty(len(uniq), dtype=np.int64)
    relabel[rank] = np.arange(len(uniq))
    labels = relabel[np.searchsorted(uniq, raw)]
    kk = len(uniq)
    profiles = np.stack([x[labels == c].mean(axis=0) for c in range(kk)])
    return UnitClusters(
        labels=labels, units=units, k=kk, ks=ks, silhouette=scores, profiles=profiles,
        preferred=pref[rank], order=np.argsort(labels, kind="stable"), method=method,
        features=names,
    )

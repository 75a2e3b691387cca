"""Figures for the multi-task analyses (Yang et al. 2019; the primer's Fig. 5), decoding and DSA."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from ..analysis import (
    FractionalVariance,
    GroupLesions,
    RuleComposition,
    TaskVariance,
    TemporalDecoding,
    TemporalGeneralization,
    UnitClusters,
)
from ._axes import axes_for


def _cluster_bar(ax, labels: np.ndarray, k: int) -> None:
    colors = colormaps["tab20"]
    for c in range(k):
        where = np.flatnonzero(labels == c)
        if where.size:
            ax.axvspan(where[0] - 0.5, where[-1] + 0.5, color=colors(c % 20))
            ax.text((where[0] + where[-1]) / 2, -0.6, str(c + 1), ha="center", va="top", fontsize=7)
    ax.set(xlim=(-0.5, labels.size - 0.5), ylim=(-1, 1))
    ax.axis("off")


def cluster_map(tv: TaskVariance, clusters: UnitClusters, *, task_labels: Sequence[str] | None = None,
                title: str = "normalized task variance", ax: Axes | Sequence[Axes] | None = None,
                ) -> Figure:
    """Tasks × units map of normalized task variance, units sorted by cluster (primer Fig. 5).

    Left: the map (hot colormap, 0..1) with the clusters as coloured, numbered bars below. Right:
    the silhouette score for each number of clusters tried, the chosen one marked. ``ax``: two
    Axes (map, silhouette) to draw on; a new Figure when None.
    """
    if ax is None:
        fig = Figure(figsize=(10, 4.6), layout="constrained")
        grid = fig.add_gridspec(1, 2, width_ratios=(4, 1))
        ax, ax_s = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1])
    else:
        fig, (ax, ax_s) = axes_for(ax, 2, figsize=(10, 4.6))
    x = tv.normalized[clusters.order].T
    im = ax.imshow(x, aspect="auto", cmap="hot", vmin=0, vmax=1, interpolation="nearest")
    names = list(task_labels) if task_labels is not None else list(tv.tasks)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.set_xticks([])
    ax.set(title=f"{title} ({tv.n_active} active units, {clusters.k} clusters)")
    fig.colorbar(im, ax=ax, fraction=0.03, pad=0.01)
    _cluster_bar(ax.inset_axes((0.0, -0.09, 1.0, 0.06)), clusters.labels[clusters.order], clusters.k)
    ax_s.plot(clusters.ks, clusters.silhouette, "o-", ms=3, color="0.3")
    ax_s.axvline(clusters.k, color="C3", lw=1, ls="--")
    ax_s.set(xlabel="number of clusters", ylabel="silhouette score",
             title=f"{clusters.method}: k = {clusters.k}")
    return fig


def lesion_matrix(lesions: GroupLesions, *, task_labels: Sequence[str] | None = None,
                  vmax: float = 0.5, ax: Axes | None = None) -> Figure:
    """Tasks × lesioned groups map of the change of accuracy (Yang et al. 2019)."""
    fig, (ax,) = axes_for(ax, 1, figsize=(1.2 + 0.45 * len(lesions.groups), 4.8))
    im = ax.imshow(lesions.change.T, aspect="auto", cmap="coolwarm_r", vmin=-vmax, vmax=vmax,
                   interpolation="nearest")
    names = list(task_labels) if task_labels is not None else list(lesions.tasks)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.set_xticks(range(len(lesions.groups)),
                  [g.removeprefix("cluster ") for g in lesions.groups], fontsize=7)
    ax.set(xlabel="lesioned cluster", title="accuracy change after lesion")
    fig.colorbar(im, ax=ax, fraction=0.05, pad=0.02)
    return fig


def fractional_variance(ftvs: Sequence[FractionalVariance], *, ncols: int = 4,
                        ax: Axes | Sequence[Axes] | None = None) -> Figure:
    """Histograms of fractional task variance, one panel per task pair (Yang et al. 2019 Fig. 3).

    ``ax``: one Axes per pair to draw on; a new Figure when None.
    """
    n = len(ftvs)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig, axes = axes_for(ax, n, figsize=(2.4 * ncols, 1.9 * nrows), ncols=ncols)
    for ax, f in zip(axes, ftvs):
        width = np.diff(f.edges)
        frac = f.counts / max(f.counts.sum(), 1)
        ax.bar(f.edges[:-1], frac, width=width, align="edge", color="C0", edgecolor="none")
        ax.set(xlim=(-1.05, 1.05), xlabel=f"FTV({f.task_a}, {f.task_b})", yticks=[])
    return fig


def rule_composition(results: Sequence[RuleComposition], *,
                     ax: Axes | Sequence[Axes] | None = None) -> Figure:
    """Accuracy with composed rule inputs, one panel per task (Yang et al. 2019).

    ``ax``: one Axes per result to draw on; a new Figure when None.
    """
    fig, axes = axes_for(ax, len(results), figsize=(3.6 * len(results), 2.8))
    for ax, r in zip(axes, results):
        y = np.arange(len(r.labels))[::-1]
        ax.barh(y, r.accuracy, color="C0")
        ax.set_yticks(y, r.labels, fontsize=7)
        ax.set(xlim=(0, 1.02), xlabel="accuracy", title=f"task {r.task}")
        ax.axvline(1.0, color="0.7", lw=0.8)
    return fig


def decoding(results: Sequence[TemporalDecoding], labels: Sequence[str] | None = None, *,
             xlabel: str = "time (ms)", title: str = "decoding over time",
             ax: Axes | None = None) -> Figure:
    """Decoding score over time with the permutation chance level (mean and 95% of the null)."""
    fig, (ax,) = axes_for(ax, 1, figsize=(5, 3.2))
    for i, r in enumerate(results):
        lab = labels[i] if labels is not None else r.variable
        ax.plot(r.time, r.score, color=f"C{i}", lw=1.5, label=lab)
        if r.null.shape[0]:
            lo, hi = np.percentile(r.null, [2.5, 97.5], axis=0)
            ax.fill_between(r.time, lo, hi, color=f"C{i}", alpha=0.15, lw=0)
            ax.plot(r.time, r.chance, color=f"C{i}", lw=0.8, ls=":")
    ax.set(xlabel=xlabel, ylabel=results[0].scoring if results else "score", title=title)
    ax.legend(fontsize=7, loc="best")
    return fig


def temporal_generalization(result: TemporalGeneralization, *, xlabel: str = "test time (ms)",
                            ylabel: str = "train time (ms)", title: str | None = None,
                            ax: Axes | None = None) -> Figure:
    """Cross-temporal generalization matrix (train time × test time), King & Dehaene (2014)."""
    fig, (ax,) = axes_for(ax, 1, figsize=(4.4, 3.8))
    t = result.time
    step = (t[1] - t[0]) if t.size > 1 else 1.0
    extent = (t[0] - step / 2, t[-1] + step / 2, t[-1] + step / 2, t[0] - step / 2)
    chance = float(np.nanmean(result.chance)) if np.isfinite(result.chance).any() else None
    if chance is None and result.classes.size:
        chance = 1.0 / result.classes.size
    # a diverging map centred on chance (permutation mean, else 1/k) for accuracy in [0, 1]
    norm = TwoSlopeNorm(vcenter=chance, vmin=0.0, vmax=1.0) if chance is not None and 0 < chance < 1 \
        else None
    im = ax.imshow(result.score, cmap="RdBu_r", extent=extent, interpolation="nearest", norm=norm)
    ax.plot([t[0], t[-1]], [t[0], t[-1]], color="k", lw=0.5, ls=":")
    ax.set(xlabel=xlabel, ylabel=ylabel,
           title=title or f"temporal generalization of {result.variable}")
    fig.colorbar(im, ax=ax, fraction=0.05, pad=0.02, label=result.scoring)
    return fig


def dsa_matrix(distance: np.ndarray, labels: Sequence[str], *, title: str = "DSA distance",
               ax: Axes | None = None) -> Figure:
    """A symmetric matrix of DSA distances between systems, annotated."""
    d = np.asarray(distance, dtype=float)
    fig, (ax,) = axes_for(ax, 1, figsize=(1.5 + 0.55 * len(labels), 1.2 + 0.5 * len(labels)))
    im = ax.imshow(d, cmap="viridis", interpolation="nearest")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    for i in range(d.shape[0]):
        for j in range(d.shape[1]):
            ax.text(j, i, f"{d[i, j]:.2f}", ha="center", va="center", fontsize=6,
                    color="w" if d[i, j] < 0.6 * d.max() else "k")
    ax.set(title=title)
    fig.colorbar(im, ax=ax, fraction=0.05, pad=0.02)
    return fig

"""Figures of feature use: two observers' kernels and information side by side."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ..analysis.features import ObserverComparison
from ._axes import axes_for

__all__ = ["feature_use_comparison"]

_COLORS = ("tab:blue", "tab:orange")


def feature_use_comparison(comparison: ObserverComparison, *, ax: Any = None) -> Figure:
    """Do two observers use the same features? Kernels and MI per factor, side by side.

    Left: each observer's reverse-correlation kernel (correlation of each factor with its
    responses), bars side by side; a dot above a bar marks a factor the observer uses
    (significant MI). Right: the MI of each factor (bits). Factor groups (shape, texture, ...)
    are separated by vertical lines and named. The title gives Kendall's τ between the two
    observers' trial-by-trial responses, the overlap (Jaccard) of the used factors and the
    cosine similarity of the kernels.

    Parameters
    ----------
    comparison : ObserverComparison
        From :meth:`brainlike.analysis.FeatureUse.compare`.
    ax : sequence of two Axes, optional
    """
    if not isinstance(comparison, ObserverComparison):
        raise TypeError(
            f"comparison must be an ObserverComparison (FeatureUse.compare); got "
            f"{type(comparison).__name__}"
        )
    c = comparison
    fig, axes = axes_for(ax, 2, figsize=(max(6.0, 0.55 * len(c.features) + 2.5), 3.2))
    x = np.arange(len(c.features))
    width = 0.4
    for a, values, label in ((axes[0], c.kernels, "kernel (r)"), (axes[1], c.mi, "MI (bits)")):
        for k, name in enumerate(c.observers):
            v = np.nan_to_num(values[k])
            a.bar(x + (k - 0.5) * width, v, width, color=_COLORS[k], label=name)
            used = np.flatnonzero(c.uses[k])
            top = np.where(v[used] >= 0, v[used], 0.0)
            a.plot(x[used] + (k - 0.5) * width, top + 0.04 * (np.abs(values).max() or 1),
                   ".", color=_COLORS[k], markersize=5)
        a.axhline(0.0, color="0.5", lw=0.6)
        a.set_xticks(x, c.features, rotation=90, fontsize=7)
        a.set_ylabel(label)
        start = 0
        for group, members in c.groups.items():
            idx = [c.features.index(m) for m in members if m in c.features]
            if not idx:
                continue
            lo, hi = min(idx), max(idx)
            if lo > start:
                a.axvline(lo - 0.5, color="0.7", lw=0.6)
            a.text((lo + hi) / 2, 1.0, group, transform=a.get_xaxis_transform(), ha="center",
                   va="bottom", fontsize=8)
            start = hi + 1
    axes[0].legend(fontsize=7, frameon=False)
    fig.suptitle(
        f"{c.observers[0]} vs {c.observers[1]}: τ = {c.tau:.2f}, overlap = {c.overlap:.2f}, "
        f"kernel cosine = {c.kernel_similarity:.2f}", fontsize=9,
    )
    return fig

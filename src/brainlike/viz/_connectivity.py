"""Figures of trained connectivity (primer Figure 7): sorted weight matrix, weight distributions."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from ..analysis.connectivity import SortedConnectivity, WeightsByType
from ._axes import axes_for


def connectivity_matrix(
    sorted_w: SortedConnectivity, *, min_abs_d_prime: float = 0.0, title: str = "recurrent weights",
    ax: Axes | None = None,
) -> Figure:
    """The recurrent matrix sorted by cell type and selectivity (primer Figure 7).

    Rows are postsynaptic, columns presynaptic; excitatory weights red, inhibitory blue. A line
    separates excitatory from inhibitory units; a side bar shows each unit's d′.
    ``min_abs_d_prime > 0`` keeps only units at least that selective, as in the primer's figure.
    ``ax``: the Axes to draw in (the d′ bar and the colour bar are attached to it).
    """
    keep = np.abs(sorted_w.d_prime) >= min_abs_d_prime
    w = sorted_w.weights[np.ix_(keep, keep)]
    d = sorted_w.d_prime[keep]
    n_e = int((sorted_w.cell_sign[keep] > 0).sum())
    fig, (ax,) = axes_for(ax, 1, figsize=(5.2, 4.6))
    bar = ax.inset_axes((1.02, 0.0, 0.05, 1.0))
    lim = float(np.abs(w).max()) or 1.0
    im = ax.imshow(w, cmap="RdBu_r", norm=TwoSlopeNorm(0.0, -lim, lim), interpolation="nearest")
    for pos in (n_e - 0.5,):
        ax.axhline(pos, color="k", lw=0.8)
        ax.axvline(pos, color="k", lw=0.8)
    ax.set(xlabel="presynaptic unit (E | I, by d′)", ylabel="postsynaptic unit", title=title)
    fig.colorbar(im, ax=ax, shrink=0.7, pad=0.1, label="weight")
    dl = float(np.abs(d).max()) or 1.0
    bar.imshow(d[:, None], cmap="PuOr", aspect="auto", norm=TwoSlopeNorm(0.0, -dl, dl))
    bar.set(xticks=[], yticks=[], title="d′")
    return fig


def weight_distributions(by_type: WeightsByType, *, bins: int = 30, ax: Any = None) -> Figure:
    """Histograms of the weights of each connection type (E→E, E→I, I→E, I→I).

    ``ax``: a sequence of 4 Axes, one per connection type.
    """
    fig, axes = axes_for(ax, 4, figsize=(8, 2.6))
    groups = (("E→E", by_type.e_to_e, "C3"), ("E→I", by_type.e_to_i, "C1"),
              ("I→E", by_type.i_to_e, "C0"), ("I→I", by_type.i_to_i, "C9"))
    for ax, (name, values, color) in zip(axes, groups):
        if len(values):
            ax.hist(values, bins=bins, color=color)
        ax.set(title=f"{name} (n={len(values)})", xlabel="weight")
    axes[0].set_ylabel("connections")
    return fig

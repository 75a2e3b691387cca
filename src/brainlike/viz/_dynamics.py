"""Figures for dynamics results: fixed points in state space and their Jacobian spectra."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from ..analysis import FixedPointResult, TrajectoryPCA


def fixed_points(result: FixedPointResult, pca: TrajectoryPCA, *,
                 values: Sequence[float] | None = None, cmap: str = "coolwarm",
                 title: str = "fixed points and trajectories") -> Figure:
    """Fixed points projected on a trajectory PCA (left) and their Jacobian eigenvalues (right).

    Stable fixed points are filled, unstable ones open; slow points are small grey dots; the
    condition-averaged trajectories of ``pca`` are drawn underneath, coloured by ``values``
    (one number per group, default the group index). The right panel shows every fixed point's
    eigenvalues with the unit circle (discrete) or the imaginary axis (continuous).
    """
    fig = Figure(figsize=(9, 3.8), layout="constrained")
    ax, ax_ev = fig.subplots(1, 2)
    vals = np.arange(len(pca.groups), dtype=float) if values is None else np.asarray(values, float)
    colormap = colormaps[cmap]
    norm = Normalize(vals.min(), vals.max() if vals.max() > vals.min() else vals.min() + 1)
    for proj, v in zip(pca.projections, vals):
        ax.plot(proj[:, 0], proj[:, 1], color=colormap(norm(v)), lw=1.0, alpha=0.8)
    if len(result.slow_points):
        sp = pca.transform(result.slow_points)
        ax.plot(sp[:, 0], sp[:, 1], ".", color="0.6", ms=2, label="slow points")
    fp = pca.transform(result.points) if len(result.points) else np.zeros((0, 2))
    st = result.is_stable
    ax.plot(fp[st, 0], fp[st, 1], "o", color="k", ms=6, label="stable fixed point")
    ax.plot(fp[~st, 0], fp[~st, 1], "o", mfc="none", mec="k", ms=6, label="unstable fixed point")
    ev = pca.explained_variance_ratio
    ax.set(xlabel=f"PC1 ({100 * ev[0]:.0f}%)", ylabel=f"PC2 ({100 * ev[1]:.0f}%)", title=title)
    ax.legend(fontsize=7, loc="best")
    lam = result.eigenvalues.reshape(-1)
    if result.kind == "discrete":
        th = np.linspace(0, 2 * np.pi, 256)
        ax_ev.plot(np.cos(th), np.sin(th), color="0.6", lw=0.8)
        ax_ev.set(aspect="equal")
    else:
        ax_ev.axvline(0, color="0.6", lw=0.8)
    ax_ev.plot(lam.real, lam.imag, "o", ms=2.5, color="C0", alpha=0.6)
    ax_ev.set(xlabel="Re(eigenvalue)", ylabel="Im(eigenvalue)",
              title=f"Jacobian spectra ({len(result.points)} fixed points)")
    return fig

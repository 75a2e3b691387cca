"""Figures for dynamics results: fixed points in state space and their Jacobian spectra."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..analysis import FixedPointResult, TrajectoryPCA
from ._axes import GroupColors, axes_for, end_marker

#: Margin around the trajectories, as a fraction of their extent, that the state-space view shows.
_MARGIN = 0.15


def _point_colors(n: int) -> list[Any]:
    """Distinct colours for up to 10 fixed points, then a colour map over their index."""
    if n <= 10:
        return [f"C{k}" for k in range(n)]
    from matplotlib import colormaps

    return [colormaps["viridis"](k / max(n - 1, 1)) for k in range(n)]


def fixed_points(result: FixedPointResult, pca: TrajectoryPCA, *,
                 values: Sequence[Any] | None = None, cmap: str = "coolwarm",
                 title: str = "fixed points and trajectories", value_label: str | None = None,
                 labels: Sequence[str] | None = None, ax: Any = None) -> Figure:
    """Fixed points projected on a trajectory PCA (left) and their Jacobian eigenvalues (right).

    Parameters
    ----------
    result : FixedPointResult
        From :func:`brainlike.analysis.find_fixed_points`.
    pca : TrajectoryPCA
        Its condition-averaged trajectories are drawn underneath, and the points projected on
        its first two components.
    values : sequence, optional
        One value per group of ``pca`` that colours its trajectory (default the group index);
        explained by a labelled colour bar or a legend as in :func:`trajectories`.
    cmap, title : str
    value_label : str, optional
        What ``values`` are ("signed coherence (%)").
    labels : sequence of str, optional
        Names of the groups (a legend instead of a colour bar).
    ax : sequence of 2 Axes, optional

    Notes
    -----
    Each fixed point has its own colour, shared by its marker (filled: stable, open: unstable)
    and its eigenvalues on the right, so a spectrum can be matched to its point. The legend
    lists only the kinds of point present. The view is the trajectories' extent plus 15 %:
    a fixed point outside it is drawn as a triangle on the border, pointing toward it, and
    counted in the legend, so a far-away point does not squash the trajectories.
    """
    fig, (ax, ax_ev) = axes_for(ax, 2, figsize=(9.5, 4.0))
    groups = list(pca.groups)
    vals = list(range(len(groups))) if values is None else list(values)
    colors = GroupColors(vals, cmap=cmap, labels=labels, title=value_label or (
        "condition" if values is None else None))
    proj = pca.projections[..., :2]
    for p, v in zip(proj, vals):
        ax.plot(p[:, 0], p[:, 1], color=colors(v), lw=1.0, alpha=0.8)
        ax.plot(p[-1, 0], p[-1, 1], "o", color=colors(v), ms=3, alpha=0.8)
    flat = proj.reshape(-1, 2)
    lo, hi = flat.min(0), flat.max(0)
    pad = _MARGIN * np.maximum(hi - lo, 1e-9)
    lo, hi = lo - pad, hi + pad
    handles: list[Line2D] = [end_marker()]

    if len(result.slow_points):
        sp = pca.transform(result.slow_points)[:, :2]
        inside = np.all((sp >= lo) & (sp <= hi), axis=1)
        ax.plot(sp[inside, 0], sp[inside, 1], ".", color="0.6", ms=2)
        handles.append(Line2D([], [], marker=".", ls="", color="0.6", label="slow point"))

    n = len(result.points)
    point_colors = _point_colors(n)
    stable = np.asarray(result.is_stable, dtype=bool)
    outside = 0
    if n:
        fp = pca.transform(result.points)[:, :2]
        for k in range(n):
            x, y = fp[k]
            face = point_colors[k] if stable[k] else "none"
            if np.all((fp[k] >= lo) & (fp[k] <= hi)):
                ax.plot(x, y, "o", ms=7, mfc=face, mec=point_colors[k], mew=1.5, zorder=5)
                continue
            outside += 1
            cx, cy = np.clip(fp[k], lo, hi)
            d = fp[k] - (lo + hi) / 2
            marker = (">" if d[0] > 0 else "<") if abs(d[0]) / (hi - lo)[0] >= abs(d[1]) / (
                hi - lo)[1] else ("^" if d[1] > 0 else "v")
            ax.plot(cx, cy, marker, ms=8, mfc=face, mec=point_colors[k], mew=1.5, zorder=5,
                    clip_on=False)
        if stable.any():
            handles.append(Line2D([], [], marker="o", ls="", ms=7, mfc="k", mec="k",
                                  label="stable fixed point"))
        if (~stable).any():
            handles.append(Line2D([], [], marker="o", ls="", ms=7, mfc="none", mec="k",
                                  label="unstable fixed point"))
        if outside:
            handles.append(Line2D([], [], marker=">", ls="", ms=7, mfc="none", mec="k",
                                  label=f"{outside} outside the view (on the border)"))
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ev = pca.explained_variance_ratio
    ax.set(xlabel=f"PC1 ({100 * ev[0]:.0f}% of variance)",
           ylabel=f"PC2 ({100 * ev[1]:.0f}% of variance)", title=title)
    colors.explain(ax, extra=handles)

    if result.kind == "discrete":
        th = np.linspace(0, 2 * np.pi, 256)
        ax_ev.plot(np.cos(th), np.sin(th), color="0.6", lw=0.8)
        ax_ev.set(aspect="equal")
        boundary = "unit circle: |λ| = 1"
    else:
        ax_ev.axvline(0, color="0.6", lw=0.8)
        boundary = "Re λ = 0"
    for k in range(n):
        lam = np.asarray(result.eigenvalues[k]).reshape(-1)
        ax_ev.plot(lam.real, lam.imag, "o", ms=2.5, color=point_colors[k], alpha=0.7)
    ax_ev.set(xlabel="Re(eigenvalue)", ylabel="Im(eigenvalue)",
              title=f"Jacobian spectra ({n} fixed points, {int(stable.sum())} stable)")
    ax_ev.legend(handles=[Line2D([], [], color="0.6", lw=0.8, label=f"stability boundary ({boundary})")],
                 fontsize=7, loc="lower left")
    return fig

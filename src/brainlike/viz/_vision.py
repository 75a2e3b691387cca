"""Figures for vision analyses: image grids, layer RDMs, tuning curves, receptive fields.

Every function draws into ``ax`` (an Axes, or a sequence of Axes where it draws several
panels) when given one, else into a new Figure; it returns the Figure drawn on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..analysis.features import TuningCurve
from ._axes import axes_for

__all__ = ["image_grid", "layer_rdms", "receptive_field", "tuning_curves"]


def _as_image(img: np.ndarray) -> np.ndarray:
    a = np.asarray(img, dtype=float)
    if a.ndim == 3 and a.shape[0] in (1, 3):
        a = a[0] if a.shape[0] == 1 else np.moveaxis(a, 0, -1)
    return a


def image_grid(
    images: Any,
    *,
    titles: Sequence[str] | None = None,
    ncols: int = 8,
    cmap: str = "gray",
    symmetric: bool = False,
    ax: Any = None,
) -> Figure:
    """Images ``(N, C, H, W)`` or ``(N, H, W)`` in a grid (e.g. feature visualizations).

    ``symmetric`` centres the colour map on 0 (for filters, STAs); otherwise each image uses
    its own range. ``ax``: a sequence of at least N Axes.
    """
    imgs = np.asarray(images)
    if imgs.ndim not in (3, 4):
        raise ValueError(f"images must be (N, C, H, W) or (N, H, W); got {imgs.shape}")
    n = imgs.shape[0]
    cols = min(ncols, n)
    fig, axes = axes_for(ax, n, figsize=(1.3 * cols, 1.4 * math.ceil(n / cols)), ncols=cols)
    for i, a in enumerate(axes):
        img = _as_image(imgs[i])
        kw: dict[str, Any] = {"cmap": cmap} if img.ndim == 2 else {}
        if symmetric and img.ndim == 2:
            m = float(np.abs(img).max()) or 1.0
            kw.update(vmin=-m, vmax=m, cmap="RdBu_r")
        a.imshow(img if img.ndim == 2 else np.clip(img, 0, 1), **kw)
        a.set_xticks([])
        a.set_yticks([])
        if titles is not None:
            a.set_title(str(titles[i]), fontsize=7)
    return fig


def layer_rdms(
    rdms: Mapping[str, Any],
    *,
    correlations: Mapping[str, float] | None = None,
    labels: Sequence[Any] | None = None,
    cmap: str = "viridis",
    ax: Any = None,
) -> Figure:
    """One dissimilarity matrix per layer (primer Fig. 4B), optionally titled with a score.

    Parameters
    ----------
    rdms : mapping of layer name to an :class:`~brainlike.analysis.RDM` (its first matrix is
        drawn) or a (D, D) array
    correlations : mapping of layer name to float, optional
        E.g. each layer's correlation with the category RDM, shown in the titles.
    labels : sequence, optional
        Condition label of each row; boundaries between runs of equal labels are marked.
    ax : sequence of Axes, optional (one per layer)
    """
    names = list(rdms)
    fig, axes = axes_for(ax, len(names), figsize=(2.4 * len(names), 2.6))
    for a, name in zip(axes, names):
        r = rdms[name]
        m = np.asarray(r.matrices[0] if hasattr(r, "matrices") else r, dtype=float)
        a.imshow(m, cmap=cmap)
        title = name if correlations is None else f"{name}\nr = {correlations[name]:.2f}"
        a.set_title(title, fontsize=8)
        a.set_xticks([])
        a.set_yticks([])
        if labels is not None:
            lab = np.asarray(labels)
            edges = np.flatnonzero(lab[1:] != lab[:-1]) + 0.5
            for e in edges:
                a.axhline(e, color="w", lw=0.4)
                a.axvline(e, color="w", lw=0.4)
    return fig


def tuning_curves(
    curve: TuningCurve,
    units: Sequence[int] | None = None,
    *,
    ax: Axes | None = None,
    xlabel: str | None = None,
) -> Figure:
    """Tuning curves of some units (mean ± s.e.m. over the stimuli sharing a value)."""
    fig, (a,) = axes_for(ax, 1, figsize=(3.6, 2.8))
    units = range(min(curve.mean.shape[1], 8)) if units is None else units
    for u in units:
        line = a.plot(curve.values, curve.mean[:, u], "o-", ms=3, lw=1, label=f"unit {u}")[0]
        if np.isfinite(curve.sem[:, u]).any():
            a.fill_between(
                curve.values,
                curve.mean[:, u] - curve.sem[:, u],
                curve.mean[:, u] + curve.sem[:, u],
                color=line.get_color(),
                alpha=0.2,
            )
    a.set(xlabel=xlabel or curve.variable, ylabel="response")
    a.legend(fontsize=6)
    return fig


def receptive_field(
    estimate: Any,
    reference: Any | None = None,
    *,
    titles: Sequence[str] = ("estimate", "reference"),
    ax: Any = None,
) -> Figure:
    """A reverse-correlation estimate (STA, classification image, ``(C, H, W)`` or ``(H, W)``)
    beside an optional reference filter, on symmetric colour scales."""
    panels = [estimate] if reference is None else [estimate, reference]
    fig, axes = axes_for(ax, len(panels), figsize=(2.4 * len(panels), 2.4))
    for a, img, title in zip(axes, panels, titles):
        m = _as_image(np.asarray(getattr(img, "sta", img)))
        lim = float(np.abs(m).max()) or 1.0
        a.imshow(m, cmap="RdBu_r", vmin=-lim, vmax=lim)
        a.set_title(title, fontsize=8)
        a.set_xticks([])
        a.set_yticks([])
    return fig

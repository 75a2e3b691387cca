"""Matplotlib figures for training and analysis results (no pyplot state, no GUI backend)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from ..analysis import PsychometricFit, TrajectoryPCA


def learning_curve(
    history: Mapping[str, np.ndarray], *, criterion: float | None = None,
    ceiling: float | None = None,
) -> Figure:
    """Loss per step (left) and evaluation accuracy (right) from ``TrainResult.history``."""
    fig = Figure(figsize=(8, 3.2), layout="constrained")
    ax_loss, ax_acc = fig.subplots(1, 2)
    step = np.asarray(history["step"])
    ax_loss.plot(step, history["loss"], lw=0.8, color="0.3")
    ax_loss.set(xlabel="step", ylabel="loss", yscale="log", title="training loss")
    acc = np.asarray(history["accuracy"])
    ok = np.isfinite(acc)
    ax_acc.plot(step[ok], acc[ok], "o-", ms=3, color="C0", label="accuracy (fresh trials)")
    if criterion is not None:
        ax_acc.axhline(criterion, color="C3", ls="--", lw=1, label=f"criterion {criterion:.3f}")
    if ceiling is not None:
        ax_acc.axhline(ceiling, color="0.5", ls=":", lw=1, label=f"ideal observer {ceiling:.3f}")
    ax_acc.set(xlabel="step", ylabel="accuracy", ylim=(0, 1.02), title="performance")
    ax_acc.legend(loc="lower right", fontsize=7)
    return fig


def psychometric(fit: PsychometricFit, *, xlabel: str = "signed coherence (%)",
                 ylabel: str = "P(choice 2)") -> Figure:
    """Proportion of choices per stimulus level with the fitted curve."""
    fig = Figure(figsize=(4, 3.2), layout="constrained")
    ax = fig.subplots()
    x = np.linspace(fit.levels.min(), fit.levels.max(), 300)
    ax.plot(x, fit.predict(x), color="C0", lw=1.5,
            label=f"{fit.kind} fit: bias {fit.bias:.2f}, scale {fit.scale:.2f}")
    ax.plot(fit.levels, fit.proportion, "o", color="k", ms=4, label="network")
    ax.axhline(0.5, color="0.8", lw=0.8, zorder=0)
    ax.axvline(0.0, color="0.8", lw=0.8, zorder=0)
    ax.set(xlabel=xlabel, ylabel=ylabel, ylim=(-0.02, 1.02), title="psychometric curve")
    ax.legend(fontsize=7, loc="upper left")
    return fig


def trajectories(pcas: Sequence[TrajectoryPCA], titles: Sequence[str],
                 values: Sequence[Sequence[float]], *, cmap: str = "coolwarm") -> Figure:
    """PC1-PC2 trajectories of condition averages, one panel per grouping.

    ``values[i][g]`` is the number that colours group ``g`` of panel ``i``.
    """
    fig = Figure(figsize=(4.2 * len(pcas), 3.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(pcas)))
    colormap = colormaps[cmap]
    for ax, pca, title, vals in zip(axes, pcas, titles, values):
        vals = np.asarray(vals, dtype=float)
        norm = Normalize(vals.min(), vals.max())
        for proj, v in zip(pca.projections, vals):
            ax.plot(proj[:, 0], proj[:, 1], color=colormap(norm(v)), lw=1.4)
            ax.plot(proj[-1, 0], proj[-1, 1], "o", color=colormap(norm(v)), ms=3)
        ev = pca.explained_variance_ratio
        ax.set(xlabel=f"PC1 ({100 * ev[0]:.0f}%)", ylabel=f"PC2 ({100 * ev[1]:.0f}%)", title=title)
        fig.colorbar(_mappable(colormap, norm), ax=ax, shrink=0.8)
    return fig


def _mappable(colormap, norm):
    from matplotlib.cm import ScalarMappable

    return ScalarMappable(norm=norm, cmap=colormap)


def example_trial(inputs: np.ndarray, outputs: np.ndarray, targets: np.ndarray, *, dt: float,
                  input_names: Sequence[str], output_names: Sequence[str],
                  target_kind: str, title: str = "example trial") -> Figure:
    """Inputs, outputs and targets of one trial (arrays ``(T, I)``, ``(T, O)``, ``(T,)``/(T, O))."""
    t = np.arange(inputs.shape[0]) * dt
    fig = Figure(figsize=(6, 4.5), layout="constrained")
    ax_in, ax_out = fig.subplots(2, 1, sharex=True)
    for k, name in enumerate(input_names):
        ax_in.plot(t, inputs[:, k], lw=1, label=name)
    ax_in.set(ylabel="input", title=title)
    ax_in.legend(fontsize=7, loc="upper right")
    if target_kind == "class":
        z = outputs - outputs.max(axis=1, keepdims=True)
        p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        for k, name in enumerate(output_names):
            ax_out.plot(t, p[:, k], lw=1.5, color=f"C{k}", label=f"P({name})")
            ax_out.plot(t, targets == k, lw=1, ls="--", color=f"C{k}")
        ax_out.set(ylabel="output (softmax); target dashed", ylim=(-0.05, 1.05))
    else:
        for k, name in enumerate(output_names):
            ax_out.plot(t, outputs[:, k], lw=1.5, color=f"C{k}", label=name)
            ax_out.plot(t, targets[:, k], lw=1, ls="--", color=f"C{k}")
        ax_out.set(ylabel="output; target dashed")
    ax_out.set(xlabel="time (ms)")
    ax_out.legend(fontsize=7, loc="upper left")
    return fig

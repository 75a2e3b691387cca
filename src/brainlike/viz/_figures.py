"""Matplotlib figures for training and analysis results (no pyplot state, no GUI backend).

Every function takes ``ax`` (see :mod:`brainlike.viz._axes`) and returns the Figure it drew on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..analysis import GroupedPsychometricFit, PsychometricFit, TDRResult, TrajectoryPCA
from ._axes import GroupColors, axes_for, end_marker

#: z of the two-sided 95 % interval of the binomial error bars.
_Z95 = 1.959963984540054


def learning_curve(
    history: Mapping[str, np.ndarray], *, criterion: float | None = None,
    ceiling: float | None = None, ax: Any = None,
) -> Figure:
    """Loss per step (left) and evaluation accuracy (right) from ``TrainResult.history``.

    Parameters
    ----------
    history : mapping
        ``step``, ``loss`` and ``accuracy`` arrays (NaN off evaluation steps), as in
        :attr:`brainlike.training.TrainResult.history` or a run's ``metrics.jsonl``.
    criterion, ceiling : float, optional
        Drawn as horizontal lines: the stopping criterion and the ideal observer's accuracy.
    ax : sequence of 2 Axes, optional

    Examples
    --------
    >>> import numpy as np
    >>> from brainlike import viz
    >>> h = {"step": np.arange(1, 4), "loss": np.array([1.0, 0.5, 0.4]),
    ...      "accuracy": np.array([np.nan, np.nan, 0.8])}
    >>> len(viz.learning_curve(h, criterion=0.85).axes)
    2
    """
    fig, (ax_loss, ax_acc) = axes_for(ax, 2, figsize=(8, 3.2))
    step = np.asarray(history["step"])
    ax_loss.plot(step, history["loss"], lw=0.8, color="0.3")
    ax_loss.set(xlabel="step", ylabel="loss", yscale="log", title="training loss")
    acc = np.asarray(history["accuracy"], dtype=float)
    ok = np.isfinite(acc)
    ax_acc.plot(step[ok], acc[ok], "o-", ms=3, color="C0", label="accuracy (fresh trials)")
    if criterion is not None:
        ax_acc.axhline(criterion, color="C3", ls="--", lw=1, label=f"criterion {criterion:.3f}")
    if ceiling is not None:
        ax_acc.axhline(ceiling, color="0.5", ls=":", lw=1, label=f"ideal observer {ceiling:.3f}")
    ax_acc.set(xlabel="step", ylabel="accuracy", ylim=(0, 1.02), title="performance")
    ax_acc.legend(loc="lower right", fontsize=7)
    return fig


def binomial_interval(proportion: np.ndarray, counts: np.ndarray,
                      z: float = _Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval ``(low, high)`` of binomial proportions (95 % by default).

    Unlike ``p ± z sqrt(p(1-p)/n)`` it stays inside [0, 1] and is not empty at p = 0 or 1.

    Examples
    --------
    >>> import numpy as np
    >>> low, high = binomial_interval(np.array([0.0, 0.5]), np.array([100, 100]))
    >>> np.round(low, 3).tolist(), np.round(high, 3).tolist()
    ([0.0, 0.404], [0.037, 0.596])
    """
    p = np.asarray(proportion, dtype=float)
    n = np.asarray(counts, dtype=float)
    denom = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def _counts_note(counts: np.ndarray) -> str:
    c = np.asarray(counts)
    return f"{c[0]} trials per level" if (c == c[0]).all() else f"{c.min()}-{c.max()} trials per level"


def _draw_psychometric(ax: Axes, fit: PsychometricFit, color: Any, label: str) -> None:
    low, high = binomial_interval(fit.proportion, fit.counts)
    x = np.linspace(fit.levels.min(), fit.levels.max(), 300)
    ax.plot(x, fit.predict(x), color=color, lw=1.5)
    ax.errorbar(fit.levels, fit.proportion,
                yerr=np.maximum(np.stack([fit.proportion - low, high - fit.proportion]), 0.0),
                fmt="o", ms=4, color=color, capsize=2, lw=1,
                label=f"{label}: bias {fit.bias:.2f}, scale {fit.scale:.2f}")


def _psychometric_axes(ax: Axes, xlabel: str, ylabel: str, negative: str, positive: str,
                       title: str) -> None:
    ax.axhline(0.5, color="0.8", lw=0.8, zorder=0)
    ax.axvline(0.0, color="0.8", lw=0.8, zorder=0)
    ax.set(xlabel=f"{xlabel}\n− toward {negative}   |   + toward {positive}", ylabel=ylabel,
           ylim=(-0.02, 1.02), title=title)


def psychometric(
    fit: PsychometricFit, *, xlabel: str = "signed coherence (%)", ylabel: str = "P(choice 2)",
    negative: str = "choice 1", positive: str = "choice 2", label: str = "network",
    title: str = "psychometric curve", ax: Axes | None = None,
) -> Figure:
    """Proportion of choices per stimulus level with 95 % binomial intervals and the fit.

    Parameters
    ----------
    fit : PsychometricFit
        From :func:`brainlike.analysis.fit_psychometric`.
    xlabel, ylabel : str
    negative, positive : str
        What a negative and a positive stimulus value point toward, written under the x axis.
    label : str
        Legend name of the data (the legend adds the fit's bias and scale and the trial count).
    title : str
    ax : Axes, optional

    Notes
    -----
    Error bars are Wilson 95 % intervals of each level's proportion (:func:`binomial_interval`).
    """
    fig, (a,) = axes_for(ax, 1, figsize=(4.4, 3.6))
    _draw_psychometric(a, fit, "k", f"{label} ({_counts_note(fit.counts)})")
    _psychometric_axes(a, xlabel, ylabel, negative, positive, title)
    a.legend(fontsize=7, loc="lower right", title=f"{fit.kind} fit, 95 % intervals",
             title_fontsize=7)
    return fig


def psychometric_by_group(
    fits: GroupedPsychometricFit, *, labels: Mapping[Any, str] | None = None,
    xlabel: str = "signed coherence (%)", ylabel: str = "P(choice 2)",
    negative: str = "choice 1", positive: str = "choice 2", group_name: str = "context",
    title: str = "psychometric curves by context", ax: Axes | None = None,
) -> Figure:
    """One psychometric curve per group (e.g. per context, Mante et al. 2013), on one axes.

    Parameters
    ----------
    fits : GroupedPsychometricFit
        From :func:`brainlike.analysis.fit_psychometric_by_group`.
    labels : mapping of group value to str, optional
        Legend names (``{0: "motion context", 1: "colour context"}``); default the values.
    xlabel, ylabel, negative, positive, title : str
        As in :func:`psychometric`.
    group_name : str
        Title of the legend.
    ax : Axes, optional

    Examples
    --------
    >>> import numpy as np
    >>> from brainlike.analysis import fit_psychometric_by_group
    >>> from brainlike import viz
    >>> rng = np.random.default_rng(0)
    >>> x = np.tile(np.repeat([-20.0, -5.0, 0.0, 5.0, 20.0], 100), 2)
    >>> ctx = np.repeat([0, 1], x.size // 2)
    >>> chose = rng.random(x.size) < 1 / (1 + np.exp(-(x - 4 * (ctx - 0.5)) / 4))
    >>> fig = viz.psychometric_by_group(fit_psychometric_by_group(x, chose, ctx),
    ...                                 labels={0: "motion", 1: "colour"})
    >>> [t.get_text()[:6] for t in fig.axes[0].get_legend().get_texts()]
    ['motion', 'colour']
    """
    fig, (a,) = axes_for(ax, 1, figsize=(4.6, 3.8))
    for k, (group, fit) in enumerate(zip(fits.groups, fits.fits)):
        g = group.item() if hasattr(group, "item") else group
        name = labels.get(g, str(g)) if labels is not None else str(g)
        _draw_psychometric(a, fit, f"C{k % 10}", f"{name} ({_counts_note(fit.counts)})")
    _psychometric_axes(a, xlabel, ylabel, negative, positive, title)
    a.legend(fontsize=7, loc="lower right", title=f"{group_name} ({fits.kind} fit, 95 % intervals)",
             title_fontsize=7)
    return fig


def _trajectory_panel(a: Axes, proj: np.ndarray, values: Sequence[Any], labels: Sequence[str] | None,
                      categorical: bool | None, cmap: str, value_label: str | None) -> None:
    colors = GroupColors(values, cmap=cmap, labels=labels, categorical=categorical,
                         title=value_label)
    for p, v in zip(proj, values):
        a.plot(p[:, 0], p[:, 1], color=colors(v), lw=1.4)
        a.plot(p[-1, 0], p[-1, 1], "o", color=colors(v), ms=3)
    colors.explain(a, extra=[end_marker()])


def trajectories(
    pcas: Sequence[TrajectoryPCA], titles: Sequence[str], values: Sequence[Sequence[Any]], *,
    cmap: str = "coolwarm", value_labels: Sequence[str | None] | None = None,
    labels: Sequence[Sequence[str] | None] | None = None,
    categorical: Sequence[bool | None] | None = None, ax: Any = None,
) -> Figure:
    """PC1-PC2 trajectories of condition averages, one panel per grouping.

    Parameters
    ----------
    pcas : sequence of TrajectoryPCA
        One per panel (:func:`brainlike.analysis.trajectory_pca`).
    titles : sequence of str
    values : sequence of sequences
        ``values[i][g]`` colours group ``g`` of panel ``i``. Numbers with more than 3 distinct
        values are drawn on the colour map with a labelled colour bar; fewer, or named ones
        (``labels``), get distinct colours and a legend (a choice is a category, not a scale).
    cmap : str
    value_labels : sequence of str, optional
        What the colour of each panel means ("signed coherence (%)", "choice").
    labels : sequence of (sequence of str or None), optional
        Names of the groups of each panel (``["choice 1", "choice 2"]``).
    categorical : sequence of (bool or None), optional
        Force the colouring of a panel (None: decide as above).
    ax : sequence of Axes, optional (one per panel)

    Notes
    -----
    A dot marks the end of each trajectory (the trial's last step); the legend says so.
    """
    n = len(pcas)
    fig, axes = axes_for(ax, n, figsize=(4.4 * n, 3.8))
    for i, (a, pca, title, vals) in enumerate(zip(axes, pcas, titles, values)):
        _trajectory_panel(a, pca.projections, list(vals),
                          None if labels is None else labels[i],
                          None if categorical is None else categorical[i], cmap,
                          None if value_labels is None else value_labels[i])
        ev = pca.explained_variance_ratio
        a.set(xlabel=f"PC1 ({100 * ev[0]:.0f}% of variance)",
              ylabel=f"PC2 ({100 * ev[1]:.0f}% of variance)", title=title)
    return fig


def tdr_projection(
    tdr: TDRResult, averages: np.ndarray, values: Sequence[Any], *,
    axes: tuple[str, str] | None = None, value_label: str | None = None,
    labels: Sequence[str] | None = None, categorical: bool | None = None,
    cmap: str = "coolwarm", title: str = "targeted dimensionality reduction",
    ax: Axes | None = None,
) -> Figure:
    """Condition-averaged trajectories projected on two task-variable axes (Mante et al. 2013).

    Parameters
    ----------
    tdr : TDRResult
        From :func:`brainlike.analysis.targeted_dimensionality_reduction`.
    averages : ndarray, shape (G, T, N)
        Condition averages (e.g. ``TrajectoryPCA.averages``), in the space ``tdr`` was fitted in.
    values : sequence, length G
        The value that colours each average (see :func:`trajectories`).
    axes : (str, str), optional
        The two task variables for x and y (default the first two of ``tdr.names``).
    value_label, labels, categorical, cmap : optional
        As in :func:`trajectories`.
    title : str
    ax : Axes, optional

    Examples
    --------
    >>> import numpy as np
    >>> from brainlike.analysis import targeted_dimensionality_reduction
    >>> from brainlike import viz
    >>> rng = np.random.default_rng(0)
    >>> choice, motion = rng.choice([-1.0, 1.0], 64), rng.normal(size=64)
    >>> act = rng.normal(size=(64, 5, 10)) + choice[:, None, None] + motion[:, None, None] * 0.5
    >>> tdr = targeted_dimensionality_reduction(act, {"choice": choice, "motion": motion},
    ...                                         n_pcs=None)
    >>> means = np.stack([act[choice == c].mean(0) for c in (-1.0, 1.0)])
    >>> fig = viz.tdr_projection(tdr, means, [-1.0, 1.0], labels=["choice 1", "choice 2"])
    >>> fig.axes[0].get_xlabel()
    'choice axis'
    """
    names = list(tdr.names)
    pick = tuple(names[:2]) if axes is None else tuple(axes)
    for name in pick:
        if name not in names:
            raise ValueError(f"axes must name variables of the TDR result {names}; got {name!r}")
    if len(pick) != 2:
        raise ValueError(f"axes must name 2 variables; got {pick!r}")
    avg = np.asarray(averages, dtype=float)
    if avg.ndim != 3 or avg.shape[0] != len(values):
        raise ValueError(f"averages must have shape (G, T, N) with G = len(values) = {len(values)};"
                         f" got {avg.shape}")
    proj = tdr.transform(avg)[..., [names.index(pick[0]), names.index(pick[1])]]
    fig, (a,) = axes_for(ax, 1, figsize=(4.6, 3.8))
    _trajectory_panel(a, proj, list(values), labels, categorical, cmap, value_label)
    a.axhline(0, color="0.85", lw=0.8, zorder=0)
    a.axvline(0, color="0.85", lw=0.8, zorder=0)
    a.set(xlabel=f"{pick[0]} axis", ylabel=f"{pick[1]} axis", title=title)
    return fig


def rdm(
    dissimilarity: Any, *, labels: Sequence[Any] | None = None, index: int = 0,
    cmap: str = "viridis", title: str = "representational dissimilarity",
    colorbar_label: str | None = None, ax: Axes | None = None,
) -> Figure:
    """One representational dissimilarity matrix with a labelled colour bar.

    Parameters
    ----------
    dissimilarity : RDM or ndarray, shape (D, D)
        An :class:`~brainlike.analysis.RDM` (its matrix ``index`` is drawn) or a square array.
    labels : sequence, optional
        Condition name of each row. Up to 24 conditions get tick labels; more get lines
        between runs of equal labels.
    index : int
        Which matrix of an RDM stack.
    cmap, title : str
    colorbar_label : str, optional
        Default: the RDM's method ("dissimilarity" for an array).
    ax : Axes, optional

    Examples
    --------
    >>> import numpy as np
    >>> from brainlike.analysis import rdm as compute_rdm
    >>> from brainlike import viz
    >>> x = np.random.default_rng(0).normal(size=(4, 10))
    >>> fig = viz.rdm(compute_rdm(x), labels=["a", "b", "c", "d"])
    >>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
    ['a', 'b', 'c', 'd']
    """
    if hasattr(dissimilarity, "matrices"):
        m = np.asarray(dissimilarity.matrices[index], dtype=float)
        what = colorbar_label or f"dissimilarity ({dissimilarity.method})"
    else:
        m = np.asarray(dissimilarity, dtype=float)
        what = colorbar_label or "dissimilarity"
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"dissimilarity must be an RDM or a square (D, D) array; got {m.shape}")
    fig, (a,) = axes_for(ax, 1, figsize=(4.4, 3.8))
    im = a.imshow(m, cmap=cmap, interpolation="nearest")
    fig.colorbar(im, ax=a, shrink=0.8, label=what)
    a.set(title=title, xlabel="condition", ylabel="condition")
    if labels is not None:
        lab = [str(x) for x in labels]
        if len(lab) != m.shape[0]:
            raise ValueError(f"labels must name each of the {m.shape[0]} conditions; got {len(lab)}")
        if len(lab) <= 24:
            ticks = np.arange(len(lab))
            a.set_xticks(ticks, lab, rotation=90, fontsize=7)
            a.set_yticks(ticks, lab, fontsize=7)
        else:
            arr = np.asarray(lab)
            for e in np.flatnonzero(arr[1:] != arr[:-1]) + 0.5:
                a.axhline(e, color="w", lw=0.4)
                a.axvline(e, color="w", lw=0.4)
    return fig


def example_trial(inputs: np.ndarray, outputs: np.ndarray, targets: np.ndarray, *, dt: float,
                  input_names: Sequence[str], output_names: Sequence[str],
                  target_kind: str, title: str = "example trial", ax: Any = None) -> Figure:
    """Inputs, outputs and targets of one trial.

    Parameters
    ----------
    inputs : ndarray, shape (T, I)
    outputs : ndarray, shape (T, O)
        The network's outputs (logits for a class task: drawn as softmax probabilities).
    targets : ndarray, shape (T,) or (T, O)
    dt : float
        Time step (ms).
    input_names, output_names : sequence of str
    target_kind : {"class", "value"}
    title : str
    ax : sequence of 2 Axes, optional (inputs, outputs)
    """
    t = np.arange(inputs.shape[0]) * dt
    fig, (ax_in, ax_out) = axes_for(ax, 2, figsize=(6, 4.5), ncols=1)
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

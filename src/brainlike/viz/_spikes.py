"""Figures of spiking activity: raster, PSTH, rate / ISI CV / Fano factor distributions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..analysis import PSTH, SpikeStatistics
from ._axes import axes_for

__all__ = ["psth_figure", "raster", "spike_statistics_figure"]


def _population_of(n: int, populations: Mapping[str, object] | None) -> list[tuple[str, np.ndarray]]:
    if populations is None:
        return [("units", np.arange(n))]
    out = []
    for name, units in populations.items():
        idx = np.arange(n)[units] if isinstance(units, slice) else np.asarray(units)
        out.append((name, np.flatnonzero(idx) if idx.dtype == bool else idx))
    return out


def raster(spikes: np.ndarray, *, dt: float, populations: Mapping[str, object] | None = None,
           title: str = "spike raster", epochs: Mapping[str, Sequence[int]] | None = None,
           ax: Axes | None = None) -> Figure:
    """Spike raster of one trial: a dot per spike, units on the vertical axis.

    Parameters
    ----------
    spikes : ndarray, shape (T, N)
        One trial's spikes (0/1 per step).
    dt : float
        Step in ms.
    populations : mapping of str to unit indices / masks / slices, optional
        Coloured groups drawn from the bottom up (e.g. excitatory and inhibitory units).
    epochs : mapping of str to (start, stop) steps, optional
        Marked by vertical lines (a batch's ``epochs`` of one trial).
    ax : Axes, optional
    """
    s = np.asarray(spikes)
    if s.ndim != 2:
        raise ValueError(f"spikes must be one trial, shape (T, N); got {s.shape}")
    fig, (ax,) = axes_for(ax, 1, figsize=(7, 4))
    row = 0
    for k, (name, idx) in enumerate(_population_of(s.shape[1], populations)):
        t, u = np.nonzero(s[:, idx])
        ax.scatter((t + 1) * dt, row + u, s=2, marker="|", color=f"C{k}", label=name, linewidths=0.8)
        row += len(idx)
    for name, (start, _stop) in (epochs or {}).items():
        ax.axvline(start * dt, color="0.6", lw=0.7, ls=":")
        ax.text(start * dt, row, name, fontsize=7, va="bottom", color="0.4")
    ax.set(xlabel="time (ms)", ylabel="unit", title=title, xlim=(0, s.shape[0] * dt), ylim=(-1, row + 1))
    if populations is not None:
        ax.legend(fontsize=7, loc="upper right", markerscale=4)
    return fig


def psth_figure(result: PSTH, *, units: Sequence[int], labels: Sequence[str] | None = None,
                title: str = "PSTH", ax: Any = None) -> Figure:
    """Trial-averaged rates (Hz) of a few units, one panel per unit, one line per group.

    ``ax``: a sequence of Axes, one per unit (the title then goes on the first panel).
    """
    units = list(units)
    given = ax is not None
    fig, axes = axes_for(ax, len(units), figsize=(3.2 * len(units), 2.8), sharey=True)
    names = [str(g) for g in result.groups] if labels is None else list(labels)
    for ax, unit in zip(axes, units):
        for g, name in enumerate(names):
            ax.plot(result.times, result.rates[g, :, unit], lw=1.2, label=name)
        ax.set(xlabel="time (ms)", title=f"unit {unit}")
    axes[0].set_ylabel("rate (Hz)")
    if len(names) > 1:
        axes[-1].legend(fontsize=7)
    full = title + (f" (smoothed {result.smooth_ms:g} ms)" if result.smooth_ms else "")
    if given:
        axes[0].set_title(f"{full}\nunit {units[0]}", fontsize=8)
    else:
        fig.suptitle(full)
    return fig


def spike_statistics_figure(stats: SpikeStatistics, *, title: str = "spike statistics",
                            ax: Any = None) -> Figure:
    """Histograms of firing rates, ISI CVs and Fano factors over units.

    ``ax``: a sequence of 3 Axes (the title then goes on the first panel).
    """
    given = ax is not None
    fig, axes = axes_for(ax, 3, figsize=(9, 2.8))
    panels = [(stats.unit_rates_hz, "rate (Hz)", stats.mean_rate_hz),
              (stats.isi_cv, "ISI CV", stats.mean_isi_cv),
              (stats.fano, "Fano factor", stats.mean_fano)]
    for ax, (values, label, mean) in zip(axes, panels):
        v = np.asarray(values)[np.isfinite(values)]
        ax.hist(v, bins=20, color="0.5")
        if np.isfinite(mean):
            ax.axvline(mean, color="C3", lw=1, label=f"mean {mean:.2f}")
            ax.legend(fontsize=7)
        ax.set(xlabel=label, ylabel="units")
    pops = ", ".join(f"{k} {v:.1f} Hz" for k, v in stats.population_rates_hz.items())
    if given:
        axes[0].set_title(f"{title}: {pops}", fontsize=8)
    else:
        fig.suptitle(f"{title}: {pops}")
    return fig

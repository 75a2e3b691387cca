"""Where a figure function draws: into the caller's Axes (``ax=``) or into a new Figure.

Every :mod:`brainlike.viz` function takes ``ax``: ``None`` (a new Figure of the function's own
size), one Axes (a one-panel figure), or a sequence of Axes (one per panel) -- so panels of
several functions combine in one figure. The function returns the Figure it drew on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import Colormap, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D


def axes_for(
    ax: Any, n: int, *, figsize: tuple[float, float], ncols: int | None = None,
    sharey: bool = False,
) -> tuple[Figure, list[Axes]]:
    """``(figure, n axes)``: ``ax`` itself when given, else a new constrained-layout Figure."""
    if ax is None:
        cols = ncols or n
        rows = math.ceil(n / cols)
        fig = Figure(figsize=figsize, layout="constrained")
        axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False, sharey=sharey)).ravel().tolist()
        for extra in axes[n:]:
            extra.set_axis_off()
        return fig, axes[:n]
    axes = [ax] if isinstance(ax, Axes) else list(np.ravel(np.asarray(ax, dtype=object)))
    if len(axes) < n:
        raise ValueError(f"ax must hold at least {n} Axes for this figure; got {len(axes)}")
    bad = [type(a).__name__ for a in axes[:n] if not isinstance(a, Axes)]
    if bad:
        raise ValueError(f"ax must be a matplotlib Axes or a sequence of them; got {bad[0]}")
    return axes[0].figure, axes[:n]


def is_categorical(values: Sequence[Any], labels: Sequence[str] | None) -> bool:
    """Colour by category (a legend) rather than on a scale (a colour bar)?

    Yes when the values are named (``labels``), not numbers, or take at most 3 distinct values
    (a choice, a context, a match/non-match).
    """
    if labels is not None:
        return True
    try:
        v = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        return True
    return np.unique(v).size <= 3


class GroupColors:
    """One colour per group: from a colour map on a scale, or distinct ones for categories.

    ``legend_handles()`` (categories) or ``colorbar(ax)`` (scale) explains them.
    """

    def __init__(self, values: Sequence[Any], *, cmap: str | Colormap = "coolwarm",
                 labels: Sequence[str] | None = None, categorical: bool | None = None,
                 title: str | None = None) -> None:
        from matplotlib import colormaps

        self.values = list(values)
        self.title = title
        self.categorical = is_categorical(values, labels) if categorical is None else categorical
        self.cmap = colormaps[cmap] if isinstance(cmap, str) else cmap
        if self.categorical:
            distinct = list(dict.fromkeys(self.values))
            names = labels if labels is not None else [_fmt(v) for v in self.values]
            self._names = dict(zip(self.values, names))
            if len(distinct) <= 2:  # the two ends of the map: e.g. choice 1 blue, choice 2 red
                palette = [self.cmap(0.1), self.cmap(0.9)][: len(distinct)]
            else:
                palette = [f"C{k % 10}" for k in range(len(distinct))]
            self._color = dict(zip(distinct, palette))
        else:
            v = np.asarray(self.values, dtype=float)
            hi = v.max() if v.max() > v.min() else v.min() + 1
            self.norm = Normalize(v.min(), hi)

    def __call__(self, value: Any) -> Any:
        if self.categorical:
            return self._color[value]
        return self.cmap(self.norm(float(value)))

    def legend_handles(self) -> list[Line2D]:
        return [Line2D([], [], color=c, lw=2, label=self._names[v]) for v, c in self._color.items()]

    def explain(self, ax: Axes, extra: Sequence[Line2D] = (), loc: str = "best") -> None:
        """A legend (categories, plus ``extra`` handles) or a labelled colour bar."""
        if self.categorical:
            ax.legend(handles=[*self.legend_handles(), *extra], title=self.title, fontsize=7,
                      title_fontsize=7, loc=loc)
            return
        from matplotlib.cm import ScalarMappable

        ax.figure.colorbar(ScalarMappable(norm=self.norm, cmap=self.cmap), ax=ax, shrink=0.8,
                           label=self.title or "condition value")
        if extra:
            ax.legend(handles=list(extra), fontsize=7, loc=loc)


def end_marker(color: Any = "0.3") -> Line2D:
    """The legend entry of the dot drawn at the last step of each trajectory."""
    return Line2D([], [], marker="o", ls="", ms=4, color=color, label="end of trial")


def _fmt(v: Any) -> str:
    if isinstance(v, (int, float, np.integer, np.floating)):
        return f"{float(v) + 0.0:g}"
    return str(v)

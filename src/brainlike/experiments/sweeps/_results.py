"""Results tables of a sweep, and any per-run analysis aggregated across its networks."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ...training._checkpoint import CHECKPOINT
from .._run import SUMMARY, Run, load_run
from ._spec import Sweep, load_sweep

_METRICS = "metrics.jsonl"


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(value, (list, tuple)):
        out[prefix] = json.dumps(value)  # one cell; Parquet columns need one type
    else:
        out[prefix] = value


def _last_metrics(rdir: Path) -> dict[str, Any]:
    path = rdir / _METRICS
    if not path.exists():
        return {}
    last: dict[str, Any] = {}
    for line in path.read_text().splitlines():
        if line.strip():
            try:
                last = json.loads(line)
            except json.JSONDecodeError:
                break
    return last


def results_table(directory: str | Path, sweep: Sweep | None = None):
    """One row per run of the sweep in ``directory``, as a :class:`pandas.DataFrame`.

    Columns: ``run`` (name), ``state`` (done, failed, pending), ``path`` and ``checkpoint``;
    every config field flattened (``training.lr``, ``model.n_hidden``, ``task.params.*``; lists
    as JSON text); ``seed``; the run's final metrics from ``summary.json`` (``status``,
    ``steps``, ``accuracy``, ``criterion``, ``ceiling``, ``train_seconds``) and its last log row
    (``final_loss``, ``final_task_loss``); ``error`` for failed runs.
    """
    import pandas as pd

    from ._runner import RUNS, read_events

    directory = Path(directory)
    if sweep is None:
        sweep = load_sweep(directory / "sweep.yaml")
    rows = []
    for run in sweep.runs:
        rdir = directory / RUNS / run.name
        row: dict[str, Any] = {"run": run.name}
        summary = json.loads((rdir / SUMMARY).read_text()) if (rdir / SUMMARY).exists() else None
        events = read_events(directory, run.name)
        failed = next((e for e in reversed(events) if e["event"] in ("failed", "start")), None)
        if summary is not None:
            row["state"] = "done"
        elif failed is not None and failed["event"] == "failed":
            row["state"] = "failed"
        else:
            row["state"] = "pending"
        row["path"] = str(rdir)
        row["checkpoint"] = str(rdir / CHECKPOINT) if (rdir / CHECKPOINT).exists() else None
        _flatten("", run.config.to_dict(), row)
        row["seed"] = run.varied["seed"]
        if "sample" in run.varied:
            row["sample"] = run.varied["sample"]
        s = summary or {}
        row["status"] = s.get("status")
        row["steps"] = s.get("steps")
        row["accuracy"] = s.get("accuracy")
        row["criterion"] = s.get("criterion")
        row["ceiling"] = s.get("ceiling")
        row["train_seconds"] = s.get("train_seconds_last_session")
        row["ensemble_size"] = s.get("ensemble_size", 1 if summary else None)
        last = _last_metrics(rdir) if summary is not None else {}
        row["final_loss"] = last.get("loss")
        row["final_task_loss"] = last.get("task_loss")
        row["error"] = failed.get("error") if row["state"] == "failed" else None
        rows.append(row)
    return pd.DataFrame(rows)


def write_results(directory: str | Path, sweep: Sweep | None = None) -> Path:
    """Write :func:`results_table` to ``directory/results.parquet`` atomically; return the path."""
    directory = Path(directory)
    table = results_table(directory, sweep)
    path = directory / "results.parquet"
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".results.", suffix=".parquet")
    os.close(fd)
    try:
        table.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def aggregate(
    directory: str | Path,
    analysis: Callable[[Run], float | Mapping[str, float]],
    *,
    name: str = "value",
):
    """Apply a per-run analysis to every finished run of a sweep; one row per run.

    Parameters
    ----------
    directory : path
        A sweep directory.
    analysis : callable
        Takes a :class:`brainlike.experiments.Run` (config, task, trained model) and returns a
        number or a mapping of names to numbers, e.g. the accuracy on fresh trials, the slope
        of a psychometric fit (:func:`brainlike.analysis.fit_psychometric`), whether a line
        attractor was found.
    name : str
        Column name when ``analysis`` returns a single number.

    Returns
    -------
    pandas.DataFrame
        ``run``, the sweep's varied fields (``training.lr``, ..., ``seed``) and the analysis'
        outputs; runs not done are left out.
    """
    import pandas as pd

    from ._runner import RUNS

    directory = Path(directory)
    sweep = load_sweep(directory / "sweep.yaml")
    rows = []
    for run in sweep.runs:
        rdir = directory / RUNS / run.name
        if not (rdir / SUMMARY).exists():
            continue
        value = analysis(load_run(rdir))
        row: dict[str, Any] = {"run": run.name, **run.varied}
        if isinstance(value, Mapping):
            row.update({str(k): v for k, v in value.items()})
        else:
            row[name] = value
        rows.append(row)
    return pd.DataFrame(rows)


def plot_aggregate(table, y: str, x: str | None = None, *, ax=None):
    """Plot a per-run quantity across a sweep: every network as a dot, mean ± s.e.m. per ``x``.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`aggregate` or :func:`results_table`.
    y : str
        Column to plot.
    x : str, optional
        Column to plot it against (a hyperparameter); default one group of all networks.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    for col in (y, x):
        if col is not None and col not in table.columns:
            raise ValueError(f"column {col!r} is not in the table; columns: {list(table.columns)}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.0, 3.0), layout="constrained")
    else:
        fig = ax.figure
    values = table[y].astype(float).to_numpy()
    if x is None:
        levels = [0.0]
        xs = np.zeros(len(values))
    else:
        xs_raw = table[x].to_numpy()
        levels = sorted(set(xs_raw.tolist()))
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in levels)
        pos = {v: (float(v) if numeric else i) for i, v in enumerate(levels)}
        xs = np.array([pos[v] for v in xs_raw], dtype=float)
        if not numeric:
            ax.set_xticks(range(len(levels)), [str(v) for v in levels])
        levels = [pos[v] for v in levels]
    ax.scatter(xs, values, s=12, color="0.6", zorder=2, label="networks")
    means, sems = [], []
    for lv in levels:
        v = values[(xs == lv) & np.isfinite(values)]
        means.append(v.mean() if v.size else math.nan)
        sems.append(v.std(ddof=1) / math.sqrt(v.size) if v.size > 1 else 0.0)
    ax.errorbar(levels, means, yerr=sems, color="k", marker="o", capsize=3, zorder=3,
                label="mean ± s.e.m.")
    if x is not None:
        ax.set_xlabel(x)
        if all(lv > 0 for lv in levels) and len(levels) > 2 and max(levels) / min(levels) > 50:
            ax.set_xscale("log")
    else:
        ax.set_xticks([])
    ax.set_ylabel(y)
    ax.set_title(f"{y} across {len(values)} networks", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    return fig


__all__ = ["aggregate", "plot_aggregate", "results_table", "write_results"]

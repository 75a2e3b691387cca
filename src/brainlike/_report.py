"""``brainlike report``: one self-contained HTML page for a run or a sweep directory.

The page has no external resources: figures are embedded as PNG data URIs, the style sheet is
inline and there is no script, so it opens from a disk, an e-mail or a lab notebook without a
network. Sections appear for what the directory has:

- a **run** (``config.yaml`` + checkpoint): the summary, the config, the model (kind, sizes,
  parameters; the recurrent weights sorted by cell type and choice selectivity), the learning
  curve, the accuracy overall and by condition on fresh trials, psychometric curves (against
  each of the task's ``signed_stimuli``, per context where the task has one), an example trial,
  trajectories of condition averages in PCA space, and fixed points with their Jacobian spectra;
- a **sweep** (``sweep.yaml``): how many runs are done, failed or pending, the results table,
  every run's learning curve, and each per-run number across the varied fields.

An analysis a run's model or task does not support (fixed points of a feedforward model, a
psychometric curve of a value task) is left out; one that fails says why in its section.
"""

from __future__ import annotations

import base64
import datetime
import html
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPORT = "report.html"
#: Trials simulated for the report's analyses and the seed of their trials and noise.
N_TRIALS, SEED = 1000, 12345
#: Starting states of the fixed-point search.
FIXED_POINT_STARTS = 256


@dataclass(frozen=True)
class _Section:
    anchor: str
    title: str
    body: str


def report(run_dir: str | Path, out: str | Path | None = None, *, n_trials: int = N_TRIALS,
           seed: int = SEED, progress: bool = True) -> Path:
    """Write a self-contained HTML report of a run or a sweep directory.

    Parameters
    ----------
    run_dir : str or Path
        A run directory (``brainlike train``, ``brainlike demo``, ``train(out=...)``) or a sweep
        directory (``brainlike sweep run``).
    out : str or Path, optional
        The HTML file to write; default ``run_dir/report.html``.
    n_trials : int
        Fresh trials simulated for the run's analyses (accuracy by condition, psychometric
        curves, trajectories, fixed points).
    seed : int
        Seed of those trials and of the network's noise on them.
    progress : bool
        Show a progress bar over the report's sections (on stderr).

    Returns
    -------
    Path
        The file written (atomically).

    Raises
    ------
    FileNotFoundError
        ``run_dir`` holds neither a run (``config.yaml`` and a checkpoint) nor a sweep
        (``sweep.yaml``).

    Examples
    --------
    >>> import brainlike
    >>> brainlike.report("no/such/run")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: no/such/run is neither a run directory (no config.yaml) nor a sweep ...
    """
    from .training._checkpoint import atomic_write_text

    directory = Path(run_dir)
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 10:
        raise ValueError(f"n_trials must be an int >= 10; got {n_trials!r}")
    if (directory / "sweep.yaml").is_file():
        title, steps = f"Sweep {directory.name}", _sweep_steps(directory)
    elif (directory / "config.yaml").is_file():
        title, steps = f"Run {directory.name}", _run_steps(directory, n_trials, seed)
    else:
        raise FileNotFoundError(f"{directory} is neither a run directory (no config.yaml) nor a "
                                "sweep directory (no sweep.yaml)")
    sections = _build(steps, progress)
    path = directory / REPORT if out is None else Path(out)
    atomic_write_text(path, _page(title, directory, sections))
    return path


# -- building ------------------------------------------------------------------------------------

Step = tuple[str, Callable[[], "_Section | None"]]


def _build(steps: Sequence[Step], progress: bool) -> list[_Section]:
    from ._progress import tqdm

    out = []
    with tqdm(total=len(steps), desc="report", disable=not progress, leave=False) as bar:
        for name, make in steps:
            bar.set_postfix_str(name)
            section = make()
            if section is not None:
                out.append(section)
            bar.update(1)
    return out


def _png(fig: Any, alt: str) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


def _table(rows: Sequence[Sequence[Any]], header: Sequence[str] | None = None) -> str:
    def cell(v: Any, tag: str) -> str:
        if isinstance(v, float):
            v = "n/a" if not np.isfinite(v) else f"{v:.4g}"
        return f"<{tag}>{html.escape('' if v is None else str(v))}</{tag}>"

    head = "" if header is None else "<tr>" + "".join(cell(h, "th") for h in header) + "</tr>"
    body = "".join("<tr>" + "".join(cell(v, "td") for v in r) + "</tr>" for r in rows)
    return f"<table>{head}{body}</table>"


def _p(text: str) -> str:
    return f"<p>{html.escape(text)}</p>"


def _failed(anchor: str, title: str, e: Exception) -> _Section:
    return _Section(anchor, title, _p(f"Could not be computed: {type(e).__name__}: {e}"))


# -- a run ---------------------------------------------------------------------------------------


def _metrics(directory: Path) -> list[dict]:
    """The rows of ``metrics.jsonl`` as far as they read (a torn last line ends them)."""
    path = directory / "metrics.jsonl"
    rows = []
    for line in (path.read_text(errors="replace").splitlines() if path.exists() else []):
        try:
            row = json.loads(line)
        except ValueError:
            break
        if isinstance(row, dict) and isinstance(row.get("step"), int):
            rows.append(row)
    return rows


class _RunData:
    """A run opened once, with the probe trials every analysis section shares."""

    def __init__(self, directory: Path, n_trials: int, seed: int) -> None:
        import torch

        from .experiments import load_run

        self.directory = directory
        self.run = load_run(directory)
        self.task, self.model, self.config = self.run.task, self.run.model, self.run.config
        self.rows = _metrics(directory)
        self.parts = getattr(self.task, "tasks", None) or {self.task.name: self.task}
        self.single = len(self.parts) == 1 and hasattr(self.task, "epoch_names")
        self.batch = self.outputs = self.activity = self.score = None
        if self.single:
            torch.set_num_threads(self.config.threads)
            self.batch = self.task.generate(n_trials, seed=seed)
            with torch.no_grad():
                out = self.model(torch.tensor(self.batch.inputs),
                                 generator=torch.Generator().manual_seed(seed))
            self.outputs, self.activity = out.outputs.numpy(), out.activity.numpy()
            self.score = self.task.score(self.outputs, self.batch)
        self.n_trials, self.seed = n_trials, seed
        self.criterion = self.config.criterion_for(self.task)
        self.pca, self.pca_name = None, ""


def _run_steps(directory: Path, n_trials: int, seed: int) -> list[Step]:
    data: dict[str, _RunData] = {}

    def get() -> _RunData:
        if "run" not in data:
            data["run"] = _RunData(directory, n_trials, seed)
        return data["run"]

    return [
        ("summary", lambda: _run_summary(get())),
        ("config", lambda: _Section("config", "Config", "<pre>" + html.escape(
            (directory / "config.yaml").read_text()) + "</pre>")),
        ("model", lambda: _model_section(get())),
        ("learning curve", lambda: _learning_section(get())),
        ("accuracy", lambda: _accuracy_section(get())),
        ("psychometric", lambda: _psychometric_section(get())),
        ("example trial", lambda: _example_section(get())),
        ("trajectories", lambda: _trajectory_section(get())),
        ("fixed points", lambda: _fixed_point_section(get())),
        ("files", lambda: _files_section(directory)),
    ]


def _run_summary(d: _RunData) -> _Section:
    s = d.run.summary or {}
    task = d.task
    rows = [
        ("task", f"{task.name}" + (f": {task.description}" if getattr(task, "description", "")
                                   else "")),
        ("paper", getattr(task, "citation", "") or "-"),
        ("model", f"{type(d.model).__name__}, {d.model.n_hidden} units"),
        ("status", s.get("status", "training not finished (no summary.json)")),
        ("steps", s.get("steps", len(d.rows))),
        ("accuracy at the last evaluation", s.get("accuracy")),
        ("criterion", s.get("criterion")),
        ("ideal observer (ceiling)", s.get("ceiling")),
    ]
    if s.get("train_seconds_last_session") is not None:
        rows.append(("training time of the last session (s)", s["train_seconds_last_session"]))
    return _Section("summary", "Summary", _table(rows))


def _model_section(d: _RunData) -> _Section:
    import torch

    from . import viz
    from .analysis import sort_by_selectivity, unit_selectivity

    m = d.model
    n_params = sum(p.numel() for p in m.parameters())
    n_trained = sum(p.numel() for p in m.parameters() if p.requires_grad)
    rows = [("kind", f"{d.config.model.type} ({type(m).__name__})"),
            ("inputs, hidden units, outputs", f"{m.n_input}, {m.n_hidden}, {m.n_output}"),
            ("time step dt (ms)", getattr(m, "dt", None)),
            ("parameters (trained)", f"{n_params} ({n_trained})")]
    body = _table(rows) + "<pre>" + html.escape(repr(m)) + "</pre>"
    weights = getattr(m, "effective_weights", None)
    if weights is None:
        return _Section("model", "Model", body)
    with torch.no_grad():
        w = weights().w_rec.detach().cpu().numpy()
    if w.shape != (m.n_hidden, m.n_hidden):
        return _Section("model", "Model", body + _p(
            f"The recurrent weights have shape {w.shape} (stacked gates); no sorted matrix."))
    conn = getattr(m, "connectivity", None)
    sign = getattr(conn, "cell_sign", None)
    sign = None if sign is None else np.asarray(sign.detach().cpu() if hasattr(sign, "detach") else sign)
    d_prime = np.zeros(m.n_hidden)
    by = "cell type" if sign is not None else "unit index"
    if d.single and "ground_truth" in d.batch.conditions:
        truth = np.asarray(d.batch.conditions["ground_truth"])
        two = np.unique(truth)
        if two.size == 2:
            keep = np.isin(truth, two)
            d_prime = unit_selectivity(d.activity[keep], truth[keep]).d_prime
            by = ("cell type, then " if sign is not None else "") + (
                f"selectivity d′ for {d.task.level_label('ground_truth', two[1])} over "
                f"{d.task.level_label('ground_truth', two[0])}")
    sorted_w = sort_by_selectivity(w, d_prime, sign)
    fig = viz.connectivity_matrix(sorted_w, title="recurrent weights, sorted by " + (
        "cell type and d′" if sign is not None else "d′"))
    body += _p(f"Recurrent weights W[post, pre] sorted by {by}"
               + ("; excitatory units first, then inhibitory ones." if sign is not None else
                  "; the network has no cell types (no Dale's law).")) + _png(fig, "recurrent weights")
    return _Section("model", "Model", body)


def _learning_section(d: _RunData) -> _Section | None:
    from . import viz
    from .training._session import history

    if not d.rows:
        return None
    h = history(d.rows)
    ceiling = d.task.ceiling if len(d.parts) == 1 else None
    fig = viz.learning_curve(h, criterion=d.criterion, ceiling=ceiling)
    return _Section("learning", "Learning curve", _png(fig, "learning curve") + _p(
        f"{len(d.rows)} steps logged in metrics.jsonl; the accuracy is measured on fresh trials "
        "at each evaluation."))


def _accuracy_section(d: _RunData) -> _Section:
    from .experiments._run import accuracy_by_level
    from .training import evaluate

    body = []
    for k, (name, task) in enumerate(d.parts.items()):
        ev = evaluate(d.model, task, n_trials=d.n_trials, seed=d.seed + k)
        ceiling = f"; ideal observer {task.ceiling:.3f}" if task.ceiling is not None else ""
        body.append(f"<h3>{html.escape(name)}</h3>" + _p(
            f"accuracy {ev.accuracy:.3f} on {d.n_trials} fresh trials (seed {d.seed + k}){ceiling}"))
        for variable, levels in accuracy_by_level(task, ev).items():
            body.append(_table([(label, r["accuracy"], r["n_trials"]) for label, r in levels.items()],
                               header=(variable, "accuracy", "trials")))
    if any("ground_truth" in getattr(t, "condition_names", ()) for t in d.parts.values()):
        body.append(_p("A large gap between the accuracies of the two ground truths is a side "
                       "bias: stopping at the criterion can leave one (see the training docs)."))
    return _Section("accuracy", "Accuracy by condition", "".join(body))


def _signed(d: _RunData) -> tuple[str, ...]:
    return tuple(v for v in getattr(d.task, "signed_stimuli", ()) if v in d.batch.conditions)


def _psychometric_section(d: _RunData) -> _Section | None:
    from . import viz
    from .analysis import fit_psychometric, fit_psychometric_by_group

    if not d.single or d.task.target_kind != "class" or not _signed(d):
        return None
    decision = d.score.decision
    responded = decision > 0
    names = d.task.output_names
    body = [_p(f"P({names[2]}) on the {int(responded.sum())} of {d.n_trials} fresh trials with a "
               f"response; error bars are 95 % binomial (Wilson) intervals.")]
    for var in _signed(d):
        x = np.asarray(d.batch.conditions[var], dtype=float)[responded]
        chose = decision[responded] == 2
        label = var.replace("_", " ")
        try:
            if "context" in d.batch.conditions:
                ctx = np.asarray(d.batch.conditions["context"])[responded]
                fits = fit_psychometric_by_group(x, chose, ctx)
                labels = {g.item(): f"{d.task.level_label('context', g)} context" for g in fits.groups}
                fig = viz.psychometric_by_group(
                    fits, labels=labels, xlabel=label, ylabel=f"P({names[2]})",
                    negative=names[1], positive=names[2], title=f"psychometric curves: {label}")
            else:
                fig = viz.psychometric(fit_psychometric(x, chose), xlabel=label,
                                       ylabel=f"P({names[2]})", negative=names[1],
                                       positive=names[2])
        except ValueError as e:
            body.append(_p(f"{label}: no fit ({e})"))
            continue
        body.append(_png(fig, f"psychometric curve against {label}"))
    return _Section("psychometric", "Psychometric curves", "".join(body))


def _example_section(d: _RunData) -> _Section | None:
    from . import viz

    if not d.single:
        return None
    k = 0
    n = int(d.batch.lengths[k])
    targets = d.batch.targets[k, :n]
    desc = ", ".join(f"{name} {d.task.level_label(name, v[k])}"
                     for name, v in d.batch.conditions.items() if np.ndim(v) == 1)
    fig = viz.example_trial(d.batch.inputs[k, :n], d.outputs[k, :n], targets, dt=d.task.dt,
                            input_names=d.task.input_names, output_names=d.task.output_names,
                            target_kind=d.task.target_kind, title="trial 1 of the probe trials")
    return _Section("example", "Example trial", _png(fig, "example trial") + _p(desc))


def _groupings(d: _RunData) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(name, key per trial, trial mask)`` of up to two groupings for state-space plots."""
    conds = d.batch.conditions
    out = []
    first = next(iter(_signed(d)), None)
    if first is None:
        first = next((k for k, v in conds.items() if 1 < np.unique(v).size <= 12), None)
    if first is not None:
        out.append((first, np.asarray(conds[first]), np.ones(len(d.score.correct), bool)))
    if d.task.target_kind == "class":
        decision = d.score.decision
        responded = decision > 0
        if np.unique(decision[responded]).size >= 2:
            out.append(("choice", decision, responded))
    return out


def _trajectory_section(d: _RunData) -> _Section | None:
    from . import viz
    from .analysis import trajectory_pca

    if not d.single:
        return None
    groupings = _groupings(d)
    if not groupings:
        return None
    pcas, titles, values, labels, value_labels = [], [], [], [], []
    for name, key, keep in groupings:
        pca = trajectory_pca(d.activity[keep], key[keep], lengths=d.batch.lengths[keep],
                             n_components=min(3, d.model.n_hidden), condition_dependent=True)
        pcas.append(pca)
        titles.append("averages by the network's choice" if name == "choice"
                      else f"averages by {name.replace('_', ' ')}")
        values.append(list(pca.groups))
        if name == "choice":
            labels.append([d.task.output_names[int(g)] for g in pca.groups])
        else:
            labels.append(None)
        value_labels.append(name.replace("_", " "))
    fig = viz.trajectories(pcas, titles, values, labels=labels, value_labels=value_labels)
    d.pca, d.pca_name = pcas[0], groupings[0][0]
    return _Section("trajectories", "Population trajectories", _png(fig, "PCA trajectories") + _p(
        "Condition-averaged activity of the probe trials projected on the first two principal "
        "components of the condition-dependent part (Kobak et al. 2016); a dot marks each "
        "trajectory's last step."))


def _fixed_point_section(d: _RunData) -> _Section | None:
    from . import viz
    from .analysis import find_fixed_points, model_step_fn, sample_states

    if not d.single or not hasattr(d.model, "step") or "stimulus" not in d.batch.epochs:
        return None
    if d.pca is None:
        return None
    title = "Fixed points"
    try:
        ep = d.batch.epochs["stimulus"]
        t = np.arange(d.batch.inputs.shape[1])
        inside = (t[None] >= ep[:, :1]) & (t[None] < ep[:, 1:])
        u = d.batch.inputs[inside].mean(0)
        starts = sample_states(d.activity, FIXED_POINT_STARTS, noise=0.01,
                               lengths=d.batch.lengths, seed=0)
        result = find_fixed_points(model_step_fn(d.model, u), starts)
    except (ValueError, TypeError, NotImplementedError, RuntimeError) as e:
        return _failed("fixed-points", title, e)
    fig = viz.fixed_points(result, d.pca, values=list(d.pca.groups),
                           value_label=d.pca_name.replace("_", " "),
                           title="fixed points at the mean stimulus input")
    inputs = ", ".join(f"{n} {v:.2f}" for n, v in zip(d.task.input_names, u))
    return _Section("fixed-points", title, _png(fig, "fixed points") + _p(
        f"Fixed points of the noise-free network with its input held at the mean input of the "
        f"stimulus epoch ({inputs}), found from {FIXED_POINT_STARTS} states of the probe "
        f"trajectories: {len(result.points)} fixed points ({int(result.is_stable.sum())} "
        f"stable), {len(result.slow_points)} slow points."))


def _files_section(directory: Path) -> _Section | None:
    extra = [p for p in sorted(directory.glob("*.json")) if p.name != "summary.json"]
    if not extra:
        return None
    body = []
    for p in extra:
        try:
            text = json.dumps(json.loads(p.read_text()), indent=2)
        except (ValueError, OSError) as e:
            text = f"unreadable: {e}"
        body.append(f"<details><summary>{html.escape(p.name)}</summary><pre>"
                    f"{html.escape(text)}</pre></details>")
    return _Section("files", "Other results in the run directory", "".join(body))


# -- a sweep -------------------------------------------------------------------------------------


def _sweep_steps(directory: Path) -> list[Step]:
    data: dict[str, Any] = {}

    def table() -> Any:
        if "table" not in data:
            from .experiments import load_sweep, results_table

            data["sweep"] = load_sweep(directory / "sweep.yaml")
            data["table"] = results_table(directory, data["sweep"])
        return data["table"]

    return [
        ("sweep", lambda: _sweep_summary(directory, table(), data["sweep"])),
        ("results", lambda: _sweep_table(table(), data["sweep"])),
        ("learning curves", lambda: _sweep_curves(directory, table())),
        ("across networks", lambda: _sweep_plots(table(), data["sweep"])),
    ]


def _varied(sweep: Any) -> list[str]:
    return [k for k in sweep.runs[0].varied if k != "seed"] if sweep.runs else []


def _sweep_summary(directory: Path, table: Any, sweep: Any) -> _Section:
    counts = table["state"].value_counts().to_dict()
    rows = [(state, counts.get(state, 0)) for state in ("done", "failed", "pending")]
    rows.append(("runs", len(table)))
    return _Section("sweep", "Sweep", _table(rows, header=("state", "runs")) + "<details>"
                    "<summary>sweep.yaml</summary><pre>" + html.escape(
                        (directory / "sweep.yaml").read_text()) + "</pre></details>")


def _sweep_table(table: Any, sweep: Any) -> _Section:
    cols = ["run", "state", *_varied(sweep), "seed", "status", "steps", "accuracy",
            "train_seconds", "error"]
    cols = [c for c in cols if c in table.columns]
    rows = table[cols].to_numpy().tolist()
    return _Section("results", "Results table", _table(rows, header=cols) + _p(
        "The full table (every config field) is results.parquet in the sweep directory."))


def _sweep_curves(directory: Path, table: Any) -> _Section | None:
    from matplotlib.figure import Figure

    from .training._session import history

    done = table[table["state"] == "done"]
    if done.empty:
        return None
    fig = Figure(figsize=(6.5, 3.6), layout="constrained")
    ax = fig.subplots()
    for k, (name, path) in enumerate(zip(done["run"], done["path"])):
        h = history(_metrics(Path(path)))
        if not len(h.get("step", ())):
            continue
        acc = np.asarray(h["accuracy"], dtype=float)
        ok = np.isfinite(acc)
        ax.plot(np.asarray(h["step"])[ok], acc[ok], lw=1, color=f"C{k % 10}",
                label=name if len(done) <= 10 else None)
    ax.set(xlabel="step", ylabel="accuracy (fresh trials)", ylim=(0, 1.02),
           title=f"learning curves of {len(done)} runs")
    if len(done) <= 10:
        ax.legend(fontsize=6, loc="lower right")
    return _Section("curves", "Learning curves", _png(fig, "learning curves of the sweep's runs"))


def _sweep_plots(table: Any, sweep: Any) -> _Section | None:
    from matplotlib.figure import Figure

    from .experiments import plot_aggregate

    done = table[table["state"] == "done"]
    if done.empty:
        return None
    xs: list[str | None] = [*_varied(sweep)] or [None]
    body = []
    for y in ("accuracy", "steps"):
        if done[y].isna().all():
            continue
        fig = Figure(figsize=(4.0 * len(xs), 3.2), layout="constrained")
        axes = np.atleast_1d(fig.subplots(1, len(xs)))
        for ax, x in zip(axes, xs):
            plot_aggregate(done, y, x, ax=ax)
        body.append(_png(fig, f"{y} across the sweep"))
    if not body:
        return None
    return _Section("across", "Across networks", "".join(body) + _p(
        "Each dot is one network; black: mean ± s.e.m. per value of the varied field."))


# -- the page ------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;
  background:#fafafa}
header{background:#263238;color:#fff;padding:16px 32px}
header h1{margin:0;font-size:22px} header p{margin:4px 0 0;color:#cfd8dc;font-size:13px}
nav{padding:8px 32px;background:#eceff1;font-size:14px}
nav a{margin-right:14px;color:#37474f}
main{max-width:1150px;padding:8px 32px 48px}
section{background:#fff;border:1px solid #e0e0e0;border-radius:6px;padding:4px 20px 16px;
  margin:16px 0}
h2{font-size:18px;border-bottom:1px solid #eee;padding-bottom:4px}
h3{font-size:15px;margin-bottom:4px}
img{max-width:100%;height:auto;display:block;margin:8px 0}
table{border-collapse:collapse;font-size:13px;margin:6px 0}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f5f5f5}
pre{background:#f6f8fa;padding:8px;overflow-x:auto;font-size:12px}
p{font-size:14px;line-height:1.45}
"""


def _page(title: str, directory: Path, sections: Sequence[_Section]) -> str:
    from . import __version__

    when = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    nav = "".join(f'<a href="#{s.anchor}">{html.escape(s.title)}</a>' for s in sections)
    body = "".join(f'<section id="{s.anchor}"><h2>{html.escape(s.title)}</h2>{s.body}</section>'
                   for s in sections)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{html.escape(title)}</h1><p>{html.escape(str(directory.resolve()))} · "
        f"brainlike {__version__} · {html.escape(when)}</p></header>"
        f"<nav>{nav}</nav><main>{body}</main></body></html>\n"
    )

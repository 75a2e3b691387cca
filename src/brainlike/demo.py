"""The main job: train a RateRNN on perceptual decision making and write its figures.

``brainlike demo --out DIR`` runs :func:`run_demo`. The network (64 ReLU units, tau = 100 ms,
dt = 20 ms, recurrent noise 0.05) trains with Adam until its accuracy on 500 fresh trials reaches
97 % of the ideal observer's; then it is probed on a grid of coherences and the figures are
written to ``DIR/figures``:

- ``learning_curve.png``: loss per step and accuracy per evaluation, with criterion and ceiling;
- ``psychometric.png``: P(choice 2) against signed coherence with a fitted logistic;
- ``pca.png``: trial-averaged trajectories in the first two PCs, coloured by signed coherence
  and by the network's choice;
- ``example_trial.png``: inputs, outputs and targets of one trial;
- ``fixed_points.png``: fixed and slow points of the network with the input held at the
  0-coherence stimulus, found from 512 probe states (:func:`~brainlike.analysis.find_fixed_points`)
  and projected on the coherence PCA, with their Jacobian spectra.

``DIR/analysis.json`` holds the numbers behind them, including the accuracy by ground truth
(a network stopped at its criterion can favour one side; the demo prints that bias), and
``DIR/report.html`` is the run's HTML report (:func:`brainlike.report`).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import viz
from ._report import report
from .analysis import (
    FixedPointResult,
    find_fixed_points,
    fit_psychometric,
    line_attractor,
    model_step_fn,
    sample_states,
    trajectory_pca,
)
from .experiments import RunConfig, load_run, parse_config, run_training
from .training._checkpoint import atomic_write_bytes, atomic_write_text

DEMO_CONFIG = {
    "task": {"name": "perceptual_decision", "params": {"dt": 20.0}},
    "model": {"n_hidden": 64, "tau": 100.0, "activation": "relu", "sigma_rec": 0.05, "seed": 0},
    "training": {
        "steps": 3000, "batch_size": 64, "lr": 5e-3, "eval_every": 50, "eval_trials": 500,
        "criterion_of_ceiling": 0.97, "seed": 0,
    },
    "threads": 1,
}
_PROBE_TRIALS_PER_CONDITION = 200
_FIXED_POINT_STARTS = 512
_ZERO_COHERENCE_INPUT = (1.0, 0.5, 0.5)  # fixation on, both stimulus channels at 0.5


@dataclass(frozen=True)
class DemoResult:
    """Where the demo wrote its run and figures, and its main numbers."""

    directory: Path
    figures: dict[str, Path]
    summary: dict


def demo_config() -> RunConfig:
    """The demo's validated run config."""
    return parse_config(DEMO_CONFIG)


def _save(fig, path: Path) -> Path:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    atomic_write_bytes(path, buf.getvalue())
    return path


def fixed_point_analysis(model, activity, lengths) -> tuple[FixedPointResult, dict]:
    """Fixed points of ``model`` at the 0-coherence stimulus, from states of ``activity``.

    Parameters
    ----------
    model : RateRNN
    activity : ndarray, shape (B, T, N)
        Probe trials' rates; ``_FIXED_POINT_STARTS`` states are sampled from them (noise 0.01).
    lengths : ndarray, shape (B,)

    Returns
    -------
    result : FixedPointResult
    summary : dict
        Counts, the largest q, the leading eigenvalue magnitudes, the line-attractor eigenvalue.
    """
    starts = sample_states(activity, _FIXED_POINT_STARTS, noise=0.01, lengths=lengths, seed=0)
    fn = model_step_fn(model, torch.tensor(_ZERO_COHERENCE_INPUT))
    result = find_fixed_points(fn, starts)
    summary = {
        "input": list(_ZERO_COHERENCE_INPUT),
        "n_starts": _FIXED_POINT_STARTS,
        "n_fixed_points": len(result.points),
        "n_stable": int(result.is_stable.sum()),
        "n_slow_points": len(result.slow_points),
        "max_q_fixed": float(result.q.max()) if len(result.q) else None,
        "leading_abs_eigenvalues": np.abs(result.eigenvalues[:, 0]).tolist(),
    }
    if len(result.points):
        la = line_attractor(result)
        summary["eigenvalue_closest_to_1"] = la.eigenvalues.real.tolist()
    return result, summary


def run_demo(out: str | Path, *, progress: bool = True,
             echo: Callable[[str], None] = print) -> DemoResult:
    """Train (or resume) the demo run in ``out`` and write its figures and analysis."""
    out = Path(out)
    config = demo_config()
    echo(f"training a RateRNN on perceptual decision making -> {out}")
    result = run_training(config, out, progress=progress)
    run = load_run(out)
    task, model = run.task, run.model
    criterion = config.criterion_for(task)
    echo(f"{result.status} after {result.steps} steps: accuracy {result.accuracy:.3f} "
         f"(criterion {criterion:.3f}, ideal observer {task.ceiling:.3f}); "
         f"{result.train_seconds:.1f} s training this session")

    # Probe: every coherence x both choices, fixed trial counts, fresh seed.
    cohs = np.asarray(task.params["coherences"], dtype=float)
    coherence = np.repeat(np.tile(cohs, 2), _PROBE_TRIALS_PER_CONDITION)
    truth = np.repeat(np.repeat([1, 2], cohs.size), _PROBE_TRIALS_PER_CONDITION)
    batch = task.generate(coherence.size, seed=2024,
                          conditions={"coherence": coherence, "ground_truth": truth})
    with torch.no_grad():
        outputs, activity, _ = model(torch.tensor(batch.inputs),
                                     generator=torch.Generator().manual_seed(2024))
    outputs, activity = outputs.numpy(), activity.numpy()
    score = task.score(outputs, batch)
    signed = np.asarray(batch.conditions["signed_coherence"])
    responded = score.decision > 0
    fit = fit_psychometric(signed[responded], score.decision[responded] == 2)
    by_coherence = trajectory_pca(activity, signed, lengths=batch.lengths, n_components=3,
                                  condition_dependent=True)
    choice = np.where(responded, score.decision, 0)
    by_choice = trajectory_pca(activity[responded], choice[responded],
                               lengths=batch.lengths[responded], n_components=3,
                               condition_dependent=True)
    fps, fp_summary = fixed_point_analysis(model, activity, batch.lengths)
    k = int(np.flatnonzero((coherence == cohs[2]) & (truth == 2))[0])
    n = int(batch.lengths[k])

    figdir = out / "figures"
    figdir.mkdir(exist_ok=True)
    figures = {
        "learning_curve": _save(viz.learning_curve(result.history, criterion=criterion,
                                                   ceiling=task.ceiling),
                                figdir / "learning_curve.png"),
        "psychometric": _save(viz.psychometric(fit), figdir / "psychometric.png"),
        "pca": _save(viz.trajectories(
            [by_coherence, by_choice],
            ["condition averages by signed coherence", "averages by the network's choice"],
            [list(by_coherence.groups), list(by_choice.groups)],
            value_labels=["signed coherence (%)", "choice"],
            labels=[None, [task.output_names[int(g)] for g in by_choice.groups]]),
            figdir / "pca.png"),
        "example_trial": _save(viz.example_trial(
            batch.inputs[k, :n], outputs[k, :n], batch.targets[k, :n], dt=task.dt,
            input_names=task.input_names, output_names=task.output_names,
            target_kind=task.target_kind,
            title=f"coherence {cohs[2]:g} % toward choice 2"), figdir / "example_trial.png"),
        "fixed_points": _save(viz.fixed_points(
            fps, by_coherence, values=list(by_coherence.groups),
            value_label="signed coherence (%)", title="fixed points at 0 % coherence"),
            figdir / "fixed_points.png"),
    }
    accuracy_by_coherence = {
        f"{c:g}": float(score.correct[coherence == c].mean()) for c in cohs
    }
    # A network stopped at its criterion can favour one side (see docs/training.md).
    by_truth = {task.level_label("ground_truth", g): float(score.correct[truth == g].mean())
                for g in (1, 2)}
    summary = {
        "status": result.status,
        "steps": result.steps,
        "accuracy_at_stop": result.accuracy,
        "criterion": criterion,
        "ceiling": task.ceiling,
        "probe_accuracy": float(score.accuracy),
        "probe_accuracy_by_coherence": accuracy_by_coherence,
        "probe_accuracy_by_ground_truth": by_truth,
        "no_response_fraction": float(1 - responded.mean()),
        "psychometric": {"kind": fit.kind, "bias": fit.bias, "scale": fit.scale},
        "pca_explained_variance_ratio": by_coherence.explained_variance_ratio.tolist(),
        "fixed_points": fp_summary,
    }
    atomic_write_text(out / "analysis.json", json.dumps(summary, indent=2))
    (a, acc_a), (b, acc_b) = by_truth.items()
    echo(f"probe trials: accuracy {score.accuracy:.3f}; by ground truth {a} {acc_a:.3f}, {b} "
         f"{acc_b:.3f}; psychometric bias {fit.bias:+.2f} % coherence (positive: the network "
         f"needs evidence toward {b} to choose it as often as {a})")
    for name, path in figures.items():
        echo(f"wrote {name}: {path}")
    page = report(out, progress=progress)
    echo(f"wrote the report: {page}")
    return DemoResult(out, {**figures, "report": page}, summary)

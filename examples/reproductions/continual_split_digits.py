"""Split digits: five two-class tasks learned one after another (Zenke et al. 2017's split MNIST on
scikit-learn's bundled 8x8 digits), without and with consolidation (EWC, SI).

Two scenarios (van de Ven & Tolias 2019): **task-incremental**, a head per task (each task reads
the output units of its own two classes), and **class-incremental**, one 10-way readout for all.
The network is an MLP (64 -> 256 -> 256 -> 10, ReLU; ``ConvNet`` with linear layers), trained with
Adam (lr 1e-3, batch 64, a fresh optimizer state per task) for ``--steps`` steps per task; after
each task every task seen so far is scored on 500 draws from its held-out images (20 % of the
data set, never trained on). Penalties: SI with c = 1, xi = 1e-3 (the recipe of the
continual-learning-baselines' split-MNIST SI); EWC with lambda = 1e3 (200 images for the Fisher).

Writes ``results/continual_split_digits.json`` and ``.png``.
Run: ``python examples/reproductions/continual_split_digits.py`` (about 10 minutes on one core).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure

from brainlike.models import ConvNet
from brainlike.tasks import Sequential, make, split_classes
from brainlike.training import EWC, SI, train_sequential

LAYERS = [{"type": "linear", "features": 256}, "relu", {"type": "linear", "features": 256}, "relu"]
METHODS = {
    "none": lambda: None,
    "ewc": lambda: EWC(1e3, fisher_trials=200),
    "si": lambda: SI(1.0, damping=1e-3),
}


def run(plan: Sequential, method: str, seed: int) -> dict:
    model = ConvNet((1, 8, 8), 10, layers=LAYERS, seed=seed)
    t0 = time.perf_counter()
    result = train_sequential(model, plan, continual=METHODS[method](), batch_size=64, lr=1e-3,
                              eval_trials=500, seed=seed)
    return {"seed": seed, "seconds": time.perf_counter() - t0,
            "retention": result.retention.tolist(), "final_mean": result.final_accuracy}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--steps", type=int, default=200, help="steps per task")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    report: dict = {
        "setup": {"tasks": "digits [0,1] [2,3] [4,5] [6,7] [8,9]", "steps_per_task": args.steps,
                  "network": "MLP 64-256-256-10 relu (ConvNet linear layers)", "batch_size": 64,
                  "optimizer": "adam lr 1e-3, reset per task", "eval": "500 held-out draws per task",
                  "si": {"strength": 1.0, "damping": 1e-3}, "ewc": {"strength": 1e3,
                                                                    "fisher_trials": 200},
                  "seeds": args.seeds, "threads": 1, "loadavg_start": os.getloadavg()},
        "scenarios": {},
    }
    for scenario, heads in (("task_incremental", True), ("class_incremental", False)):
        plan = Sequential([(t, args.steps) for t in split_classes(make("digits"), 5, heads=heads)])
        out = {}
        for method in METHODS:
            runs = [run(plan, method, seed) for seed in args.seeds]
            finals = [r["final_mean"] for r in runs]
            out[method] = {"runs": runs, "final_mean": float(np.mean(finals)),
                           "final_std": float(np.std(finals)),
                           "retention_mean": np.mean([r["retention"] for r in runs], 0).tolist()}
            print(f"{scenario:17s} {method:5s} mean accuracy over tasks after the last: "
                  f"{np.mean(finals):.3f} +- {np.std(finals):.3f}", flush=True)
        report["scenarios"][scenario] = out
    report["setup"]["loadavg_end"] = os.getloadavg()
    (args.out / "continual_split_digits.json").write_text(json.dumps(report, indent=1))
    figure(report).savefig(args.out / "continual_split_digits.png", dpi=120)


def figure(report: dict) -> Figure:
    scenarios = report["scenarios"]
    fig = Figure(figsize=(11, 6.5), layout="constrained")
    axes = fig.subplots(2, 3)
    for row, (scenario, methods) in enumerate(scenarios.items()):
        for col, (method, res) in enumerate(methods.items()):
            ax = axes[row, col]
            m = np.array(res["retention_mean"], dtype=float)
            im = ax.imshow(m, vmin=0, vmax=1, cmap="viridis")
            for (i, j), v in np.ndenumerate(m):
                if np.isfinite(v):
                    ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                            color="w" if v < 0.6 else "k")
            ax.set_title(f"{scenario.replace('_', '-')}, {method}: mean "
                         f"{res['final_mean']:.3f}", fontsize=9)
            ax.set_xticks(range(5), ["0/1", "2/3", "4/5", "6/7", "8/9"], fontsize=7)
            ax.set_yticks(range(5), [f"after {k + 1}" for k in range(5)], fontsize=7)
    fig.colorbar(im, ax=axes, shrink=0.6, label="held-out accuracy")
    fig.suptitle(f"Split digits, {len(report['setup']['seeds'])} seeds: accuracy on each task "
                 "(column) after each task is learned (row)")
    return fig


if __name__ == "__main__":
    main()

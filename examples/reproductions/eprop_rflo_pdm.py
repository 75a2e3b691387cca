"""Local on-line learning vs BPTT on perceptual decisions: e-prop (Bellec et al. 2020) and RFLO
(Murray 2019) learning curves against backpropagation through time, in steps and in wall time.

RateRNN(3, 64, 3), ReLU, tau = 200 ms, sigma_rec = 0.05, on ``perceptual_decision`` at dt = 100
ms (NeuroGym's step; 22 steps per trial; ideal observer 0.896); alpha = dt / tau = 0.5, so the
eligibility traces keep half of their value from one step to the next. Each rule trains with Adam
(lr 3e-3), batches of 64, evaluating on 1000 fresh trials every 25 steps, until the accuracy
reaches 90 % of the ideal observer's (0.806) or 1500 steps: ``train`` (BPTT), ``train_eprop``
(symmetric feedback, ``B = W_out``), ``train_rflo`` (fixed random feedback). Seeds 0, 1, 2
(network and trials). The network at the end is scored on 2000 new trials.

Wall time is measured per step by a callback (it includes the evaluations, which cost every rule
the same). Writes ``results/eprop_rflo_pdm.json`` and ``.png``.

Run: ``python examples/reproductions/eprop_rflo_pdm.py`` (a few minutes on one core).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure

from brainlike.models import RateRNN
from brainlike.tasks import make
from brainlike.training import evaluate, train, train_eprop, train_rflo

OUT = Path(__file__).parent / "results"
RULES = {"bptt": train, "eprop": train_eprop, "rflo": train_rflo}
COLORS = {"bptt": "black", "eprop": "tab:green", "rflo": "tab:purple"}


def run(rule: str, seed: int, steps: int, task) -> dict:
    model = RateRNN(task.n_inputs, 64, task.n_outputs, tau=200.0, dt=task.dt, sigma_rec=0.05,
                    seed=seed)
    clock: list[float] = []
    t0 = time.perf_counter()
    result = RULES[rule](model, task, steps=steps, batch_size=64, lr=3e-3, eval_every=25,
                         eval_trials=1000, criterion=0.9 * task.ceiling, seed=seed,
                         callbacks=[lambda info: clock.append(time.perf_counter() - t0)])
    h = result.history
    ok = ~np.isnan(h["accuracy"])
    at, acc = h["step"][ok], h["accuracy"][ok]
    return {
        "rule": rule, "seed": seed, "status": result.status, "steps": result.steps,
        "seconds": clock[-1], "seconds_per_step": result.train_seconds / result.steps,
        "final_accuracy": evaluate(model, task, n_trials=2000, seed=10_000 + seed).accuracy,
        "eval_steps": at.tolist(), "eval_accuracy": acc.tolist(),
        "eval_seconds": [clock[s - 1] for s in at],
    }


def figure(runs: list[dict], ceiling: float, path: Path,
           title: str = "perceptual decisions: learning curves (3 seeds)",
           criterion: float = 0.9) -> None:
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    ax_steps, ax_time = fig.subplots(1, 2, sharey=True)
    for r in runs:
        label = r["rule"] if r["seed"] == runs[0]["seed"] else None
        kw = {"color": COLORS[r["rule"]], "lw": 1.2, "alpha": 0.85, "label": label}
        ax_steps.plot(r["eval_steps"], r["eval_accuracy"], **kw)
        ax_time.plot(r["eval_seconds"], r["eval_accuracy"], **kw)
    for ax in (ax_steps, ax_time):
        ax.axhline(ceiling, color="gray", ls="--", lw=1)
        ax.axhline(criterion * ceiling, color="gray", ls=":", lw=1)
        ax.legend(fontsize=8, loc="lower right")
    ax_steps.set(xlabel="training step", ylabel="accuracy (1000 fresh trials)",
                 title=title)
    ax_time.set(xlabel="wall time (s, one core)",
                title=f"- - ideal observer, ... {criterion:.0%} of it (the criterion)")
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=1500)
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    task = make("perceptual_decision", dt=100.0)
    runs = []
    for seed in args.seeds:
        for rule in RULES:
            r = run(rule, seed, args.steps, task)
            runs.append(r)
            print(json.dumps({k: r[k] for k in ("rule", "seed", "status", "steps", "seconds",
                                                "final_accuracy")}), flush=True)
    summary = {}
    for rule in RULES:
        mine = [r for r in runs if r["rule"] == rule]
        summary[rule] = {
            "reached_90pct": sum(r["status"] == "criterion" for r in mine),
            "steps": [r["steps"] for r in mine],
            "seconds": [round(r["seconds"], 1) for r in mine],
            "seconds_per_step": float(np.median([r["seconds_per_step"] for r in mine])),
            "final_accuracy": [r["final_accuracy"] for r in mine],
            "final_fraction_of_ceiling": [r["final_accuracy"] / task.ceiling for r in mine],
        }
    report = {"settings": {"n_hidden": 64, "tau_ms": 200.0, "dt_ms": 100.0, "sigma_rec": 0.05,
                           "optimizer": "adam", "lr": 3e-3, "batch_size": 64, "eval_every": 25,
                           "eval_trials": 1000,
                           "criterion": 0.9 * task.ceiling, "ceiling": task.ceiling,
                           "max_steps": args.steps, "seeds": args.seeds, "threads": 1},
              "summary": summary, "runs": runs}
    (args.out / "eprop_rflo_pdm.json").write_text(json.dumps(report, indent=2))
    figure(runs, task.ceiling, args.out / "eprop_rflo_pdm.png")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()

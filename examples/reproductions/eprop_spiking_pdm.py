"""e-prop (Bellec et al. 2020) vs BPTT for the spiking network on perceptual decisions: learning
curves in steps and in wall time.

SpikingRNN(3, 128, 3) with the settings of ``spiking_tasks.py``'s ``pdm`` run (docs/spiking.md:
tau_mem 20, tau_syn 100, tau_out 100 ms, arctan surrogate, zero reset, membrane noise sigma_rec
0.1) on ``perceptual_decision`` at dt = 20 ms (110 steps per trial; ideal observer 0.896). Each
rule trains with Adam (lr 3e-3), batches of 64, evaluating on 1000 fresh trials every 25 steps,
until the accuracy reaches 93 % of the ideal observer's (so that the score on 2000 new trials,
the result, clears 90 %) or ``--steps`` steps: ``train`` (BPTT through the surrogate) and
``train_eprop`` (symmetric feedback ``B = W_out``; eligibility traces forward in time, the
trajectory never stored). Seeds 0, 1, 2 (network, trials, noise).

Wall time is measured per step by a callback (it includes the evaluations, which cost both rules
the same). Writes ``results/eprop_spiking_pdm.json`` and ``.png`` (the JSON after every run).

Run: ``python examples/reproductions/eprop_spiking_pdm.py`` (about an hour on one core).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from eprop_rflo_pdm import figure

from brainlike.models import SpikingRNN
from brainlike.tasks import make
from brainlike.training import evaluate, train, train_eprop

OUT = Path(__file__).parent / "results"
RULES = {"bptt": train, "eprop": train_eprop}
SETTINGS = {"n_hidden": 128, "dt_ms": 20.0, "sigma_rec": 0.1, "optimizer": "adam", "lr": 3e-3,
            "batch_size": 64, "eval_every": 25, "eval_trials": 1000, "criterion_fraction": 0.93}


def run(rule: str, seed: int, steps: int, task) -> dict:
    model = SpikingRNN(task.n_inputs, SETTINGS["n_hidden"], task.n_outputs, dt=task.dt,
                       sigma_rec=SETTINGS["sigma_rec"], seed=seed)
    clock: list[float] = []
    t0 = time.perf_counter()

    def tick(info):
        clock.append(time.perf_counter() - t0)
        if "accuracy" in info.metrics:
            print(f"{rule} seed {seed} step {info.step} accuracy {info.metrics['accuracy']:.3f} "
                  f"{clock[-1]:.0f} s", flush=True)

    result = RULES[rule](model, task, steps=steps, batch_size=SETTINGS["batch_size"],
                         lr=SETTINGS["lr"], eval_every=SETTINGS["eval_every"],
                         eval_trials=SETTINGS["eval_trials"],
                         criterion=SETTINGS["criterion_fraction"] * task.ceiling, seed=seed,
                         callbacks=[tick], progress=False)
    h = result.history
    ok = ~np.isnan(h["accuracy"])
    at, acc = h["step"][ok], h["accuracy"][ok]
    final = evaluate(model, task, n_trials=2000, seed=10_000 + seed).accuracy
    return {
        "rule": rule, "seed": seed, "status": result.status, "steps": result.steps,
        "seconds": clock[-1], "seconds_per_step": result.train_seconds / result.steps,
        "final_accuracy": final, "final_fraction_of_ceiling": final / task.ceiling,
        "eval_steps": at.tolist(), "eval_accuracy": acc.tolist(),
        "eval_seconds": [clock[s - 1] for s in at],
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def summarize(runs: list[dict], ceiling: float) -> dict:
    summary = {}
    for rule in RULES:
        mine = [r for r in runs if r["rule"] == rule]
        summary[rule] = {
            "seeds": [r["seed"] for r in mine],
            "reached_criterion": sum(r["status"] == "criterion" for r in mine),
            "steps": [r["steps"] for r in mine],
            "seconds": [round(r["seconds"], 1) for r in mine],
            "seconds_per_step": float(np.median([r["seconds_per_step"] for r in mine]))
            if mine else None,
            "final_accuracy": [r["final_accuracy"] for r in mine],
            "final_fraction_of_ceiling": [r["final_accuracy"] / ceiling for r in mine],
        }
    return summary


def plot(runs: list[dict], ceiling: float, out: Path) -> None:
    figure(runs, ceiling, out / "eprop_spiking_pdm.png",
           title=f"spiking network (LIF, dt 20 ms), perceptual decisions: seeds "
                 f"{sorted({r['seed'] for r in runs})}",
           criterion=SETTINGS["criterion_fraction"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--replot", action="store_true",
                        help="only redraw the figure from the results JSON in --out")
    args = parser.parse_args()
    if args.replot:
        report = json.loads((args.out / "eprop_spiking_pdm.json").read_text())
        plot(report["runs"], report["settings"]["ceiling"], args.out)
        return
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    task = make("perceptual_decision", dt=SETTINGS["dt_ms"])
    runs = []
    for seed in args.seeds:
        for rule in ("eprop", "bptt"):
            r = run(rule, seed, args.steps, task)
            runs.append(r)
            print(json.dumps({k: r[k] for k in ("rule", "seed", "status", "steps", "seconds",
                                                "final_accuracy")}), flush=True)
            report = {"settings": {**SETTINGS, "ceiling": task.ceiling,
                                   "criterion": SETTINGS["criterion_fraction"] * task.ceiling,
                                   "max_steps": args.steps, "seeds": args.seeds, "threads": 1},
                      "summary": summarize(runs, task.ceiling), "runs": runs}
            (args.out / "eprop_spiking_pdm.json").write_text(json.dumps(report, indent=2) + "\n")
            plot(runs, task.ceiling, args.out)
    print(json.dumps(report["summary"], indent=2))


if __name__ == "__main__":
    main()

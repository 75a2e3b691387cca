"""Differentiable plasticity (Miconi et al. 2018, 2019): learning within a trial.

On ``pattern_completion`` every trial draws new random binary patterns (16 bits, 3 patterns,
each shown twice), then shows one of them with half its bits erased; the network must output
the whole pattern. Nothing about the patterns can be learned across trials: they must be stored
within the trial. The papers' ordering: a network with Hebbian fast weights whose plasticity is
learned (``PlasticRNN``) learns the task, a non-plastic network of the same size does not.

Networks, all with 32 units, trained with the same budget (``train``: Adam lr 1e-2, batch 64,
3000 steps, gradient norm clipped at 1) on 3 seeds each:

* ``plastic_hebbian``, ``plastic_oja``, ``plastic_neuromodulated``: ``PlasticRNN`` with each
  rule, ``alpha_init = 0.1``;
* ``rnn``: the same network without plasticity (``RateRNN``, tanh, ``tau = dt``: the equations
  of ``PlasticRNN`` with ``alpha = 0``);
* ``lstm``: an LSTM of the same size (about 4x the recurrent parameters), a stronger
  non-plastic baseline.

Test: 2000 fresh trials; ``bit_error`` is the fraction of erased bits with the wrong sign
(chance 0.5), ``accuracy`` the fraction of trials with every erased bit right (chance 1/256).
Writes ``results/miconi_plasticity.json`` and ``.png``. Run:
``OMP_NUM_THREADS=1 python examples/reproductions/miconi_plasticity.py --jobs 2`` (about an
hour on two cores).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import time
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure

from brainlike import models, tasks
from brainlike.training import train

OUT = Path(__file__).parent / "results"
N_HIDDEN, BATCH, LR, STEPS, EVAL_EVERY = 32, 64, 1e-2, 3000, 100
SEEDS = (0, 1, 2)
NETWORKS = {
    "plastic_hebbian": ("plastic", {"rule": "hebbian", "alpha_init": 0.1}),
    "plastic_oja": ("plastic", {"rule": "oja", "alpha_init": 0.1}),
    "plastic_neuromodulated": ("plastic", {"rule": "neuromodulated", "alpha_init": 0.1}),
    "rnn": ("rate", {"activation": "tanh", "tau": 20.0}),
    "lstm": ("lstm", {}),
}
PLASTIC = ("plastic_hebbian", "plastic_oja", "plastic_neuromodulated")
NON_PLASTIC = ("rnn", "lstm")


def build(name: str, task, seed: int):
    kind, params = NETWORKS[name]
    return models.make(kind, n_input=task.n_inputs, n_hidden=N_HIDDEN, n_output=task.n_outputs,
                       dt=task.dt, seed=seed, **params)


def run_one(job: tuple[str, int, int]) -> dict:
    name, seed, steps = job
    torch.set_num_threads(1)
    task = tasks.make("pattern_completion")
    net = build(name, task, seed)
    t0 = time.perf_counter()
    result = train(net, task, steps=steps, batch_size=BATCH, lr=LR, eval_every=EVAL_EVERY,
                   eval_trials=500, seed=seed)
    seconds = time.perf_counter() - t0
    batch = task.generate(2000, seed=10_000 + seed)
    with torch.no_grad():
        run = net.traced(torch.tensor(batch.inputs))
    score = task.score(run.output.outputs, batch)
    h = result.history
    evals = ~np.isnan(h["accuracy"])
    info = {
        "network": name, "seed": seed, "steps": result.steps, "train_seconds": seconds,
        "parameters": sum(p.numel() for p in net.parameters()),
        "test_accuracy": score.accuracy, "test_bit_error": float(score.error.mean()),
        "curve_steps": h["step"][evals].astype(int).tolist(),
        "curve_accuracy": h["accuracy"][evals].round(4).tolist(),
    }
    if isinstance(net, models.PlasticRNN):
        info["alpha_mean"] = float(net.alpha.detach().mean())
        info["alpha_abs_mean"] = float(net.alpha.detach().abs().mean())
        if net.eta is not None:
            info["eta"] = float(net.eta.detach())
        norm = run.traces["hebb_norm"].numpy()
        info["hebb_norm_over_trial"] = norm.mean(0).round(4).tolist()
        if "modulation" in run.traces:
            info["modulation_over_trial"] = run.traces["modulation"].numpy().mean(0).round(4).tolist()
    print(f"{name} seed {seed}: accuracy {score.accuracy:.3f}, bit error {info['test_bit_error']:.3f}"
          f" ({seconds:.0f} s)", flush=True)
    return info


def summarize(runs: list[dict]) -> dict:
    out = {}
    for name in NETWORKS:
        mine = [r for r in runs if r["network"] == name]
        if not mine:
            continue
        err = [r["test_bit_error"] for r in mine]
        acc = [r["test_accuracy"] for r in mine]
        out[name] = {"seeds": [r["seed"] for r in mine], "bit_error": err, "accuracy": acc,
                     "bit_error_mean": float(np.mean(err)), "accuracy_mean": float(np.mean(acc)),
                     "parameters": mine[0]["parameters"]}
    plastic = [e for n in PLASTIC if n in out for e in out[n]["bit_error"]]
    fixed = [e for n in NON_PLASTIC if n in out for e in out[n]["bit_error"]]
    if plastic and fixed:
        out["ordering"] = {
            "worst_plastic_bit_error": max(plastic), "best_non_plastic_bit_error": min(fixed),
            "every_plastic_seed_beats_every_non_plastic_seed": max(plastic) < min(fixed),
        }
    return out


def figure(runs: list[dict], path: Path) -> None:
    fig = Figure(figsize=(11, 3.6), layout="constrained")
    ax_curve, ax_err, ax_norm = fig.subplots(1, 3)
    colors = {"plastic_hebbian": "C0", "plastic_oja": "C2", "plastic_neuromodulated": "C4",
              "rnn": "C3", "lstm": "C1"}
    for r in runs:
        label = r["network"] if r["seed"] == SEEDS[0] else None
        ax_curve.plot(r["curve_steps"], r["curve_accuracy"], color=colors[r["network"]], lw=1,
                      label=label)
    ax_curve.set(xlabel="training step", ylabel="accuracy (all erased bits right)",
                 title="learning to learn within a trial")
    ax_curve.legend(fontsize=7)
    names = [n for n in NETWORKS if any(r["network"] == n for r in runs)]
    for k, name in enumerate(names):
        err = [r["test_bit_error"] for r in runs if r["network"] == name]
        ax_err.bar(k, np.mean(err), color=colors[name], alpha=0.5)
        ax_err.plot([k] * len(err), err, "k.", ms=5)
    ax_err.axhline(0.5, color="gray", ls=":", lw=1)
    ax_err.set_xticks(range(len(names)), [n.replace("plastic_", "plastic\n") for n in names],
                      fontsize=7)
    ax_err.set(ylabel="erased bits wrong (chance 0.5)", title="test, 2000 trials, 3 seeds")
    task = tasks.make("pattern_completion")
    for r in runs:
        if "hebb_norm_over_trial" in r and r["seed"] == SEEDS[0]:
            ax_norm.plot(r["hebb_norm_over_trial"], color=colors[r["network"]], label=r["network"])
    ax_norm.axvline(task.study_steps - 0.5, color="gray", ls=":", lw=1)
    ax_norm.set(xlabel="step of the trial (test after the dotted line)", ylabel="|Hebb|_F",
                title="Hebbian trace within a trial")
    ax_norm.legend(fontsize=7)
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--networks", nargs="*", default=list(NETWORKS), choices=list(NETWORKS))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    jobs = [(name, seed, args.steps) for name in args.networks for seed in SEEDS]
    # Slow jobs first, so that two workers finish together.
    jobs.sort(key=lambda j: j[0] not in PLASTIC)
    t0 = time.perf_counter()
    if args.jobs > 1:
        with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
            runs = pool.map(run_one, jobs, chunksize=1)
    else:
        runs = [run_one(j) for j in jobs]
    runs.sort(key=lambda r: (list(NETWORKS).index(r["network"]), r["seed"]))
    result = {
        "task": tasks.make("pattern_completion").params,
        "settings": {"n_hidden": N_HIDDEN, "batch_size": BATCH, "lr": LR, "steps": args.steps,
                     "networks": {k: NETWORKS[k] for k in args.networks}, "seeds": list(SEEDS),
                     "test_trials": 2000},
        "summary": summarize(runs),
        "runs": runs,
        "wall_seconds": time.perf_counter() - t0,
        "load_average": os.getloadavg(),
    }
    (args.out / "miconi_plasticity.json").write_text(json.dumps(result, indent=1))
    figure(runs, args.out / "miconi_plasticity.png")
    print(json.dumps(result["summary"], indent=1))


if __name__ == "__main__":
    main()

"""Song, Yang & Wang (2016): an excitatory-inhibitory RNN trained on perceptual decisions.

100 units (80 E / 20 I, Dale's law by rectification, inputs to E and readout from E only),
sigma_rec = 0.15, tau = 100 ms, dt = 20 ms, on ``perceptual_decision``. For each seed the
network trains until its accuracy on 1000 fresh trials reaches 98% of the task's ideal-observer
ceiling (or a step budget runs out), is evaluated on 2000 new trials, and its trained wiring is
read out: d' of every unit between the two choices during the stimulus epoch, and the mean E->E
weight between units selective to the same choice vs to different choices.

Writes ``results/song2016_ei.json`` and figures ``results/song2016_*.png`` (the connectivity
matrix, weight distributions and learning curve of seed 0; the same/different-choice E->E
weights of every seed).
Run: ``python examples/reproductions/song2016_ei.py [N_SEEDS]`` (about 1-2 CPU minutes per seed).
``python examples/reproductions/song2016_ei.py --figures-only`` redraws the figures from the
committed JSON: it retrains seed 0 only (training is deterministic), checks that its steps,
accuracy and E->E ratio equal the JSON's, and fails otherwise.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import torch
from _cli import out_dir
from matplotlib.figure import Figure

from brainlike.analysis import choice_wiring, sort_by_selectivity, unit_selectivity, weights_by_type
from brainlike.models import Dale, RateRNN
from brainlike.tasks import make
from brainlike.training import evaluate, train
from brainlike.viz import connectivity_matrix, learning_curve, weight_distributions

OUT = out_dir()  # --out DIR, default results/ (the committed results)
SEEDS = range(5)
N, E_FRACTION, SIGMA_REC = 100, 0.8, 0.15
MAX_STEPS, BATCH, LR = 4000, 32, 5e-3
THRESHOLD = 0.5  # |d'| of a choice-selective unit


def run_seed(seed: int, task) -> dict:
    dale = Dale(N, e_fraction=E_FRACTION, positive="rectify", seed=seed)
    model = RateRNN(task.n_inputs, N, task.n_outputs, tau=100.0, dt=task.dt, sigma_rec=SIGMA_REC,
                    connectivity=dale, seed=seed)
    t0 = time.perf_counter()
    result = train(model, task, steps=MAX_STEPS, batch_size=BATCH, lr=LR, eval_every=100,
                   eval_trials=1000, criterion=0.98 * task.ceiling, seed=seed)
    seconds = time.perf_counter() - t0
    accuracy = evaluate(model, task, n_trials=2000, seed=1000 + seed).accuracy
    # Activity on fresh noisy trials; d' between the two correct choices, stimulus epoch.
    batch = task.generate(1000, seed=2000 + seed)
    with torch.no_grad():
        activity = model(torch.tensor(batch.inputs),
                         generator=torch.Generator().manual_seed(seed)).activity.numpy()
    sel = unit_selectivity(activity, batch.conditions["ground_truth"], batch.epochs["stimulus"])
    w = model.effective_weights().w_rec.detach().numpy()
    sign = dale.cell_sign.numpy()
    wiring = choice_wiring(w, sel.d_prime, sign, threshold=THRESHOLD)
    violations = int((w[:, sign > 0] < 0).sum() + (w[:, sign < 0] > 0).sum())
    return {
        "seed": seed, "steps": result.steps, "status": result.status, "train_seconds": seconds,
        "accuracy": accuracy, "fraction_of_ceiling": accuracy / task.ceiling,
        "n_selective_e": int(((sign > 0) & (np.abs(sel.d_prime) >= THRESHOLD)).sum()),
        "same_choice_ee": wiring.same, "different_choice_ee": wiring.different,
        "ratio": wiring.ratio, "n_same_pairs": wiring.n_same, "n_different_pairs": wiring.n_different,
        "sign_violations": violations,
        "_model": model, "_sel": sel, "_w": w, "_sign": sign, "_history": result.history,
    }


def main(seeds=SEEDS) -> dict:
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    task = make("perceptual_decision", dt=20.0)
    runs = []
    for seed in seeds:
        r = run_seed(seed, task)
        print(f"seed {seed}: {r['steps']} steps ({r['status']}, {r['train_seconds']:.0f} s), "
              f"accuracy {r['accuracy']:.3f} = {r['fraction_of_ceiling']:.3f} of ceiling, "
              f"E->E same {r['same_choice_ee']:.4f} vs different {r['different_choice_ee']:.4f} "
              f"(ratio {r['ratio']:.2f})", flush=True)
        runs.append(r)
    ratios = np.array([r["ratio"] for r in runs])
    summary = {
        "task": "perceptual_decision", "dt": task.dt, "ceiling": task.ceiling,
        "criterion": 0.95 * task.ceiling, "n_units": N, "e_fraction": E_FRACTION,
        "sigma_rec": SIGMA_REC, "selectivity_threshold": THRESHOLD,
        "all_reach_95pct_of_ceiling": bool(all(r["fraction_of_ceiling"] >= 0.95 for r in runs)),
        "ratio_mean": float(ratios.mean()), "ratio_sd": float(ratios.std(ddof=1)),
        "ratio_min": float(ratios.min()), "ratio_max": float(ratios.max()),
        "same_exceeds_different_in": int((ratios > 1).sum()),
        "seeds": [{k: v for k, v in r.items() if not k.startswith("_")} for r in runs],
    }
    (OUT / "song2016_ei.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps({k: v for k, v in summary.items() if k != "seeds"}, indent=2))
    draw_figures(runs[0], summary, task)
    return summary


def draw_figures(first: dict, summary: dict, task) -> None:
    """Figures of seed ``first`` (a :func:`run_seed` result) and of every seed in ``summary``."""
    s = sort_by_selectivity(first["_w"], first["_sel"].d_prime, first["_sign"])
    connectivity_matrix(
        s, min_abs_d_prime=THRESHOLD,
        title=f"E/I RNN on perceptual DM, seed {first['seed']} (|d′| ≥ {THRESHOLD})",
    ).savefig(OUT / "song2016_connectivity.png", dpi=120)
    weight_distributions(weights_by_type(first["_w"], first["_sign"])).savefig(
        OUT / "song2016_weights.png", dpi=120)
    learning_curve(first["_history"], criterion=0.95 * task.ceiling, ceiling=task.ceiling).savefig(
        OUT / "song2016_learning.png", dpi=120)
    seeds = summary["seeds"]
    fig = Figure(figsize=(5, 3.2), layout="constrained")
    ax = fig.subplots()
    xs = np.arange(len(seeds))
    ax.bar(xs - 0.2, [r["same_choice_ee"] for r in seeds], 0.4, label="same choice")
    ax.bar(xs + 0.2, [r["different_choice_ee"] for r in seeds], 0.4, label="different choice")
    for x, r in zip(xs, seeds):
        ax.text(x, max(r["same_choice_ee"], r["different_choice_ee"]), f"×{r['ratio']:.2f}",
                ha="center", va="bottom", fontsize=7)
    ax.set(xticks=xs, xticklabels=[str(r["seed"]) for r in seeds], xlabel="seed",
           ylabel="mean E→E weight",
           title=f"selective E→E wiring: ratio {summary['ratio_mean']:.2f} ± "
                 f"{summary['ratio_sd']:.2f} (SD, n={len(seeds)})")
    ax.legend(fontsize=7)
    fig.savefig(OUT / "song2016_ratios.png", dpi=120)


def figures_only() -> None:
    """Redraw the figures from ``results/song2016_ei.json``, retraining seed 0 to get its weights."""
    torch.set_num_threads(1)
    summary = json.loads((OUT / "song2016_ei.json").read_text())
    task = make("perceptual_decision", dt=20.0)
    record = summary["seeds"][0]
    first = run_seed(record["seed"], task)
    for key in ("steps", "accuracy", "ratio", "same_choice_ee", "different_choice_ee"):
        if not np.isclose(first[key], record[key], rtol=1e-6, atol=0.0):
            raise SystemExit(
                f"seed {record['seed']} retrained to {key}={first[key]!r} but the JSON says "
                f"{record[key]!r}; rerun the whole script instead of --figures-only"
            )
    draw_figures(first, summary, task)
    print(f"figures redrawn from seed {record['seed']} (steps {first['steps']}, accuracy "
          f"{first['accuracy']:.4f}, ratio {first['ratio']:.4f}, as in the JSON)")


if __name__ == "__main__":
    if sys.argv[1:] == ["--figures-only"]:
        figures_only()
    else:
        main(range(int(sys.argv[1])) if len(sys.argv) > 1 else SEEDS)

"""Feedback alignment (Lillicrap et al. 2016) and direct feedback alignment (Nøkland 2016): an MLP
on the 8x8 digits and a rate RNN on perceptual decisions, against backpropagation.

(A) MLP 64-100-100-10 (tanh) on scikit-learn's digits (1437 training, 360 held-out images),
Adam lr 1e-3, batches of 64, 2000 steps; modes ``backprop``, ``fa``, ``dfa`` with the same
initial weights and batches (seeds 0, 1, 2). Held-out accuracy every 100 steps.
(B) RateRNN(3, 32, 3), tau = dt = 100 ms, on ``perceptual_decision`` (dt 100 ms), SGD lr 0.1
(momentum 0.9), batches of 32, 800 steps; the same three modes (FA replaces ``W_out^T`` and
``W^T`` in the backward pass through time by fixed random matrices; DFA sends the output error
to each step through ``B_out`` only).

At every step of FA and DFA the angle between their update and backpropagation's gradient on the
same batch is logged (hidden layers of the MLP; ``W_in``, ``W``, ``b`` of the RNN). Writes
``results/feedback_alignment.json`` and ``.png``.

Run: ``python examples/reproductions/feedback_alignment.py`` (a few minutes on one core).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure

from brainlike.models import MLP, RateRNN
from brainlike.tasks import make
from brainlike.training import evaluate, train_feedback_alignment

OUT = Path(__file__).parent / "results"
MODES = ("backprop", "fa", "dfa")
COLORS = {"backprop": "black", "fa": "tab:red", "dfa": "tab:blue"}


def curve(h: dict, key: str) -> tuple[list, list]:
    ok = ~np.isnan(h[key])
    return h["step"][ok].tolist(), h[key][ok].tolist()


def run_mlp(mode: str, seed: int, steps: int) -> dict:
    task = make("digits")
    net = MLP([64, 100, 100, 10], activation="tanh", seed=seed)
    t0 = time.perf_counter()
    r = train_feedback_alignment(net, task, mode=mode, steps=steps, batch_size=64, lr=1e-3,
                                 eval_every=100, seed=seed)
    return {"net": "mlp", "mode": mode, "seed": seed, "seconds": time.perf_counter() - t0,
            "accuracy": r.accuracy, "curve": curve(r.history, "accuracy"),
            "angle": r.history["angle"].tolist()}


def run_rnn(mode: str, seed: int, steps: int) -> dict:
    task = make("perceptual_decision", dt=100.0)
    net = RateRNN(task.n_inputs, 32, task.n_outputs, dt=100.0, tau=100.0, seed=seed)
    t0 = time.perf_counter()
    r = train_feedback_alignment(net, task, mode=mode, steps=steps, batch_size=32,
                                 optimizer="sgd", lr=0.1, eval_every=50, seed=seed)
    final = evaluate(net, task, n_trials=2000, seed=10_000 + seed).accuracy
    return {"net": "rnn", "mode": mode, "seed": seed, "seconds": time.perf_counter() - t0,
            "accuracy": final, "ceiling": task.ceiling, "curve": curve(r.history, "accuracy"),
            "angle": r.history["angle"].tolist()}


def smooth(x: list, k: int) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    return np.convolve(x, np.ones(k) / k, mode="valid")


def figure(runs: list[dict], path: Path) -> None:
    fig = Figure(figsize=(11, 7.5), layout="constrained")
    axes = fig.subplots(2, 2)
    for row, net in enumerate(("mlp", "rnn")):
        for r in (r for r in runs if r["net"] == net):
            c = COLORS[r["mode"]]
            label = r["mode"] if r["seed"] == 0 else None
            axes[row, 0].plot(*r["curve"], color=c, lw=1, alpha=0.8, label=label)
            if r["mode"] != "backprop":
                k = 25
                a = smooth(r["angle"], k)
                axes[row, 1].plot(np.arange(len(a)) + k, a, color=c, lw=1, label=label)
        axes[row, 1].axhline(90, color="gray", ls=":", lw=1)
        axes[row, 0].legend(fontsize=8)
        axes[row, 1].legend(fontsize=8)
    axes[0, 0].set(title="(A) MLP 64-100-100-10 on the digits", xlabel="step",
                   ylabel="held-out accuracy", ylim=(0.5, 1.0))
    axes[0, 1].set(title="angle to backprop's gradient, hidden layers", xlabel="step",
                   ylabel="degrees (running mean of 25)")
    ceiling = next(r["ceiling"] for r in runs if r["net"] == "rnn")
    axes[1, 0].axhline(ceiling, color="gray", ls="--", lw=1)
    axes[1, 0].set(title="(B) RateRNN(32) on perceptual decisions (- - ideal observer)",
                   xlabel="step", ylabel="accuracy (500 trials)")
    axes[1, 1].set(title="angle to BPTT's gradient (W_in, W, b)", xlabel="step",
                   ylabel="degrees (running mean of 25)")
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--mlp-steps", type=int, default=2000)
    parser.add_argument("--rnn-steps", type=int, default=800)
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    runs = []
    for seed in args.seeds:
        for mode in MODES:
            for r in (run_mlp(mode, seed, args.mlp_steps), run_rnn(mode, seed, args.rnn_steps)):
                runs.append(r)
                print(json.dumps({k: r[k] for k in ("net", "mode", "seed", "accuracy", "seconds")}),
                      flush=True)
    summary: dict = {}
    for net in ("mlp", "rnn"):
        for mode in MODES:
            mine = [r for r in runs if r["net"] == net and r["mode"] == mode]
            acc = [r["accuracy"] for r in mine]
            entry = {"accuracy": acc, "accuracy_mean": float(np.mean(acc))}
            if mode != "backprop":
                angles = np.array([r["angle"] for r in mine])
                entry["angle_first_10_steps"] = float(angles[:, :10].mean())
                entry["angle_last_100_steps"] = float(angles[:, -100:].mean())
            summary[f"{net}/{mode}"] = entry
        bp = summary[f"{net}/backprop"]["accuracy_mean"]
        for mode in ("fa", "dfa"):
            summary[f"{net}/{mode}"]["points_below_backprop"] = 100 * (
                bp - summary[f"{net}/{mode}"]["accuracy_mean"])
    report = {"settings": vars(args) | {"out": str(args.out)}, "summary": summary,
              "runs": [{k: v for k, v in r.items() if k != "angle"} for r in runs]}
    (args.out / "feedback_alignment.json").write_text(json.dumps(report, indent=2))
    figure(runs, args.out / "feedback_alignment.png")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()

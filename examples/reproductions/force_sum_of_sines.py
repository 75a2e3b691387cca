"""FORCE learning (Sussillo & Abbott 2009, Fig. 2): a chaotic network learns to generate a sum of
four sines and a triangle wave, then keeps generating them with learning off.

FeedbackRNN(0, 1000, 1): tanh units, tau = 10 ms, dt = 1 ms, J sparse (p = 0.1) with g = 1.5
(chaotic), readout feedback W_fb ~ U(-1, 1), W_out starting at 0 (``readout_scale=0``). FORCE
(``train_force``, RLS on W_out every 2 ms, P(0) = I, alpha = 1) runs on-line through the target in
windows of 100 ms for ``--train-ms`` (default 43.2 s = 4320 tau, three times Sussillo's demo's
1440 tau); then learning stops and the network runs on with its feedback for ``--test-ms``
(default 14.4 s = 1440 tau). Reported per target and seed:

* ``train_mae``: mean absolute error of the output over the last 1.2 s of training;
* ``test_mae_2400``: mean absolute error over the first 2.4 s of the test (two periods of the
  sum of sines), feedback running, learning off -- the issue's target is < 0.01;
* ``test_mae``: over the whole test, and ``test_mae_aligned``: the same after the best shift of
  the target within +-half a period (phase drift alone is then not counted);
* ``dw_ratio``: the mean |dW_out| of the first second of training over that of the last.

The figure (first seed): spontaneous chaotic rates before learning, the target and the output
when learning stops, and |dW_out| (mean norm of the readout's updates per 100 ms window) over
training. Writes ``results/force_sum_of_sines.json`` and ``.png``.

Run: ``python examples/reproductions/force_sum_of_sines.py`` (about 2 minutes per run on one
core; 5 seeds x 2 targets). ``--quick`` trains 4.8 s with 2 seeds (a smoke test, not the result).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure

from brainlike.models import FeedbackRNN
from brainlike.tasks import make
from brainlike.training import train_force

OUT = Path(__file__).parent / "results"
WINDOW = 100.0  # ms
TARGETS = {"sum_of_sines": {}, "triangle_wave": {}}


def aligned_mae(out: np.ndarray, task, start: float, period: float) -> float:
    """Mean absolute error against the target shifted by the best whole number of ms within
    +-period/2 (the waveform's error without its phase drift)."""
    t = start + np.arange(len(out)) * task.dt
    shifts = np.arange(-period / 2, period / 2, task.dt)
    return float(min(np.abs(out - task.signal(t + s)).mean() for s in shifts))


def run(target: str, seed: int, n: int, train_ms: float, test_ms: float) -> dict:
    task = make(target, timing={"generate": WINDOW})
    net = FeedbackRNN(0, n, 1, readout_scale=0.0, seed=seed)
    with torch.no_grad():  # spontaneous activity before learning (chaotic at g = 1.5)
        before = net.traced(torch.zeros(1, 1000, 0)).traces["rate"][0, :, :5].numpy()
    steps = round(train_ms / WINDOW)
    t0 = time.perf_counter()
    result = train_force(net, task, steps=steps, eval_every=steps)
    seconds = time.perf_counter() - t0
    # Learning off, feedback on: the network continues from where training left it (x0).
    n_test = round(test_ms / task.dt)
    with torch.no_grad():
        out = net(torch.zeros(1, n_test, 0)).outputs[0, :, 0].numpy().astype(np.float64)
    start = steps * WINDOW
    f = task.signal(start + np.arange(n_test) * task.dt)
    err = np.abs(out - f)
    period = 1200.0 if target == "sum_of_sines" else task.start_range
    h = result.history
    per_second = int(1000 / WINDOW)
    return {
        "target": target, "seed": seed, "n": n, "train_ms": train_ms, "test_ms": test_ms,
        "train_seconds": seconds,
        "train_mae": float(h["mae"][-int(1200 / WINDOW):].mean()),
        "test_mae_2400": float(err[:int(2400 / task.dt)].mean()),
        "test_mae": float(err.mean()),
        "test_mae_aligned": aligned_mae(out, task, start, period),
        "dw_ratio": float(h["dw"][:per_second].mean() / h["dw"][-per_second:].mean()),
        "_trace": {"before": before, "out": out[:2400], "target": f[:2400], "dw": h["dw"],
                   "start": start},
    }


def figure(runs: list[dict], path: Path) -> None:
    fig = Figure(figsize=(11, 7.5), layout="constrained")
    axes = fig.subplots(3, len(runs), squeeze=False)
    for col, r in enumerate(runs):
        tr = r["_trace"]
        ax = axes[0, col]
        ax.plot(np.arange(len(tr["before"])), tr["before"], lw=0.8)
        ax.set(title=f"{r['target']}: rates of 5 units before learning", xlabel="time (ms)",
               ylabel="r = tanh(x)")
        ax = axes[1, col]
        t = (tr["start"] + np.arange(len(tr["out"]))) / 1000
        ax.plot(t, tr["target"], "k--", lw=1.5, label="target f(t)")
        ax.plot(t, tr["out"], color="tab:red", lw=1, label="output z(t)")
        ax.set(title=f"learning off, feedback on (test MAE {r['test_mae_2400']:.4f} over 2.4 s)",
               xlabel="time (s)", ylabel="z")
        ax.legend(loc="upper right", fontsize=8)
        ax = axes[2, col]
        tw = (np.arange(len(tr["dw"])) + 1) * WINDOW / 1000
        ax.semilogy(tw, tr["dw"], color="tab:blue", lw=1)
        ax.set(title="readout change |dW_out| per update (mean per 100 ms)", xlabel="time (s)",
               ylabel="|dW_out|")
    fig.suptitle("FORCE learning in a chaotic network (Sussillo & Abbott 2009, Fig. 2), N = "
                 f"{runs[0]['n']}, seed {runs[0]['seed']}")
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--train-ms", type=float, default=43200.0)
    parser.add_argument("--test-ms", type=float, default=14400.0)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.train_ms, args.test_ms = args.seeds[:2], 4800.0, 2400.0
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    runs = []
    for target in TARGETS:
        for seed in args.seeds:
            r = run(target, seed, args.n, args.train_ms, args.test_ms)
            runs.append(r)
            print(json.dumps({k: v for k, v in r.items() if k != "_trace"}), flush=True)
    summary = {}
    for target in TARGETS:
        mine = [r for r in runs if r["target"] == target]
        summary[target] = {
            key: [round(r[key], 6) for r in mine]
            for key in ("train_mae", "test_mae_2400", "test_mae", "test_mae_aligned", "dw_ratio",
                        "train_seconds")
        }
        summary[target]["seeds_below_0.01_over_2400ms"] = sum(
            r["test_mae_2400"] < 0.01 for r in mine)
        summary[target]["seeds_below_0.01_over_test"] = sum(r["test_mae"] < 0.01 for r in mine)
    report = {
        "settings": {"n": args.n, "g": 1.5, "p_connect": 0.1, "tau_ms": 10.0, "dt_ms": 1.0,
                     "alpha": 1.0, "learn_every": 2, "window_ms": WINDOW,
                     "train_ms": args.train_ms, "test_ms": args.test_ms, "seeds": args.seeds,
                     "threads": 1},
        "summary": summary,
        "runs": [{k: v for k, v in r.items() if k != "_trace"} for r in runs],
    }
    (args.out / "force_sum_of_sines.json").write_text(json.dumps(report, indent=2))
    first = [next(r for r in runs if r["target"] == t) for t in TARGETS]
    figure(first, args.out / "force_sum_of_sines.png")
    print(f"wrote {args.out / 'force_sum_of_sines.json'} and .png")


if __name__ == "__main__":
    main()

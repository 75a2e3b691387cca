"""FORCE learning: brainlike ``train_force`` vs a straightforward NumPy implementation of Sussillo &
Abbott's (2009) algorithm, on the same run.

The run: FeedbackRNN(0, 1000, 1) (tanh, tau = 10 ms, dt = 1 ms, J sparse p = 0.1 with g = 1.5,
feedback W_fb ~ U(-1, 1), W_out = 0 at the start) learns the sum of four sines on-line for 1440
tau (14 400 steps; Sussillo's demo), an RLS update every 2 steps (7 200 updates), P(0) = I.
The NumPy reference is written here from the paper's equations, in float64, as one would write
it: per step ``x = (1 - a) x + a (J r + w_fb z)``, ``r = tanh(x)``, ``z = w r``; per update
``k = P r``, ``c = 1 / (1 + r k)``, ``P -= c outer(k, k)``, ``w -= c e k``. It gets exactly the
network, the initial state and the target that brainlike uses (taken from the FeedbackRNN).

Variants, timed round-robin in one process, each the whole training of 1440 tau:

* ``numpy``: the reference (float64);
* ``brainlike``: ``train_force`` on the float32 model (the default; lazy P, [J; P] r in one
  product, float32);
* ``brainlike_f64``: ``train_force`` on ``model.double()`` (the same algorithm in float64: the
  ratio that the dtype does not explain).

Both are then checked for the same result: the readout after training (float64 brainlike vs
NumPy, max |difference|), and each one's mean absolute error over the last 1.2 s of training and
over 2.4 s of test with learning off.

Reported: the median over rounds of each variant's time and of ``numpy / variant`` within a
round (target: brainlike >= 3x faster). Threads: 1 for torch and for NumPy's BLAS (set before
NumPy is imported).

Run: ``python bench/bench_force.py`` (3 rounds: 5-20 minutes, depending on the load);
``--rounds 1 --train-ms 2000`` for a quick look. Writes ``results/force.json``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from _common import loadavg, print_table, set_threads, write_results  # noqa: E402

from brainlike.models import FeedbackRNN  # noqa: E402
from brainlike.tasks import make  # noqa: E402
from brainlike.training import train_force  # noqa: E402

N, SEED, WINDOW, LEARN_EVERY, ALPHA = 1000, 0, 100.0, 2, 1.0
TARGET_RATIO = 3.0


def numpy_force(J, w_fb, x0, target, alpha=ALPHA, learn_every=LEARN_EVERY, a=0.1):
    """Sussillo & Abbott's FORCE, float64 NumPy, one time step after another."""
    n = J.shape[0]
    P = np.eye(n) / alpha
    w = np.zeros(n)
    x = x0.copy()
    r = np.tanh(x)
    out = np.empty(len(target))
    for t, f in enumerate(target):
        z = w @ r
        x = (1.0 - a) * x + a * (J @ r + w_fb * z)
        r = np.tanh(x)
        z = w @ r
        out[t] = z
        if (t + 1) % learn_every == 0:
            k = P @ r
            c = 1.0 / (1.0 + r @ k)
            P -= c * np.outer(k, k)
            w -= (c * (z - f)) * k
    return w, x, out


def numpy_test(J, w_fb, w, x, steps, a=0.1):
    r = np.tanh(x)
    out = np.empty(steps)
    for t in range(steps):
        x = (1.0 - a) * x + a * (J @ r + w_fb * (w @ r))
        r = np.tanh(x)
        out[t] = w @ r
    return out


def network(dtype):
    net = FeedbackRNN(0, N, 1, readout_scale=0.0, seed=SEED)
    return net.double() if dtype == torch.float64 else net


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--train-ms", type=float, default=14400.0)
    p.add_argument("--test-ms", type=float, default=2400.0)
    args = p.parse_args()
    set_threads(1)
    task = make("sum_of_sines", timing={"generate": WINDOW})
    steps = round(args.train_ms / WINDOW)
    n_train, n_test = round(args.train_ms), round(args.test_ms)
    ref_net = network(torch.float64)
    J = ref_net.w_rec.detach().numpy().copy()
    w_fb = ref_net.w_fb[:, 0].numpy().copy()
    x0 = ref_net.x0.numpy().copy()
    # The targets reach train_force as float32 (TrialBatch): give NumPy the same numbers.
    f_train = task.signal(np.arange(n_train) * task.dt).astype(np.float32).astype(np.float64)
    f_test = task.signal(np.arange(n_train, n_train + n_test) * task.dt)
    load_start = loadavg()

    results: dict[str, dict] = {}

    def run_numpy():
        w, x, out = numpy_force(J, w_fb, x0, f_train)
        test = numpy_test(J, w_fb, w, x, n_test)
        results["numpy"] = {"w": w, "train": out, "test": test}

    def run_brainlike(dtype, name):
        def go():
            net = network(dtype)
            res = train_force(net, task, steps=steps, eval_every=steps, alpha=ALPHA,
                              learn_every=LEARN_EVERY)
            with torch.no_grad():
                test = net(torch.zeros(1, n_test, 0, dtype=dtype)).outputs[0, :, 0]
            results[name] = {"w": net.w_out.detach()[0].double().numpy(),
                             "train_mae": res.history["mae"], "test": test.double().numpy()}
        return go

    variants = {"numpy": run_numpy, "brainlike": run_brainlike(torch.float32, "brainlike"),
                "brainlike_f64": run_brainlike(torch.float64, "brainlike_f64")}
    times: dict[str, list[float]] = {k: [] for k in variants}
    for rnd in range(args.rounds):
        for name, fn in variants.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
            print(f"round {rnd + 1}: {name} {times[name][-1]:.1f} s (load {loadavg()})",
                  flush=True)
    ratios = {k: statistics.median(times["numpy"][i] / times[k][i] for i in range(args.rounds))
              for k in ("brainlike", "brainlike_f64")}
    last = int(1200 / task.dt)
    accuracy = {
        "numpy": {"train_mae_last_1200ms": float(np.abs(results["numpy"]["train"][-last:]
                                                        - f_train[-last:]).mean()),
                  "test_mae": float(np.abs(results["numpy"]["test"] - f_test).mean())},
    }
    for k in ("brainlike", "brainlike_f64"):
        windows = int(1200 / WINDOW)
        accuracy[k] = {"train_mae_last_1200ms": float(results[k]["train_mae"][-windows:].mean()),
                       "test_mae": float(np.abs(results[k]["test"] - f_test).mean()),
                       "max_abs_w_difference_to_numpy": float(
                           np.abs(results[k]["w"] - results["numpy"]["w"]).max())}
    rows = [[k, statistics.median(v), min(v), ratios.get(k, 1.0)] for k, v in times.items()]
    print_table(["variant", "median s", "min s", "numpy / variant (median of rounds)"], rows)
    print(accuracy)
    write_results("force", {
        "benchmark": "FORCE, N = 1000, sum of sines, train 1440 tau (14 400 steps, 7 200 RLS "
                     "updates); brainlike train_force vs a NumPy float64 reference",
        "settings": {"n": N, "seed": SEED, "train_ms": args.train_ms, "test_ms": args.test_ms,
                     "learn_every": LEARN_EVERY, "alpha": ALPHA, "window_ms": WINDOW,
                     "rounds": args.rounds, "threads": 1},
        "seconds": times,
        "median_seconds": {k: statistics.median(v) for k, v in times.items()},
        "speedup_vs_numpy": ratios,
        "target_speedup": TARGET_RATIO,
        "met": ratios["brainlike"] >= TARGET_RATIO,
        "accuracy": accuracy,
        "loadavg": {"start": load_start, "end": loadavg()},
    })


if __name__ == "__main__":
    main()

"""DSA: brainlike.analysis.dsa vs the ``dsa-metric`` package (Ostrow et al. 2023), same data, same run.

Pairs of systems -- ring attractor, limit cycle and line attractor seen through random 2 -> 6 maps
(the test suite's systems), noisy stable linear systems in 10-D, and one system against an
invertible linear map of itself -- are compared by both implementations with the same DMD
settings (delays, rank, no ridge) and two scores: ``angular`` (Procrustes over vector fields;
dsa-metric's ``DSA(..., score_method="angular", iters=1500, lr=5e-3)``, Adam from two starts)
and ``wasserstein`` (dsa-metric's default: eigenvalue matching). Reported per pair: both
distances, their difference, and the wall time of each (the two alternate; the median of
``--repeats`` runs for wasserstein, one run for angular, where dsa-metric takes ~10-25 s per pair);
overall the median speed ratio per score (wall time, and CPU time of the process, which a busy
machine inflates less) and the agreement:

* wasserstein: |ours - theirs| <= 1e-4 * max(1, theirs) (theirs runs in float32);
* angular: ours <= theirs + 1e-3 (a non-convex problem: ours, from more starts, may find a
  better optimum; never a worse one by more than the tolerance).

Usage: OMP_NUM_THREADS=1 python bench/bench_dsa.py [--repeats 15]
Writes bench/results/dsa.json (+ .log from the shell). Needs the ``dsa-bench`` extra.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from brainlike.analysis import dsa

RESULTS = Path(__file__).parent / "results" / "dsa.json"


def attractor(kind: str, seed: int, n_trials=30, n_time=40, dt=0.3, tau=1.0, omega=2.0, noise=0.005):
    """Ring attractor, limit cycle or line attractor in 2-D, seen through a random 2 -> 6 map."""
    rng = np.random.default_rng(seed)
    if kind == "line":
        z = np.stack([rng.uniform(-1, 1, n_trials), rng.uniform(-0.5, 0.5, n_trials)], axis=1)
    else:
        z = np.stack([rng.uniform(0.5, 1.5, n_trials), rng.uniform(0, 2 * np.pi, n_trials)], axis=1)
    out = np.zeros((n_trials, n_time, 2))
    for t in range(n_time):
        if kind == "line":
            out[:, t] = z
            z = z * np.array([1.0, 1 - dt / tau])
        else:
            out[:, t] = np.stack([z[:, 0] * np.cos(z[:, 1]), z[:, 0] * np.sin(z[:, 1])], axis=1)
            turn = np.full(n_trials, omega * (kind == "cycle"))
            z = z + dt * np.stack([-(z[:, 0] - 1) / tau, turn], axis=1)
        z = z + noise * rng.normal(size=z.shape)
    return out @ rng.normal(size=(2, 6))


def linear(seed: int, n=10, n_trials=20, n_time=60, noise=0.05):
    """A noisy stable linear system x(t+1) = A x(t) + noise with a random spectrum."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    a = q @ np.diag(rng.uniform(0.5, 0.98, n)) @ q.T + 0.1 * rng.normal(size=(n, n)) / np.sqrt(n)
    x = np.zeros((n_trials, n_time, n))
    x[:, 0] = rng.normal(size=(n_trials, n))
    for t in range(n_time - 1):
        x[:, t + 1] = x[:, t] @ a.T + noise * rng.normal(size=(n_trials, n))
    return x


def pairs():
    lin = linear(3)
    m = np.random.default_rng(9).normal(size=(10, 10)) + 3 * np.eye(10)
    return [
        ("ring vs limit cycle", attractor("ring", 0), attractor("cycle", 1), 2, 4),
        ("ring vs ring (other trials, map)", attractor("ring", 0), attractor("ring", 2), 2, 4),
        ("limit cycle vs line attractor", attractor("cycle", 1), attractor("line", 4), 2, 4),
        ("linear 10-D vs linear 10-D", linear(1), linear(2), 1, 10),
        ("linear 10-D vs its invertible map", lin, lin @ m, 1, 10),
        ("linear 10-D vs linear 10-D, 2 delays, rank 20", linear(5), linear(6), 2, 20),
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args()
    torch.set_num_threads(1)
    from DSA import DSA  # the dsa-metric package

    rows = []
    load0 = os.getloadavg()
    for name, x, y, n_delays, rank in pairs():
        row = {"pair": name, "n_delays": n_delays, "rank": rank}
        for score in ("wasserstein", "angular"):
            t_ours, t_theirs, c_ours, c_theirs = [], [], [], []
            reps = args.repeats if score == "wasserstein" else 1
            for r in range(reps):
                order = ("ours", "theirs") if r % 2 == 0 else ("theirs", "ours")
                for who in order:
                    t0, c0 = time.perf_counter(), time.process_time()
                    if who == "ours":
                        d_ours = dsa(x, y, n_delays=n_delays, rank=rank, score=score).distance
                        t_ours.append(time.perf_counter() - t0)
                        c_ours.append(time.process_time() - c0)
                    else:
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            d_theirs = float(DSA(x, y, n_delays=n_delays, rank=rank, lamb=0.0,
                                                 score_method=score, iters=1500, lr=5e-3).fit_score())
                        t_theirs.append(time.perf_counter() - t0)
                        c_theirs.append(time.process_time() - c0)
            row[score] = {"ours": d_ours, "theirs": d_theirs, "difference": d_ours - d_theirs,
                          "seconds_ours": float(np.median(t_ours)),
                          "seconds_theirs": float(np.median(t_theirs)),
                          "speedup": float(np.median(t_theirs) / np.median(t_ours)),
                          "cpu_seconds_ours": float(np.median(c_ours)),
                          "cpu_seconds_theirs": float(np.median(c_theirs)),
                          "cpu_speedup": float(np.median(c_theirs) / max(np.median(c_ours), 1e-9))}
            print(f"{name:48s} {score:11s} ours {d_ours:.6f} theirs {d_theirs:.6f} "
                  f"speedup {row[score]['speedup']:.1f}x (CPU time {row[score]['cpu_speedup']:.1f}x)",
                  flush=True)
        rows.append(row)
    summary = {}
    for score in ("wasserstein", "angular"):
        diffs = np.array([r[score]["difference"] for r in rows])
        theirs = np.array([r[score]["theirs"] for r in rows])
        ok = (np.abs(diffs) <= 1e-4 * np.maximum(1.0, theirs)) if score == "wasserstein" \
            else (diffs <= 1e-3)
        summary[score] = {
            "median_speedup": float(np.median([r[score]["speedup"] for r in rows])),
            "min_speedup": float(np.min([r[score]["speedup"] for r in rows])),
            "median_cpu_speedup": float(np.median([r[score]["cpu_speedup"] for r in rows])),
            "min_cpu_speedup": float(np.min([r[score]["cpu_speedup"] for r in rows])),
            "max_abs_difference": float(np.abs(diffs).max()),
            "agree": bool(ok.all()),
            "tolerance": "|diff| <= 1e-4 max(1, theirs)" if score == "wasserstein"
            else "ours <= theirs + 1e-3",
        }
    from importlib.metadata import version

    import DSA as dsa_pkg

    out = {"pairs": rows, "summary": summary, "threads": torch.get_num_threads(),
           "omp_num_threads": os.environ.get("OMP_NUM_THREADS"), "loadavg_start": list(load0),
           "loadavg_end": list(os.getloadavg()), "dsa_metric_version": version("dsa-metric"),
           "dsa_module": dsa_pkg.__name__, "repeats": args.repeats}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=1))
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()

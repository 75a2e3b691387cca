"""Fixed points: brainlike's batched Newton finder against our re-implementation of
fixed-point-finder's algorithm (not fixed-point-finder itself, which is not on PyPI).

Reference: our re-implementation of fixed-point-finder's published torch algorithm
(Golub & Sussillo 2018; mattgolub/fixed-point-finder@1a30417, see
shared/reference/analysis-methods.md): all starting states optimized jointly by one Adam
(lr 1.0, ``ReduceLROnPlateau(factor=0.95, patience=2)`` on the mean q), float32, stop when every
point has ``q < tol_q = 1e-12`` or ``|dq| < 1e-20 lr``, or at 5000 iterations; then distance
outliers (>= 10 mean start distances from the start centroid) are dropped and points closer than
``tol_unique = 1e-3`` are merged greedily (lowest q kept). It has no q filter: everything it
returns is called a fixed point, so we count how many of its points actually have q below the
tolerance 1e-12 (its own float32 q, and q recomputed in float64).

Networks: RateRNNs (64 and 256 ReLU units, tau 100 ms, dt 20 ms, sigma_rec 0.05) trained on
``perceptual_decision`` to 97 % of the ideal observer (seeded). Starts: the same 1024 states for
both methods, sampled from 200 noisy trials with noise 0.01; input held at the 0-coherence
stimulus ``[1, 0.5, 0.5]`` (the primer notebook's analysis).

Comparison: wall and CPU seconds (both timed in this process, alternating; on a shared
machine the CPU seconds of a one-thread process are the steadier measure), and the sets of
points; brainlike is also run once with ``tol_merge=None`` (no merging of coinciding starts) to
check that merging changes no point. For each
method we list the points with q < 1e-12 (fixed points); since the float32 reference rarely
reaches 1e-12, we also match each brainlike fixed point to the nearest reference point and report
that point's q (recomputed in float64), and count the reference points with q < 1e-8 that lie
within 1e-3 of a brainlike fixed point. brainlike's slow points are split into local minima of q
and stalled starts (``slow_is_minimum``).

Run: ``OMP_NUM_THREADS=1 python bench/bench_fixed_points.py`` (about 8 minutes; trains both
networks first). Writes ``bench/results/fixed_points.json``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, print_table, set_threads, write_results

from brainlike.analysis import find_fixed_points, model_step_fn, sample_states
from brainlike.models import RateRNN
from brainlike.tasks import make
from brainlike.training import evaluate, train

SIZES = (64, 256)
N_STARTS = 1024
INPUT = (1.0, 0.5, 0.5)
MATCH_TOL = 1e-3


def fpf_reference(fn, x0: torch.Tensor, *, lr_init: float = 1.0, max_iters: int = 5000,
                  tol_q: float = 1e-12, tol_dq: float = 1e-20, tol_unique: float = 1e-3,
                  outlier_distance_scale: float = 10.0) -> dict:
    """fixed-point-finder's joint optimization, unique and outlier filters (float32)."""
    t0, c0 = time.perf_counter(), time.process_time()
    x = x0.detach().to(torch.float32).clone().requires_grad_(True)
    opt = torch.optim.Adam([x], lr=lr_init)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.95, patience=2)
    q_prev = None
    it = 0
    while it < max_iters:
        opt.zero_grad()
        q = 0.5 * ((fn(x) - x) ** 2).sum(1)
        q_scalar = q.mean()
        q_scalar.backward()
        opt.step()
        sched.step(q_scalar.item())
        qd = q.detach()
        it += 1
        if q_prev is not None:
            dq = (qd - q_prev).abs()
            if bool(((qd < tol_q) | (dq < tol_dq * opt.param_groups[0]["lr"])).all()):
                break
        q_prev = qd
    with torch.no_grad():
        xs = x.detach()
        q = (0.5 * ((fn(xs) - xs) ** 2).sum(1)).numpy().astype(np.float64)
    xs = xs.numpy().astype(np.float64)
    x0n = x0.detach().numpy().astype(np.float64)
    centroid = x0n.mean(0)
    scale = np.linalg.norm(x0n - centroid, axis=1).mean()
    ok = np.linalg.norm(xs - centroid, axis=1) / scale < outlier_distance_scale
    xs, q = xs[ok], q[ok]
    keep: list[int] = []
    for i in np.argsort(q):  # greedy O(n^2), as in FixedPoints.get_unique
        if all(np.linalg.norm(xs[i] - xs[j]) > tol_unique for j in keep):
            keep.append(int(i))
    return {"points": xs[keep], "q": q[keep], "iterations": it,
            "seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0}


def trained_network(n: int):
    task = make("perceptual_decision", dt=20.0)
    model = RateRNN(task.n_inputs, n, task.n_outputs, tau=100.0, dt=20.0, sigma_rec=0.05,
                    seed=0)
    result = train(model, task, steps=2000, batch_size=64, lr=5e-3, eval_every=100,
                   criterion=0.97 * task.ceiling, seed=0)
    acc = evaluate(model, task, n_trials=1000, seed=1).accuracy
    return task, model, {"train_steps": result.steps, "status": result.status, "accuracy": acc}


def compare(n: int) -> dict:
    task, model, info = trained_network(n)
    batch = task.generate(200, seed=1)
    with torch.no_grad():
        _, act, _ = model(torch.tensor(batch.inputs, dtype=torch.float32),
                          generator=torch.Generator().manual_seed(1))
    x0 = sample_states(act, N_STARTS, noise=0.01, lengths=batch.lengths, seed=0)
    u = torch.tensor(INPUT)
    fn32 = model_step_fn(model, u, dtype=torch.float32)
    fn64 = model_step_fn(model, u)
    # Alternate: brainlike, reference, brainlike x2 (medians of the three brainlike runs).
    ours_s, ours_cpu = [], []

    def run_ours():
        t, c = time.perf_counter(), time.process_time()
        res = find_fixed_points(fn64, x0)
        ours_s.append(time.perf_counter() - t)
        ours_cpu.append(time.process_time() - c)
        return res

    ours = run_ours()
    ref = fpf_reference(fn32, x0)
    ours = run_ours()
    ours = run_ours()
    t, c = time.perf_counter(), time.process_time()
    unmerged = find_fixed_points(fn64, x0, tol_merge=None)
    unmerged_s, unmerged_cpu = time.perf_counter() - t, time.process_time() - c
    same_as_unmerged = (
        len(unmerged.points) == len(ours.points)
        and len(unmerged.slow_points) == len(ours.slow_points)
        and all(float(np.linalg.norm(unmerged.points - p, axis=1).min()) < 1e-8
                for p in ours.points)
    )
    with torch.no_grad():  # reference points' q in float64
        rp = torch.as_tensor(ref["points"])
        ref_q64 = (0.5 * ((fn64(rp) - rp) ** 2).sum(1)).numpy()
    nearest = []
    for p in ours.points:
        d = np.linalg.norm(ref["points"] - p, axis=1)
        j = int(d.argmin())
        nearest.append({"distance": float(d[j]), "reference_q_float64": float(ref_q64[j])})
    good_ref = ref["points"][ref_q64 < 1e-8]
    covered = sum(
        bool(len(ours.points)) and float(np.linalg.norm(ours.points - r, axis=1).min()) <= MATCH_TOL
        for r in good_ref
    )
    seconds = float(np.median(ours_s))
    cpu_seconds = float(np.median(ours_cpu))
    return {
        "n_units": n, "network": info, "n_starts": N_STARTS,
        "reference": {
            "seconds": ref["seconds"], "cpu_seconds": ref["cpu_seconds"],
            "iterations": ref["iterations"],
            "unique_points": len(ref["points"]),
            "points_q_below_1e-12": int((ref["q"] < 1e-12).sum()),
            "points_q_float64_below_1e-12": int((ref_q64 < 1e-12).sum()),
            "points_q_float64_below_1e-8": len(good_ref),
            "min_q_float64": float(ref_q64.min()) if len(ref_q64) else None,
            "median_q_float64": float(np.median(ref_q64)) if len(ref_q64) else None,
        },
        "brainlike": {
            "seconds": seconds, "seconds_runs": ours_s,
            "cpu_seconds": cpu_seconds, "cpu_seconds_runs": ours_cpu,
            "fixed_points": len(ours.points), "stable": int(ours.is_stable.sum()),
            "slow_points": len(ours.slow_points),
            "slow_points_minima": int(ours.slow_is_minimum.sum()),
            "slow_points_stalled": int((~ours.slow_is_minimum).sum()),
            "max_q_fixed": float(ours.q.max()) if len(ours.q) else None,
            "median_iterations": float(np.median(ours.n_iter)),
            "max_iterations": int(ours.n_iter.max()),
            "max_abs_eigenvalue": np.abs(ours.eigenvalues[:, 0]).tolist(),
        },
        "brainlike_fixed_point_to_nearest_reference_point": nearest,
        "reference_points_q_below_1e-8_within_1e-3_of_a_brainlike_fixed_point": int(covered),
        "brainlike_without_merging": {
            "seconds": unmerged_s, "cpu_seconds": unmerged_cpu,
            "fixed_points": len(unmerged.points), "slow_points": len(unmerged.slow_points),
            "same_points_as_merged": bool(same_as_unmerged),
        },
        "speedup": ref["seconds"] / seconds,
        "speedup_cpu": ref["cpu_seconds"] / cpu_seconds,
    }


def main() -> None:
    set_threads(1)
    machine = machine_info()
    results = [compare(n) for n in SIZES]
    rows = []
    for r in results:
        ref, ours = r["reference"], r["brainlike"]
        rows.append([
            r["n_units"], f"{ref['seconds']:.1f}", ref["iterations"], ref["unique_points"],
            ref["points_q_below_1e-12"], ref["points_q_float64_below_1e-12"],
            ref["points_q_float64_below_1e-8"],
            f"{ours['seconds']:.2f}", ours["fixed_points"],
            f"{ours['slow_points']} ({ours['slow_points_minima']} minima)",
            f"{ours['max_q_fixed']:.1e}" if ours["max_q_fixed"] is not None else "-",
            f"{r['speedup']:.1f}x", f"{r['speedup_cpu']:.1f}x",
        ])
    print_table(["N", "ref s", "ref iters", "ref unique", "ref q<1e-12", "ref q64<1e-12",
                 "ref q64<1e-8",
                 "ours s", "ours fixed", "ours slow", "ours max q", "speedup",
                 "speedup (CPU s)"], rows)
    write_results("fixed_points", {"benchmark": "fixed_points", "machine": machine,
                                   "threads": torch.get_num_threads(), "results": results})


if __name__ == "__main__":
    main()

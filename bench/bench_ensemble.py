"""Vectorized ensembles and sweep engines: 32 networks x 64 units on perceptual decision making.

Workload: ``perceptual_decision`` at its default dt (100 ms, 22 steps a trial), RateRNN with 64
units, tau 100 ms, Adam lr 1e-3, batch 64, ``--steps`` training steps per network and one
evaluation (64 trials) at the end, 32 networks (seeds 0..31, each its own initialization and its
own trial/noise streams). Every variant trains exactly these 32 networks.

Variants (one process each unless said; ``torch.set_num_threads(1)`` everywhere):

* ``sequential``: ``brainlike.training.train`` on the 32 networks one after another, in this
  process (the baseline);
* ``ensemble``: ``brainlike.training.train_ensemble`` on all 32 at once, in this process;
* ``pool2``: a sweep of the 32 runs with ``ensemble: false`` on the local process pool with 2
  worker processes (wall time including spawning the workers and writing run directories);
* ``sweep_ensemble``: the same sweep with ``ensemble: true`` (the default) on the pool: the 32
  runs differ only in seed, so they become one ensemble job;
* ``pool2_warm``: the ``pool2`` sweep on one pool of 2 workers kept alive across rounds (after
  the first round its workers have torch imported), so that it compares with
* ``ray2_warm``: the ``pool2`` sweep on the Ray engine (a local Ray with 2 CPUs started once and
  kept across rounds; ``ray_init_s`` is that start-up alone), for the overhead of Ray vs the
  local pool. ``pool2`` - ``pool2_warm`` is the cost of spawning the pool's workers.

Variants are timed round-robin (sequential, ensemble, pool2, ...) for ``--repeats`` rounds, and
the medians reported. Throughput = network-steps per second (32 x steps / wall seconds).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from _common import loadavg, machine_info, print_table, set_threads, write_results

N_NETS, N_HIDDEN, BATCH = 32, 64, 64


def _models(task, seeds):
    from brainlike.models import RateRNN

    return [RateRNN(task.n_inputs, N_HIDDEN, task.n_outputs, tau=100.0, dt=task.dt, seed=s)
            for s in seeds]


def _kw(steps):
    return dict(steps=steps, batch_size=BATCH, lr=1e-3, eval_every=steps, eval_trials=64)


def sequential(task, steps):
    from brainlike.training import train

    for s, m in zip(range(N_NETS), _models(task, range(N_NETS))):
        train(m, task, seed=s, **_kw(steps))


def ensemble(task, steps):
    from brainlike.training import train_ensemble

    train_ensemble(_models(task, range(N_NETS)), task, seeds=range(N_NETS), **_kw(steps))


def _sweep(steps, ensemble_on):
    from brainlike.experiments.sweeps import parse_sweep

    return parse_sweep({
        "base": {"task": {"name": "perceptual_decision"},
                 "model": {"n_hidden": N_HIDDEN, "tau": 100.0},
                 "training": {**_kw(steps)}},
        "seeds": list(range(N_NETS)),
        "ensemble": ensemble_on,
        "max_ensemble": N_NETS,
    })


def sweep_run(steps, engine, ensemble_on):
    from brainlike.experiments.sweeps import run_sweep

    out = Path(tempfile.mkdtemp(prefix="bench_sweep_"))
    try:
        result = run_sweep(_sweep(steps, ensemble_on), out / "s", engine=engine, workers=2)
        assert len(result.done) == N_NETS and not result.failed, result.failed
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-ray", action="store_true")
    args = ap.parse_args()
    set_threads(1)
    from brainlike.tasks import make

    task = make("perceptual_decision")
    variants = {
        "sequential": lambda: sequential(task, args.steps),
        "ensemble": lambda: ensemble(task, args.steps),
        "pool2": lambda: sweep_run(args.steps, "local", False),
        "sweep_ensemble": lambda: sweep_run(args.steps, "local", True),
    }
    from brainlike.experiments.sweeps import LocalEngine

    class _Kept:
        """An engine kept warm across rounds: run_sweep's close() does not stop it."""

        def __init__(self, engine):
            self.engine, self.name = engine, engine.name

        def submit(self, *a, **k):
            self.engine.submit(*a, **k)

        def outcomes(self):
            return self.engine.outcomes()

        def close(self):
            pass

    warm_pool = LocalEngine(2)
    variants["pool2_warm"] = lambda: sweep_run(args.steps, _Kept(warm_pool), False)
    ray_engine = None
    ray_init_s = None
    if not args.no_ray:
        from brainlike.experiments.sweeps import RayEngine

        t0 = time.perf_counter()
        ray_engine = RayEngine()  # a local Ray (2 CPUs on this machine), kept across rounds
        ray_init_s = time.perf_counter() - t0
        variants["ray2_warm"] = lambda: sweep_run(args.steps, _Kept(ray_engine), False)

    load_before = loadavg()
    times: dict[str, list[float]] = {k: [] for k in variants}
    variants["ensemble"]()  # warm-up (allocator, lazy imports)
    for r in range(args.repeats):
        for name, fn in variants.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
            print(f"round {r + 1} {name}: {times[name][-1]:.2f} s", flush=True)
    warm_pool.close()
    if ray_engine is not None:
        ray_engine.close()

    med = {k: statistics.median(v) for k, v in times.items()}
    net_steps = N_NETS * args.steps
    rows = []
    for k, v in med.items():
        rows.append([k, f"{v:.2f}", f"{net_steps / v:.0f}", f"{med['sequential'] / v:.2f}x"])
    print_table(["variant", "median wall s", "network-steps/s", "speed-up vs sequential"], rows)
    ratios = {
        "ensemble_vs_sequential": med["sequential"] / med["ensemble"],
        "ensemble_vs_pool2": med["pool2"] / med["ensemble"],
        "sweep_ensemble_vs_pool2": med["pool2"] / med["sweep_ensemble"],
    }
    ratios["pool2_warm_vs_pool2_s"] = med["pool2"] - med["pool2_warm"]
    if "ray2_warm" in med:
        ratios["ray2_warm_overhead_vs_pool2_warm_s"] = med["ray2_warm"] - med["pool2_warm"]
        ratios["ray2_warm_over_pool2_warm"] = med["ray2_warm"] / med["pool2_warm"]
    for k, v in ratios.items():
        print(f"{k}: {v:.2f}")
    write_results("ensemble", {
        "benchmark": "bench_ensemble.py",
        "args": vars(args),
        "workload": {"task": "perceptual_decision", "dt_ms": task.dt, "n_networks": N_NETS,
                     "n_hidden": N_HIDDEN, "batch": BATCH, "optimizer": "adam",
                     "steps_per_network": args.steps, "threads_per_process": 1},
        "seconds": times,
        "median_seconds": med,
        "network_steps_per_s": {k: net_steps / v for k, v in med.items()},
        "ratios": ratios,
        "ray_init_s": ray_init_s,
        "load_before": load_before,
        "load_after": loadavg(),
        "machine": machine_info(),
    })


if __name__ == "__main__":
    main()

"""Vectorized ensembles and sweep engines: 32 networks x 64 units on perceptual decision making.

Workload: ``perceptual_decision`` at its default dt (100 ms, 22 steps a trial), RateRNN with 64
units, tau 100 ms, Adam lr 1e-3, batch 64, ``--steps`` training steps per network and one
evaluation (64 trials) at the end, 32 networks (seeds 0..31, each its own initialization and its
own trial/noise streams). Every variant trains exactly these 32 networks.

Variants (one process each unless said; ``torch.set_num_threads(1)`` everywhere):

* ``sequential``: ``brainlike.training.train`` on the 32 networks one after another, in this
  process (the baseline);
* ``ensemble``: ``brainlike.training.train_ensemble`` on all 32 at once, in this process;
* ``sweep_serial``: the sweep of the 32 runs with ``ensemble: false`` on the default local engine
  with ``workers=1``: every run in this process, one after another, each with its run directory
  (the "one process" a sweep must never be slower than);
* ``pool2``: the same sweep on the default engine (``--workers N``: with N processes) on a cold
  start (the workers kept warm by earlier sweeps are ended first): this process runs jobs while
  its worker process starts and imports torch, then both take jobs from one queue; without
  ``--workers``, a worker is started only while a core is idle;
* ``pool2_warm``: the same, right after ``pool2``, so that its worker is taken warm (the second
  sweep of a session);
* ``sweep_ensemble``: the sweep with ``ensemble: true`` (the default) on the default engine: the
  32 runs differ only in seed, so they become one ensemble job, run in this process;
* ``ensemble_dirs``: ``train_ensemble`` writing the 32 run directories (checkpoints and metrics
  logs, ``outs=``): what ``sweep_ensemble`` costs without the sweep machinery;
* ``ray2_warm`` (without ``--no-ray``): the ``pool2`` sweep on the Ray engine (a local Ray with
  2 CPUs started once and kept across rounds; ``ray_init_s`` is that start-up alone).

The clock of a variant stops when its training (or sweep) returns: deleting its temporary run
directories afterwards, and reading the sweep's events to count the processes, are timed apart
(``cleanup_seconds``; before issue 19f's run they were inside the sweep variants' and
``ensemble_dirs``' times, ~0.5-0.7 s for 32 run directories at load ~7).

Variants are timed round-robin (sequential, ensemble, sweep_serial, ...) for ``--repeats`` rounds;
the medians are reported, and the ratios both as ratios of medians and as medians of the ratios
within a round (less sensitive to load that changes between rounds). Throughput = network-steps
per second (32 x steps / wall seconds).
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


def _untimed(out, count=None):
    """What a variant leaves to do after its clock stops: count the processes, delete ``out``."""

    def finish():
        try:
            return count() if count is not None else None
        finally:
            shutil.rmtree(out, ignore_errors=True)

    return finish


def sweep_run(steps, engine, ensemble_on, workers=None):
    """Run the sweep; return a call (untimed) giving how many processes trained its runs."""
    from brainlike.experiments.sweeps import read_events, run_sweep

    out = Path(tempfile.mkdtemp(prefix="bench_sweep_"))
    sweep = _sweep(steps, ensemble_on)
    try:
        result = run_sweep(sweep, out / "s", engine=engine, workers=workers)
        assert len(result.done) == N_NETS and not result.failed, result.failed
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    return _untimed(out, lambda: len({e["pid"] for r in sweep.runs
                                      for e in read_events(out / "s", r.name)}))


def ensemble_dirs(task, steps):
    from brainlike.training import train_ensemble

    out = Path(tempfile.mkdtemp(prefix="bench_ens_"))
    try:
        train_ensemble(_models(task, range(N_NETS)), task, seeds=range(N_NETS),
                       outs=[out / str(s) for s in range(N_NETS)], progress=False, **_kw(steps))
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    return _untimed(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-ray", action="store_true")
    ap.add_argument("--name", default="ensemble", help="results file: bench/results/NAME.json")
    ap.add_argument("--workers", type=int, default=None,
                    help="workers of the pool2 variants (default: the engine's default)")
    args = ap.parse_args()
    set_threads(1)
    from brainlike.tasks import make

    task = make("perceptual_decision")
    variants = {
        "sequential": lambda: sequential(task, args.steps),
        "ensemble": lambda: ensemble(task, args.steps),
        "sweep_serial": lambda: sweep_run(args.steps, "local", False, workers=1),
        "pool2": lambda: sweep_run(args.steps, "local", False, args.workers),  # cold: see below
        "pool2_warm": lambda: sweep_run(args.steps, "local", False, args.workers),
        "sweep_ensemble": lambda: sweep_run(args.steps, "local", True),
        "ensemble_dirs": lambda: ensemble_dirs(task, args.steps),
    }

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

    ray_engine = None
    ray_init_s = None
    if not args.no_ray:
        from brainlike.experiments.sweeps import RayEngine

        t0 = time.perf_counter()
        ray_engine = RayEngine()  # a local Ray (2 CPUs on this machine), kept across rounds
        ray_init_s = time.perf_counter() - t0
        variants["ray2_warm"] = lambda: sweep_run(args.steps, _Kept(ray_engine), False, workers=2)

    from brainlike.experiments.sweeps._engines import close_warm_workers

    load_before = loadavg()
    times: dict[str, list[float]] = {k: [] for k in variants}
    processes: dict[str, list] = {k: [] for k in variants}
    cleanup: dict[str, list[float]] = {k: [] for k in variants}
    load_per_round: list[list[float]] = []
    variants["ensemble"]()  # warm-up (allocator, lazy imports)
    for r in range(args.repeats):
        for name, fn in variants.items():
            if name == "pool2":
                close_warm_workers()  # untimed; the timed sweep then starts its worker cold
            t0 = time.perf_counter()
            finish = fn()
            times[name].append(time.perf_counter() - t0)
            # Counting processes and deleting the run directories are the benchmark's own
            # housekeeping, not part of a sweep: timed apart (cleanup_seconds).
            t1 = time.perf_counter()
            processes[name].append(finish() if callable(finish) else None)
            cleanup[name].append(time.perf_counter() - t1)
            print(f"round {r + 1} {name}: {times[name][-1]:.2f} s", flush=True)
        load_per_round.append(loadavg())
    if ray_engine is not None:
        ray_engine.close()
    close_warm_workers()

    med = {k: statistics.median(v) for k, v in times.items()}
    net_steps = N_NETS * args.steps
    rows = []
    for k, v in med.items():
        rows.append([k, f"{v:.2f}", f"{net_steps / v:.0f}", f"{med['sequential'] / v:.2f}x"])
    print_table(["variant", "median wall s", "network-steps/s", "speed-up vs sequential"], rows)

    def ratio(a, b):  # how many times faster b is than a: a's seconds / b's seconds
        per_round = [x / y for x, y in zip(times[a], times[b])]
        return med[a] / med[b], statistics.median(per_round)

    pairs = {
        "ensemble_vs_sequential": ("sequential", "ensemble"),
        "sweep_serial_vs_sequential": ("sequential", "sweep_serial"),
        "pool2_vs_sequential": ("sequential", "pool2"),
        "pool2_warm_vs_sequential": ("sequential", "pool2_warm"),
        "pool2_vs_sweep_serial": ("sweep_serial", "pool2"),
        "pool2_warm_vs_sweep_serial": ("sweep_serial", "pool2_warm"),
        "sweep_ensemble_vs_ensemble": ("ensemble", "sweep_ensemble"),
        "sweep_ensemble_vs_ensemble_dirs": ("ensemble_dirs", "sweep_ensemble"),
        "sweep_ensemble_vs_sequential": ("sequential", "sweep_ensemble"),
    }
    if "ray2_warm" in med:
        pairs["ray2_warm_vs_pool2_warm"] = ("pool2_warm", "ray2_warm")
    ratios, ratios_per_round = {}, {}
    for k, (a, b) in pairs.items():
        ratios[k], ratios_per_round[k] = ratio(a, b)
    for k, v in ratios.items():
        print(f"{k}: {v:.2f} (median of per-round ratios {ratios_per_round[k]:.2f})")
    write_results(args.name, {
        "benchmark": "bench_ensemble.py",
        "args": vars(args),
        "workload": {"task": "perceptual_decision", "dt_ms": task.dt, "n_networks": N_NETS,
                     "n_hidden": N_HIDDEN, "batch": BATCH, "optimizer": "adam",
                     "steps_per_network": args.steps, "threads_per_process": 1},
        "seconds": times,
        "median_seconds": med,
        "cleanup_seconds": {k: v for k, v in cleanup.items() if any(v)},
        "network_steps_per_s": {k: net_steps / v for k, v in med.items()},
        "ratios": ratios,
        "ratios_median_per_round": ratios_per_round,
        "processes_that_trained_runs": {k: v for k, v in processes.items() if v[0] is not None},
        "ray_init_s": ray_init_s,
        "load_before": load_before,
        "load_per_round": load_per_round,
        "load_after": loadavg(),
        "machine": machine_info(),
    })


if __name__ == "__main__":
    main()

"""(a) Batch generation for perceptual decision making: brainlike vs NeuroGym.

Compared per *trial*, because the two produce different shapes:

* NeuroGym ``Dataset("PerceptualDecisionMaking-v0", env_kwargs={"dt": 100}, batch_size=16,
  seq_len=100)`` returns a (100, 16, 3) window cut from a cache of 1600 steps x 16 envs. The
  cache is rebuilt trial by trial (``env.new_trial()``) once every 15 calls (1500 of its 1600
  steps are handed out; the last 100 are dropped). A trial is 22 steps at dt=100, so one batch
  holds 16 * 100 / 22 = 72.7 trials' worth of steps. We time whole refill cycles (a multiple
  of 15 calls) and report mean ms per batch and mean us per trial (= per batch / 72.7).
* NeuroGym ``env.new_trial()`` in a Python loop: the per-trial cost of the env itself
  (second reference; this is what the Dataset does inside a refill).
* brainlike ``tasks.make("perceptual_decision", dt=100).generate(B, seed=i)`` returns B whole
  trials as numpy arrays; per trial = per call / B. Batch sizes 16, 64, 256.

Both sides return numpy arrays (no torch conversion on either side). Single-threaded: numpy
generation does not use torch threads, but ``torch.set_num_threads(1)`` is set anyway.

Each "block" times many consecutive calls; blocks are run round-robin over the variants and
the median of the block means is reported.

``--baseline-src DIR`` also times another checkout of brainlike (``DIR`` is its ``src``, e.g.
``git archive main src | tar -x -C /tmp/base``), imported in the same process under its own
module objects, as variants ``baseline_B16`` ... in the same round-robin: before and after a
change side by side, under the same load. Its batches are checked to equal this checkout's
bit for bit (same seeds) before timing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings

import numpy as np
from _common import print_table, set_threads, write_results

ENV_ID = "PerceptualDecisionMaking-v0"
DT = 100
NG_BATCH = 16
NG_SEQ = 100
REFILL_EVERY = 15  # calls per cache refill for batch 16, seq 100 (cache_len 1600)
TARGET_SPEEDUP = 20.0
TARGETS_BY_B = {16: 10.0, 64: 20.0}  # issue 19: >= 10x at B = 16, >= 20x at B = 64


def neurogym_dataset_block(ds, n_cycles: int) -> float:
    """Mean seconds per batch over n_cycles whole refill cycles."""
    n = n_cycles * REFILL_EVERY
    t0 = time.perf_counter()
    for _ in range(n):
        ds()
    return (time.perf_counter() - t0) / n


def neurogym_new_trial_block(env, n: int) -> float:
    """Mean seconds per env.new_trial()."""
    t0 = time.perf_counter()
    for _ in range(n):
        env.new_trial()
    return (time.perf_counter() - t0) / n


def load_tasks_module(src: str):
    """``brainlike.tasks`` of the checkout whose source directory is ``src``, imported beside
    the current one: its modules are loaded under the same names, kept alive by the returned
    module, and the current ones put back into ``sys.modules``."""
    def ours() -> dict:
        return {k: m for k, m in sys.modules.items() if k == "brainlike" or k.startswith("brainlike.")}

    import brainlike.tasks  # noqa: F401  (the current checkout, loaded first)

    current = ours()
    for k in current:
        del sys.modules[k]
    sys.path.insert(0, src)
    try:
        import brainlike.tasks as other
    finally:
        sys.path.remove(src)
        for k in ours():
            del sys.modules[k]
        sys.modules.update(current)
    if not other.__file__.startswith(src):
        raise RuntimeError(f"--baseline-src {src}: imported {other.__file__} instead")
    return other


def same_batches(a, b) -> bool:
    fields = ("inputs", "targets", "mask", "lengths")
    return all(getattr(a, f).tobytes() == getattr(b, f).tobytes() for f in fields) and all(
        a.conditions[k].tobytes() == b.conditions[k].tobytes() for k in a.conditions
    ) and all(a.epochs[k].tobytes() == b.epochs[k].tobytes() for k in a.epochs)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=7, help="blocks per variant (median reported)")
    p.add_argument("--cycles", type=int, default=6, help="NeuroGym refill cycles per block")
    p.add_argument("--trials", type=int, default=1000, help="new_trial calls per block")
    p.add_argument("--bl-trials", type=int, default=4096, help="brainlike trials per block")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[16, 64, 256])
    p.add_argument("--name", default="generation", help="results file: bench/results/NAME.json")
    p.add_argument("--baseline-src", default=None,
                   help="also time the brainlike of this source directory (before/after)")
    args = p.parse_args()

    set_threads(1)
    warnings.filterwarnings("ignore")  # gymnasium's env-checker warnings
    import neurogym as ngym

    ds = ngym.Dataset(ENV_ID, env_kwargs={"dt": DT}, batch_size=NG_BATCH, seq_len=NG_SEQ)
    assert ds._cache_len == REFILL_EVERY * NG_SEQ + NG_SEQ, ds._cache_len
    ds.seed(0)
    env = ngym.make(ENV_ID, dt=DT)
    env.seed(1)  # NeuroGym: reset(seed=) does not seed the task's RNG
    env.reset()
    env.new_trial()
    ng_trial_len = env.ob.shape[0]
    ng_trials_per_batch = NG_BATCH * NG_SEQ / ng_trial_len
    # align the Dataset so that every block starts right after a refill
    while ds._seq_start + NG_SEQ < ds._cache_len:
        ds()

    blocks = {
        "neurogym_dataset": lambda: neurogym_dataset_block(ds, args.cycles),
        "neurogym_new_trial": lambda: neurogym_new_trial_block(env, args.trials),
    }

    bl_info: dict = {"available": False}
    try:
        import brainlike.tasks as bt

        task = bt.make("perceptual_decision", dt=DT)
        probe = task.generate(16, seed=0)
        bl_info = {
            "available": True,
            "task": repr(task)[:300],
            "inputs_shape_B16": list(probe.inputs.shape),
            "inputs_dtype": str(probe.inputs.dtype),
            "targets_dtype": str(probe.targets.dtype),
            "lengths_min_max": [int(np.min(probe.lengths)), int(np.max(probe.lengths))],
        }
        seed_counter = [1000]

        def make_block(source, bsz: int):
            """Seconds per ``source.generate(bsz)`` call over a block of fresh seeds."""
            n_calls = max(1, args.bl_trials // bsz)

            def block() -> float:
                t0 = time.perf_counter()
                for _ in range(n_calls):
                    seed_counter[0] += 1
                    source.generate(bsz, seed=seed_counter[0])
                return (time.perf_counter() - t0) / n_calls

            return block

        for bsz in args.batch_sizes:
            blocks[f"brainlike_B{bsz}"] = make_block(task, bsz)
        if args.baseline_src:
            import os

            base_src = os.path.abspath(args.baseline_src)
            base_task = load_tasks_module(base_src).make("perceptual_decision", dt=DT)
            for bsz, seed in ((1, 3), (16, 4), (64, 5)):
                if not same_batches(base_task.generate(bsz, seed=seed), task.generate(bsz, seed=seed)):
                    raise RuntimeError(f"--baseline-src batches differ from this checkout's (B={bsz})")
            bl_info["baseline_src"] = base_src
            bl_info["baseline_batches_equal"] = True

            for bsz in args.batch_sizes:
                blocks[f"baseline_B{bsz}"] = make_block(base_task, bsz)
    except Exception as e:  # brainlike.tasks not there yet
        bl_info["error"] = f"{type(e).__name__}: {e}"
        print(f"brainlike side skipped: {bl_info['error']}")

    for fn in blocks.values():  # warm-up
        fn()
    raw: dict[str, list[float]] = {k: [] for k in blocks}
    for _ in range(args.repeats):
        for k, fn in blocks.items():
            raw[k].append(fn())

    res: dict[str, dict] = {}
    for k, xs in raw.items():
        med = statistics.median(xs)
        if k == "neurogym_dataset":
            per_call, trials = med, ng_trials_per_batch
        elif k == "neurogym_new_trial":
            per_call, trials = med, 1
        else:  # brainlike_B* and baseline_B*
            per_call, trials = med, int(k.split("_B")[1])
        res[k] = {
            "per_call_ms": 1e3 * per_call,
            "trials_per_call": trials,
            "per_trial_us": 1e6 * per_call / trials,
            "per_call_ms_blocks": [1e3 * x for x in xs],
        }

    ref = res["neurogym_dataset"]["per_trial_us"]
    ref2 = res["neurogym_new_trial"]["per_trial_us"]
    rows = []
    for k, r in res.items():
        r["speedup_vs_dataset"] = ref / r["per_trial_us"]
        r["speedup_vs_new_trial"] = ref2 / r["per_trial_us"]
        rows.append(
            [k, r["per_call_ms"], r["trials_per_call"], r["per_trial_us"],
             r["speedup_vs_dataset"], r["speedup_vs_new_trial"]]
        )
    print(f"\nPerceptual decision making, dt={DT}; NeuroGym trial = {ng_trial_len} steps; "
          f"median of {args.repeats} blocks")
    print_table(
        ["variant", "ms / call", "trials / call", "us / trial",
         "speedup vs ngym Dataset", "speedup vs ngym new_trial"],
        rows,
    )
    if args.baseline_src:
        for bsz in args.batch_sizes:
            cur, base = raw[f"brainlike_B{bsz}"], raw[f"baseline_B{bsz}"]
            per_round = [b / c for b, c in zip(base, cur)]
            res[f"brainlike_B{bsz}"]["baseline_over_current_per_round"] = per_round
            res[f"brainlike_B{bsz}"]["baseline_over_current_median"] = statistics.median(per_round)
            print(f"B={bsz}: baseline / current time per call, median of rounds "
                  f"{statistics.median(per_round):.2f}x")
    targets = {}
    bl_keys = [k for k in res if k.startswith("brainlike_")]
    if bl_keys:
        best = max(res[k]["speedup_vs_dataset"] for k in bl_keys)
        b16 = res.get("brainlike_B16", {}).get("speedup_vs_dataset")
        targets = {
            "target": f">= {TARGET_SPEEDUP}x faster per trial than neurogym.Dataset",
            "speedup_B16": b16,
            "best_speedup": best,
            "met_B16": b16 is not None and b16 >= TARGET_SPEEDUP,
            "met_best": best >= TARGET_SPEEDUP,
        }
        for bsz, want in TARGETS_BY_B.items():
            got = res.get(f"brainlike_B{bsz}", {}).get("speedup_vs_dataset")
            if got is not None:
                targets[f"issue19_B{bsz}"] = {"target": want, "speedup": got, "met": got >= want}
                print(f"issue 19 target >= {want:g}x at B={bsz}: {got:.1f}x "
                      f"({'MET' if got >= want else 'NOT met'})")
    write_results(
        args.name,
        {
            "benchmark": "bench_generation.py",
            "args": vars(args),
            "threads": 1,
            "neurogym": {"env": ENV_ID, "dt": DT, "batch_size": NG_BATCH, "seq_len": NG_SEQ,
                         "cache_len": ds._cache_len, "refill_every_calls": REFILL_EVERY,
                         "trial_len_steps": ng_trial_len,
                         "trials_per_batch": ng_trials_per_batch},
            "brainlike": bl_info,
            "results": res,
            "targets": targets,
        },
    )


if __name__ == "__main__":
    main()

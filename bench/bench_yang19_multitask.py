"""Issue 3 benchmark: the Yang et al. (2019) paper model trained on all 20 tasks on CPU.

Model as in ``experiment.train_all`` of gyyang/multitask: 256 softplus units, tau 100 ms,
dt 20 ms, recurrent weights initialised to 0.5 I ("diag"), sigma_rec 0.05, input noise
sigma_x 0.01; Adam lr 1e-3, batch 64, one task per batch with ctxdm1/ctxdm2 drawn 5x as often.
(Differences: a linear readout instead of a sigmoid, and gradient-norm clipping at 1 instead of
element-wise clipping.) Every ``--eval-every`` steps every task is scored on ``--eval-trials``
fresh trials by the paper's rule; the training time (evaluation excluded) on the ``--clock``
that the budget counts -- ``wall`` (``time.perf_counter``; the default, for a run that uses
both cores of the machine with ``--threads 2``) or ``cpu`` (``time.process_time``: with one
thread, what a quiet machine's wall time would be, not inflated by a busy machine) -- together
with the other clock and per-task performance, is appended to ``results/yang19_multitask.json``
after each evaluation, so an interrupted run keeps its curve. Training checkpoints to ``--out``
and resumes from it.

Usage: python bench/bench_yang19_multitask.py [--minutes 60] [--threads 2] [--clock wall]
       [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from brainlike.models import RateRNN
from brainlike.tasks import MultiTask, names
from brainlike.training import StepInfo, train
from brainlike.training._checkpoint import atomic_write_text

RESULTS = Path(__file__).parent / "results" / "yang19_multitask.json"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--eval-trials", type=int, default=128)
    ap.add_argument("--out", default="/tmp/yang19_run")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    rules = [n for n in names() if n.startswith("yang19.")]
    weights = {r: (5.0 if r in ("yang19.ctxdm1", "yang19.ctxdm2") else 1.0) for r in rules}
    task = MultiTask(rules, probabilities=weights)
    model = RateRNN(task.n_inputs, 256, task.n_outputs, tau=100.0, dt=task.dt,
                    activation="softplus", sigma_rec=0.05, w_rec_init="identity",
                    w_rec_gain=0.5, seed=args.seed)
    budget = args.minutes * 60.0
    curve: list[dict] = json.loads(RESULTS.read_text())["curve"] if (
        RESULTS.exists() and Path(args.out, "checkpoint.safetensors").exists()) else []
    timers = {"wall": time.perf_counter, "cpu": time.process_time}
    # Training seconds on both clocks, carried over from an interrupted run.
    train_s = {c: curve[-1].get(f"train_{c}_seconds", 0.0) if curve else 0.0 for c in timers}
    last = {c: timers[c]() for c in timers}
    wall0 = time.perf_counter()

    def record(info: StepInfo) -> bool:
        m = info.metrics
        if "accuracy" not in m:
            for c, timer in timers.items():
                now = timer()
                train_s[c] += now - last[c]
                last[c] = now
            return train_s[args.clock] >= budget
        # This step's evaluation ran inside train(): neither it nor this one step counts.
        per_task = {r.removeprefix("yang19."): m[f"accuracy/{r}"] for r in rules}
        curve.append({
            "step": info.step, "train_seconds": round(train_s[args.clock], 2),
            "train_wall_seconds": round(train_s["wall"], 2),
            "train_cpu_seconds": round(train_s["cpu"], 2),
            "wall_seconds_this_session": round(time.perf_counter() - wall0, 2),
            "mean": float(np.mean(list(per_task.values()))), "min": m["accuracy"],
            "per_task": per_task, "loss": m["loss"],
        })
        atomic_write_text(RESULTS, json.dumps({
            "model": model.config(), "threads": args.threads, "seed": args.seed,
            "eval_trials": args.eval_trials, "budget_minutes": args.minutes, "clock": args.clock,
            "curve": curve,
        }, indent=1))
        print(f"step {info.step:6d}  train {args.clock} {train_s[args.clock]:7.1f} s"
              f"  mean {curve[-1]['mean']:.3f}  min {m['accuracy']:.3f}", flush=True)
        last.update({c: timers[c]() for c in timers})
        return train_s[args.clock] >= budget

    train(model, task, steps=10**7, batch_size=64, lr=1e-3, eval_every=args.eval_every,
          eval_trials=args.eval_trials, seed=args.seed, callbacks=[record], out=args.out)


if __name__ == "__main__":
    main()

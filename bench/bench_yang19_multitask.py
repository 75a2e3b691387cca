"""Issue 3 benchmark: the Yang et al. (2019) paper model trained on all 20 tasks on CPU.

Model as in ``experiment.train_all`` of gyyang/multitask: 256 softplus units, tau 100 ms,
dt 20 ms, recurrent weights initialised to 0.5 I ("diag"), sigma_rec 0.05, input noise
sigma_x 0.01; Adam lr 1e-3, batch 64, one task per batch with ctxdm1/ctxdm2 drawn 5x as often.
(Differences: a linear readout instead of a sigmoid, and gradient-norm clipping at 1 instead of
element-wise clipping.) Every ``--eval-every`` steps every task is scored on ``--eval-trials``
fresh trials by the paper's rule; the CPU time of training (``time.process_time``: on one thread
it is what a quiet machine's wall time would be, and a busy machine does not inflate it;
evaluation excluded), the wall time, and per-task performance are appended to
``results/yang19_multitask.json`` after each evaluation, so an interrupted run keeps its
curve. Training checkpoints to ``--out`` and resumes from it.

Usage: python bench/bench_yang19_multitask.py [--minutes 60] [--threads 1] [--out DIR]
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
    ap.add_argument("--threads", type=int, default=1)
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
    offset = curve[-1]["train_seconds"] if curve else 0.0
    clock = {"t": time.process_time(), "train": offset, "wall0": time.perf_counter()}

    def record(info: StepInfo) -> bool:
        now = time.process_time()
        m = info.metrics
        if "accuracy" not in m:
            clock["train"] += now - clock["t"]
            clock["t"] = now
            return clock["train"] >= budget
        # This step's evaluation ran inside train(); it is not training time.
        per_task = {r.removeprefix("yang19."): m[f"accuracy/{r}"] for r in rules}
        curve.append({
            "step": info.step, "train_seconds": round(clock["train"], 2),
            "wall_seconds_this_session": round(time.perf_counter() - clock["wall0"], 2),
            "mean": float(np.mean(list(per_task.values()))), "min": m["accuracy"],
            "per_task": per_task, "loss": m["loss"],
        })
        atomic_write_text(RESULTS, json.dumps({
            "model": model.config(), "threads": args.threads, "seed": args.seed,
            "eval_trials": args.eval_trials, "budget_minutes": args.minutes, "curve": curve,
        }, indent=1))
        print(f"step {info.step:6d}  train CPU {clock['train']:7.1f} s  mean {curve[-1]['mean']:.3f}"
              f"  min {m['accuracy']:.3f}", flush=True)
        clock["t"] = time.process_time()
        return clock["train"] >= budget

    train(model, task, steps=10**7, batch_size=64, lr=1e-3, eval_every=args.eval_every,
          eval_trials=args.eval_trials, seed=args.seed, callbacks=[record], out=args.out)


if __name__ == "__main__":
    main()

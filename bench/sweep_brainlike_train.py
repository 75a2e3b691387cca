"""Supplement to (c): brainlike's time to 85% when its learning rate and batch size change.

Not a comparison with NeuroGym; it shows how much of ``bench_train_to_criterion.py``'s result
comes from brainlike's default ``lr`` (1e-3) and ``batch_size`` (64). Everything else is as in
``bench_train_to_criterion.py`` (documented defaults, criterion 0.85 on 500 fresh trials every
100 steps, wall time excluding evaluation, threads=1, seeds 0, 1, 2, step cap 3000).
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

from _common import print_table, set_threads, write_results
from bench_train_to_criterion import CRITERION, brainlike_config, warm_up


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--lrs", type=float, nargs="+", default=[1e-3, 3e-3, 1e-2])
    ap.add_argument("--batches", type=int, nargs="+", default=[16, 64])
    ap.add_argument("--max-steps", type=int, default=3000)
    args = ap.parse_args()
    set_threads(1)
    warnings.filterwarnings("ignore")
    warm_up()
    from brainlike.experiments._run import build_model
    from brainlike.training import evaluate, train

    rows, results = [], []
    for lr in args.lrs:
        for bs in args.batches:
            runs = []
            for seed in args.seeds:
                cfg = brainlike_config(seed, args.max_steps)
                t = cfg.training
                t0 = time.perf_counter()
                task = cfg.task.build()
                model = build_model(cfg, task)
                r = train(model, task, steps=t.steps, batch_size=bs, optimizer=t.optimizer, lr=lr,
                          grad_clip=t.grad_clip, eval_every=t.eval_every,
                          eval_trials=t.eval_trials, criterion=CRITERION, seed=seed)
                wall = time.perf_counter() - t0 - r.eval_seconds
                final = evaluate(model, task, n_trials=2000, seed=20_000 + seed).accuracy
                runs.append({"seed": seed, "status": r.status, "steps": int(r.steps),
                             "train_wall_s": wall, "final_acc_2000": final})
            med_wall = statistics.median(x["train_wall_s"] for x in runs)
            results.append({"lr": lr, "batch_size": bs, "runs": runs,
                            "median_train_wall_s": med_wall})
            rows.append([f"{lr:g}", bs, str([x["steps"] for x in runs]),
                         sum(x["status"] == "criterion" for x in runs), med_wall,
                         statistics.median(x["final_acc_2000"] for x in runs)])
            print(rows[-1], flush=True)
    print(f"\nbrainlike RateRNN-64 defaults except lr / batch; criterion {CRITERION}; threads=1")
    print_table(["lr", "batch", "steps per seed", "reached", "median train wall s",
                 "median final acc (2000)"], rows)
    write_results("sweep_brainlike_train", {"benchmark": "sweep_brainlike_train.py",
                                            "args": vars(args), "threads": 1,
                                            "results": results})


if __name__ == "__main__":
    main()

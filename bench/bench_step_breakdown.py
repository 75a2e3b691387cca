"""Milliseconds per training step of ``brainlike.training.train`` and where they go.

Workload: the single-network setting of ``bench_train_to_criterion.py`` -- ``perceptual_decision``
(dt = 100 ms, ``go_cue=False``, 22 steps a trial), ``RateRNN(3, 64, 3, tau=100, dt=100)``,
``train``'s defaults (Adam lr 3e-3, batch 64, gradient clipping 1.0), one thread.

Two figures per round:

* ``train_ms``: ``TrainResult.train_seconds / steps`` of a real ``train(...)`` call of
  ``--steps`` steps (evaluation excluded, as ``train`` times it);
* a breakdown from a replica of ``train``'s loop that times each phase with ``perf_counter``:
  ``generation`` (``task.generate``), ``to_tensors`` (arrays to tensors, the noise generator),
  ``forward`` (model), ``loss``, ``backward`` (``zero_grad`` + ``backward``), ``optimizer``
  (gradient clipping + ``opt.step``), ``guard`` (the NaN/inf checks of loss, gradient and
  parameters) and ``bookkeeping`` (``Session.record``: the log row, callbacks, progress).
  The replica follows the loop of the brainlike it imports (the loop before issue 19, or the one
  after); its sum is within a few percent of ``train_ms``.

``--baseline-src DIR`` also measures another checkout of brainlike (``DIR`` is its ``src``
folder, e.g. a ``git worktree`` of the commit before the change): every round then runs the
baseline and this checkout in alternating child processes (same load), and the ratio
baseline / current is reported per round and as the median.

Writes ``results/step_breakdown.json`` (or ``--name``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PHASES = ("generation", "to_tensors", "forward", "loss", "backward", "optimizer", "guard",
          "bookkeeping")


def _child(steps: int, threads: int, clock: str) -> dict:
    import numpy as np
    import torch

    torch.set_num_threads(threads)
    import brainlike
    from brainlike.models import RateRNN
    from brainlike.tasks import make
    from brainlike.training import _loop, _session, train

    task = make("perceptual_decision", dt=100.0, go_cue=False)

    def fresh():
        return RateRNN(task.n_inputs, 64, task.n_outputs, tau=100.0, dt=100.0, seed=0)

    # warm-up: the first optimizer imports torch._dynamo; allocator, lazy imports
    train(fresh(), task, steps=20, eval_every=20, eval_trials=64)

    c0 = time.process_time()
    r = train(fresh(), task, steps=steps, eval_every=steps, eval_trials=64)
    c1 = time.process_time()
    train_ms = 1e3 * r.train_seconds / r.steps
    # CPU time of the whole call (its one evaluation included): steadier than wall time when
    # other processes load the machine
    train_cpu_ms = 1e3 * (c1 - c0) / r.steps

    model = fresh()
    new_loop = hasattr(_loop, "_clip_and_norm")
    params = [p for p in model.parameters() if p.requires_grad]
    opt = _loop._make_optimizer("adam", params, 3e-3, 0.0, 0.9)
    times = {p: [] for p in PHASES}
    clk = time.perf_counter if clock == "wall" else time.thread_time
    seed = 0
    session = _session.Session(None, algorithm="bptt", settings={}, model=model, task=task,
                               steps=steps, seed=seed, eval_every=10 * steps, eval_trials=64,
                               optimizer=opt)
    model.train()
    with session as run:
        for step in run:
            t0 = clk()
            batch = task.generate(64, seed=[seed, _session.TRAIN_TRIALS, step])
            t1 = clk()
            inputs, targets, mask = _session.to_tensors(batch)
            gen = _session.generator(seed, _session.TRAIN_NOISE, step)
            t2 = clk()
            out = model(inputs, generator=gen)
            t3 = clk()
            main = _loop.task_loss(out.outputs, targets, mask, batch.target_kind,
                                   normalization="weights", lengths=batch.lengths)
            loss = main + main.new_zeros(())
            t4 = clk()
            if new_loop:
                opt.zero_grad(set_to_none=True)
                loss.backward()
                t5 = clk()
                norm = _loop._clip_and_norm(params, 1.0)
                t6 = clk()
                values = torch.stack((loss.detach(), main.detach(), norm)).tolist()
                run.check_loss(values[0])
                run.check_gradient(values[2])
                t7 = clk()
                opt.step()
                t8 = clk()
                run.check_parameters()
                t9 = clk()
                run.record({"loss": values[0], "task_loss": values[1], "penalty": 0.0,
                            "lr": 3e-3, "grad_norm": values[2]})
                t10 = clk()
                guard = (t7 - t6) + (t9 - t8)
                optimizer = (t6 - t5) + (t8 - t7)
            else:
                run.check_loss(loss)
                t45 = clk()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                t5 = clk()
                grad_norm = float(torch.nn.utils.clip_grad_norm_(params, 1.0))
                t6 = clk()
                run.check_gradient(grad_norm)
                t7 = clk()
                opt.step()
                t8 = clk()
                run.check_parameters()
                t9 = clk()
                run.record({"loss": loss.item(), "task_loss": main.item(), "penalty": 0.0,
                            "lr": 3e-3, "grad_norm": grad_norm})
                t10 = clk()
                guard = (t45 - t4) + (t7 - t6) + (t9 - t8)
                optimizer = (t6 - t5) + (t8 - t7)
                t5 = t5 - (t45 - t4)  # backward phase without the loss check
            for name, dt in zip(PHASES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3,
                                         (t5 - t4), optimizer, guard, t10 - t9)):
                times[name].append(1e3 * dt)
    skip = min(10, steps // 5)
    breakdown = {k: float(np.median(v[skip:])) for k, v in times.items()}
    return {"train_ms": train_ms, "train_cpu_ms": train_cpu_ms, "breakdown_ms": breakdown,
            "breakdown_sum_ms": sum(breakdown.values()), "loop": "after" if new_loop else "before",
            "brainlike_file": brainlike.__file__, "threads": torch.get_num_threads()}


def _run_child(src: str | None, steps: int, threads: int, clock: str) -> dict:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = str(threads)
    if src is not None:
        env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", "--steps", str(steps),
         "--threads", str(threads), "--clock", clock],
        env=env, capture_output=True, text=True, check=True, cwd=str(HERE),
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--baseline-src", default=None,
                    help="src folder of another brainlike checkout to compare with")
    ap.add_argument("--name", default="step_breakdown")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="clock of the phase breakdown: wall (perf_counter) or the thread's CPU "
                         "time (steadier on a loaded machine)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_child(args.steps, args.threads, args.clock)))
        return
    from _common import loadavg, machine_info, print_table, write_results

    sides = {"current": None}
    if args.baseline_src:
        sides = {"baseline": str(Path(args.baseline_src).resolve()), "current": None}
    load_before = loadavg()
    rounds: dict[str, list[dict]] = {k: [] for k in sides}
    for r in range(args.repeats):
        for name, src in sides.items():
            res = _run_child(src, args.steps, args.threads, args.clock)
            res["load"] = loadavg()
            rounds[name].append(res)
            print(f"round {r + 1} {name}: train {res['train_ms']:.3f} ms/step, "
                  f"CPU {res['train_cpu_ms']:.3f} ms/step "
                  f"(replica {res['breakdown_sum_ms']:.3f}), load {res['load'][0]}", flush=True)
    summary = {}
    for name, rs in rounds.items():
        summary[name] = {
            "train_ms": statistics.median(x["train_ms"] for x in rs),
            "train_cpu_ms": statistics.median(x["train_cpu_ms"] for x in rs),
            "breakdown_ms": {p: statistics.median(x["breakdown_ms"][p] for x in rs)
                             for p in PHASES},
            "loop": rs[0]["loop"],
            "brainlike_file": rs[0]["brainlike_file"],
        }
        summary[name]["breakdown_sum_ms"] = sum(summary[name]["breakdown_ms"].values())
    headers = ["side", "train ms/step", "train CPU ms/step", *PHASES, "sum"]
    print_table(headers, [[k, v["train_ms"], v["train_cpu_ms"], *v["breakdown_ms"].values(),
                           v["breakdown_sum_ms"]]
                          for k, v in summary.items()])
    ratios = None
    if "baseline" in rounds:
        pairs = list(zip(rounds["baseline"], rounds["current"]))
        per_round = [b["train_ms"] / c["train_ms"] for b, c in pairs]
        per_round_cpu = [b["train_cpu_ms"] / c["train_cpu_ms"] for b, c in pairs]
        ratios = {"baseline_over_current_per_round": per_round,
                  "baseline_over_current_median": statistics.median(per_round),
                  "cpu_baseline_over_current_per_round": per_round_cpu,
                  "cpu_baseline_over_current_median": statistics.median(per_round_cpu)}
        print(f"baseline / current ms per step: median {ratios['baseline_over_current_median']:.2f}x"
              f" (rounds {[round(x, 2) for x in per_round]}); CPU time: "
              f"{ratios['cpu_baseline_over_current_median']:.2f}x")
    write_results(args.name, {
        "benchmark": "bench_step_breakdown.py",
        "args": vars(args),
        "workload": {"task": "perceptual_decision", "dt_ms": 100.0, "go_cue": False,
                     "model": "RateRNN(3, 64, 3, tau=100, dt=100)", "batch": 64,
                     "optimizer": "adam lr 3e-3, grad_clip 1.0"},
        "threads": args.threads,
        "clock": args.clock,
        "rounds": rounds,
        "summary": summary,
        "ratios": ratios,
        "load_before": load_before,
        "load_after": loadavg(),
        "machine": machine_info(),
    })


if __name__ == "__main__":
    main()

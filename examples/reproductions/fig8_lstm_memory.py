"""Primer Figure 8: the gates of an LSTM trained on the memorize/report task.

Single-unit LSTMs (and 4-unit ones) are trained on ``memory_report`` -- a stimulus value at
every step; store the value shown at the "memorize" pulse and report it at the "report" pulse --
with the recipe of the primer's notebook (``nn-brain LSTMVisualization``): MSE, Adam lr 0.01,
batch 16, no gradient clipping, stopped when the running loss (mean of the last 100 steps) falls
below 1e-4, at most 20000 steps. Two protocols:

* ``single``: the registered task as it is, one trial per sequence;
* ``repeat3``: as in the notebook (``n_repeat = 3``), three trials of one length ``L`` (drawn
  per batch) back to back in one sequence, so that each new memorize cue must replace the value
  held from the trial before -- the only situation in which forgetting is needed.

The gates and the cell state are read with ``LSTM.traced`` (recomputed exactly from the fused
``nn.LSTM`` pass), and on 2000 fresh trials we measure the primer's claims: the input gate
opens at the memorize cue (its value there against every other step); the forget gate closes
at the memorize cue (the old memory is dropped: measured at the memorize cues that follow an
earlier trial) and stays open while the value is held; the cell state holds the value through
the delay (its correlation with the stored value at the last delay step, and its drift over the
delay); the output gate opens at the report cue. For 4-unit networks the numbers are those of
the unit whose cell at the end of the delay best encodes the stored value (the memory unit).

Writes ``results/fig8_lstm.json`` and ``results/fig8_lstm.png``.
Run: ``OMP_NUM_THREADS=1 python examples/reproductions/fig8_lstm_memory.py`` (about half an hour
on one CPU core); ``--figures-only`` redraws the figure from the JSON's example trials.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from _cli import out_dir
from matplotlib.figure import Figure

from brainlike.models import LSTM
from brainlike.tasks import TaskScore, TrialBatch, make
from brainlike.training import evaluate, train

OUT = out_dir()  # --out DIR, default results/ (the committed results)
SIZES = (1, 4)
SEEDS = (0, 1, 2)
PROTOCOLS = ("single", "repeat3")
MAX_STEPS, BATCH, LR, STOP_LOSS = 20000, 16, 1e-2, 1e-4
SEGMENT = ("stored_value", "t_memorize", "t_report")


class Repeated:
    """``n_repeat`` trials of a memory task, all of one length L drawn per batch, back to back.

    The notebook's ``memory_task(seq_len, batch, n_repeat)``. Conditions ``<name>_<k>`` for the
    k-th trial (steps counted from the start of the sequence); a sequence is correct when every
    report is within the task's tolerance.
    """

    def __init__(self, task, n_repeat: int) -> None:
        self.task, self.n_repeat = task, n_repeat
        self.name = f"{task.name}_x{n_repeat}"
        self.params = {**task.params, "n_repeat": n_repeat}
        self.n_inputs, self.n_outputs, self.dt = task.n_inputs, task.n_outputs, task.dt
        self.ceiling = 1.0

    def generate(self, batch_size: int, *, seed=None, noise: bool = True) -> TrialBatch:
        rng = np.random.default_rng(seed)
        length = int(rng.integers(self.task.min_steps, self.task.max_steps + 1))
        parts = [self.task.generate(batch_size, seed=rng, conditions={"trial_length": length},
                                    noise=noise) for _ in range(self.n_repeat)]
        cond, epochs = {}, {}
        for k, part in enumerate(parts):
            offset = k * length
            for name in SEGMENT:
                cond[f"{name}_{k}"] = part.conditions[name] + (0 if name == "stored_value" else offset)
            epochs[f"trial_{k}"] = np.tile([offset, offset + length], (batch_size, 1))
        first = parts[0]
        return TrialBatch(
            inputs=np.concatenate([p.inputs for p in parts], 1),
            targets=np.concatenate([p.targets for p in parts], 1),
            mask=np.concatenate([p.mask for p in parts], 1),
            lengths=np.full(batch_size, self.n_repeat * length, dtype=np.int64),
            conditions=cond, epochs=epochs, dt=first.dt, input_names=first.input_names,
            output_names=first.output_names, target_kind=first.target_kind, task=self.name)

    def score(self, outputs, batch: TrialBatch) -> TaskScore:
        out = np.asarray(outputs)
        rows = np.arange(batch.batch_size)
        c = batch.conditions
        errors = np.stack([np.abs(out[rows, c[f"t_report_{k}"], 0] - c[f"stored_value_{k}"])
                           for k in range(self.n_repeat)])
        correct = (errors < self.task.tolerance).all(0)
        return TaskScore(decision=np.full(batch.batch_size, -1), correct=correct,
                         error=errors.max(0))


def segments(batch: TrialBatch) -> list[dict]:
    """Each trial of the sequences: ``stored_value``, ``t_memorize``, ``t_report``, each (B,)."""
    c = batch.conditions
    if "t_report" in c:
        return [{name: np.asarray(c[name]) for name in SEGMENT}]
    k = sum(name.startswith("t_report_") for name in c)
    return [{name: np.asarray(c[f"{name}_{j}"]) for name in SEGMENT} for j in range(k)]


class RunningLossBelow:
    """Stop training when the mean task loss of the last ``window`` steps is below ``level``."""

    def __init__(self, level: float, window: int = 100) -> None:
        self.level, self.window, self.losses = level, window, []

    def __call__(self, info) -> bool:
        self.losses.append(info.metrics["task_loss"])
        recent = self.losses[-self.window:]
        return len(recent) == self.window and float(np.mean(recent)) < self.level


def gate_statistics(model: LSTM, task, n_trials: int = 2000, seed: int = 7) -> dict:
    """The primer's claims as numbers, on fresh noise-free trials (see the module docstring)."""
    batch = task.generate(n_trials, seed=seed, noise=False)
    with torch.no_grad():
        run = model.traced(torch.tensor(batch.inputs))
    tr = {k: v.numpy() for k, v in run.traces.items()}
    rows = np.arange(n_trials)
    steps = np.arange(batch.n_steps)[None, :]
    valid = steps < batch.lengths[:, None]
    at_mem = np.zeros_like(valid)
    later_mem = np.zeros_like(valid)
    at_rep = np.zeros_like(valid)
    hold = np.zeros_like(valid)
    ends, starts, stored = [], [], []
    for k, seg in enumerate(segments(batch)):
        t_mem, t_rep = seg["t_memorize"], seg["t_report"]
        at_mem |= steps == t_mem[:, None]
        if k > 0:
            later_mem |= steps == t_mem[:, None]
        at_rep |= steps == t_rep[:, None]
        hold |= (steps > t_mem[:, None]) & (steps < t_rep[:, None])
        long = (t_rep - t_mem) >= 3  # at least two steps of delay
        ends.append(tr["cell"][rows[long], t_rep[long] - 1])
        starts.append(tr["cell"][rows[long], t_mem[long]])
        stored.append(seg["stored_value"][long])
    ends, starts, stored = np.concatenate(ends), np.concatenate(starts), np.concatenate(stored)
    corr = [np.corrcoef(ends[:, j], stored)[0, 1] for j in range(model.n_hidden)]
    unit = int(np.nanargmax(np.abs(corr)))

    update = tr["input_gate"] * tr["cell_input"]

    def mean(name, where):
        return float(tr[name][..., unit][where].mean()) if where.any() else None

    out = run.output.outputs.numpy()[..., 0]
    report_error = np.concatenate([np.abs(out[rows, s["t_report"]] - s["stored_value"])
                                   for s in segments(batch)])
    return {
        "memory_unit": unit,
        "input_gate_at_memorize": mean("input_gate", at_mem),
        "input_gate_elsewhere": mean("input_gate", valid & ~at_mem),
        "forget_gate_at_memorize": mean("forget_gate", at_mem),
        "forget_gate_at_memorize_after_a_trial": mean("forget_gate", later_mem),
        "forget_gate_during_delay": mean("forget_gate", hold),
        # what reaches the cell, i * g: a network may gate with g instead of i
        "cell_update_abs_at_memorize": float(np.abs(update[..., unit][at_mem]).mean()),
        "cell_update_abs_elsewhere": float(np.abs(update[..., unit][valid & ~at_mem]).mean()),
        "output_gate_at_report": mean("output_gate", at_rep),
        "output_gate_elsewhere": mean("output_gate", valid & ~at_rep),
        "cell_end_of_delay_vs_stored_r": float(corr[unit]),
        "cell_drift_over_delay": float(np.mean(np.abs(ends[:, unit] - starts[:, unit]))
                                       / np.mean(np.abs(starts[:, unit]))),
        "report_error_mean_abs": float(report_error.mean()),
        "n_sequences": n_trials,
        "n_trials_with_delay_ge_2": len(stored),
    }


def train_one(task, size: int, seed: int, max_steps: int) -> tuple[LSTM, dict]:
    model = LSTM(task.n_inputs, size, task.n_outputs, dt=task.dt, seed=seed)
    stop = RunningLossBelow(STOP_LOSS)
    t0 = time.perf_counter()
    result = train(model, task, steps=max_steps, batch_size=BATCH, lr=LR, grad_clip=None,
                   eval_every=250, eval_trials=500, seed=seed, callbacks=[stop])
    seconds = time.perf_counter() - t0
    acc = result.history["accuracy"]
    reached = np.flatnonzero(np.nan_to_num(acc, nan=0.0) >= 0.99)
    test = evaluate(model, task, n_trials=2000, seed=1000 + seed)
    info = {
        "n_hidden": size, "seed": seed, "status": result.status, "steps": result.steps,
        "stopped_at_running_loss": float(np.mean(stop.losses[-100:])),
        "first_eval_step_with_accuracy_0.99": (int(result.history["step"][reached[0]])
                                               if reached.size else None),
        "test_accuracy": test.accuracy, "test_mse": test.loss, "train_seconds": seconds,
        **gate_statistics(model, task),
    }
    return model, info


def example(model: LSTM, task) -> dict:
    """One sequence: inputs, target, output, and the memory unit's cell and gates."""
    batch = task.generate(1, seed=11, noise=False)
    with torch.no_grad():
        run = model.traced(torch.tensor(batch.inputs))
    n = int(batch.lengths[0])
    out = {name: batch.inputs[0, :n, k].tolist() for k, name in enumerate(batch.input_names)}
    out["target"] = np.asarray(batch.targets)[0, :n, 0].tolist()
    out["output"] = run.output.outputs[0, :n, 0].tolist()
    for name in ("cell", "input_gate", "forget_gate", "output_gate"):
        out[name] = run.traces[name][0, :n, 0].tolist()
    return out


def figure(examples: dict, runs: list[dict]) -> Figure:
    fig = Figure(figsize=(11.0, 7.0), layout="constrained")
    axes = fig.subplots(4, len(examples), sharex="col", squeeze=False)
    for col, (protocol, ex) in enumerate(examples.items()):
        ax = axes[:, col]
        t = np.arange(len(ex["stimulus"]))
        ax[0].plot(t, ex["stimulus"], "k.-", lw=0.8, label="stimulus")
        ax[0].bar(t, ex["memorize"], color="tab:red", alpha=0.4, label="memorize")
        ax[0].bar(t, ex["report"], color="tab:blue", alpha=0.4, label="report")
        ax[1].plot(t, ex["target"], "k--", label="target")
        ax[1].plot(t, ex["output"], "tab:purple", label="output")
        ax[2].plot(t, ex["cell"], "tab:green")
        for name, colour in (("input_gate", "tab:red"), ("forget_gate", "tab:orange"),
                             ("output_gate", "tab:blue")):
            ax[3].plot(t, ex[name], color=colour, label=name.replace("_", " "))
        ax[3].set_ylim(-0.05, 1.05)
        ax[3].set_xlabel("time step")
        for a in ax:
            for s in np.flatnonzero(ex["memorize"]):
                a.axvline(s, color="tab:red", lw=0.6, ls=":")
            for s in np.flatnonzero(ex["report"]):
                a.axvline(s, color="tab:blue", lw=0.6, ls=":")
        r = next(r for r in runs if r["protocol"] == protocol and r["n_hidden"] == 1)
        ax[0].set_title(f"{protocol}: single-unit LSTM, seed {r['seed']}, test MSE "
                        f"{r['test_mse']:.1e}, accuracy {r['test_accuracy']:.3f}", fontsize=9)
        if col == 0:
            for a, label in zip(ax, ("input", "output", "cell state c", "gate")):
                a.set_ylabel(label)
            ax[0].legend(loc="upper left", fontsize=7, ncol=3)
            ax[1].legend(loc="upper left", fontsize=7)
            ax[3].legend(loc="center left", fontsize=7)
    return fig


def main(args) -> dict:
    OUT.mkdir(exist_ok=True)
    path = OUT / "fig8_lstm.json"
    if args.figures_only:
        results = json.loads(path.read_text())
    else:
        torch.set_num_threads(1)
        base = make("memory_report")
        runs, examples = [], {}
        for protocol in args.protocols:
            task = base if protocol == "single" else Repeated(base, 3)
            for size in args.sizes:
                for seed in args.seeds:
                    model, info = train_one(task, size, seed, args.max_steps)
                    runs.append({"protocol": protocol, **info})
                    print(json.dumps({k: runs[-1][k] for k in (
                        "protocol", "n_hidden", "seed", "steps", "test_mse", "test_accuracy")}),
                        flush=True)
                    if size == 1 and seed == args.seeds[0]:
                        examples[protocol] = example(model, task)
        results = {"task": "memory_report", "recipe": {"max_steps": args.max_steps, "batch": BATCH,
                                                       "lr": LR, "stop_running_loss": STOP_LOSS},
                   "runs": runs, "examples": examples}
        path.write_text(json.dumps(results, indent=2))
    figure(results["examples"], results["runs"]).savefig(OUT / "fig8_lstm.png", dpi=120)
    return results


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--protocols", nargs="+", default=list(PROTOCOLS), choices=PROTOCOLS)
    p.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    p.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    p.add_argument("--max-steps", type=int, default=MAX_STEPS)
    p.add_argument("--figures-only", action="store_true")
    main(p.parse_args())

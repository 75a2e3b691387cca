"""Spiking networks trained with surrogate gradients on cognitive tasks (issue 13).

Trains :class:`brainlike.models.SpikingRNN` (defaults: tau_mem 20, tau_syn 100, tau_out 100 ms,
arctan surrogate, membrane noise sigma_rec 0.1) with ``brainlike.training.train`` at dt = 20 ms:

* ``pdm``       perceptual decision making, 128 units, target 90 % of the ideal observer's
  ceiling (trained until 95 % on 500 evaluation trials);
* ``pdm_dale``  the same with Dale's law (80 % excitatory units), 64 units, batch 32, with the
  settings that train (``DALE``, ``DALE_TRAINING`` below);
* ``pdm_free64`` the same network and training without Dale's law (the comparison);
* ``go_no_go``  Go/No-Go, 64 units, to 0.95;
* ``context``   context-dependent decisions (Mante et al. 2013), 64 units, batch 32, slow
  synapses (tau_syn 500 ms), target 90 % of ceiling;
* ``context_dale`` the same with Dale's law and the Dale settings, the stimuli and the context
  cue through the synapse and the fixation input into the membrane, the decision epoch
  weighing 5 in the training loss (``context_dale128``: with 128 units);
* ``transfer``  rate-to-spiking transfer (Kim, Li & Sejnowski 2019): a RateRNN trained on
  Go/No-Go (dt 20 ms) mapped onto LIF units simulated at dt 1 ms, with a grid search over the
  scale lambda; the accuracy that survives.

Each trained network is scored on 2000 fresh trials (a seed never used in training), and its
spikes on 400 trials give the spike statistics (rates per population, ISI CV, Fano factor of the
stimulus-epoch counts per condition); figures: raster, PSTH and statistics. Writes
``<out>/spiking_<name>.json`` and ``.png`` (``spiking_<name>_seed<k>`` for ``--seed k`` other
than 0).

Usage::

    python examples/reproductions/spiking_tasks.py --out examples/reproductions/results \\
        --runs pdm go_no_go            # or any subset; all by default
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure

from brainlike import analysis, viz
from brainlike.models import RateRNN, make, rate_to_spiking
from brainlike.tasks import make as make_task
from brainlike.tasks.context_decision import ContextDecision
from brainlike.training import FiringRatePenalty, evaluate, train

# Dale's law (pdm_dale): the settings that train, found by the ablation in docs/spiking.md
# ("Dale's law"): with the model's defaults (w_in_gain 2, spectral radius 1.5, readout from E
# units only, rectified weights) the untrained network fired at ~30 Hz, near the 50 Hz ceiling
# of dt = 20 ms (one spike per step); training drove it towards saturation, where the stimulus
# could no longer be decoded from its rates, and it stayed at 0 % (readout from E units) or at
# chance (readout from E and I) for 300-800 steps. What trains: inputs of gain 1, a
# spectral radius of 1, readout from both populations (negative from I units), |w| as the
# positive map (a weight cannot die at 0), a firing-rate penalty above 20 Hz and Adam at 1e-2.
DALE = {"type": "dale", "e_fraction": 0.8, "spectral_radius": 1.0, "readout_from": "all",
        "positive": "abs"}
DALE_TRAINING = dict(n=64, batch=32, lr=1e-2, penalty=(1.0, 20.0, 1.0))
RUNS = {
    "pdm": dict(task="perceptual_decision", n=128, steps=2000, criterion="ceiling"),
    "pdm_dale": dict(task="perceptual_decision", steps=2000, criterion="ceiling", **DALE_TRAINING,
                     model=dict(connectivity=DALE, w_in_gain=1.0)),
    # the same network and training without Dale's law: what the constraint costs
    "pdm_free64": dict(task="perceptual_decision", steps=2000, criterion="ceiling", **DALE_TRAINING,
                       model=dict(w_in_gain=1.0)),
    "go_no_go": dict(task="go_no_go", n=64, steps=2000, criterion=0.95),
    # Slow synapses (tau_syn 500 ms, recurrent gain scaled by 100/500 to keep W f tau_syn) carry
    # the choice through the 300-1500 ms delay; with tau_syn 100 or 200 ms the side was lost in
    # the delay (decoder at chance) and training stayed at chance for 1200-1600 steps.
    "context": dict(task="context_decision", n=64, steps=2000, criterion="ceiling", batch=32,
                    lr=3e-3, penalty=(1.0, 20.0, 1.0),
                    model=dict(tau_syn=500.0, w_rec_gain=0.2, input_synapse=True)),
    # Dale's law on the context task: the Dale settings with the slow synapses above (the
    # spectral radius scaled by 100/500 like w_rec_gain), inputs to the I units too, Adam 3e-3,
    # and the inputs split (h13c, docs/spiking.md): the stimuli and the context cue through the
    # 500 ms synapse (they are integrated there, as in ``context``), the fixation input into the
    # membrane. All through the synapse, the network never answered (the go cue is an
    # excitatory input turning off, and every path from its offset to a rise in activity passes
    # through a current that falls by only 18 % in 100 ms: 0.000 through 2000 steps); all into
    # the membrane, it answered but nothing crossed the delay (0.485 after 4000 steps).
    # The decision epoch weighs 5 in the training loss (as Yang et al. 2019's response period;
    # it is 5 of ~110 steps): with weight 1 the stimulus was used (0.65 at 800 steps) but less.
    "context_dale": dict(task="context_decision", steps=4000, criterion="ceiling",
                         **{**DALE_TRAINING, "lr": 3e-3}, decision_weight=5.0,
                         model=dict(connectivity={**DALE, "spectral_radius": 0.2, "inputs_to": "all"},
                                    w_in_gain=1.0, tau_syn=500.0,
                                    input_synapse=[1, 2, 3, 4, 5, 6])),
}
RUNS["context_dale128"] = {**RUNS["context_dale"], "n": 128}
DT = 20.0
SIGMA = 0.1  # membrane noise (std of the free membrane, threshold 1): trial-to-trial variability
EVAL_SEED = 10_000  # never used by training (its trials come from streams [seed, 0/1, step])


class _DecisionWeighted(ContextDecision):
    """The context task with its decision epoch weighing ``weight`` in the training loss (the
    trials, their inputs and the score are the task's own)."""

    def __init__(self, weight: float, **kwargs) -> None:
        super().__init__(**kwargs)
        self.weight = weight

    def fill(self, trials, conditions) -> None:
        super().fill(trials, conditions)
        trials.mask[trials.epoch("decision")] *= self.weight


def _figure(model, task, name, stats_window) -> tuple[Figure, dict]:
    batch = task.generate(400, seed=EVAL_SEED + 1)
    with torch.no_grad():  # with the membrane noise: spike counts vary from trial to trial
        gen = torch.Generator().manual_seed(1)
        spikes = model(torch.tensor(batch.inputs), generator=gen).activity.numpy()
    sign = None if model.connectivity is None else model.connectivity.cell_sign
    pops = None if sign is None else {"E": (sign > 0).numpy(), "I": (sign < 0).numpy()}
    key = "ground_truth" if "ground_truth" in batch.conditions else next(iter(batch.conditions))
    start, stop = (int(v) for v in np.asarray(batch.epochs[stats_window])[0])
    fixed = (np.asarray(batch.epochs[stats_window]) == [start, stop]).all()
    window = (start, stop) if fixed and batch.lengths.min() >= stop else None
    stats = analysis.spike_statistics(spikes, task.dt, populations=pops,
                                      keys=batch.conditions[key], lengths=batch.lengths,
                                      window=window)
    rates = analysis.psth(spikes, task.dt, batch.conditions[key], lengths=batch.lengths,
                          smooth_ms=60.0)
    top = np.argsort(-stats.unit_rates_hz)[:2].tolist()
    epochs = {k: tuple(np.asarray(v)[0].tolist()) for k, v in batch.epochs.items()}
    figs = [viz.raster(spikes[0], dt=task.dt, populations=pops, epochs=epochs,
                       title=f"{name}: one trial"),
            viz.psth_figure(rates, units=top, labels=[f"{key}={g}" for g in rates.groups]),
            viz.spike_statistics_figure(stats, title=name)]
    summary = {
        "mean_rate_hz": stats.mean_rate_hz,
        "population_rates_hz": stats.population_rates_hz,
        "mean_isi_cv": stats.mean_isi_cv,
        "mean_fano": stats.mean_fano,
        "fano_window": list(window) if window else "whole trial",
        "silent_units": int((stats.unit_rates_hz == 0).sum()),
    }
    return figs, summary


def _save_figs(figs, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvases = []
    for f in figs:
        FigureCanvasAgg(f).draw()
        canvases.append(np.asarray(f.canvas.buffer_rgba()))
    width = max(c.shape[1] for c in canvases)
    padded = [np.pad(c, ((0, 0), (0, width - c.shape[1]), (0, 0)), constant_values=255)
              for c in canvases]
    import matplotlib.image as mpimg

    mpimg.imsave(path, np.concatenate(padded, axis=0))


def _sign_violations(model) -> int | None:
    """Recurrent weights whose sign differs from their presynaptic unit's (Dale's law)."""
    if model.connectivity is None or model.connectivity.cell_sign is None:
        return None
    w = model.effective_weights().w_rec.detach()
    sign = model.connectivity.cell_sign
    return int((w * sign[None, :] < 0).sum())


def run_task(name: str, out: Path, seed: int, checkpoints: Path | None = None) -> dict:
    spec = dict(RUNS[name])
    task = make_task(spec["task"], dt=DT)
    ceiling = task.ceiling
    # Train to 95 % of the ceiling on 500 trials, so that the score on 2000 fresh trials (the
    # result) clears the target of 90 %: a first crossing of 90 % on 500 trials is often luck.
    criterion = 0.95 * ceiling if spec["criterion"] == "ceiling" else spec["criterion"]
    model = make("spiking", task.n_inputs, spec["n"], task.n_outputs, dt=DT, seed=seed,
                 sigma_rec=SIGMA, **spec.get("model", {}))
    penalty = spec.get("penalty")
    penalties = [] if penalty is None else [FiringRatePenalty(*penalty)]
    start = time.perf_counter()

    def progress(info):
        if "accuracy" in info.metrics:
            print(f"{name} step {info.step} accuracy {info.metrics['accuracy']:.3f}", flush=True)

    weight = spec.get("decision_weight")
    train_task = task if weight is None else _DecisionWeighted(weight, dt=DT)
    result = train(model, train_task, steps=spec["steps"], batch_size=spec.get("batch", 64),
                   lr=spec.get("lr", 3e-3), penalties=penalties, criterion=criterion, seed=seed,
                   eval_every=50, eval_trials=500, callbacks=[progress],
                   out=None if checkpoints is None else checkpoints / name)
    seconds = time.perf_counter() - start
    final = evaluate(model, task, n_trials=2000, seed=EVAL_SEED)
    figs, spikes = _figure(model, task, name, "stimulus")
    stem = f"spiking_{name}" if seed == 0 else f"spiking_{name}_seed{seed}"
    _save_figs(figs, out / f"{stem}.png")
    summary = {
        "run": name, "task": spec["task"], "dt_ms": DT, "n_hidden": spec["n"],
        "batch_size": spec.get("batch", 64), "lr": spec.get("lr", 3e-3),
        "firing_rate_penalty": None if penalty is None else dict(
            zip(("low_hz", "high_hz", "strength"), penalty)),
        "decision_weight": weight,
        "model": model.config(), "seed": seed, "criterion": criterion, "ceiling": ceiling,
        "status": result.status, "steps": result.steps, "train_seconds": round(seconds, 1),
        "accuracy_2000": final.accuracy,
        "fraction_of_ceiling": None if ceiling is None else final.accuracy / ceiling,
        "spikes": spikes, "sign_violations": _sign_violations(model),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    (out / f"{stem}.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _spiking_accuracy(snn, task, n_trials: int, seed: int) -> float:
    """Score a spiking net simulated at a finer dt: inputs held for dt_task / dt_spk steps, the
    outputs read at the end of each task step."""
    factor = round(task.dt / snn.dt)
    batch = task.generate(n_trials, seed=seed)
    x = torch.tensor(np.repeat(batch.inputs, factor, axis=1))
    with torch.no_grad():
        out = snn(x, noise=False).outputs[:, factor - 1::factor].numpy()
    return float(task.score(out, batch).accuracy)


def run_transfer(out: Path, seed: int) -> dict:
    task = make_task("go_no_go", dt=DT)
    # Kim et al.'s rate model: sigmoid units (bounded rates; a ReLU network trained here reached
    # rates of ~100, which no spiking unit can follow).
    rnn = RateRNN(task.n_inputs, 64, task.n_outputs, dt=DT, tau=100.0, activation="sigmoid",
                  seed=seed)
    result = train(rnn, task, steps=2000, criterion=0.99, seed=seed)
    rate_acc = evaluate(rnn, task, n_trials=1000, seed=EVAL_SEED).accuracy
    # Grid search on 100 trials (as Kim et al.) over the scale lambda and the bias shift: the LIF
    # f-I curve (tau_mem 10 ms, 2 ms refractory) has a slope of tau_syn / tau_mem = 10 spikes
    # per time constant per unit current, the sigmoid 1/4 at 0, so lambda ~ 40 matches the
    # slopes, and a shift of ~4 the sigmoid's rate of 1/2 at 0.
    grid = {}
    for lam in (10.0, 20.0, 40.0, 80.0):
        for shift in (1.0, 2.0, 4.0):
            snn = rate_to_spiking(rnn, lam, dt=1.0, bias_shift=shift)
            grid[f"scale={lam:g},shift={shift:g}"] = (
                _spiking_accuracy(snn, task, 100, EVAL_SEED + 2), lam, shift)
    best = max(grid, key=lambda k: grid[k][0])
    _, lam, shift = grid[best]
    snn = rate_to_spiking(rnn, lam, dt=1.0, bias_shift=shift)
    spk_acc = _spiking_accuracy(snn, task, 1000, EVAL_SEED)
    summary = {
        "run": "transfer", "task": "go_no_go", "rate_model": rnn.config(),
        "rate_training_steps": result.steps, "rate_accuracy_1000": rate_acc,
        "spiking_dt_ms": 1.0, "grid_accuracy_100": {k: v[0] for k, v in grid.items()},
        "best": best, "spiking_accuracy_1000": spk_acc,
        "fraction_surviving": spk_acc / rate_acc,
    }
    (out / "spiking_transfer.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--runs", nargs="*", default=[*RUNS, "transfer"],
                        choices=[*RUNS, "transfer"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoints", type=Path, default=None,
                        help="train in run directories here (checkpoints; an interrupted run resumes)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.runs:
        summary = run_transfer(args.out, args.seed) if name == "transfer" else run_task(
            name, args.out, args.seed, args.checkpoints)
        print(json.dumps({k: v for k, v in summary.items() if k not in ("model", "rate_model")}),
              flush=True)


if __name__ == "__main__":
    main()

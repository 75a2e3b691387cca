"""Context-dependent selection and integration (Mante, Sussillo, Shenoy & Newsome 2013).

A RateRNN (64 ReLU units, tau = 100 ms, dt = 20 ms, sigma_rec = 0.05) is trained on
``context_decision``: noisy motion and colour evidence arrive together, a context cue says which
one to report. Mante et al. found in monkey prefrontal cortex (and in an RNN trained on the same
task) that the *irrelevant* input is still represented in the population, yet it is not
integrated into the choice. We show the same on the regression (TDR) axes of the network:

* axes: ``targeted_dimensionality_reduction`` over the stimulus period with the variables
  choice (+-1), motion coherence, colour coherence and context (+-1), orthogonalized in that
  order (Mante et al. Fig. 2);
* **represented**: in each context, the slope of the motion-axis projection (averaged over the
  stimulus) on motion coherence, and of the colour-axis projection on colour coherence; the
  irrelevant input's slope is a large fraction of the relevant one's;
* **not integrated**: in each context, the end-of-stimulus choice-axis projection regressed on
  both coherences; the irrelevant coherence's slope is a small fraction of the relevant one's.
  Behaviour says the same: psychometric curves per context are steep for the relevant
  coherence and flat for the irrelevant one.

Writes ``results/mante_context.json`` and ``results/mante_context.png``.
Run: ``OMP_NUM_THREADS=1 python examples/reproductions/mante_context.py`` (a few minutes on one
CPU core).
"""

from __future__ import annotations

import json
import time

import numpy as np
import torch
from _cli import out_dir
from matplotlib.figure import Figure

from brainlike.analysis import fit_psychometric, targeted_dimensionality_reduction
from brainlike.models import RateRNN
from brainlike.tasks import make
from brainlike.training import evaluate, train

OUT = out_dir()  # --out DIR, default results/ (the committed results)
SEED = 0
CONTEXTS = {0: "motion", 1: "color"}  # the task's ``context`` condition


def _slopes(y: np.ndarray, *xs: np.ndarray) -> np.ndarray:
    """Least-squares slopes of ``y`` on the columns ``xs`` (with an intercept)."""
    design = np.column_stack([*xs, np.ones_like(y)])
    return np.linalg.lstsq(design, y, rcond=None)[0][: len(xs)]


def main() -> dict:
    torch.set_num_threads(1)
    task = make("context_decision", dt=20.0)
    model = RateRNN(task.n_inputs, 64, task.n_outputs, tau=100.0, dt=20.0, sigma_rec=0.05,
                    seed=SEED)
    t0 = time.perf_counter()
    result = train(model, task, steps=2000, batch_size=64, lr=5e-3, eval_every=100,
                   eval_trials=300, criterion=0.85, seed=SEED)
    train_s = time.perf_counter() - t0
    ev = evaluate(model, task, n_trials=2000, seed=1)

    # Behaviour: P(choice 2) against each coherence, one fit per context.
    answered = ev.decision > 0
    cond = {k: np.asarray(v)[answered] for k, v in ev.conditions.items()}
    chose_2 = ev.decision[answered] == 2
    behaviour = {}
    for ctx, name in CONTEXTS.items():
        sel = cond["context"] == ctx
        for var in ("motion", "color"):
            fit = fit_psychometric(cond[f"{var}_coherence"][sel], chose_2[sel])
            behaviour[f"{name}_context_{var}"] = {"bias": fit.bias, "scale": fit.scale,
                                                  "slope_at_bias": 1 / (4 * fit.scale)}
    accuracy_by_context = {
        name: float(np.asarray(ev.correct)[np.asarray(ev.conditions["context"]) == ctx].mean())
        for ctx, name in CONTEXTS.items()}

    # Population: TDR axes over the stimulus period (fixed timing: same steps in every trial).
    batch = task.generate(1500, seed=3)
    with torch.no_grad():
        out, act, _ = model(torch.tensor(batch.inputs, dtype=torch.float32),
                            generator=torch.Generator().manual_seed(3))
    decision = task.score(out.numpy(), batch).decision
    keep = decision > 0
    s0, s1 = (int(v) for v in batch.epochs["stimulus"][0])
    assert (batch.epochs["stimulus"] == (s0, s1)).all()
    stim = act.numpy()[keep, s0:s1]
    c = {k: np.asarray(v)[keep] for k, v in batch.conditions.items()}
    motion, color = c["motion_coherence"] / 50.0, c["color_coherence"] / 50.0
    context = np.where(c["context"] == 1, 1.0, -1.0)
    choice = np.where(decision[keep] == 2, 1.0, -1.0)
    tdr = targeted_dimensionality_reduction(
        stim, {"choice": choice, "motion": motion, "color": color, "context": context})
    proj = tdr.transform(stim)  # (B, T, 4): choice, motion, colour, context
    ax_of = {name: i for i, name in enumerate(tdr.names)}

    population = {}
    for ctx, name in CONTEXTS.items():
        sel = c["context"] == ctx
        mean_proj = proj[sel].mean(1)
        end_choice = proj[sel, -1, ax_of["choice"]]
        b_motion, b_color = _slopes(end_choice, motion[sel], color[sel])
        population[f"{name}_context"] = {
            "motion_axis_slope_on_motion": float(
                _slopes(mean_proj[:, ax_of["motion"]], motion[sel])[0]),
            "color_axis_slope_on_color": float(
                _slopes(mean_proj[:, ax_of["color"]], color[sel])[0]),
            "choice_axis_end_slope_on_motion": float(b_motion),
            "choice_axis_end_slope_on_color": float(b_color),
        }
    m, co = population["motion_context"], population["color_context"]
    selection = {
        # Representation of the irrelevant input relative to the relevant one (about 1: kept).
        "motion_representation_irrelevant_over_relevant":
            co["motion_axis_slope_on_motion"] / m["motion_axis_slope_on_motion"],
        "color_representation_irrelevant_over_relevant":
            m["color_axis_slope_on_color"] / co["color_axis_slope_on_color"],
        # Integration into the choice of the irrelevant input relative to the relevant one
        # (about 0: not integrated).
        "motion_integration_irrelevant_over_relevant":
            co["choice_axis_end_slope_on_motion"] / m["choice_axis_end_slope_on_motion"],
        "color_integration_irrelevant_over_relevant":
            m["choice_axis_end_slope_on_color"] / co["choice_axis_end_slope_on_color"],
    }
    summary = {
        "train_steps": result.steps, "train_status": result.status, "train_seconds": train_s,
        "accuracy": ev.accuracy, "accuracy_by_context": accuracy_by_context,
        "ceiling": task.ceiling, "fraction_answered": float(answered.mean()),
        "psychometric_by_context": behaviour,
        "tdr_axes": list(tdr.names),
        "tdr_raw_axis_cosines": np.round(
            (tdr.raw_axes / np.linalg.norm(tdr.raw_axes, axis=1, keepdims=True))
            @ (tdr.raw_axes / np.linalg.norm(tdr.raw_axes, axis=1, keepdims=True)).T,
            3).tolist(),
        "n_trials_population": int(keep.sum()),
        "population_slopes": population,
        "selection": selection,
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "mante_context.json").write_text(json.dumps(summary, indent=2) + "\n")

    import matplotlib as mpl

    cm = mpl.colormaps["coolwarm"]
    fig = Figure(figsize=(13, 8))
    axes = fig.subplots(2, 3)
    levels = np.unique(c["motion_coherence"])
    for row, (ctx, name) in enumerate(CONTEXTS.items()):
        for col, var in enumerate(("motion", "color")):
            a = axes[row, col]
            values = c[f"{var}_coherence"]
            for level in levels:
                sel = (c["context"] == ctx) & (values == level)
                traj = proj[sel].mean(0)
                colour = cm(0.5 + 0.5 * level / levels.max())
                a.plot(traj[:, ax_of["choice"]], traj[:, ax_of[var]], color=colour, lw=1.2,
                       label=f"{level:+g}%")
                a.plot(traj[-1, ax_of["choice"]], traj[-1, ax_of[var]], "o", color=colour, ms=3)
            rel = "relevant" if var == name else "irrelevant"
            a.set(title=f"{name} context: by {var} coherence ({rel})", xlabel="choice axis",
                  ylabel=f"{var} axis")
            if row == 0 and col == 0:
                a.legend(fontsize=6)
    labels = ["motion\nrepresented", "color\nrepresented", "motion\nintegrated",
              "color\nintegrated"]
    vals = [selection["motion_representation_irrelevant_over_relevant"],
            selection["color_representation_irrelevant_over_relevant"],
            selection["motion_integration_irrelevant_over_relevant"],
            selection["color_integration_irrelevant_over_relevant"]]
    axes[0, 2].bar(labels, vals, color=["C0", "C0", "C3", "C3"])
    axes[0, 2].axhline(1.0, color="0.5", lw=0.8)
    axes[0, 2].set(title="irrelevant / relevant slope", ylabel="ratio")
    xs = np.linspace(-50, 50, 101)
    for name in CONTEXTS.values():
        for var, ls in (("motion", "-"), ("color", "--")):
            fit = behaviour[f"{name}_context_{var}"]
            p = 1 / (1 + np.exp(-(xs - fit["bias"]) / fit["scale"]))
            axes[1, 2].plot(xs, p, ls, color="C0" if name == "motion" else "C1",
                            label=f"{name} ctx, vs {var}")
    axes[1, 2].set(title="psychometric curves per context", xlabel="coherence (%)",
                   ylabel="P(choice 2)")
    axes[1, 2].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(OUT / "mante_context.png", dpi=110)
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()

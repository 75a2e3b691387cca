"""Primer Figure 6A-C: parametric working memory held on an approximate line attractor.

A RateRNN (64 ReLU units, tau = dt = 100 ms as in the primer's notebook) is trained on
``parametric_working_memory`` (Romo et al. 1999). Then, with the input held at its delay-period
value (fixation on, no stimulus), fixed points are searched from 1024 delay-period states
(:func:`brainlike.analysis.find_fixed_points`), and we check the primer's claims:

* (A) delay-period trajectories separate by f1 in the leading principal components;
* (B) the fixed points lie along a line that spans the range of f1 (f1 is decodable from the
  position along the line of the state at the end of the delay);
* (C) at each fixed point the Jacobian has one eigenvalue near 1 whose eigenvector is aligned
  with the line, the rest well inside the unit circle.

A trained network's line is approximate: its exact fixed points are few (counted separately,
``q < 1e-12``), and f1 is held on a manifold of slow points. As in the primer's notebook (whose
search ends at a loss of ~1e-4), the line is therefore drawn through approximate fixed points,
``q < TOL_Q = 1e-4``.

Writes ``results/fig6_pwm.json`` and ``results/fig6_pwm.png``.
Run: ``OMP_NUM_THREADS=1 python examples/reproductions/fig6_parametric_working_memory.py``
(a few minutes on one CPU core).
"""

from __future__ import annotations

import json
import time

import numpy as np
import torch
from _cli import out_dir
from matplotlib.figure import Figure

from brainlike.analysis import (
    find_fixed_points,
    line_attractor,
    model_step_fn,
    sample_states,
    trajectory_pca,
)
from brainlike.models import RateRNN
from brainlike.tasks import make
from brainlike.training import evaluate, train

OUT = out_dir()  # --out DIR, default results/ (the committed results)
SEED = 0
DELAY = 3000.0
TOL_Q = 1e-4


def main() -> dict:
    torch.set_num_threads(1)
    task = make("parametric_working_memory")
    model = RateRNN(task.n_inputs, 64, task.n_outputs, tau=100.0, dt=task.dt, sigma_rec=0.05,
                    seed=SEED)
    t0 = time.perf_counter()
    # No early stop: the long delays need the full budget (criterion only on the last eval).
    result = train(model, task, steps=3000, batch_size=32, lr=3e-3, eval_every=500, seed=SEED)
    train_s = time.perf_counter() - t0
    accuracy = evaluate(model, task, n_trials=1000, seed=1).accuracy

    # Long fixed delay, every f1 in the task's range.
    probe_task = make("parametric_working_memory", timing={"delay": DELAY})
    f1 = np.repeat(np.array([10.0, 14.0, 18.0, 22.0, 26.0, 30.0, 34.0]), 30)
    f2 = np.where(f1 > 22.0, f1 - 8.0, f1 + 8.0)
    batch = probe_task.generate(f1.size, seed=3, conditions={"f1": f1, "f2": f2})
    with torch.no_grad():
        _, act, _ = model(torch.tensor(batch.inputs, dtype=torch.float32),
                          generator=torch.Generator().manual_seed(3))
    act = act.numpy()
    d0, d1 = (int(v) for v in batch.epochs["delay"][0])
    delay = act[:, d0:d1]
    pca = trajectory_pca(delay, f1, n_components=3)

    starts = sample_states(delay, 1024, noise=0.01, seed=0)
    u = torch.tensor([1.0, 0.0])
    t0 = time.perf_counter()
    fn = model_step_fn(model, u)
    exact = find_fixed_points(fn, starts)
    fps = find_fixed_points(fn, starts, tol_q=TOL_Q)
    fp_s = time.perf_counter() - t0
    la = line_attractor(fps)
    end = delay[:, -1]
    pos_end = (end - fps.points.mean(0)) @ la.axis
    r_f1 = float(np.corrcoef(pos_end, f1)[0, 1])
    # Span: range of the fixed points along the axis vs the range of delay-end states.
    span_fp = float(np.ptp(la.position))
    span_states = float(np.ptp(pos_end))
    mags = np.abs(fps.eigenvalues)
    second = mags[:, 1]
    summary = {
        "train_steps": result.steps, "train_status": result.status, "train_seconds": train_s,
        "accuracy": accuracy,
        "pca_explained_variance_ratio": pca.explained_variance_ratio.tolist(),
        "fixed_point_search_seconds": fp_s,
        "n_starts": 1024, "tol_q": TOL_Q,
        "n_fixed_points": len(fps.points),
        "n_exact_fixed_points_q_below_1e-12": len(exact.points),
        "n_slow_points_at_1e-12": len(exact.slow_points),
        "exact_fixed_point_eigenvalue_closest_to_1": (
            line_attractor(exact).eigenvalues.real.tolist() if len(exact.points) else []),
        "n_stable": int(fps.is_stable.sum()),
        "eigenvalue_closest_to_1": {
            "median": float(np.median(la.eigenvalues.real)),
            "min": float(la.eigenvalues.real.min()), "max": float(la.eigenvalues.real.max())},
        "second_largest_abs_eigenvalue_median": float(np.median(second)),
        "slow_direction_alignment_with_line_median": float(np.median(la.alignment)),
        "corr_f1_vs_position_of_delay_end_state_along_line": r_f1,
        "span_of_fixed_points_along_line": span_fp,
        "span_of_delay_end_states_along_line": span_states,
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "fig6_pwm.json").write_text(json.dumps(summary, indent=2) + "\n")

    fig = Figure(figsize=(13, 4.2), layout="constrained")
    ax = fig.subplots(1, 3)
    colors = np.linspace(0, 1, len(pca.groups))
    import matplotlib as mpl

    cm = mpl.colormaps["viridis"]
    for g, c in zip(range(len(pca.groups)), colors):
        ax[0].plot(*pca.projections[g, :, :2].T, color=cm(c), label=f"f1={pca.groups[g]:g}")
        ax[0].plot(*pca.projections[g, -1, :2], "o", color=cm(c))
    fp2 = pca.transform(fps.points)
    ax[0].plot(*fp2[:, :2].T, "x", color="k", ms=4, label="fixed points")
    ax[0].set(title="A  delay trajectories (PCA)\nand fixed points", xlabel="PC1", ylabel="PC2")
    ax[0].legend(fontsize=6)
    ax[1].scatter(f1, pos_end, c=f1, cmap="viridis", s=8)
    ax[1].axhspan(la.position.min(), la.position.max(), color="0.85", label="fixed points")
    ax[1].set(title=f"B  position along the line (r = {r_f1:.2f})", xlabel="f1 (Hz)",
              ylabel="delay-end state on line axis")
    ax[1].legend(fontsize=7)
    k = int(np.argmin(np.abs(la.position)))
    ev = fps.eigenvalues[k]
    th = np.linspace(0, 2 * np.pi, 200)
    ax[2].plot(np.cos(th), np.sin(th), color="0.6", lw=0.8)
    ax[2].plot(ev.real, ev.imag, "o", ms=3)
    ax[2].set(title="C  Jacobian eigenvalues\nat a central fixed point", xlabel="Re",
              ylabel="Im", aspect="equal")
    fig.savefig(OUT / "fig6_pwm.png", dpi=110)
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()

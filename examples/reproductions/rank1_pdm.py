"""A rank-1 RNN on perceptual decisions (Mastrogiuseppe & Ostojic 2018; Dubreuil et al. 2022).

``W = m n^T / N`` with trainable vectors ``m, n`` (``LowRank(N, rank=1)``), 100 ReLU units,
sigma_rec = 0.15, tau = 100 ms, dt = 20 ms, on ``perceptual_decision``. The network trains to 97%
of the task's ideal-observer ceiling (or a step budget) and is evaluated on 2000 new trials.

Then the geometry: with ``z_t = W r_{t-1} + W_x x_t + b`` the synaptic input of the rate network
(Eq. 27), ``W r = m (n^T r / N)``, so the noise-free input currents lie in
``span(m, columns of W_x, b)`` (5 of 100 dimensions) and the recurrent part is the single
latent ``kappa_t = n^T r_t / N`` along ``m``. We measure the fraction of the currents' variance
outside that span (0 up to float error) and outside ``span(columns of W_x, b)`` alone (the part
``m`` carries), the rank of the trained ``W``, and how well ``kappa`` at the end of the stimulus
predicts the choice.

Writes ``results/rank1_pdm.json`` and ``results/rank1_*.png``.
Run: ``python examples/reproductions/rank1_pdm.py`` (about a minute per seed).
"""

from __future__ import annotations

import json
import time

import numpy as np
import torch
from _cli import out_dir
from matplotlib.figure import Figure

from brainlike.models import LowRank, RateRNN
from brainlike.tasks import make
from brainlike.training import evaluate, train

OUT = out_dir()  # --out DIR, default results/ (the committed results)
SEEDS = range(3)
N, SIGMA_REC = 100, 0.15
MAX_STEPS, BATCH, LR = 3000, 32, 1e-2


def _outside(z: np.ndarray, basis: np.ndarray) -> float:
    """Fraction of the (uncentered) energy of rows of z outside span(columns of basis)."""
    q, _ = np.linalg.qr(basis)
    resid = z - (z @ q) @ q.T
    return float((resid**2).sum() / (z**2).sum())


def run_seed(seed: int, task) -> dict:
    conn = LowRank(N, rank=1, seed=seed)
    model = RateRNN(task.n_inputs, N, task.n_outputs, tau=100.0, dt=task.dt, sigma_rec=SIGMA_REC,
                    connectivity=conn, seed=seed)
    t0 = time.perf_counter()
    result = train(model, task, steps=MAX_STEPS, batch_size=BATCH, lr=LR, eval_every=100,
                   eval_trials=500, criterion=0.97 * task.ceiling, seed=seed)
    seconds = time.perf_counter() - t0
    accuracy = evaluate(model, task, n_trials=2000, seed=1000 + seed).accuracy
    batch = task.generate(500, seed=2000 + seed)
    x = torch.tensor(batch.inputs)
    with torch.no_grad():
        out = model(x, noise=False)
        w = model.effective_weights()
        r_prev = torch.cat([model.r0.expand(len(x), 1, N), out.activity[:, :-1]], dim=1)
        z = (r_prev @ w.w_rec.T + x @ w.w_in.T + model.b_rec).reshape(-1, N).double().numpy()
        m = conn.m.detach().double().numpy()
        n = conn.n.detach().double().numpy()
        w_in = w.w_in.detach().double().numpy()
        b = model.b_rec.detach().double().numpy()[:, None]
        kappa = (out.activity.double().numpy() @ n)[..., 0] / N
    # Rank at float32 precision (the matrix is computed in float32), and the singular values.
    rank = int(torch.linalg.matrix_rank(w.w_rec.detach()))
    sv = torch.linalg.svdvals(w.w_rec.detach().double())
    sv_ratio = float(sv[1] / sv[0])
    stim_end = batch.epochs["stimulus"][:, 1] - 1
    k_end = kappa[np.arange(len(x)), stim_end]
    choice = batch.conditions["ground_truth"]
    # Best single threshold on kappa at the end of the stimulus, either sign.
    thresholds = np.sort(k_end)
    accs = [max(np.mean((k_end > t) == (choice == 2)), np.mean((k_end <= t) == (choice == 2)))
            for t in thresholds]
    return {
        "seed": seed, "steps": result.steps, "status": result.status, "train_seconds": seconds,
        "accuracy": accuracy, "fraction_of_ceiling": accuracy / task.ceiling, "rank_of_w": rank,
        "second_over_first_singular_value": sv_ratio,
        "current_energy_outside_span_m_inputs_bias": _outside(z, np.hstack([m, w_in, b])),
        "current_energy_outside_span_inputs_bias": _outside(z, np.hstack([w_in, b])),
        "overlap_nTm_over_N": float((n.T @ m)[0, 0] / N),
        "kappa_threshold_choice_accuracy": float(max(accs)),
        "_kappa": kappa, "_coh": batch.conditions["signed_coherence"],
        "_stim": batch.epochs["stimulus"],
    }


def main() -> dict:
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    task = make("perceptual_decision", dt=20.0)
    runs = []
    for seed in SEEDS:
        r = run_seed(seed, task)
        print({k: v for k, v in r.items() if not k.startswith("_")}, flush=True)
        runs.append(r)
    first = runs[0]
    fig = Figure(figsize=(5, 3.4), layout="constrained")
    ax = fig.subplots()
    cohs = np.unique(first["_coh"])
    colors = {c: f"C{i}" for i, c in enumerate(cohs)}
    t_ms = np.arange(first["_kappa"].shape[1]) * task.dt
    for c in cohs:
        sel = first["_coh"] == c
        ax.plot(t_ms, first["_kappa"][sel].mean(0), color=colors[c], label=f"{c:+.1f}%")
    ax.axvspan(*(first["_stim"][0] * task.dt), color="0.9", zorder=0)
    ax.set(xlabel="time (ms)", ylabel="κ = nᵀr / N", title="rank-1 RNN: latent by signed coherence")
    ax.legend(fontsize=6, ncol=2)
    fig.savefig(OUT / "rank1_kappa.png", dpi=120)
    summary = {
        "task": "perceptual_decision", "dt": task.dt, "ceiling": task.ceiling,
        "criterion": 0.95 * task.ceiling, "n_units": N, "rank": 1, "sigma_rec": SIGMA_REC,
        "all_reach_95pct_of_ceiling": bool(all(r["fraction_of_ceiling"] >= 0.95 for r in runs)),
        "seeds": [{k: v for k, v in r.items() if not k.startswith("_")} for r in runs],
    }
    (OUT / "rank1_pdm.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()

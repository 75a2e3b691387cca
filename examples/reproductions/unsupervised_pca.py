"""Unsupervised learning recovers planted structure: Oja, Sanger, linear and nonlinear autoencoders.

Data: 3000 Gaussian samples in 8-D with planted principal axes (variances 8, 4, 2, then
0.3 ... 0.05; ``Samples.planted``, seed 1; 20 % held out), and for the nonlinear autoencoder
4000 points on a parabola in 2-D (x, x^2) plus noise of s.d. 0.01. Measured against PCA of the
training rows:

* Oja's rule, one neuron: |cos| with the first component along training, and |w|;
* Sanger's rule, three neurons: |cos| of each with its own component;
* Oja's subspace rule and a linear autoencoder (3 code units, Adam): the largest principal angle
  between what they learned and the top-3 principal subspace;
* a tanh autoencoder (hidden 32, one code unit) vs a linear one on the parabola: held-out
  reconstruction error relative to what one principal component leaves.

Writes ``results/unsupervised_pca.json`` and ``.png``.
Run: ``python examples/reproductions/unsupervised_pca.py`` (about a minute).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure
from scipy.linalg import subspace_angles

from brainlike.models import Autoencoder
from brainlike.tasks import Samples
from brainlike.training import train, train_hebbian

VARIANCES = [8.0, 4.0, 2.0, 0.3, 0.2, 0.15, 0.1, 0.05]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    torch.set_num_threads(1)
    task = Samples.planted(VARIANCES, n_examples=3000, seed=1)
    evals, evecs = np.linalg.eigh(np.cov(task.data.T.astype(np.float64)))
    pcs = evecs[:, ::-1].T

    trail = []
    oja = Autoencoder(8, 1, tied=True, bias=False, seed=0)

    def keep(info):
        w = info.model.encoder_weights[0].detach().double().numpy()[0]
        trail.append((abs(w @ pcs[0]) / np.linalg.norm(w), np.linalg.norm(w)))

    train_hebbian(oja, task, rule="oja", steps=500, batch_size=32, lr=0.02, eval_every=500,
                  callbacks=[keep])
    trail_arr = np.array(trail)

    sanger = Autoencoder(8, 3, tied=True, bias=False, seed=0)
    train_hebbian(sanger, task, rule="sanger", steps=600, batch_size=64, lr=0.03, eval_every=600)
    w = sanger.encoder_weights[0].detach().double().numpy()
    sanger_cos = np.abs((w * pcs[:3]).sum(1)) / np.linalg.norm(w, axis=1)

    subspace = Autoencoder(8, 3, tied=True, bias=False, seed=0)
    train_hebbian(subspace, task, rule="oja", steps=600, batch_size=64, lr=0.03, eval_every=600)
    v = subspace.encoder_weights[0].detach().double().numpy()
    linear = Autoencoder(8, 3, seed=0)
    lin_res = train(linear, task, steps=600, batch_size=64, lr=2e-2, eval_every=600,
                    eval_trials=600)
    dec = linear.decoder_weights[-1].detach().double().numpy()

    rng = np.random.default_rng(0)
    t = rng.uniform(-1, 1, 4000)
    curve = Samples(np.stack([t, t**2], 1) + 0.01 * rng.standard_normal((4000, 2)),
                    name="parabola")
    pca_residual = float(np.linalg.eigvalsh(np.cov(curve.data.T))[0] / 2)
    kw = dict(batch_size=64, eval_trials=800)
    lin1 = Autoencoder(2, 1, seed=0)
    lin1_loss = train(lin1, curve, steps=400, lr=3e-2, eval_every=400, **kw).history["eval_loss"][-1]
    tanh1 = Autoencoder(2, 1, hidden=[32], activation="tanh", seed=0)
    tanh1_loss = train(tanh1, curve, steps=800, lr=2e-2, eval_every=800,
                       **kw).history["eval_loss"][-1]

    report = {
        "data": {"variances": VARIANCES, "n_examples": 3000, "held_out": 600,
                 "pca_variances": evals[::-1].round(4).tolist()},
        "oja_one_neuron": {"steps": 500, "batch": 32, "lr": 0.02, "cos_final": trail_arr[-1, 0],
                           "norm_final": trail_arr[-1, 1]},
        "sanger_three": {"steps": 600, "batch": 64, "lr": 0.03, "cos": sanger_cos.tolist()},
        "oja_subspace_three": {
            "max_principal_angle_deg": float(np.degrees(subspace_angles(v.T, pcs[:3].T)).max()),
            "cos_with_each_component": (np.abs((v * pcs[:3]).sum(1))
                                        / np.linalg.norm(v, axis=1)).tolist()},
        "linear_autoencoder": {
            "steps": 600, "max_principal_angle_deg":
                float(np.degrees(subspace_angles(dec, pcs[:3].T)).max()),
            "held_out_mse": float(lin_res.history["eval_loss"][-1]),
            "pca_residual_mse": float(sum(VARIANCES[3:]) / 8)},
        "parabola": {"pca_residual_mse": pca_residual, "linear_ae_mse": float(lin1_loss),
                     "tanh_ae_mse": float(tanh1_loss),
                     "tanh_over_pca": float(tanh1_loss / pca_residual)},
        "threads": 1, "loadavg": os.getloadavg(),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "unsupervised_pca.json").write_text(json.dumps(report, indent=1))

    fig = Figure(figsize=(12, 3.6), layout="constrained")
    ax = fig.subplots(1, 3)
    ax[0].plot(trail_arr[:, 0], label="|cos(w, PC1)|")
    ax[0].plot(trail_arr[:, 1], label="|w|")
    ax[0].set_xlabel("step")
    ax[0].set_title("Oja's rule, one neuron")
    ax[0].legend()
    ax[1].bar(np.arange(3) - 0.2, sanger_cos, 0.4, label="Sanger: neuron i vs PC i")
    ax[1].bar(np.arange(3) + 0.2, report["oja_subspace_three"]["cos_with_each_component"], 0.4,
              label="Oja subspace: neuron i vs PC i")
    ax[1].set_xticks(range(3), ["1", "2", "3"])
    ax[1].set_ylim(0, 1.05)
    ax[1].set_title(f"3 neurons (Oja subspace angle "
                    f"{report['oja_subspace_three']['max_principal_angle_deg']:.1f}°)")
    ax[1].legend(fontsize=7, loc="lower left")
    x = torch.tensor(curve.evaluation_task.data[:400])
    with torch.no_grad():
        rec_lin, rec_tanh = lin1(x).outputs.numpy(), tanh1(x).outputs.numpy()
    ax[2].scatter(*x.numpy().T, s=3, c="0.6", label="held-out data")
    ax[2].scatter(*rec_lin.T, s=3, label=f"linear AE (mse {lin1_loss:.3g})")
    ax[2].scatter(*rec_tanh.T, s=3, label=f"tanh AE (mse {tanh1_loss:.2g})")
    ax[2].set_title("one code unit on a parabola")
    ax[2].legend(fontsize=7)
    fig.savefig(args.out / "unsupervised_pca.png", dpi=120)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()

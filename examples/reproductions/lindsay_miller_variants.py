"""Variants of the attention experiment (``lindsay_miller_attention.py``), one seed.

The main script finds that feature-similarity gain at one layer never raises detection above its
β = 0 level on digit overlays. This script checks whether that depends on the choice of gains:
tuning values applied at all three layers at once (β split between them, as Lindsay & Miller's
all-layer condition), only the positive tuning values (enhance, never suppress), and gradient-
derived gains (each channel's mean gradient of the detector's logit, normalized to max 1 — the
"optimal" values of Lindsay & Miller, which they found work better than tuning) at ``relu2`` and
at all layers. Metric: the detector's AUC (criterion-free), mean over the 10 categories.

Writes ``results/lindsay_miller_variants.json``.
Run: ``python examples/reproductions/lindsay_miller_variants.py`` (a few minutes on one core).
"""

from __future__ import annotations

import json
from contextlib import ExitStack

import numpy as np
import torch
from _cli import out_dir
from lindsay_miller_attention import LAYERS, READOUT, fit, overlays, readout, tuning_values
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from brainlike.models import ConvNet, apply_gain, capture_layers
from brainlike.tasks import make

OUT = out_dir()  # --out DIR, default results/ (the committed results)
BETAS = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0)
VARIANTS = ("tuning_all_layers", "tuning_positive_all_layers", "gradient_relu2", "gradient_all_layers")


def gradient_gains(net: ConvNet, x: np.ndarray, w: torch.Tensor) -> dict[str, np.ndarray]:
    """Per layer: each channel's mean gradient of the detector logit ``w · relu4``, max-normalized."""
    out = {}
    for layer in LAYERS:
        with capture_layers(net, [layer, READOUT]) as store:
            net(torch.tensor(x))
        (g,) = torch.autograd.grad((store[READOUT] @ w).sum(), [store[layer]])
        per_channel = g.reshape(g.shape[0], g.shape[1], -1).sum(-1).mean(0).numpy()
        out[layer] = per_channel / (np.abs(per_channel).max() + 1e-12)
    return out


def main(seed: int = 0) -> None:
    torch.set_num_threads(1)
    task, test = make("digits"), make("digits", split="test")
    net = fit(ConvNet(task.image_shape, 10, layers="primer", seed=seed), task, seed)
    tuning = tuning_values(net, task.data)
    rng = np.random.default_rng(seed)
    auc = {v: np.zeros((10, len(BETAS))) for v in VARIANTS}
    for c in range(10):
        x_train, y_train = overlays(task.data, c, 300, rng)
        x_test, y_test = overlays(test.data, c, 300, rng)
        detector = LogisticRegression(max_iter=2000).fit(readout(net, x_train), y_train)
        grads = gradient_gains(net, x_train, torch.tensor(detector.coef_[0], dtype=torch.float32))
        for variant in VARIANTS:
            layers = ["relu2"] if variant == "gradient_relu2" else list(LAYERS)
            for j, beta in enumerate(BETAS):
                with ExitStack() as stack:
                    for layer in layers:
                        if variant.startswith("gradient"):
                            g = grads[layer]
                        elif variant.startswith("tuning_positive"):
                            g = np.maximum(tuning[layer][c], 0.0)
                        else:
                            g = tuning[layer][c]
                        stack.enter_context(apply_gain(net, layer, g, beta / len(layers)))
                    features = readout(net, x_test)
                auc[variant][c, j] = roc_auc_score(y_test, detector.decision_function(features))
    summary = {"seed": seed, "betas": list(BETAS),
               "mean_auc": {v: a.mean(0).round(4).tolist() for v, a in auc.items()}}
    OUT.mkdir(exist_ok=True)
    (OUT / "lindsay_miller_variants.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary["mean_auc"], indent=1))


if __name__ == "__main__":
    main()

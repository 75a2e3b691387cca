"""Feature-based attention as multiplicative gain (Lindsay & Miller 2018), on digits.

Lindsay & Miller applied feature-similarity gain, ``r_k → [(1 + β f_k^c) r_k]_+`` with ``f_k^c``
the z-scored tuning of feature map ``k`` to the attended category ``c``, at one layer of a CNN and
measured how well binary category detectors read out from the last layer. Their findings: detection
of the attended category improves with moderate β and worsens for too large β; negative β (attending
away) hurts; attention at later layers helps more than at early ones.

Small-scale version: the primer's ConvNet trained on ``make("digits")``; tuning values from the
training digits (``category_tuning`` of each channel's spatial mean, or each fc unit); the
detection task uses *overlays* of two digits (mean of two images of different classes), so it is
hard enough for attention to matter: for each category ``c`` a logistic-regression detector is
fitted on the last hidden layer (``relu4``) of unattended overlays ("is a ``c`` in the image?",
half the trials yes), then scored on new overlays with attention to ``c`` at ``relu1``, ``relu2``
or ``relu3`` and strength β. Performance is the detector's accuracy averaged over the 10
categories; three seeds.

Writes ``results/lindsay_miller_attention.json`` and ``.png``.
Run: ``python examples/reproductions/lindsay_miller_attention.py`` (a few minutes on one core).
"""

from __future__ import annotations

import json

import numpy as np
import torch
from _cli import out_dir
from matplotlib.figure import Figure
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from brainlike.analysis import category_tuning
from brainlike.models import ConvNet, apply_gain, layer_activations
from brainlike.tasks import make

OUT = out_dir()  # --out DIR, default results/ (the committed results)
SEEDS = range(3)
STEPS, BATCH, LR = 1500, 64, 3e-3
BETAS = (-1.0, -0.5, -0.25, -0.1, 0.0, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0)
LAYERS = ("relu1", "relu2", "relu3")
READOUT = "relu4"
N_TRIALS = 400  # per category and split


def fit(net: ConvNet, task, seed: int) -> ConvNet:
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    for step in range(STEPS):
        batch = task.generate(BATCH, seed=[seed, 0, step])
        loss = torch.nn.functional.cross_entropy(
            net(torch.tensor(batch.inputs)).outputs, torch.tensor(batch.targets)
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net.eval()


def overlays(data, target: int, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n overlays of two digits of different classes; half contain ``target``."""
    images, labels = data.images, data.labels
    present = np.arange(n) < n // 2
    out = np.empty((n, *images.shape[1:]), np.float32)
    for i in range(n):
        if present[i]:
            a = rng.choice(np.flatnonzero(labels == target))
            b = rng.choice(np.flatnonzero(labels != target))
            while labels[b] == labels[a]:
                b = rng.choice(np.flatnonzero(labels != target))
        else:
            a, b = rng.choice(np.flatnonzero(labels != target), 2, replace=False)
            while labels[b] == labels[a]:
                b = rng.choice(np.flatnonzero(labels != target))
        out[i] = 0.5 * (images[a] + images[b])
    return out, present


def tuning_values(net: ConvNet, data) -> dict[str, np.ndarray]:
    """Per layer: (10, n_channels) z-scored category tuning of each channel (or fc unit)."""
    acts = layer_activations(net, data.images, LAYERS, flatten=False)
    out = {}
    for name, a in acts.items():
        per_channel = a.reshape(a.shape[0], a.shape[1], -1).mean(-1).numpy()
        out[name] = category_tuning(per_channel, data.labels).tuning
    return out


def readout(net: ConvNet, x: np.ndarray) -> np.ndarray:
    return layer_activations(net, x, [READOUT])[READOUT].numpy()


def run_seed(seed: int, task, test) -> dict:
    net = fit(ConvNet(task.image_shape, 10, layers="primer", seed=seed), task, seed)
    tuning = tuning_values(net, task.data)
    rng = np.random.default_rng(seed)
    acc = {layer: np.zeros((10, len(BETAS))) for layer in LAYERS}
    auc = {layer: np.zeros((10, len(BETAS))) for layer in LAYERS}
    hits = {layer: np.zeros((10, len(BETAS))) for layer in LAYERS}
    false_alarms = {layer: np.zeros((10, len(BETAS))) for layer in LAYERS}
    for c in range(10):
        x_train, y_train = overlays(task.data, c, N_TRIALS, rng)
        x_test, y_test = overlays(test.data, c, N_TRIALS, rng)
        detector = LogisticRegression(C=1.0, max_iter=2000).fit(readout(net, x_train), y_train)
        for layer in LAYERS:
            for j, beta in enumerate(BETAS):
                with apply_gain(net, layer, tuning[layer][c], beta):
                    features = readout(net, x_test)
                pred = detector.predict(features)
                acc[layer][c, j] = np.mean(pred == y_test)
                auc[layer][c, j] = roc_auc_score(y_test, detector.decision_function(features))
                hits[layer][c, j] = np.mean(pred[y_test])
                false_alarms[layer][c, j] = np.mean(pred[~y_test])
    return {
        "seed": seed,
        "accuracy": {k: v.mean(0).round(4).tolist() for k, v in acc.items()},
        "auc": {k: v.mean(0).round(4).tolist() for k, v in auc.items()},
        "hit_rate": {k: v.mean(0).round(4).tolist() for k, v in hits.items()},
        "false_alarm_rate": {k: v.mean(0).round(4).tolist() for k, v in false_alarms.items()},
    }


def summarize(runs: list[dict], metric: str) -> dict:
    mean = {layer: np.mean([r[metric][layer] for r in runs], axis=0) for layer in LAYERS}
    zero = BETAS.index(0.0)
    best = {layer: int(np.argmax(mean[layer])) for layer in LAYERS}
    return {
        "mean": {k: v.round(4).tolist() for k, v in mean.items()},
        "at_beta_0": float(mean[LAYERS[0]][zero]),
        "best_beta": {k: BETAS[v] for k, v in best.items()},
        "gain_at_best_beta": {k: round(float(mean[k][best[k]] - mean[k][zero]), 4) for k in LAYERS},
        "change_at_beta_-0.25": {
            k: round(float(mean[k][BETAS.index(-0.25)] - mean[k][zero]), 4) for k in LAYERS
        },
        "change_at_largest_beta": {k: round(float(mean[k][-1] - mean[k][zero]), 4) for k in LAYERS},
    }


def main() -> None:
    torch.set_num_threads(1)
    OUT.mkdir(exist_ok=True)
    task, test = make("digits"), make("digits", split="test")
    runs = [run_seed(s, task, test) for s in SEEDS]
    summary = {
        "betas": list(BETAS),
        "auc": summarize(runs, "auc"),
        "accuracy": summarize(runs, "accuracy"),
        "runs": runs,
        "settings": {
            "steps": STEPS,
            "batch_size": BATCH,
            "lr": LR,
            "trials_per_category": N_TRIALS,
            "readout": READOUT,
            "detector": "LogisticRegression(C=1) on unattended overlays",
        },
    }
    (OUT / "lindsay_miller_attention.json").write_text(json.dumps(summary, indent=2))
    fig = Figure(figsize=(9, 3.4), layout="constrained")
    for ax, metric, label in zip(
        fig.subplots(1, 2), ("auc", "accuracy"), ("detection AUC (criterion-free)", "detection accuracy")
    ):
        for layer in LAYERS:
            ax.plot(BETAS, summary[metric]["mean"][layer], "o-", ms=3, label=f"attention at {layer}")
        ax.axhline(summary[metric]["at_beta_0"], color="0.5", lw=0.8, ls="--")
        ax.set_xscale("symlog", linthresh=0.1)
        ax.set(xlabel="attention strength β", ylabel=label, title=f"{label}, 10 categories, 3 seeds")
        ax.legend(fontsize=7)
    fig.savefig(OUT / "lindsay_miller_attention.png", dpi=110)
    print(
        json.dumps(
            {k: {m: v for m, v in summary[k].items() if m != "mean"} for k in ("auc", "accuracy")},
            indent=1,
        )
    )


if __name__ == "__main__":
    main()

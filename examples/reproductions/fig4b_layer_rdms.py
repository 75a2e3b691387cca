"""Primer Fig. 4B: representational dissimilarity of every layer of a ConvNet trained on digits.

The primer's network (two conv layers with max pooling, two fully connected layers; Fig. 4A) is
trained on the training split of scikit-learn's 8×8 digits (``make("digits")``). For the held-out
digits, each layer's activations become a stimulus × unit ``Recording``
(``Recording.from_layers``); per layer we compute the RDM (1 − Pearson r across units, as the
primer's notebook) and its Spearman correlation with the category RDM (0 within a class, 1 between
classes). The claim checked: representations become more category-based with depth, i.e. the
correlation rises from the pixels to the last hidden layer. Three seeds.

Writes ``results/fig4b_layer_rdms.json`` and ``results/fig4b_layer_rdms.png``.
Run: ``python examples/reproductions/fig4b_layer_rdms.py`` (about a minute on one core).
"""

from __future__ import annotations

import json
import time

import numpy as np
import torch
from _cli import out_dir
from matplotlib.figure import Figure

from brainlike.analysis import RDM, compare_rdms, rdm
from brainlike.models import ConvNet
from brainlike.recordings import Recording
from brainlike.tasks import make
from brainlike.viz import layer_rdms

OUT = out_dir()  # --out DIR, default results/ (the committed results)
SEEDS = range(3)
STEPS, BATCH, LR = 1500, 64, 3e-3
LAYERS = ("relu1", "pool1", "relu2", "pool2", "relu3", "relu4", "readout")


def fit(net: ConvNet, task, seed: int) -> ConvNet:
    """Adam on cross-entropy, one fresh batch of training digits per step."""
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


def category_rdm(labels: np.ndarray) -> RDM:
    return RDM.from_matrices((labels[:, None] != labels[None, :]).astype(float))


def run_seed(seed: int, task, test) -> dict:
    net = ConvNet(task.image_shape, task.n_outputs, layers="primer", seed=seed)
    t0 = time.perf_counter()
    fit(net, task, seed)
    seconds = time.perf_counter() - t0
    order = np.argsort(test.data.labels, kind="stable")
    batch = test.batch(order)
    with torch.no_grad():
        logits = net(torch.tensor(batch.inputs)).outputs.numpy()
    accuracy = float(test.score(logits, batch).accuracy)
    recs = Recording.from_layers(net, batch, LAYERS)
    category = category_rdm(batch.targets)
    responses = {"pixels": batch.inputs.reshape(len(order), -1)}
    responses.update({k: r.data[:, 0] for k, r in recs.items()})
    corr, rdms = {}, {}
    for name, x in responses.items():
        keep = x.std(axis=0) > 0  # silent units carry no pattern (and break 1 - r for a row of 0s)
        rdms[name] = rdm(x[:, keep], "correlation")
        corr[name] = float(compare_rdms(rdms[name], category, "spearman")[0, 0])
    return {
        "seed": seed,
        "train_seconds": seconds,
        "test_accuracy": accuracy,
        "rdm_vs_category": corr,
        "_rdms": rdms,
        "_labels": batch.targets,
    }


def main() -> None:
    torch.set_num_threads(1)
    OUT.mkdir(exist_ok=True)
    task, test = make("digits"), make("digits", split="test")
    runs = [run_seed(s, task, test) for s in SEEDS]
    names = list(runs[0]["rdm_vs_category"])
    table = np.array([[r["rdm_vs_category"][n] for n in names] for r in runs])
    stages = ["pixels", "pool1", "pool2", "relu3"]  # the input, after each conv block, the first fc
    rises = [bool(np.all(np.diff([r["rdm_vs_category"][n] for n in stages]) > 0)) for r in runs]
    fc_step = [r["rdm_vs_category"]["relu4"] - r["rdm_vs_category"]["relu3"] for r in runs]
    summary = {
        "claim": "RDM-category correlation rises with depth (primer Fig. 4B)",
        "layers": names,
        "mean_correlation": dict(zip(names, table.mean(0).round(4).tolist())),
        "min_correlation": dict(zip(names, table.min(0).round(4).tolist())),
        "rises_pixels_pool1_pool2_relu3_every_seed": all(rises),
        "fc2_minus_fc1_per_seed": [round(v, 4) for v in fc_step],
        "test_accuracy": [r["test_accuracy"] for r in runs],
        "runs": [{k: v for k, v in r.items() if not k.startswith("_")} for r in runs],
        "settings": {
            "steps": STEPS,
            "batch_size": BATCH,
            "lr": LR,
            "rdm": "correlation (1 - r)",
            "comparison": "spearman",
            "stimuli": f"{test.n_images} held-out digits",
        },
    }
    (OUT / "fig4b_layer_rdms.json").write_text(json.dumps(summary, indent=2))

    fig = Figure(figsize=(12, 5.6), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.1, 1])
    show = ["pixels", "relu1", "relu2", "relu3", "relu4"]
    # Fig. 4B's layout: 5 images per class (D = 50), sorted by class
    labels = runs[0]["_labels"]
    pick = np.concatenate([np.flatnonzero(labels == c)[:5] for c in range(10)])
    small = {n: RDM.from_matrices(runs[0]["_rdms"][n].matrices[0][np.ix_(pick, pick)]) for n in show}
    layer_rdms(
        small,
        correlations={n: runs[0]["rdm_vs_category"][n] for n in show},
        labels=labels[pick],
        ax=top.subplots(1, len(show)),
    )
    ax = bottom.subplots()
    for r in runs:
        ax.plot(names, [r["rdm_vs_category"][n] for n in names], "o-", label=f"seed {r['seed']}")
    ax.set(
        ylabel="Spearman r with category RDM",
        xlabel="layer",
        title=f"{test.n_images} held-out digits; test accuracy {np.mean(summary['test_accuracy']):.3f}",
    )
    ax.legend(fontsize=7)
    fig.savefig(OUT / "fig4b_layer_rdms.png", dpi=110)
    keys = (
        "mean_correlation",
        "rises_pixels_pool1_pool2_relu3_every_seed",
        "fc2_minus_fc1_per_seed",
        "test_accuracy",
    )
    print(json.dumps({k: summary[k] for k in keys}, indent=1))


if __name__ == "__main__":
    main()

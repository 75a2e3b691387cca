"""A self-supervised (contrastive) ConvNet against a supervised one: layer by layer, RSA and CKA.

The overview seed's table of research reagents names self-supervised learning next to supervised
learning. Here the primer's ConvNet (Fig. 4A) is trained on the bundled 8×8 digits twice with the
same architecture and seed: with labels (``train``, cross-entropy) and without them
(``train_contrastive``, SimCLR's NT-Xent on two augmented views of every image, the readout
trained only as an online linear probe on the detached representation). For the 359 held-out
digits we compare

* **linear read-out**: logistic regression on the frozen last hidden layer (``relu4``), fitted on
  the 1 438 training digits, scored on the held-out ones — for pixels, the untrained network,
  the contrastive and the supervised network;
* **CKA** (linear; Kornblith et al. 2019) between every layer of the contrastive network and
  every layer of the supervised one, and the same for the untrained network (the baseline that
  architecture alone gives);
* **RSA**: Spearman correlation between the layers' RDMs (1 − Pearson r), and each layer's
  correlation with the category RDM (as primer Fig. 4B).

Three seeds. Writes ``<out>/contrastive_vs_supervised.json`` and ``.png``.
Run: ``python examples/reproductions/contrastive_vs_supervised.py`` (about 15 minutes on one core).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from brainlike.analysis import RDM, cka, compare_rdms, rdm
from brainlike.models import ConvNet, layer_activations
from brainlike.tasks import make
from brainlike.training import train, train_contrastive

SEEDS = (0, 1, 2)
LAYERS = ("relu1", "pool1", "relu2", "pool2", "relu3", "relu4")
SUPERVISED = {"steps": 1500, "batch_size": 64, "lr": 3e-3}
CONTRASTIVE = {"steps": 3000, "batch_size": 128, "lr": 1e-3, "temperature": 0.5}


def features(net: ConvNet, images: np.ndarray) -> dict[str, np.ndarray]:
    acts = layer_activations(net.eval(), images, LAYERS)
    return {k: v.numpy().astype(np.float64) for k, v in acts.items()}


def probe(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray) -> float:
    scaler = StandardScaler().fit(train_x)
    clf = LogisticRegression(max_iter=5000).fit(scaler.transform(train_x), train_y)
    return float(clf.score(scaler.transform(test_x), test_y))


def rdm_of(x: np.ndarray) -> RDM:
    keep = x.std(axis=0) > 0  # silent units carry no pattern
    return rdm(x[:, keep], "correlation")


def run_seed(seed: int, task, test) -> dict:
    order = np.argsort(test.data.labels, kind="stable")
    batch = test.batch(order)
    images, labels = batch.inputs, batch.targets
    train_images, train_labels = task.data.images, task.data.labels
    nets = {"untrained": ConvNet(task.image_shape, 10, layers="primer", seed=seed)}
    seconds = {}
    sup = ConvNet(task.image_shape, 10, layers="primer", seed=seed)
    t0 = time.perf_counter()
    res_sup = train(sup, task, **SUPERVISED, eval_every=SUPERVISED["steps"], eval_trials=359,
                    seed=seed)
    seconds["supervised"] = time.perf_counter() - t0
    ssl = ConvNet(task.image_shape, 10, layers="primer", seed=seed)
    t0 = time.perf_counter()
    res_ssl = train_contrastive(ssl, task, **CONTRASTIVE, eval_every=500, eval_trials=359,
                                seed=seed)
    seconds["contrastive"] = time.perf_counter() - t0
    nets.update(supervised=sup, contrastive=ssl)
    test_feats = {k: features(n, images) for k, n in nets.items()}
    train_feats = {k: features(n, train_images) for k, n in nets.items()}
    flat = images.reshape(len(images), -1).astype(np.float64)
    linear = {"pixels": probe(train_images.reshape(len(train_images), -1), train_labels, flat, labels)}
    linear.update({k: probe(train_feats[k]["relu4"], train_labels, test_feats[k]["relu4"], labels)
                   for k in nets})
    category = RDM.from_matrices((labels[:, None] != labels[None, :]).astype(float))
    rdms = {k: {layer: rdm_of(x) for layer, x in f.items()} for k, f in test_feats.items()}
    rdms["pixels"] = {"pixels": rdm_of(flat)}
    vs_category = {k: {layer: float(compare_rdms(r, category, "spearman")[0, 0])
                       for layer, r in layers.items()} for k, layers in rdms.items()}
    cka_matrix, rsa_matrix = {}, {}
    for k in ("contrastive", "untrained"):
        cka_matrix[k] = [[cka(test_feats[k][a], test_feats["supervised"][b]) for b in LAYERS]
                         for a in LAYERS]
        rsa_matrix[k] = [[float(compare_rdms(rdms[k][a], rdms["supervised"][b], "spearman")[0, 0])
                          for b in LAYERS] for a in LAYERS]
    return {
        "seed": seed,
        "supervised_accuracy": res_sup.accuracy,
        "contrastive_probe_accuracy_online": res_ssl.accuracy,
        "contrastive_loss_first_last": [float(res_ssl.history["contrastive_loss"][0]),
                                        float(np.mean(res_ssl.history["contrastive_loss"][-50:]))],
        "linear_readout_relu4": linear,
        "rdm_vs_category": vs_category,
        "cka_vs_supervised": cka_matrix,
        "rsa_vs_supervised": rsa_matrix,
        "train_seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    task, test = make("digits"), make("digits", split="test")
    runs = [run_seed(s, task, test) for s in SEEDS]

    def mean(path):
        return np.mean([np.asarray(path(r), dtype=float) for r in runs], axis=0)

    cka_mean = {k: mean(lambda r, k=k: r["cka_vs_supervised"][k]) for k in ("contrastive", "untrained")}
    rsa_mean = {k: mean(lambda r, k=k: r["rsa_vs_supervised"][k]) for k in ("contrastive", "untrained")}
    summary = {
        "layers": list(LAYERS),
        "linear_readout_relu4_mean": {
            k: float(mean(lambda r, k=k: r["linear_readout_relu4"][k]))
            for k in runs[0]["linear_readout_relu4"]},
        "cka_same_layer_mean": {k: dict(zip(LAYERS, np.diag(v).round(4).tolist()))
                                for k, v in cka_mean.items()},
        "rsa_same_layer_mean": {k: dict(zip(LAYERS, np.diag(v).round(4).tolist()))
                                for k, v in rsa_mean.items()},
        "cka_matrix_mean": {k: v.round(4).tolist() for k, v in cka_mean.items()},
        "rdm_vs_category_mean": {
            k: {layer: float(mean(lambda r, k=k, layer=layer: r["rdm_vs_category"][k][layer]))
                for layer in runs[0]["rdm_vs_category"][k]}
            for k in runs[0]["rdm_vs_category"]},
        "supervised_accuracy": [r["supervised_accuracy"] for r in runs],
        "contrastive_probe_accuracy_online": [r["contrastive_probe_accuracy_online"] for r in runs],
        "runs": runs,
        "settings": {"seeds": list(SEEDS), "network": "ConvNet layers='primer'",
                     "supervised": SUPERVISED, "contrastive": CONTRASTIVE,
                     "cka": "linear, biased (Kornblith et al. 2019)",
                     "rsa": "RDM 1 - Pearson r; RDMs compared by Spearman",
                     "stimuli": f"{test.n_images} held-out digits"},
    }
    name = "contrastive_vs_supervised"
    (args.out / f"{name}.json").write_text(json.dumps(summary, indent=2))

    fig = Figure(figsize=(12, 3.6), layout="constrained")
    axes = fig.subplots(1, 4)
    for a, k in zip(axes[:2], ("contrastive", "untrained")):
        im = a.imshow(cka_mean[k], vmin=0, vmax=1, cmap="viridis")
        a.set_xticks(range(len(LAYERS)), LAYERS, rotation=90, fontsize=7)
        a.set_yticks(range(len(LAYERS)), LAYERS, fontsize=7)
        a.set(xlabel="supervised layer", ylabel=f"{k} layer", title=f"CKA: {k} vs supervised")
    fig.colorbar(im, ax=axes[1], shrink=0.8)
    for k, style in (("contrastive", "o-"), ("untrained", "s--")):
        axes[2].plot(LAYERS, np.diag(cka_mean[k]), style, label=f"CKA {k}")
        axes[2].plot(LAYERS, np.diag(rsa_mean[k]), style, alpha=0.5, label=f"RSA {k}")
    axes[2].set(ylim=(0, 1), title="same layer vs supervised")
    axes[2].tick_params(axis="x", rotation=90, labelsize=7)
    axes[2].legend(fontsize=7)
    lin = summary["linear_readout_relu4_mean"]
    axes[3].bar(range(len(lin)), list(lin.values()), tick_label=list(lin), color="tab:gray")
    axes[3].set(ylim=(0.5, 1), title="linear read-out (held-out)", ylabel="accuracy")
    axes[3].tick_params(axis="x", rotation=45, labelsize=7)
    fig.savefig(args.out / f"{name}.png", dpi=110)
    print(json.dumps({k: summary[k] for k in ("linear_readout_relu4_mean", "cka_same_layer_mean",
                                               "rsa_same_layer_mean")}, indent=1))


if __name__ == "__main__":
    main()

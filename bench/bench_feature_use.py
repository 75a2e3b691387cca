"""Feature use and contrastive loss: brainlike against frites 0.4.6 and pytorch-metric-learning 2.9.

1. **Permutation-tested Gaussian-copula MI** (the core of ``feature_use``): 12 factors × 3 000
   trials of the generated shapes' reverse-correlation table, the responses of a simulated observer
   (a continuous rating and a binary choice), 1 000 permutations. brainlike: ``feature_use`` (MI,
   kernels, max-statistic p-values, plus the MI of the shape and texture groups). frites: its
   Gaussian-copula functions (``copnorm_nd`` once, then ``mi_nd_gg`` for a continuous response and
   ``gcmi_model_nd_cd`` for a choice) on the stacked permutations, one call per factor (a
   permutation of the responses is applied as the inverse permutation of the factor), then the
   same max-statistic p-values in NumPy. The MI values of every factor and permutation must agree
   (checked with the same permutations through brainlike's estimator).
2. **NT-Xent** (SimCLR): ``brainlike.training.nt_xent`` against ``pytorch_metric_learning``'s
   ``NTXentLoss`` with labels pairing the two views, forward and backward, B = 32 and 128 images
   (64 and 256 views), 32-d projections; the losses and gradients must agree.

Run: ``python bench/bench_feature_use.py [--quick]``; writes ``bench/results/feature_use.json``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import torch
from _common import loadavg, print_table, round_robin, set_threads, stats, write_results

from brainlike.analysis import SimulatedObserver, feature_use
from brainlike.analysis.features._information import (
    _mi_continuous,
    _mi_discrete,
    copula_normalize,
)
from brainlike.tasks import ShapeTextureGenerator
from brainlike.training import nt_xent

N_TRIALS, N_PERM = 3000, 1000


def frites_feature_use(x_cn: np.ndarray, response: np.ndarray, perms: np.ndarray, discrete: bool):
    """MI of every factor for the observed and the permuted responses, and max-stat p-values."""
    from frites.core import copnorm_nd, gcmi_model_nd_cd, mi_nd_gg

    n, f = x_cn.shape
    inverse = np.argsort(perms, axis=1)  # x[inv] with y fixed  ==  x with y[perm]
    rows = np.vstack([np.arange(n)[None], inverse])
    if not discrete:
        y = copnorm_nd(response.astype(np.float64), axis=0)
        y = np.broadcast_to(y, (rows.shape[0], 1, n))
    mi = np.empty((rows.shape[0], f))
    for j in range(f):
        xj = x_cn[:, j][rows][:, None, :]  # (P + 1, 1, n)
        if discrete:
            mi[:, j] = gcmi_model_nd_cd(xj, response.astype(int), mvaxis=-2, traxis=-1,
                                        gcrn=False)
        else:
            mi[:, j] = mi_nd_gg(xj, y, mvaxis=-2, traxis=-1, biascorrect=True, demeaned=False,
                                shape_checking=False)
    null_max = mi[1:].max(axis=1)
    p = (1 + (null_max[None, :] >= mi[0][:, None]).sum(axis=1)) / (1 + perms.shape[0])
    return mi, p


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="1 repeat (smoke run)")
    args = ap.parse_args()
    set_threads(1)
    import frites
    import pytorch_metric_learning
    from pytorch_metric_learning.losses import NTXentLoss

    repeats = 1 if args.quick else 7
    gen = ShapeTextureGenerator(16, seed=0)
    ids = [gen.identity(k) for k in range(gen.n_identities)]
    rc = gen.reverse_correlation_set(N_TRIALS, seed=1)
    table = {k: rc.conditions[k] for k in gen.factor_names}
    observer = SimulatedObserver({"shape": 1.0}, identities=ids, groups=gen.groups, noise=2.0, seed=0)
    rating = observer.rate(rc, 0)
    choice = (observer.evidence(rc, 0, 1) > 0).astype(int)
    x_cn = copula_normalize(np.stack([table[k] for k in gen.factor_names], 1))
    perms = np.argsort(np.random.default_rng(5).random((N_PERM, N_TRIALS)), axis=1)

    # --- agreement: the same permutations through both estimators
    agree = {}
    for name, resp, disc in (("rating", rating, False), ("choice", choice, True)):
        theirs, _ = frites_feature_use(x_cn, resp, perms, disc)
        if disc:
            rows = np.vstack([resp[None], resp[perms]])
            ours = np.stack([_mi_discrete(x_cn[:, [j]], rows) for j in range(x_cn.shape[1])], 1)
        else:
            t = copula_normalize(resp)[:, 0]
            rows = np.vstack([t[None], t[perms]])
            ours = np.stack([_mi_continuous(x_cn[:, [j]], rows) for j in range(x_cn.shape[1])], 1)
        agree[name] = {"max_abs_diff_bits": float(np.abs(ours - theirs).max()),
                       "max_mi_bits": float(ours[0].max())}

    fu = feature_use(table, {"rating": rating, "choice": choice}, discrete={"choice": True},
                     groups=gen.groups, n_permutations=N_PERM)
    timings = round_robin({
        "brainlike feature_use (both responders, + groups, kernels)": lambda: feature_use(
            table, {"rating": rating, "choice": choice}, discrete={"choice": True},
            groups=gen.groups, n_permutations=N_PERM),
        "frites GCMI, same permutations (both responders)": lambda: (
            frites_feature_use(x_cn, rating, perms, False),
            frites_feature_use(x_cn, choice, perms, True)),
    }, repeats=repeats)

    # --- NT-Xent: pml's cost grows ~B^3 (a denominator per positive pair), so B <= 128 here
    pml = NTXentLoss(temperature=0.5)
    nt = {}
    for b, reps in ((32, 5 if args.quick else 30), (128, 2 if args.quick else 7)):
        g = torch.Generator().manual_seed(0)
        z1 = torch.randn(b, 32, generator=g, requires_grad=True)
        z2 = torch.randn(b, 32, generator=g, requires_grad=True)
        labels = torch.arange(b).repeat(2)

        def ours_step(z1=z1, z2=z2):
            z1.grad = z2.grad = None
            loss = nt_xent(z1, z2, 0.5)
            loss.backward()
            return loss.detach(), z1.grad.clone()

        def theirs_step(z1=z1, z2=z2, labels=labels):
            z1.grad = z2.grad = None
            loss = pml(torch.cat([z1, z2]), labels)
            loss.backward()
            return loss.detach(), z1.grad.clone()

        (la, ga), (lb, gb) = ours_step(), theirs_step()
        t = round_robin({"brainlike": ours_step, "pml": theirs_step}, repeats=reps)
        nt[b] = {"brainlike": stats(t["brainlike"]), "pml": stats(t["pml"]),
                 "loss_brainlike": float(la), "loss_pml": float(lb),
                 "abs_diff": float((la - lb).abs()),
                 "grad_max_abs_diff": float((ga - gb).abs().max())}
        nt[b]["pml_over_brainlike"] = nt[b]["pml"]["median_ms"] / nt[b]["brainlike"]["median_ms"]

    rows = []
    names = list(timings)
    sb, sf = stats(timings[names[0]]), stats(timings[names[1]])
    rows.append([f"MI of 12 factors x {N_PERM} permutations, 2 responders", sb["median_ms"],
                 sf["median_ms"], sf["median_ms"] / sb["median_ms"],
                 f"{max(a['max_abs_diff_bits'] for a in agree.values()):.1e}"])
    for b, r in nt.items():
        rows.append([f"NT-Xent forward+backward, {2 * b} views x 32", r["brainlike"]["median_ms"],
                     r["pml"]["median_ms"], r["pml_over_brainlike"], f"{r['abs_diff']:.1e}"])
    print_table(["operation", "brainlike ms", "peer ms", "peer / brainlike", "max |diff|"], rows)
    write_results("feature_use", {
        "frites": frites.__version__, "pytorch_metric_learning": pytorch_metric_learning.__version__,
        "threads": 1, "n_trials": N_TRIALS, "n_permutations": N_PERM, "n_factors": 12,
        "gcmi": {"brainlike": sb, "frites": sf,
                 "frites_over_brainlike": sf["median_ms"] / sb["median_ms"],
                 "agreement": agree,
                 "used_by_rating": fu.used("rating"), "used_by_choice": fu.used("choice"),
                 "group_share_rating": fu.group_share("rating")},
        "nt_xent": {f"views_{2 * b}": r for b, r in nt.items()},
        "loadavg_after_timing": loadavg(),
    })


if __name__ == "__main__":
    main()

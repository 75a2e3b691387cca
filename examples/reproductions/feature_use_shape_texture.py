"""Do a network and an observer use the same features? Daube et al. (2021) in miniature.

The overview seed's central study generated faces with separately controlled shape and texture,
and asked which of them people and networks rely on: reverse correlation and information theory
showed that the networks that predicted people best did so because they, like people, used
shape. Here the faces are generated shapes (``make("generated_shapes")``: radial-frequency
outlines, grating textures, position/contrast/noise nuisances; 4 identities defined in factor
space), and:

* three ConvNets (``layers="small"``) are trained with the shared trainer on labels defined by
  the identities' **shape** (texture random), their **texture** (shape random), or **both**;
* a **simulated observer** relies on shape only (weighted distance in factor space, decision
  noise), standing in for the person;
* **reverse correlation**: 3 000 random stimuli around the average (every shape and texture factor
  N(0, 1), nuisances as in training); each observer rates how much each stimulus looks like each
  identity (networks: the class's log-odds); per target identity, ``feature_use`` gives every
  factor's kernel and MI (1 000 permutations) and the MI of the shape and texture groups;
  ``FeatureUse.compare`` gives how well each network predicts the observer trial by trial
  (Kendall τ, as Daube et al.'s forward models), the overlap of the used factors and the kernels'
  similarity;
* **identification** with cue conflict (shape of one identity, texture of another) and
  **similarity judgement** (which of two is closer to a reference) complete the three paradigms.

Claims checked, per seed and target: the analysis recovers which network uses shape (the
shape-trained network's shape share of MI is the largest, the texture-trained one's the
smallest), and the shape-trained network predicts the observer best (largest τ).

Writes ``<out>/feature_use_shape_texture.json`` and ``.png``.
Run: ``python examples/reproductions/feature_use_shape_texture.py`` (about 10 minutes on one
core).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure

from brainlike.analysis import NetworkObserver, SimulatedObserver, feature_use
from brainlike.models import ConvNet
from brainlike.tasks import make
from brainlike.training import train
from brainlike.viz import feature_use_comparison

SEEDS = (0, 1, 2)
LABELS = ("shape", "texture", "both")
STEPS, BATCH, LR = 1000, 64, 3e-3
N_REVCORR, N_PERM = 3000, 1000
OBSERVER_NOISE = 2.0  # decision noise of the simulated observer (D² units)


def train_networks(seed: int) -> dict:
    nets, info = {}, {}
    for labels in LABELS:
        task = make("generated_shapes", labels=labels, seed=0)  # the same 4 identities for all
        net = ConvNet(task.image_shape, task.n_outputs, layers="small", seed=seed)
        t0 = time.perf_counter()
        res = train(net, task, steps=STEPS, batch_size=BATCH, lr=LR, eval_every=STEPS,
                    eval_trials=2000, seed=seed)
        info[labels] = {"accuracy": res.accuracy, "train_seconds": time.perf_counter() - t0}
        nets[labels] = net.eval()
    return {"nets": nets, "training": info}


def run_seed(seed: int) -> dict:
    gen = make("generated_shapes", seed=0).generator
    ids = [gen.identity(k) for k in range(gen.n_identities)]
    trained = train_networks(seed)
    observers = {k: NetworkObserver(n) for k, n in trained["nets"].items()}
    person = SimulatedObserver({"shape": 1.0}, identities=ids, groups=gen.groups,
                               noise=OBSERVER_NOISE, seed=seed)
    rc = gen.reverse_correlation_set(N_REVCORR, seed=[seed, 1])
    table = {k: rc.conditions[k] for k in gen.factor_names}
    targets = []
    for target in range(gen.n_identities):
        responses = {k: o.rate(rc, target) for k, o in observers.items()}
        responses["observer"] = person.rate(rc, target)
        fu = feature_use(table, responses, groups=gen.groups, n_permutations=N_PERM,
                         seed=seed * 10 + target)
        targets.append({
            "target": target,
            "used": {w: fu.used(w) for w in fu.responders},
            "group_mi": {w: dict(zip(fu.groups, fu.group_mi[i].round(4).tolist()))
                         for i, w in enumerate(fu.responders)},
            "shape_share": {w: fu.group_share(w)["shape"] for w in fu.responders},
            "vs_observer": {k: fu.compare(k, "observer").summary() for k in LABELS},
            "_fu": fu,
        })
    # identification with cue conflict: whose identity does each observer name?
    ident = gen.identification_set(25, seed=[seed, 2])
    conflict = ~ident.conditions["congruent"]
    identification = {}
    for name, obs in {**observers, "observer": person}.items():
        choice = obs.identify(ident)
        shape = float((choice == ident.conditions["shape_identity"])[conflict].mean())
        texture = float((choice == ident.conditions["texture_identity"])[conflict].mean())
        identification[name] = {
            "shape_choices": shape, "texture_choices": texture,
            "shape_bias": shape / (shape + texture) if shape + texture else float("nan"),
            "congruent_accuracy": float(
                (choice == ident.conditions["shape_identity"])[~conflict].mean()),
        }
    # similarity judgements: agreement with the answer in each space and with the observer
    trials = gen.similarity_set(2000, seed=[seed, 3])
    judged = {name: obs.judge(trials) for name, obs in {**observers, "observer": person}.items()}
    similarity = {
        name: {**{f"agrees_{space}": float((j == trials.closer[space]).mean())
                  for space in trials.closer},
               "agrees_with_observer": float((j == judged["observer"]).mean())}
        for name, j in judged.items()
    }
    return {"seed": seed, "training": trained["training"], "targets": targets,
            "identification": identification, "similarity": similarity}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    runs = [run_seed(s) for s in SEEDS]
    cases = [t for r in runs for t in r["targets"]]
    tau = {k: np.array([t["vs_observer"][k]["tau"] for t in cases]) for k in LABELS}
    share = {k: np.array([t["shape_share"][k] for t in cases]) for k in (*LABELS, "observer")}
    best = [max(LABELS, key=lambda k, t=t: t["vs_observer"][k]["tau"]) for t in cases]
    most_shape = [max(LABELS, key=lambda k, t=t: t["shape_share"][k]) for t in cases]
    least_shape = [min(LABELS, key=lambda k, t=t: t["shape_share"][k]) for t in cases]
    mean = lambda key, k: float(np.mean([t["vs_observer"][k][key] for t in cases]))  # noqa: E731
    summary = {
        "claims": {
            "shape_trained_uses_shape_most": f"{most_shape.count('shape')}/{len(cases)}",
            "texture_trained_uses_shape_least": f"{least_shape.count('texture')}/{len(cases)}",
            "shape_trained_predicts_observer_best": f"{best.count('shape')}/{len(cases)}",
            "best_predictor_counts": {k: best.count(k) for k in LABELS},
        },
        "shape_share_mean": {k: float(v.mean()) for k, v in share.items()},
        "shape_share_min_max": {k: [float(v.min()), float(v.max())] for k, v in share.items()},
        "tau_with_observer_mean": {k: float(v.mean()) for k, v in tau.items()},
        "tau_with_observer_per_case": {k: v.round(4).tolist() for k, v in tau.items()},
        "tau_shape_minus_both": (tau["shape"] - tau["both"]).round(4).tolist(),
        "kernel_similarity_with_observer_mean": {k: mean("kernel_similarity", k) for k in LABELS},
        "overlap_with_observer_mean": {k: mean("overlap", k) for k in LABELS},
        "identification_shape_bias_mean": {
            k: float(np.mean([r["identification"][k]["shape_bias"] for r in runs]))
            for k in (*LABELS, "observer")},
        "similarity_agreement_with_observer_mean": {
            k: float(np.mean([r["similarity"][k]["agrees_with_observer"] for r in runs]))
            for k in LABELS},
        "training_accuracy": {k: [r["training"][k]["accuracy"] for r in runs] for k in LABELS},
        "runs": [{**r, "targets": [{k: v for k, v in t.items() if not k.startswith("_")}
                                   for t in r["targets"]]} for r in runs],
        "settings": {
            "seeds": list(SEEDS), "steps": STEPS, "batch_size": BATCH, "lr": LR,
            "network": "ConvNet layers='small'", "task": "generated_shapes (size 16, 4 identities)",
            "revcorr_trials": N_REVCORR, "permutations": N_PERM,
            "observer": f"SimulatedObserver(shape weight 1, texture 0, noise {OBSERVER_NOISE})",
            "response": "rating of each target identity (networks: the class's log-odds)",
            "seconds": time.perf_counter() - t0,
        },
    }
    name = "feature_use_shape_texture"
    (args.out / f"{name}.json").write_text(json.dumps(summary, indent=2))

    fu = runs[0]["targets"][0]["_fu"]
    fig = Figure(figsize=(13, 9.5), layout="constrained")
    rows = fig.subfigures(3, 1, height_ratios=[1, 1, 0.9])
    for sub, k in zip(rows[:2], ("shape", "texture")):
        feature_use_comparison(fu.compare(k, "observer"), ax=sub.subplots(1, 2))
    a1, a2 = rows[2].subplots(1, 2)
    a1.boxplot([tau[k] for k in LABELS], tick_labels=[f"{k}-trained" for k in LABELS])
    a1.set(ylabel="Kendall τ with the observer", title="trial-by-trial prediction "
           f"({len(cases)} seed × target cases)")
    a2.bar(range(4), [share[k].mean() for k in (*LABELS, "observer")],
           tick_label=[*(f"{k}-trained" for k in LABELS), "observer"], color="tab:green")
    a2.set(ylabel="shape share of group MI", ylim=(0, 1), title="reliance on shape")
    fig.savefig(args.out / f"{name}.png", dpi=100)
    print(json.dumps({k: summary[k] for k in ("claims", "shape_share_mean",
                                               "tau_with_observer_mean")}, indent=1))


if __name__ == "__main__":
    main()

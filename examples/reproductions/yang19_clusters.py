"""Yang et al. (2019) / the primer's Fig. 5: task variance, clusters, lesions, rule composition.

Trains (or resumes) the paper network of ``yang19_multitask.yaml`` (256 softplus units on all 20
tasks; 40000 Adam steps, several CPU hours per seed) in ``--runs/yang19_seed<s>`` and analyses
each checkpoint as Yang et al. (2019) do:

* task variance of every unit on the noise-free test grid of each task (``task.grid()``,
  recurrent noise off), from the end of the fixation epoch; units with total variance <= 1e-3
  left out; normalized by each unit's maximum;
* k-means (the paper) and Ward hierarchical clustering (the primer's Fig. 5) of the normalized
  profiles, k in 2..29 chosen by silhouette; the cluster x task map;
* fractional task variance for the paper's eight task pairs (its Fig. 3);
* each cluster lesioned (rates clamped to 0) and every task scored on 256 noisy trials;
* compositional rule inputs on Dly Anti, Ctx Dly DM 1 and DMS (the setups of the paper's
  ``compute_replacerule_performance``);
* decoding the (8-sector) stimulus direction over time in Dly Go, with permutation chance, and
  the cross-temporal generalization matrix;
* DSA between the network's dynamics in five tasks (PCA-10 activity every 100 ms, 3 delays,
  rank 10).

Writes ``results/yang19_clusters.json`` and ``results/yang19_*_seed<s>.png``.

Run (trains first; rerun to resume an interrupted training; ``--no-train`` analyses the
checkpoints as they are): ``OMP_NUM_THREADS=1 nice -n 10 python
examples/reproductions/yang19_clusters.py --seeds 0 1``
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from brainlike import viz
from brainlike.analysis import (
    cluster_units,
    compose_rules,
    cross_temporal_generalization,
    decode_over_time,
    dsa,
    fractional_task_variance,
    lesion_groups,
    task_variance,
)
from brainlike.experiments import load_run, parse_config, run_training
from brainlike.recordings import Recording

HERE = Path(__file__).parent
CONFIG = HERE / "yang19_multitask.yaml"
FTV_PAIRS = [("dm1", "dm2"), ("ctxdm1", "ctxdm2"), ("dm1", "anti"), ("dm1", "ctxdm1"),
             ("go", "rtgo"), ("dlydm1", "dm1"), ("dmc", "dnmc"), ("ctxdm1", "ctxdlydm1")]
RULE_SETUPS = {  # the paper's taskset.compute_replacerule_performance setups 1-3
    "dlyanti": [{"dlyanti": 1}, {"anti": 1}, {"anti": 1, "dlygo": 1}, {"anti": 1, "dlygo": 1, "go": -1}],
    "ctxdlydm1": [{"ctxdlydm1": 1}, {"ctxdlydm2": 1}, {"ctxdlydm2": 1, "ctxdm1": 1}, {"ctxdm1": 1},
                  {"ctxdlydm2": 1, "ctxdm1": 1, "ctxdm2": -1}],
    "dms": [{"dms": 1}, {"dmc": 1}, {"dmc": 1, "dnms": 1}, {"dmc": 1, "dnms": 1, "dnmc": -1}],
}
DSA_TASKS = ("go", "anti", "dlygo", "dm1", "dms")


def _short(name: str) -> str:
    return name.removeprefix("yang19.")


def train_seed(seed: int, runs: Path) -> Path:
    """Train (or resume) the paper network of seed ``seed``; returns its run directory."""
    raw = yaml.safe_load(CONFIG.read_text())
    raw["model"]["seed"] = raw["training"]["seed"] = seed
    out = runs / f"yang19_seed{seed}"
    run_training(parse_config(raw), out)
    return out


def grid_recordings(model, tasks) -> dict:
    """Noise-free activity on each task's test grid, with its epochs (the paper's mode='test')."""
    recs = {}
    for name, task in tasks.items():
        batch = task.grid()
        with torch.no_grad():
            act = model(torch.tensor(batch.inputs), noise=False).activity.double().numpy()
        recs[name] = Recording(act, time=np.arange(batch.n_steps) * batch.dt,
                               conditions=dict(batch.conditions), epochs=dict(batch.epochs))
    return recs


def decoding_analysis(model, task, seed: int, n_trials: int, n_permutations: int) -> tuple:
    """Stimulus direction (8 sectors) decoded over time in Dly Go at fixed (grid) timing."""
    fixed = type(task)(**{**task.params, "timing": dict(task.grid_timing)})
    batch = fixed.generate(n_trials, seed=[seed, 99])
    with torch.no_grad():
        gen = torch.Generator().manual_seed(seed)
        act = model(torch.tensor(batch.inputs), generator=gen).activity.double().numpy()
    sector = np.floor(np.asarray(batch.conditions["stim_loc"]) / (2 * np.pi / 8)).astype(int) % 8
    rec = Recording(act, time=np.arange(batch.n_steps) * batch.dt, conditions={"sector": sector},
                    epochs=dict(batch.epochs))
    every = np.arange(0, batch.n_steps, 2)  # every 40 ms
    dec = decode_over_time(rec, "sector", n_permutations=n_permutations, time_steps=every, seed=seed)
    ctg = cross_temporal_generalization(rec, "sector", time_steps=np.arange(0, batch.n_steps, 4),
                                        seed=seed)
    epochs = {k: (np.asarray(v)[0] * batch.dt).tolist() for k, v in batch.epochs.items()}
    return dec, ctg, epochs


def analyse(run_dir: Path, seed: int, out: Path, n_lesion_trials: int, n_rule_trials: int,
            n_decode_trials: int, n_permutations: int) -> dict:
    t0 = time.perf_counter()
    run = load_run(run_dir)
    model, multi = run.model, run.task
    tasks = {_short(k): t for k, t in multi.tasks.items()}
    metrics = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    last = [m for m in metrics if "accuracy" in m][-1]
    acc = {_short(k.removeprefix("accuracy/")): v for k, v in last.items() if k.startswith("accuracy/")}
    res: dict = {"seed": seed, "step": last["step"], "accuracy_per_task": acc,
                 "accuracy_mean": float(np.mean(list(acc.values()))), "accuracy_min": last["accuracy"]}

    recs = grid_recordings(model, tasks)
    tv = task_variance(recs, exclude_epochs="fix1")
    km = cluster_units(tv, method="kmeans", seed=0)
    hc = cluster_units(tv, method="hierarchical", linkage="ward")
    res["task_variance"] = {"n_units": int(tv.active.size), "n_active": tv.n_active,
                            "threshold": tv.threshold}
    for name, cl in (("kmeans", km), ("hierarchical", hc)):
        res[f"clusters_{name}"] = {
            "k": cl.k, "ks": cl.ks.tolist(), "silhouette": np.round(cl.silhouette, 4).tolist(),
            "sizes": np.bincount(cl.labels).tolist(),
            "preferred_task": [tv.tasks[i] for i in cl.preferred],
        }
    viz.cluster_map(tv, km, title=f"seed {seed}, step {last['step']}: normalized task variance").savefig(
        out / f"yang19_clusters_seed{seed}.png", dpi=110)
    viz.cluster_map(tv, hc, title=f"seed {seed}: Ward hierarchical").savefig(
        out / f"yang19_clusters_hierarchical_seed{seed}.png", dpi=110)

    ftvs = [fractional_task_variance(tv, a, b) for a, b in FTV_PAIRS]
    res["fractional_task_variance"] = {
        f"{f.task_a}/{f.task_b}": {"counts": f.counts.tolist(), "median": float(np.median(f.values)),
                                   "n_units": int(f.units.size)} for f in ftvs}
    viz.fractional_variance(ftvs).savefig(out / f"yang19_ftv_seed{seed}.png", dpi=110)

    les = lesion_groups(model, tasks, km, n_trials=n_lesion_trials, seed=seed)
    res["lesions"] = {"groups": list(les.groups), "sizes": les.sizes.tolist(),
                      "baseline": np.round(les.baseline, 4).tolist(),
                      "change": np.round(les.change, 4).tolist(), "n_trials": les.n_trials,
                      "largest_drop": [
                          {"cluster": g, "task": les.tasks[int(np.argmin(row))],
                           "change": round(float(row.min()), 4)}
                          for g, row in zip(les.groups, les.change)]}
    viz.lesion_matrix(les).savefig(out / f"yang19_lesions_seed{seed}.png", dpi=110)

    rules = [compose_rules(model, tasks[t], combos, n_trials=n_rule_trials, seed=seed)
             for t, combos in RULE_SETUPS.items()]
    res["rule_composition"] = {_short(r.task): dict(zip(r.labels, np.round(r.accuracy, 4).tolist()))
                               for r in rules}
    viz.rule_composition(rules).savefig(out / f"yang19_rules_seed{seed}.png", dpi=110)

    dec, ctg, epochs = decoding_analysis(model, tasks["dlygo"], seed, n_decode_trials, n_permutations)
    res["decoding_dlygo_sector"] = {
        "time_ms": dec.time.tolist(), "accuracy": np.round(dec.score, 4).tolist(),
        "chance": np.round(dec.chance, 4).tolist(), "p_value": np.round(dec.p_value, 4).tolist(),
        "epochs_ms": epochs, "ctg_time_ms": ctg.time.tolist(),
        "ctg_accuracy": np.round(ctg.score, 3).tolist()}
    fig = viz.decoding([dec], ["stimulus sector (8), Dly Go"])
    ax = fig.axes[0]
    for name, (a, b) in epochs.items():
        ax.axvspan(a, b, alpha=0.06, color="k" if name in ("stim1", "go1") else "w")
        ax.text((a + b) / 2, 1.02, name, ha="center", fontsize=7, transform=ax.get_xaxis_transform())
    fig.savefig(out / f"yang19_decoding_seed{seed}.png", dpi=110)
    viz.temporal_generalization(ctg).savefig(out / f"yang19_ctg_seed{seed}.png", dpi=110)

    # DSA between the network's dynamics in five tasks (same units, PCA-10 of all of them,
    # sampled every 100 ms: at 20 ms steps every operator is close to the identity)
    acts = {t: recs[t].data[:, ::5] for t in DSA_TASKS}
    stacked = np.concatenate([a.reshape(-1, a.shape[2]) for a in acts.values()])
    mean = stacked.mean(axis=0)
    _, _, vt = np.linalg.svd(stacked - mean, full_matrices=False)
    pcs = {t: (a - mean) @ vt[:10].T for t, a in acts.items()}
    dmat = np.zeros((len(DSA_TASKS), len(DSA_TASKS)))
    for i, a in enumerate(DSA_TASKS):
        for j in range(i + 1, len(DSA_TASKS)):
            dmat[i, j] = dmat[j, i] = dsa(pcs[a], pcs[DSA_TASKS[j]], n_delays=3, rank=10).distance
    res["dsa_between_tasks"] = {"tasks": list(DSA_TASKS), "angular": np.round(dmat, 4).tolist()}
    viz.dsa_matrix(dmat, list(DSA_TASKS), title=f"DSA between tasks, seed {seed}").savefig(
        out / f"yang19_dsa_seed{seed}.png", dpi=110)
    res["analysis_seconds"] = round(time.perf_counter() - t0, 1)
    return res


def main() -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--runs", type=Path, default=Path("runs"))
    ap.add_argument("--out", type=Path, default=HERE / "results")
    ap.add_argument("--no-train", action="store_true", help="analyse the checkpoints as they are")
    ap.add_argument("--lesion-trials", type=int, default=256)
    ap.add_argument("--rule-trials", type=int, default=512)
    ap.add_argument("--decode-trials", type=int, default=480)
    ap.add_argument("--permutations", type=int, default=10)
    args = ap.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    results = {"config": str(CONFIG.relative_to(HERE.parent.parent)), "seeds": {},
               "threads": torch.get_num_threads(), "loadavg_start": list(os.getloadavg())}
    for seed in args.seeds:
        run_dir = args.runs / f"yang19_seed{seed}"
        if not args.no_train:
            run_dir = train_seed(seed, args.runs)
        res = analyse(run_dir, seed, args.out, args.lesion_trials, args.rule_trials,
                      args.decode_trials, args.permutations)
        results["seeds"][str(seed)] = res
        ks = res["clusters_kmeans"]["k"], res["clusters_hierarchical"]["k"]
        print(f"seed {seed}: step {res['step']}, mean accuracy {res['accuracy_mean']:.3f}, "
              f"k-means k={ks[0]}, hierarchical k={ks[1]}", flush=True)
    results["loadavg_end"] = list(os.getloadavg())
    (args.out / "yang19_clusters.json").write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()

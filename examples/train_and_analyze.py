"""Train a RateRNN on perceptual decision making, then analyse it (docs/tutorial.md as a script).

Writes to ``--out`` (default ``runs/train_and_analyze``):

- ``checkpoint.safetensors`` and ``metrics.jsonl``: the training run (rerunning resumes it);
- ``learning_curve.png``, ``psychometric.png``, ``pca.png``: the figures;
- ``analysis.json``: status, steps, accuracies, the psychometric fit and the PCA's explained
  variance.

Usage::

    python examples/train_and_analyze.py                    # up to 600 steps, ~10 s on one core
    python examples/train_and_analyze.py --steps 3 --out /tmp/quick
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from brainlike.analysis import fit_psychometric, trajectory_pca
from brainlike.models import RateRNN
from brainlike.tasks import make
from brainlike.training import RatePenalty, evaluate, train
from brainlike.viz import learning_curve, psychometric, trajectories


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600, help="maximum training steps")
    parser.add_argument("--out", type=Path, default=Path("runs/train_and_analyze"),
                        help="directory for the checkpoint, metrics, figures and analysis.json")
    parser.add_argument("--seed", type=int, default=0, help="seed of the model and the trials")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    out: Path = args.out

    # 1. The learning problem: random-dot motion 2AFC at dt = 50 ms.
    task = make("perceptual_decision", dt=50.0)

    # 2. The architecture: a leaky rate network (Eq. 26-27), alpha = dt / tau = 0.5.
    model = RateRNN(task.n_inputs, 32, task.n_outputs, tau=100.0, dt=task.dt,
                    activation="relu", sigma_rec=0.05, seed=args.seed)

    # 3. The learning algorithm: masked BPTT until 90 % of the ideal observer's accuracy.
    criterion = 0.9 * task.ceiling
    result = train(model, task, steps=args.steps, batch_size=32, lr=1e-2, eval_every=20,
                   eval_trials=200, criterion=criterion, penalties=[RatePenalty(l2=1e-4)],
                   seed=args.seed, out=out)
    print(f"{result.status} after {result.steps} steps; accuracy {result.accuracy:.3f} "
          f"(criterion {criterion:.3f}, ceiling {task.ceiling:.3f})")

    # 4. Fresh trials.
    ev = evaluate(model, task, n_trials=1000, seed=args.seed + 1)
    coherence = ev.conditions["coherence"]
    by_coherence = {f"{c:g}": float(ev.correct[coherence == c].mean()) for c in np.unique(coherence)}
    print(f"evaluation accuracy {ev.accuracy:.3f}; by coherence {by_coherence}")

    # 5. Behaviour: a psychometric curve on a balanced probe set.
    cohs = np.asarray(task.params["coherences"])
    probe_coherence = np.repeat(np.tile(cohs, 2), 40)
    side = np.repeat([1, 2], cohs.size * 40)
    probe = task.generate(probe_coherence.size, seed=args.seed + 2,
                          conditions={"coherence": probe_coherence, "ground_truth": side})
    with torch.no_grad():
        outputs, activity, _ = model(torch.tensor(probe.inputs),
                                     generator=torch.Generator().manual_seed(args.seed + 2))
    outputs = outputs.numpy()
    responded = task.score(outputs, probe).decision > 0   # False: still fixating at the end
    # Forced choice: the larger of the two choice outputs at each trial's last step.
    last = outputs[np.arange(probe.batch_size), probe.lengths - 1]
    chose_2 = last[:, 2] > last[:, 1]
    signed = probe.conditions["signed_coherence"]
    fit = fit_psychometric(signed, chose_2)

    # 6. Population: PCA of trajectories averaged by signed coherence.
    pca = trajectory_pca(activity.numpy(), signed, lengths=probe.lengths, n_components=3,
                         condition_dependent=True)

    out.mkdir(parents=True, exist_ok=True)
    learning_curve(result.history, criterion=criterion, ceiling=task.ceiling).savefig(
        out / "learning_curve.png", dpi=100)
    psychometric(fit).savefig(out / "psychometric.png", dpi=100)
    trajectories([pca], ["averages by signed coherence"], [list(pca.groups)]).savefig(
        out / "pca.png", dpi=100)
    analysis = {
        "status": result.status,
        "steps": result.steps,
        "accuracy_at_stop": result.accuracy,
        "criterion": criterion,
        "ceiling": task.ceiling,
        "evaluation_accuracy": ev.accuracy,
        "evaluation_accuracy_by_coherence": by_coherence,
        "no_response_fraction": float(1 - responded.mean()),
        "psychometric": {"kind": fit.kind, "bias": fit.bias, "scale": fit.scale},
        "pca_explained_variance_ratio": pca.explained_variance_ratio.tolist(),
    }
    (out / "analysis.json").write_text(json.dumps(analysis, indent=2))
    for name in ("learning_curve.png", "psychometric.png", "pca.png", "analysis.json"):
        print(f"wrote {out / name}")
    return analysis


if __name__ == "__main__":
    main()

"""Lesions of unit groups scored on every task, and compositional rule inputs (Yang et al. 2019)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..dynamics._perturb import _inputs, _units, simulate_clamped

__all__ = ["GroupLesions", "RuleComposition", "compose_rules", "lesion_groups"]


@dataclass(frozen=True)
class GroupLesions:
    """Accuracy on every task with each group of units lesioned (Yang et al. 2019,
    ``Analysis.lesions`` in ``gyyang/multitask``).

    Attributes
    ----------
    tasks : tuple of str
    groups : tuple of str
        Group names (``"cluster 1"``.. for a :class:`UnitClusters`).
    sizes : ndarray of int, shape (n_groups,)
        Units per group.
    baseline : ndarray, shape (n_tasks,)
        Accuracy of the intact network.
    lesioned : ndarray, shape (n_groups, n_tasks)
        Accuracy with the group's units silenced.
    n_trials : int
        Trials per task (the same trials, inputs and noise for every lesion).
    """

    tasks: tuple[str, ...]
    groups: tuple[str, ...]
    sizes: np.ndarray
    baseline: np.ndarray
    lesioned: np.ndarray
    n_trials: int

    @property
    def change(self) -> np.ndarray:
        """``lesioned - baseline``, shape (n_groups, n_tasks): the cluster × task matrix."""
        return self.lesioned - self.baseline[None, :]


def _tasks(tasks: Any) -> dict[str, Any]:
    if not isinstance(tasks, Mapping) or not tasks:
        raise ValueError(
            f"tasks must be a non-empty mapping of name to task; got {type(tasks).__name__}"
        )
    for name, t in tasks.items():
        if not (callable(getattr(t, "generate", None)) and callable(getattr(t, "score", None))):
            raise TypeError(f"tasks[{name!r}] must have generate() and score(); got {type(t).__name__}")
    return dict(tasks)


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an int >= 1; got {value!r}")
    return int(value)


def lesion_groups(
    model: Any,
    tasks: Mapping[str, Any],
    groups: Any,
    *,
    n_trials: int = 256,
    seed: int = 0,
    noise: bool = True,
) -> GroupLesions:
    """Silence each group of units in turn and score the network on every task.

    A lesioned unit's rate is clamped to 0 for the whole trial
    (:func:`~brainlike.analysis.simulate_clamped`), which for a rate network is the same as the
    paper's zeroing of its outgoing recurrent and output weights (``Model.lesion_units`` in
    ``gyyang/multitask``). As the paper, each task is scored on fresh random trials (256) with
    the input and recurrent noise on; here every lesion and the intact network see the same
    trials and the same noise, so the differences are the lesions' alone.

    Parameters
    ----------
    model : RecurrentModel
    tasks : mapping of str to Task
        Each with ``generate(n, seed=...)`` and ``score(outputs, batch)``.
    groups : UnitClusters or mapping of str to sequence of int
        The clusters of :func:`cluster_units` (named ``"cluster 1"``, ...) or named unit groups.
    n_trials : int
    seed : int
        Trials of task ``k`` are ``task.generate(n_trials, seed=[seed, k])``; the recurrent noise
        is seeded from ``[seed, k]`` too.
    noise : bool
        Input and recurrent noise on (the paper) or off.

    Returns
    -------
    GroupLesions
    """
    tasks = _tasks(tasks)
    n_trials = _count("n_trials", n_trials)
    if hasattr(groups, "members") and hasattr(groups, "k"):
        named = {f"cluster {c + 1}": groups.members(c) for c in range(groups.k)}
    elif isinstance(groups, Mapping) and groups:
        named = {str(k): v for k, v in groups.items()}
    else:
        raise ValueError(
            "groups must be a UnitClusters or a non-empty mapping of name to unit indices; got "
            f"{type(groups).__name__}"
        )
    idx = {k: _units(v, model.n_hidden, f"groups[{k!r}]") for k, v in named.items()}
    baseline = np.empty(len(tasks))
    lesioned = np.empty((len(idx), len(tasks)))
    for t, task in enumerate(tasks.values()):
        batch = task.generate(n_trials, seed=[seed, t], noise=noise)
        x = _inputs(model, batch)
        noise_seed = int(np.random.SeedSequence([seed, t]).generate_state(1)[0])

        def accuracy(units: np.ndarray, task=task, batch=batch, x=x, noise_seed=noise_seed) -> float:
            gen = torch.Generator().manual_seed(noise_seed)
            out, _ = simulate_clamped(model, x, units=units, generator=gen, noise=noise)
            return float(np.mean(task.score(out.cpu().numpy(), batch).correct))

        baseline[t] = accuracy(np.array([], dtype=np.int64))
        for g, units in enumerate(idx.values()):
            lesioned[g, t] = accuracy(units)
    sizes = np.array([u.size for u in idx.values()])
    return GroupLesions(tuple(tasks), tuple(idx), sizes, baseline, lesioned, n_trials)


@dataclass(frozen=True)
class RuleComposition:
    """Accuracy on one task when its rule input is replaced by combinations of rule inputs.

    Attributes
    ----------
    task : str
    labels : tuple of str
        Each combination written out, e.g. ``"anti + dlygo - go"``.
    weights : tuple of dict
        Each combination's rule-input weights (channel name to weight).
    accuracy : ndarray, shape (n_combinations,)
    n_trials : int
    """

    task: str
    labels: tuple[str, ...]
    weights: tuple[dict, ...]
    accuracy: np.ndarray
    n_trials: int


def _label(weights: Mapping[str, float], prefix: str) -> str:
    parts = []
    for i, (k, w) in enumerate(weights.items()):
        name = k.removeprefix(prefix)
        if w == 1:
            parts.append(name if i == 0 else f"+ {name}")
        elif w == -1:
            parts.append(f"- {name}")
        else:
            parts.append(f"{w:+g}·{name}")
    return " ".join(parts)


def compose_rules(
    model: Any,
    task: Any,
    combinations: Sequence[Mapping[str, float]],
    *,
    rule_prefix: str = "rule_",
    n_trials: int = 512,
    seed: int = 0,
    noise: bool = True,
) -> RuleComposition:
    """Score ``task`` with its rule input replaced by weighted sums of rule inputs.

    Yang et al. (2019; ``taskset.compute_replacerule_performance``) show that rule inputs
    compose: Dly Anti is performed well with the input ``Anti + Dly Go - Go`` instead of its own
    rule, although that vector was never seen in training. Every input channel whose name starts
    with ``rule_prefix`` is set to 0 and the named channels to their weights on every step of
    the trial (the rule inputs of the paper's tasks are on for the whole trial); the input noise
    of the trials is kept, so every combination sees the same noisy stimuli.

    Parameters
    ----------
    model : RecurrentModel
    task : Task
        With named inputs (``input_names``), ``generate`` and ``score``.
    combinations : sequence of mapping of str to float
        Rule channel (``"rule_anti"``, or ``"anti"`` with the prefix added) to weight, e.g.
        ``[{"dlyanti": 1}, {"anti": 1}, {"anti": 1, "dlygo": 1, "go": -1}]``.
    rule_prefix : str
    n_trials, seed, noise
        Trials ``task.generate(n_trials, seed=seed, noise=noise)``, the same for every
        combination; recurrent noise seeded by ``seed``.

    Returns
    -------
    RuleComposition
    """
    names = list(getattr(task, "input_names", ()))
    rule_idx = [i for i, n in enumerate(names) if n.startswith(rule_prefix)]
    if not rule_idx:
        raise ValueError(f"the task has no input channel named {rule_prefix}*; its inputs are {names}")
    if isinstance(combinations, Mapping) or not combinations:
        raise ValueError("combinations must be a non-empty sequence of mappings of rule name to weight")
    n_trials = _count("n_trials", n_trials)
    resolved = []
    for combo in combinations:
        if not isinstance(combo, Mapping) or not combo:
            raise ValueError(f"each combination must be a non-empty mapping; got {combo!r}")
        w = {}
        for k, v in combo.items():
            ch = k if k in names else rule_prefix + k
            if ch not in names or not ch.startswith(rule_prefix):
                allowed = [names[i].removeprefix(rule_prefix) for i in rule_idx]
                raise ValueError(f"rule {k!r} is not a rule input of the task; the rules are {allowed}")
            if isinstance(v, bool) or not np.isfinite(v):
                raise ValueError(f"the weight of rule {k!r} must be a finite number; got {v!r}")
            w[ch] = float(v)
        resolved.append(w)
    batch = task.generate(n_trials, seed=seed, noise=noise)
    clean = np.array(task.generate(n_trials, seed=seed, noise=False).inputs)
    eps = np.asarray(batch.inputs) - clean  # the input noise, kept on every channel
    on = np.arange(clean.shape[1])[None, :] < np.asarray(batch.lengths)[:, None]
    x = clean
    x[..., rule_idx] = 0.0
    acc = np.empty(len(resolved))
    for c, w in enumerate(resolved):
        xc = x.copy()
        for ch, v in w.items():
            xc[..., names.index(ch)] = v * on
        xc += eps
        ref = next(iter(model.parameters()))
        inputs = torch.tensor(xc).to(device=ref.device, dtype=ref.dtype)
        with torch.no_grad():
            out = model(inputs, noise=noise, generator=torch.Generator().manual_seed(int(seed))).outputs
        acc[c] = float(np.mean(task.score(out.cpu().numpy(), batch).correct))
    labels = tuple(_label(w, rule_prefix) for w in resolved)
    return RuleComposition(str(getattr(task, "name", "task")), labels, tuple(resolved), acc, n_trials)

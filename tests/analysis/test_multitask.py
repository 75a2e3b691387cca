"""Facts about the multi-task analyses (Yang et al. 2019): task variance, clustering, lesions, rules."""

import copy
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from brainlike.analysis import (
    cluster_units,
    compose_rules,
    fractional_task_variance,
    lesion_groups,
    simulate_clamped,
    task_variance,
)
from brainlike.models import RateRNN
from brainlike.recordings import Recording
from brainlike.tasks import make


def _naive_tv(x):
    """Paper's formula with loops: variance across conditions per step, then the mean over steps."""
    _, t, n = x.shape
    out = np.zeros(n)
    for i in range(n):
        per_step = []
        for s in range(t):
            v = x[:, s, i]
            v = v[np.isfinite(v)]
            if v.size >= 2:
                per_step.append(np.mean((v - v.mean()) ** 2))
        out[i] = np.mean(per_step)
    return out


def test_task_variance_equals_the_papers_formula_and_rules():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(12, 7, 5)) * np.array([1.0, 0.0, 0.3, 2.0, 1e-3])
    b = rng.normal(size=(9, 4, 5)) * np.array([0.0, 1.0, 0.3, 0.5, 1e-3])
    b[3, 2:] = np.nan  # a trial that ended early
    tv = task_variance({"A": a, "B": b})
    np.testing.assert_allclose(tv.variance[:, 0], _naive_tv(a), rtol=1e-12)
    np.testing.assert_allclose(tv.variance[:, 1], _naive_tv(b), rtol=1e-12)
    # unit 4's total variance ~2e-6 < 1e-3: inactive (the paper's rule); the rest active
    assert tv.active.tolist() == [True, True, True, True, False]
    np.testing.assert_allclose(tv.normalized.max(axis=1), 1.0)
    np.testing.assert_allclose(tv.normalized, tv.variance[:4] / tv.variance[:4].max(axis=1, keepdims=True))
    s = task_variance({"A": a, "B": b}, normalization="sum")
    np.testing.assert_allclose(s.normalized.sum(axis=1), 1.0)


def test_task_variance_epoch_selection_uses_the_recordings_epochs():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(10, 8, 3))
    epochs = {"fix1": np.tile([0, 3], (10, 1)), "stim1": np.tile([3, 8], (10, 1))}
    rec = Recording(x, epochs=epochs)
    after = task_variance({"T": rec}, exclude_epochs="fix1")
    np.testing.assert_allclose(after.variance[:, 0], _naive_tv(x[:, 3:]), rtol=1e-12)
    only = task_variance({"T": rec}, epochs=["fix1"])
    np.testing.assert_allclose(only.variance[:, 0], _naive_tv(x[:, :3]), rtol=1e-12)


def test_task_variance_errors():
    x = np.zeros((4, 3, 2))
    with pytest.raises(ValueError, match="non-empty mapping"):
        task_variance([x])
    with pytest.raises(ValueError, match="normalization must be one of"):
        task_variance({"A": x}, normalization="l2")
    with pytest.raises(ValueError, match=r"activity\['A'\] must have shape"):
        task_variance({"A": x[0]})
    with pytest.raises(ValueError, match="same units"):
        task_variance({"A": x, "B": np.zeros((4, 3, 5))})
    with pytest.raises(ValueError, match="need per-trial epochs"):
        task_variance({"A": x}, exclude_epochs="fix1")
    with pytest.raises(ValueError, match="has none of the epochs"):
        task_variance({"A": Recording(x, epochs={"a": np.tile([0, 1], (4, 1))})}, epochs="b")
    with pytest.raises(ValueError, match="at least two conditions"):
        task_variance({"A": np.zeros((1, 3, 2))})
    with pytest.raises(ValueError, match="threshold must be"):
        task_variance({"A": x}, threshold=-1.0)


def test_fractional_task_variance_counts_units_active_in_the_pair():
    rng = np.random.default_rng(2)
    scale_a = np.array([1.0, 0.0, 1.0, 0.0, 1e-4])
    scale_b = np.array([0.0, 1.0, 1.0, 0.0, 1e-4])
    tv = task_variance({"A": rng.normal(size=(50, 3, 5)) * scale_a,
                        "B": rng.normal(size=(50, 3, 5)) * scale_b,
                        "C": rng.normal(size=(50, 3, 5)) * np.array([0, 0, 0, 1.0, 0])})
    ftv = fractional_task_variance(tv, "A", "B")
    assert ftv.units.tolist() == [0, 1, 2]  # unit 3 varies in C only, unit 4 too little
    np.testing.assert_allclose(ftv.values[:2], [1.0, -1.0])
    a, b = tv.variance[2, 0], tv.variance[2, 1]
    np.testing.assert_allclose(ftv.values[2], (a - b) / (a + b))
    assert ftv.counts.sum() == 3 and ftv.edges[0] == -1.0 and ftv.edges[-1] == 1.0
    with pytest.raises(ValueError, match="task_b 'D' is not one of the tasks"):
        fractional_task_variance(tv, "A", "D")


def _planted(seed=0, k=4, per=15, n_tasks=8):
    """Units in k groups, each engaged in its own pair of tasks, plus noise."""
    rng = np.random.default_rng(seed)
    profiles = np.zeros((k, n_tasks))
    for c in range(k):
        profiles[c, [2 * c, 2 * c + 1]] = 1.0
    truth = np.repeat(np.arange(k), per)
    x = np.clip(profiles[truth] + 0.08 * rng.normal(size=(k * per, n_tasks)), 0, None)
    perm = rng.permutation(truth.size)
    return x[perm], truth[perm]


@pytest.mark.parametrize("method", ["kmeans", "hierarchical"])
def test_cluster_units_recovers_planted_clusters(method):
    from sklearn.metrics import adjusted_rand_score

    x, truth = _planted()
    cl = cluster_units(x, method=method, k_range=range(2, 10))
    assert cl.k == 4 and int(cl.ks[np.nanargmax(cl.silhouette)]) == 4
    assert adjusted_rand_score(truth, cl.labels) == pytest.approx(1.0)
    # clusters numbered by preferred task: cluster c prefers task 2c or 2c+1
    assert np.all(cl.preferred // 2 == np.arange(4))
    np.testing.assert_array_equal(np.sort(cl.labels[cl.order]), cl.labels[cl.order])
    np.testing.assert_allclose(cl.profiles[0], x[cl.labels == 0].mean(axis=0))


def test_cluster_units_on_task_variance_maps_back_to_network_units():
    rng = np.random.default_rng(3)
    # 30 units: 0..9 vary in task A, 10..19 in B, 20..24 silent (inactive), 25..29 in both
    scale = np.zeros((30, 2))
    scale[:10, 0] = scale[10:20, 1] = 1.0
    scale[25:, :] = 1.0
    shared = rng.normal(size=(40, 3, 30))  # the same draws: units 25..29 vary equally in A and B
    act = {t: shared * scale[:, i] for i, t in enumerate("AB")}
    tv = task_variance(act)
    cl = cluster_units(tv, k_range=range(2, 6))
    assert cl.k == 3 and cl.features == ("A", "B")
    assert sorted(cl.members(0).tolist()) == list(range(10))  # prefers A
    assert set(np.concatenate([cl.members(c) for c in range(cl.k)])) == set(range(20)) | set(range(25, 30))
    with pytest.raises(ValueError, match=r"cluster must be in \[0, 3\)"):
        cl.members(3)


def test_cluster_units_errors():
    x, _ = _planted()
    with pytest.raises(ValueError, match="method must be one of"):
        cluster_units(x, method="dbscan")
    with pytest.raises(ValueError, match=r"k must be an int in \[2, 59\]"):
        cluster_units(x, k=1)
    with pytest.raises(ValueError, match="k_range must hold"):
        cluster_units(x, k_range=[100])
    with pytest.raises(ValueError, match="at most the 2 distinct profiles"):
        cluster_units(np.repeat(np.eye(2), 5, axis=0), k=3)
    with pytest.raises(ValueError, match="n_units >= 3"):
        cluster_units(np.zeros((2, 3)))
    fixed = cluster_units(x, k=3)
    assert fixed.k == 3 and fixed.ks.tolist() == [3]


def _yang_tasks():
    return {r: make(f"yang19.{r}") for r in ("go", "dlyanti")}


def test_lesion_groups_equals_zeroing_the_units_outgoing_weights():
    """The paper lesions a unit by zeroing its outgoing recurrent and output weights."""
    tasks = _yang_tasks()
    model = RateRNN(85, 24, 33, activation="softplus", sigma_rec=0.05, seed=0)
    with torch.no_grad():  # a readout that makes the fixation output depend on the units
        model.b_out[0] = 0.5
    groups = {"a": [0, 1, 2, 3, 4, 5], "b": list(range(6, 24))}
    res = lesion_groups(model, tasks, groups, n_trials=32, seed=5)
    assert res.groups == ("a", "b") and res.sizes.tolist() == [6, 18]
    for t, (name, task) in enumerate(tasks.items()):
        batch = task.generate(32, seed=[5, t])
        x = torch.tensor(batch.inputs)
        seed = int(np.random.SeedSequence([5, t]).generate_state(1)[0])
        for g, units in enumerate(groups.values()):
            cut = copy.deepcopy(model)
            with torch.no_grad():
                cut.w_rec[:, units] = 0.0
                cut.w_out[:, units] = 0.0
            out, _ = simulate_clamped(cut, x, generator=torch.Generator().manual_seed(seed))
            acc = np.mean(task.score(out.numpy(), batch).correct)
            assert res.lesioned[g, t] == pytest.approx(acc, abs=1e-12), (name, g)
    np.testing.assert_allclose(res.change, res.lesioned - res.baseline)


def test_lesion_groups_of_disconnected_units_change_nothing_and_errors():
    tasks = _yang_tasks()
    model = RateRNN(85, 10, 33, seed=1)
    with torch.no_grad():
        model.w_rec[:, 7:] = 0.0
        model.w_out[:, 7:] = 0.0
    res = lesion_groups(model, tasks, {"silent": [7, 8, 9]}, n_trials=16)
    np.testing.assert_allclose(res.change, 0.0)
    with pytest.raises(ValueError, match=r"groups\['x'\] must be unit indices in \[0, 10\)"):
        lesion_groups(model, tasks, {"x": [10]}, n_trials=4)
    with pytest.raises(ValueError, match="groups must be a UnitClusters"):
        lesion_groups(model, tasks, [[1, 2]], n_trials=4)
    with pytest.raises(ValueError, match="n_trials must be an int >= 1"):
        lesion_groups(model, tasks, {"x": [1]}, n_trials=0)
    with pytest.raises(TypeError, match=r"tasks\['t'\] must have generate\(\) and score\(\)"):
        lesion_groups(model, {"t": object()}, {"x": [1]})


class _Recorder(torch.nn.Module):
    """Stands in for a model: records the inputs it is given."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.seen = []

    def forward(self, inputs, noise=True, generator=None):
        self.seen.append(inputs.clone())
        return SimpleNamespace(outputs=torch.zeros(*inputs.shape[:2], 33))


def test_compose_rules_replaces_the_rule_inputs_and_keeps_the_noisy_stimuli():
    task = make("yang19.dlyanti")
    names = list(task.input_names)
    rec = _Recorder()
    res = compose_rules(rec, task, [{"dlyanti": 1}, {"anti": 1, "dlygo": 1, "go": -1}], n_trials=8,
                        seed=3)
    assert res.labels == ("dlyanti", "anti + dlygo - go")
    batch = task.generate(8, seed=3)
    # own rule with weight 1: exactly the task's own (noisy) inputs
    np.testing.assert_allclose(rec.seen[0].numpy(), batch.inputs, atol=1e-6)
    x = rec.seen[1].numpy()
    clean = task.generate(8, seed=3, noise=False).inputs
    noise = batch.inputs - clean
    valid = np.arange(batch.n_steps)[None, :] < batch.lengths[:, None]
    expect = {"rule_anti": 1.0, "rule_dlygo": 1.0, "rule_go": -1.0, "rule_dlyanti": 0.0, "rule_dms": 0.0}
    for ch, w in expect.items():
        i = names.index(ch)
        np.testing.assert_allclose(x[..., i], w * valid + noise[..., i], atol=1e-6)
    stim = [i for i, n in enumerate(names) if not n.startswith("rule_")]
    np.testing.assert_allclose(x[..., stim], batch.inputs[..., stim], atol=1e-6)


def test_compose_rules_errors():
    task = make("yang19.go")
    rec = _Recorder()
    with pytest.raises(ValueError, match="rule 'fly' is not a rule input"):
        compose_rules(rec, task, [{"fly": 1}])
    with pytest.raises(ValueError, match="non-empty sequence of mappings"):
        compose_rules(rec, task, {"go": 1})
    with pytest.raises(ValueError, match="weight of rule 'go' must be a finite number"):
        compose_rules(rec, task, [{"go": float("nan")}])
    with pytest.raises(ValueError, match="no input channel named cue_"):
        compose_rules(rec, task, [{"go": 1}], rule_prefix="cue_")

"""Conformance suite: every registered task gets these checks for free."""

from __future__ import annotations

import ast
import itertools
import json
from pathlib import Path

import numpy as np
import pytest

import brainlike.tasks as bt
from brainlike.tasks import TaskScore, TrialBatch, describe, make, names

B = 16


@pytest.fixture(params=names("trial"))
def task(request):
    return make(request.param)


def _arrays(batch: TrialBatch) -> dict[str, np.ndarray]:
    out = {
        "inputs": batch.inputs,
        "targets": batch.targets,
        "mask": batch.mask,
        "lengths": batch.lengths,
    }
    out.update({f"cond:{k}": v for k, v in batch.conditions.items()})
    out.update({f"epoch:{k}": v for k, v in batch.epochs.items()})
    return out


def _assert_same(b1: TrialBatch, b2: TrialBatch) -> None:
    a1, a2 = _arrays(b1), _arrays(b2)
    assert a1.keys() == a2.keys()
    for k in a1:  # bitwise: same dtype, shape and bytes
        assert a1[k].dtype == a2[k].dtype and a1[k].shape == a2[k].shape, k
        assert a1[k].tobytes() == a2[k].tobytes(), k


def perfect_outputs(task, batch):
    if task.target_kind == "class":
        return 10.0 * np.eye(task.n_outputs)[batch.targets]
    return np.array(batch.targets)


YANG19 = ("go", "rtgo", "dlygo", "anti", "rtanti", "dlyanti", "dm1", "dm2", "ctxdm1", "ctxdm2",
          "multidm", "dlydm1", "dlydm2", "ctxdlydm1", "ctxdlydm2", "multidlydm", "dms", "dnms",
          "dmc", "dnmc")  # fmt: skip


def test_registry_is_sorted_and_described():
    assert names() == sorted(names())
    assert len(set(names())) == len(names())
    assert {f"yang19.{r}" for r in YANG19} <= set(names())
    info = describe()
    assert [d["name"] for d in info] == names()
    for d in info:
        assert d["description"] and d["citation"]


def test_same_seed_gives_identical_batch(task):
    _assert_same(task.generate(B, seed=3), task.generate(B, seed=3))
    _assert_same(task.generate(B, seed=[1, 2]), task.generate(B, seed=[1, 2]))
    _assert_same(task.generate(B, seed=np.random.SeedSequence(5)), task.generate(B, seed=5))
    _assert_same(task.generate(B, seed=np.random.default_rng(7)), task.generate(B, seed=7))


def test_different_seeds_differ(task):
    b1, b2 = task.generate(B, seed=0), task.generate(B, seed=1)
    same_shape = b1.inputs.shape == b2.inputs.shape
    if task.n_inputs == 0:  # pattern generation without input: the trials differ in their targets
        assert not np.array_equal(b1.targets, b2.targets)
        return
    assert not (same_shape and np.array_equal(b1.inputs, b2.inputs))


def test_shapes_and_dtypes(task):
    b = task.generate(B, seed=0)
    t = b.n_steps
    assert b.batch_size == B
    assert b.inputs.shape == (B, t, task.n_inputs) and b.inputs.dtype == np.float32
    if task.target_kind == "class":
        assert b.targets.shape == (B, t) and b.targets.dtype == np.int64
        assert b.targets.min() >= 0 and b.targets.max() < task.n_outputs
    else:
        assert task.target_kind == "value"
        assert b.targets.shape == (B, t, task.n_outputs) and b.targets.dtype == np.float32
    assert b.mask.shape == (B, t) and b.mask.dtype == np.float32
    assert b.lengths.shape == (B,) and b.lengths.dtype == np.int64
    assert b.lengths.max() == t and b.lengths.min() >= 1
    assert b.dt == task.dt
    assert b.input_names == task.input_names and len(task.input_names) == task.n_inputs
    assert b.output_names == task.output_names and len(task.output_names) == task.n_outputs
    assert b.target_kind == task.target_kind
    assert np.isfinite(b.inputs).all()


def test_padding_is_zero_and_mask_nonnegative(task):
    b = task.generate(B, seed=0)
    beyond = np.arange(b.n_steps) >= b.lengths[:, None]
    assert (b.mask[beyond] == 0).all()
    assert (b.inputs[beyond] == 0).all()
    assert (b.targets[beyond] == 0).all()
    assert np.isfinite(b.mask).all() and (b.mask >= 0).all()
    assert (b.mask.sum(axis=1) > 0).all()  # every trial contributes to the loss
    assert b.task == task.name
    if b.output_mask is not None:
        assert task.target_kind == "value"
        assert b.output_mask.shape == b.targets.shape and b.output_mask.dtype == np.float32
        assert (b.output_mask[beyond] == 0).all() and (b.output_mask >= 0).all()
        # no output is trained where the (B, T) mask says the step is not trained
        assert (b.output_mask[b.mask == 0] == 0).all()


def test_mask_is_constant_within_epochs_or_documented(task):
    """The loss weights change only at epoch boundaries or at a fixed offset after one.

    Binary masks (1 on valid steps) are the rule; the Yang et al. 2019 tasks
    have the paper's graded cost mask, whose grace periods start at an epoch
    boundary (trial start, response onset) and last 100 ms.
    """
    b = task.generate(B, seed=0)
    if task.name.startswith("yang19."):
        grace = int(100 // task.dt)
        go = b.epochs["go1"][:, 0]
        rows = np.arange(B)
        assert (b.mask[:, :grace] == 0).all()
        np.testing.assert_array_equal(b.mask[rows, grace], 1.0)
        np.testing.assert_array_equal(b.mask[rows, go], 0.0)
        np.testing.assert_array_equal(b.mask[rows, b.lengths - 1], 25.0)
        np.testing.assert_array_equal(b.output_mask[..., 0], 4 * b.mask)
    elif set(np.unique(b.mask)) <= {0.0, 1.0}:
        valid = np.arange(b.n_steps) < b.lengths[:, None]
        assert (b.mask[valid] == 1).all()


def test_epochs_tile_each_trial_in_order(task):
    b = task.generate(B, seed=0)
    assert tuple(b.epochs) == task.epoch_names
    bounds = [b.epochs[e] for e in task.epoch_names]
    for e in bounds:
        assert e.dtype == np.int64 and e.shape == (B, 2)
        assert (e[:, 0] <= e[:, 1]).all()
    np.testing.assert_array_equal(bounds[0][:, 0], 0)
    for prev, nxt in itertools.pairwise(bounds):
        np.testing.assert_array_equal(prev[:, 1], nxt[:, 0])
    np.testing.assert_array_equal(bounds[-1][:, 1], b.lengths)


def test_conditions_cover_declared_variables(task):
    b = task.generate(B, seed=0)
    assert tuple(b.conditions) == task.condition_names
    for v in b.conditions.values():
        assert v.shape == (B,)


def test_fixing_free_variables_reproduces_them(task):
    b1 = task.generate(B, seed=1)
    free = {v.name: b1.conditions[v.name] for v in task.variables if not v.derived}
    b2 = task.generate(B, seed=2, conditions=free)
    for k in task.condition_names:
        np.testing.assert_array_equal(b2.conditions[k], b1.conditions[k], err_msg=k)


def test_perfect_outputs_score_one(task):
    b = task.generate(64, seed=0)
    score = task.score(perfect_outputs(task, b), b)
    assert isinstance(score, TaskScore)
    assert score.accuracy == 1.0
    assert score.decision.shape == (64,) and score.decision.dtype == np.int64


N_CHANCE = 512


def test_always_fixate_scores_the_no_go_share(task):
    """Fixating throughout is correct exactly on the trials that ask for no response."""
    b = task.generate(N_CHANCE, seed=0)
    out = np.zeros((N_CHANCE, b.n_steps, task.n_outputs))
    if task.name == "memory_report":
        # a constant 0 is within tolerance 0.1 of U(-1, 1) w.p. 0.1;
        # 0.2 is > 5 binomial SDs (sqrt(0.09/512) = 0.013) above it.
        assert task.score(out, b).accuracy < 0.2
        return
    out[..., 0] = 10.0 if task.target_kind == "class" else 0.8
    score = task.score(out, b)
    no_go = _no_go(task, b)
    np.testing.assert_array_equal(score.correct, no_go)
    assert (score.decision == -1).all()


def _no_go(task, b):
    if task.name.startswith("yang19."):
        return b.conditions["response_loc"] < 0
    if "ground_truth" in b.conditions:
        return b.conditions["ground_truth"] == -1
    return np.zeros(b.batch_size, bool)


def test_input_independent_outputs_score_near_chance(task):
    """A constant output (any trial's perfect last-step output, broadcast) is at chance.

    Chance is at most 1/2 here (two balanced choices, or a response window of
    0.4π out of 2π, or half no-go trials); 0.5 + 5 SD of a binomial proportion
    at n = 512 (5·sqrt(0.25/512) = 0.11) bounds it for any seed.
    """
    b = task.generate(N_CHANCE, seed=1)
    perfect = perfect_outputs(task, b)
    bound = 0.5 + 5 * np.sqrt(0.25 / N_CHANCE)
    for k in range(4):
        last = perfect[k, b.lengths[k] - 1]
        out = np.broadcast_to(last, perfect.shape)
        assert task.score(out, b).accuracy < bound, k


def test_score_accepts_tensor_like(task):
    b = task.generate(8, seed=0)

    class FakeTensor:  # has .detach().cpu() like a torch tensor, without importing torch
        def __init__(self, a):
            self.a = a

        def detach(self):
            return self

        def cpu(self):
            return self

        def __array__(self, dtype=None, copy=None):
            return np.asarray(self.a, dtype=dtype)

    out = perfect_outputs(task, b)
    assert task.score(FakeTensor(out), b).accuracy == 1.0


def test_params_rebuild_identical_task(task):
    text = json.dumps(task.params)  # JSON-serializable
    for params in (task.params, json.loads(text)):
        again = make(task.name, **params)
        assert again == task and again.params == task.params
        _assert_same(again.generate(B, seed=4), task.generate(B, seed=4))
    assert repr(task).startswith(f"make({task.name!r}")


def test_batch_arrays_are_read_only(task):
    b = task.generate(4, seed=0)
    for name, a in _arrays(b).items():
        assert not a.flags.writeable, name
    with pytest.raises(ValueError, match="read-only"):
        b.inputs[0, 0, 0] = 1.0
    with pytest.raises(TypeError):
        b.conditions["x"] = np.zeros(4)  # type: ignore[index]


def test_ceiling_is_a_probability_or_none(task):
    c = task.ceiling
    assert c is None or 0.5 <= c <= 1.0


def test_package_does_not_import_torch():
    root = Path(bt.__file__).parent
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                assert all(not a.name.startswith("torch") for a in node.names), path
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("torch"), path


def test_batch_repr_is_a_short_summary(task):
    b = task.generate(4, seed=0)
    text = repr(b)
    assert text.startswith(f"TrialBatch(task={task.name!r}, batch_size=4, ") and len(text) < 1000
    assert all(name in text for name in task.condition_names)

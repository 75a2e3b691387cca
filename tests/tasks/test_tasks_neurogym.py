"""from_neurogym: whole NeuroGym trials, aligned, padded, masked and seeded."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

ngym = pytest.importorskip("neurogym")

from brainlike.tasks import MultiTask, from_neurogym  # noqa: E402

ENVS = [
    ("PerceptualDecisionMaking-v0", {"dt": 100}),
    ("GoNogo-v0", {}),
    ("DelayComparison-v0", {"dt": 100}),
    ("DelayMatchSample-v0", {}),
    ("ContextDecisionMaking-v0", {"dt": 100}),
    ("yang19.dms-v0", {}),
]


@pytest.fixture(params=ENVS, ids=[e for e, _ in ENVS])
def task(request):
    env_id, kwargs = request.param
    return from_neurogym(env_id, **kwargs)


def test_batches_hold_the_envs_own_trials(task):
    b = task.generate(8, seed=0)
    assert b.inputs.shape == (8, b.n_steps, task.n_inputs) and b.targets.shape == (8, b.n_steps)
    assert b.task == f"neurogym:{task.env_id}"
    # regenerate the same trials straight from a fresh env seeded the same way
    env = _make(task).unwrapped
    env.seed(int(np.random.default_rng(0).integers(2**31 - 1)))
    for i in range(8):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            info = env.new_trial()
        n = len(env.gt)
        assert b.lengths[i] == n
        np.testing.assert_array_equal(b.inputs[i, :n], env.ob.astype(np.float32))
        np.testing.assert_array_equal(b.targets[i, :n], env.gt)
        for key, value in info.items():  # every numeric trial-info scalar is a condition
            if isinstance(value, (int, float, np.integer, np.floating)):
                assert b.conditions[key][i] == float(value), key
    pad = np.arange(b.n_steps) >= b.lengths[:, None]
    assert (b.mask[pad] == 0).all() and (b.mask[~pad] == 1).all() and (b.inputs[pad] == 0).all()


def _make(task):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ngym.make(task.env_id, **task.env_kwargs)


def test_seeding_is_reproducible(task):
    b1, b2, b3 = task.generate(6, seed=4), task.generate(6, seed=4), task.generate(6, seed=5)
    np.testing.assert_array_equal(b1.inputs, b2.inputs)
    np.testing.assert_array_equal(b1.targets, b2.targets)
    assert b1.inputs.shape != b3.inputs.shape or not np.array_equal(b1.inputs, b3.inputs)


def test_perfect_outputs_score_one_and_fixating_scores_no_go_share(task):
    b = task.generate(32, seed=1)
    perfect = 10.0 * np.eye(task.n_outputs)[b.targets]
    assert task.score(perfect, b).accuracy == 1.0
    fix = np.zeros_like(perfect)
    fix[..., 0] = 10.0
    last = b.targets[np.arange(32), b.lengths - 1]
    np.testing.assert_array_equal(task.score(fix, b).correct, last == 0)


def test_epochs_are_the_envs_periods(task):
    b = task.generate(4, seed=0)
    assert tuple(b.epochs) == task.epoch_names
    for e in b.epochs.values():
        assert (e[:, 0] <= e[:, 1]).all() and (e[:, 1] <= b.lengths).all()


def test_channel_names_come_from_the_spaces():
    task = from_neurogym("PerceptualDecisionMaking-v0", dt=100)
    assert task.input_names == ("fixation", "stimulus_0", "stimulus_1")
    assert task.output_names == ("fixation", "choice_0", "choice_1")
    assert repr(task) == "from_neurogym('PerceptualDecisionMaking-v0', dt=100)"


def test_yang19_envs_combine_in_a_multitask():
    mt = MultiTask([from_neurogym("yang19.go-v0"), from_neurogym("yang19.dm1-v0")])
    b = mt.generate(4, seed=0)
    assert mt.score(10.0 * np.eye(mt.n_outputs)[b.targets], b).accuracy == 1.0


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"neurogym.make\('Nope-v0'\) failed"):
        from_neurogym("Nope-v0")
    task = from_neurogym("GoNogo-v0")
    with pytest.raises(ValueError, match=r"conditions cannot be fixed"):
        task.generate(2, seed=0, conditions={"ground_truth": 1})

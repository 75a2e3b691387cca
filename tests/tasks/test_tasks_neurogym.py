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
    # regenerate the same trials straight from a fresh env seeded the same way, started at the
    # trial-level top as env.step does (a collection's schedule picks the environment)
    top = _make(task).unwrapped._top
    for i in range(8):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a collection's seed() warns through gymnasium
            if i == 0:
                top.seed(int(np.random.default_rng(0).integers(2**31 - 1)))
            info = top.new_trial()
        env = top.unwrapped
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


def test_perfect_outputs_score_one_and_fixating_scores_the_no_go_share(task):
    b = task.generate(32, seed=1)
    perfect = 10.0 * np.eye(task.n_outputs)[b.targets]
    assert task.score(perfect, b).accuracy == 1.0
    fix = np.zeros_like(perfect)
    fix[..., 0] = 10.0
    no_go = ~(b.targets * b.mask).any(1)  # trials that ask for no response at all
    score = task.score(fix, b)
    np.testing.assert_array_equal(score.correct, no_go)
    assert (score.decision == -1).all()


def _actions(policy: str, b, n_outputs: int) -> np.ndarray:
    """(B, T) actions: never respond, the targets, or sparse random responses."""
    if policy == "fixate":
        return np.zeros(b.targets.shape, dtype=np.int64)
    if policy == "targets":
        return np.asarray(b.targets)
    rng = np.random.default_rng(7)
    acts = rng.integers(1, n_outputs, b.targets.shape)
    return np.where(rng.random(b.targets.shape) < 0.85, 0, acts)


def _neurogym_performance(task, seed, actions, lengths) -> tuple[np.ndarray, np.ndarray]:
    """NeuroGym's own ``info['performance']`` of each trial when ``env.step`` is fed
    ``actions``, on a fresh env seeded as ``task.generate(..., seed=seed)`` seeds it (the
    same trials, each from when the previous one ended); and which trials a response ended."""
    top = _make(task).unwrapped._top
    perf, responded = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        top.seed(int(np.random.default_rng(seed).integers(2**31 - 1)))
        top.new_trial()
        for acts, n in zip(actions, lengths):
            for t in range(n):
                info = top.step(int(acts[t]))[4]
                if info["new_trial"]:
                    perf.append(float(info["performance"]))
                    responded.append(t < n - 1 or acts[t] != 0)
                    break
    assert len(perf) == len(lengths)
    return np.array(perf), np.array(responded)


# The cases (ReadySetGo's response is not at the last step and its production period is
# not in env.timing; DelayMatchSample ends a trial at the first response), the envs above
# (GoNogo and yang19.dms have no-go trials) and two more.
PERFORMANCE_ENVS = [("ReadySetGo-v0", {}), ("IntervalDiscrimination-v0", {}),
                    ("yang19.go-v0", {}), *ENVS]


@pytest.mark.parametrize(("env_id", "kwargs"), PERFORMANCE_ENVS,
                         ids=[e for e, _ in PERFORMANCE_ENVS])
@pytest.mark.parametrize("policy", ["fixate", "targets", "random"])
def test_score_is_neurogyms_own_performance(env_id, kwargs, policy):
    """Per trial, the score equals NeuroGym's ``info['performance']`` from ``env.step``, except
    on no-go trials that no response ended: NeuroGym scores those 0 (neurogym#22), we score 1."""
    task = from_neurogym(env_id, **kwargs)
    b = task.generate(48, seed=2)
    acts = _actions(policy, b, task.n_outputs)
    ours = task.performance(10.0 * np.eye(task.n_outputs)[acts], b)
    theirs, responded = _neurogym_performance(task, 2, acts, b.lengths)
    withheld_no_go = ~(b.targets * b.mask).any(1) & ~responded
    np.testing.assert_array_equal(ours[~withheld_no_go], theirs[~withheld_no_go])
    assert (ours[withheld_no_go] == 1.0).all()
    # (NeuroGym's first trial keeps the 1 GoNogo's _new_trial set: no step has reset it yet.)
    assert (theirs[withheld_no_go][int(withheld_no_go[0]):] == 0.0).all()
    correct = task.score(10.0 * np.eye(task.n_outputs)[acts], b).correct
    np.testing.assert_array_equal(correct, ours >= 1.0)


def test_a_network_that_never_responds_fails_ready_set_go():
    """The issue's case: last-step scoring gave 1.000 to a network that never responds."""
    task = from_neurogym("ReadySetGo-v0")
    b = task.generate(64, seed=0)
    fix = np.zeros((64, b.n_steps, 2))
    fix[..., 0] = 1.0
    assert task.score(fix, b).accuracy == 0.0
    # The response period is an epoch although env.timing does not list it; the target's
    # go step lies inside it, and a response anywhere else in it is scored by timing.
    assert "production" in task.epoch_names and "production" not in task.env.timing
    start, stop = b.epochs["production"].T
    go = np.argmax(b.targets == 1, axis=1)
    assert ((start <= go) & (go < stop)).all()
    early = np.zeros((64, b.n_steps), dtype=np.int64)
    early[np.arange(64), start] = 1  # respond at the start of production: far too early
    assert task.score(10.0 * np.eye(2)[early], b).accuracy == 0.0
    near = np.zeros((64, b.n_steps), dtype=np.int64)
    near[np.arange(64), go + 1] = 1  # one step late: inside NeuroGym's margin
    assert task.score(10.0 * np.eye(2)[near], b).accuracy == 1.0


def test_yang19_collections_draw_trials_from_every_modality():
    task = from_neurogym("yang19.go-v0")
    b = task.generate(32, seed=0)
    x = np.asarray(b.inputs)
    # NeuroGym's two go environments put the stimulus on channels 1-16 or 17-32.
    assert x[:, :, 1:17].any(axis=(1, 2)).sum() >= 8 and x[:, :, 17:33].any(axis=(1, 2)).sum() >= 8


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
    with pytest.raises(ValueError, match=r"Bandit-v0: from_neurogym needs trials with observations "
                                         r"and ground truth \(env.ob, env.gt\)"):
        from_neurogym("Bandit-v0")
    task = from_neurogym("GoNogo-v0")
    with pytest.raises(ValueError, match=r"conditions cannot be fixed"):
        task.generate(2, seed=0, conditions={"ground_truth": 1})
    b = task.generate(2, seed=0)
    copy = type(b)(**{**b.__dict__})  # equal contents, but not a batch this task generated
    with pytest.raises(ValueError, match=r"batch was not generated by this task; NeuroGym's rule"):
        task.score(np.zeros((2, b.n_steps, task.n_outputs)), copy)

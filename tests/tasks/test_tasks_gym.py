"""Every registered task is a valid gymnasium.Env; rewards follow the task's score."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from brainlike.tasks import as_gym_env, make, names


@pytest.mark.parametrize("name", names("trial"))
def test_check_env_passes(name):
    env = as_gym_env(name)
    check_env(env, skip_render_check=True)
    assert env.metadata["input_names"] == make(name).input_names


@pytest.mark.parametrize("name", ["perceptual_decision", "yang19.dms", "yang19.ctxdm1", "memory_report"])
def test_oracle_earns_one_per_trial_and_random_less(name):
    env = as_gym_env(name)
    env.reset(seed=0)
    rewards, ends = 0.0, 0
    while ends < 20:
        _, r, term, trunc, info = env.step(env.oracle_action())
        assert not term and not trunc
        rewards += r
        ends += info["new_trial"]
        if info["new_trial"]:
            assert info["correct"] and set(info["conditions"]) == set(make(name).condition_names)
    assert rewards == 20.0


def test_reset_seed_drives_all_randomness():
    def run(seed):
        env = as_gym_env("yang19.dm1", sigma_x=0.1)
        obs, _ = env.reset(seed=seed)
        trace = [obs]
        for _ in range(300):  # crosses several trial boundaries
            obs, *_ = env.step(0)
            trace.append(obs)
        return np.stack(trace)

    np.testing.assert_array_equal(run(5), run(5))
    assert not np.array_equal(run(5), run(6))


def test_max_trials_truncates_and_params_need_a_name():
    env = as_gym_env("perceptual_decision", max_trials=1, dt=100.0)
    env.reset(seed=0)
    flags = [env.step(0)[3] for _ in range(22)]
    assert flags == [False] * 21 + [True]
    with pytest.raises(TypeError, match=r"task parameters \['dt'\] need a task name"):
        as_gym_env(make("perceptual_decision"), dt=20.0)

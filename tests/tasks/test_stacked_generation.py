"""Stacked generation (issue 19) gives every member exactly the batch it would draw alone."""

import numpy as np
import pytest

from brainlike.tasks import make, names
from brainlike.tasks._stacked import generate_stacked

SEEDS = [[3, 1, 0], [8, 1, 0], [3, 1, 5]]


def _member(big, k, b):
    return {
        "inputs": big.inputs[k * b:(k + 1) * b], "targets": big.targets[k * b:(k + 1) * b],
        "mask": big.mask[k * b:(k + 1) * b], "lengths": big.lengths[k * b:(k + 1) * b],
        "output_mask": None if big.output_mask is None else big.output_mask[k * b:(k + 1) * b],
        **{f"condition {c}": v[k * b:(k + 1) * b] for c, v in big.conditions.items()},
        **{f"epoch {e}": v[k * b:(k + 1) * b] for e, v in big.epochs.items()},
    }


def _alone(batch):
    return {
        "inputs": batch.inputs, "targets": batch.targets, "mask": batch.mask,
        "lengths": batch.lengths, "output_mask": batch.output_mask,
        **{f"condition {c}": v for c, v in batch.conditions.items()},
        **{f"epoch {e}": v for e, v in batch.epochs.items()},
    }


@pytest.mark.parametrize("name", names("trial"))
@pytest.mark.parametrize("dt", [None, 100.0])
def test_each_member_gets_its_own_batch_bit_for_bit(name, dt):
    task = make(name) if dt is None else make(name, dt=dt)
    b = 4
    big = generate_stacked(task, b, SEEDS)
    if big is None:  # not stackable: the caller generates member by member
        return
    for k, seed in enumerate(SEEDS):
        ours, alone = _member(big, k, b), _alone(task.generate(b, seed=seed))
        assert ours.keys() == alone.keys()
        for key, value in alone.items():
            if value is None:
                assert ours[key] is None, key
            else:
                assert ours[key].dtype == value.dtype, key
                np.testing.assert_array_equal(ours[key], value, err_msg=f"{name} {key}")


def test_stacking_applies_where_it_can_and_refuses_where_it_cannot():
    pdm = make("perceptual_decision", dt=100.0)
    assert generate_stacked(pdm, 8, SEEDS).inputs.shape == (24, 22, pdm.n_inputs)
    # two_armed_bandit's fill draws from trials.rng: recognized once, then left alone.
    bandit = make("two_armed_bandit")
    assert generate_stacked(bandit, 8, SEEDS) is None
    assert bandit.__dict__["_fill_draws"] is True
    # Variable delays give the members' batches different lengths: not stacked.
    assert generate_stacked(make("yang19.dlygo"), 8, SEEDS) is None
    stacked = {n for n in names("trial") if generate_stacked(make(n), 8, SEEDS) is not None}
    assert {"perceptual_decision", "go_no_go", "delayed_match_to_sample"} <= stacked

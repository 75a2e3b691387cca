"""Perturbations: clamping equals removing outgoing weights; null perturbations change nothing.
TDR: planted regression axes are recovered and orthonormal."""

import copy

import numpy as np
import pytest
import torch

from brainlike.analysis import (
    add_noise,
    inactivate,
    lesion_connections,
    lesion_units,
    simulate_clamped,
    targeted_dimensionality_reduction,
)
from brainlike.models import RateRNN
from brainlike.tasks import make


@pytest.fixture(scope="module")
def setup():
    task = make("perceptual_decision", dt=100.0)
    model = RateRNN(task.n_inputs, 24, task.n_outputs, sigma_rec=0.1, seed=0)
    with torch.no_grad():
        model.b_out[1:] += 0.5  # respond rather than fixate, so accuracy is not trivially 0
    batch = task.generate(120, seed=0)
    return task, model, batch


@pytest.mark.parametrize("units", [[0], [3, 5, 7], list(range(12))])
def test_clamping_equals_removing_outgoing_weights(setup, units):
    _, model, batch = setup
    x = torch.tensor(batch.inputs, dtype=torch.float32)
    out, act = simulate_clamped(model, x, units=units, noise=False)
    cut = copy.deepcopy(model)
    with torch.no_grad():
        cut.w_rec[:, units] = 0.0
        cut.w_out[:, units] = 0.0
        ref_out, ref_act, _ = cut(x, noise=False)
    others = np.setdiff1d(np.arange(24), units)
    torch.testing.assert_close(out, ref_out, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(act[..., others], ref_act[..., others], rtol=1e-5, atol=1e-5)
    assert (act[..., units] == 0).all()


def test_null_perturbations_change_nothing(setup):
    task, model, batch = setup
    for effect in (
        lesion_units(model, task, batch, []),
        inactivate(model, task, batch, [1, 2], (3, 3)),
        lesion_connections(model, task, batch, [], [1, 2]),
        add_noise(model, task, batch, model.sigma_rec),
    ):
        np.testing.assert_array_equal(effect.change, 0.0)
        assert effect.counts.sum() == 120


def test_full_window_inactivation_equals_lesion(setup):
    task, model, batch = setup
    t = batch.inputs.shape[1]
    a = lesion_units(model, task, batch, [0, 4, 9], condition=("coherence", "ground_truth"))
    b = inactivate(model, task, batch, [0, 4, 9], (0, t), condition=("coherence", "ground_truth"))
    np.testing.assert_allclose(a.perturbed, b.perturbed)
    assert a.groups == b.groups and len(a.groups) == len(set(batch.conditions["coherence"])) * 2


def test_lesioning_every_unit_leaves_the_bias_readout(setup):
    task, model, batch = setup
    effect = lesion_units(model, task, batch, range(24), condition="ground_truth")
    # Outputs are b_out at every step: one fixed choice, right on exactly one ground truth.
    choice = int(model.b_out.argmax())
    expect = [1.0 if g == choice else 0.0 for g in effect.groups]
    np.testing.assert_allclose(effect.perturbed, expect)


def test_perturbation_errors(setup):
    task, model, batch = setup
    with pytest.raises(ValueError, match=r"units must be unit indices in \[0, 24\)"):
        lesion_units(model, task, batch, [30])
    with pytest.raises(ValueError, match="condition 'context' is not in the batch"):
        lesion_units(model, task, batch, [1], condition="context")
    with pytest.raises(ValueError, match="window 'delay2' is not an epoch"):
        inactivate(model, task, batch, [1], "delay2")
    with pytest.raises(ValueError, match="window must satisfy"):
        inactivate(model, task, batch, [1], (5, 2))
    with pytest.raises(ValueError, match="sigma_rec must be >= 0"):
        add_noise(model, task, batch, -1.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tdr_recovers_planted_axes(seed):
    rng = np.random.default_rng(seed)
    b, t, n = 400, 8, 40
    choice = rng.choice([-1.0, 1.0], b)
    motion = rng.choice([-0.5, -0.15, 0.15, 0.5], b)
    context = rng.choice([-1.0, 1.0], b)
    dirs = np.linalg.qr(rng.normal(size=(n, 3)))[0].T
    ramp = np.linspace(0, 1, t)[None, :, None]
    act = (ramp * choice[:, None, None] * dirs[0] + motion[:, None, None] * dirs[1]
           + context[:, None, None] * dirs[2]) + 0.05 * rng.normal(size=(b, t, n))
    tdr = targeted_dimensionality_reduction(
        act, {"choice": choice, "motion": motion, "context": context}, n_pcs=None, zscore=False)
    np.testing.assert_allclose(tdr.axes @ tdr.axes.T, np.eye(3), atol=1e-10)
    # Noise 0.05 over 400 trials: the fitted directions are within a few degrees.
    assert (np.abs(np.sum(tdr.axes * dirs, 1)) > 0.98).all()
    assert tdr.t_max[0] == t - 1  # the choice signal ramps up
    # De-noising with the 3 leading PCs (which span the planted directions) changes nothing much.
    denoised = targeted_dimensionality_reduction(
        act, {"choice": choice, "motion": motion, "context": context}, n_pcs=3, zscore=False)
    assert (np.abs(np.sum(denoised.axes * dirs, 1)) > 0.99).all()
    proj = tdr.transform(act)
    assert proj.shape == (b, t, 3)
    assert np.corrcoef(proj[:, -1, 0], choice)[0, 1] > 0.95


def test_tdr_errors():
    with pytest.raises(ValueError, match=r"activity must have shape \(B, T, N\)"):
        targeted_dimensionality_reduction(np.zeros((3, 4)), {"a": [1, 2, 3]})
    with pytest.raises(ValueError, match="one value per trial"):
        targeted_dimensionality_reduction(np.zeros((3, 4, 2)), {"a": [1, 2]})
    with pytest.raises(ValueError, match="at least one task variable"):
        targeted_dimensionality_reduction(np.zeros((3, 4, 2)), {})

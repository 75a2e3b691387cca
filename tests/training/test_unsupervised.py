"""Unsupervised learning: Oja's and Sanger's Hebbian rules and autoencoders recover the planted
principal structure of data (brainlike.training._unsupervised, brainlike.models.Autoencoder)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.linalg import subspace_angles
from sklearn.decomposition import PCA

from brainlike.models import Autoencoder, RateRNN
from brainlike.tasks import Samples
from brainlike.training import train, train_hebbian
from brainlike.training._unsupervised import hebbian_update

VARIANCES = [8.0, 4.0, 2.0, 0.3, 0.2, 0.15, 0.1, 0.05]  # a gap after the third axis


def _pcs(task):
    """scikit-learn's PCA of the task's training rows: components (rows) by decreasing
    variance, and the variances."""
    pca = PCA().fit(task.data.astype(np.float64))
    return pca.components_, pca.explained_variance_


@pytest.fixture(scope="module")
def planted():
    return Samples.planted(VARIANCES, n_examples=3000, seed=1)


def test_planted_samples_have_the_planted_axes(planted):
    pcs, evals = _pcs(planted)
    assert planted.axes.shape == (8, 8)
    np.testing.assert_allclose(planted.axes.T @ planted.axes, np.eye(8), atol=1e-12)
    # With 2400 training rows the sample PCs are the planted axes up to sampling error.
    cos = np.abs(np.sum(pcs[:3] * planted.axes[:, :3].T, axis=1))
    assert (cos > 0.99).all()
    np.testing.assert_allclose(evals[:3], VARIANCES[:3], rtol=0.1)
    held = planted.evaluation_task
    assert held.split == "test" and held.data.shape == (600, 8) and planted.data.shape == (2400, 8)
    assert np.abs(planted.data.mean(0)).max() < 1e-6  # centred on the training rows


def test_oja_finds_the_top_principal_component_with_unit_norm(planted):
    net = Autoencoder(8, 1, tied=True, bias=False, seed=0)
    result = train_hebbian(net, planted, rule="oja", steps=500, batch_size=32, lr=0.02,
                           eval_every=250, eval_trials=300)
    w = net.encoder_weights[0].detach().double().numpy()[0]
    top = _pcs(planted)[0][0]
    assert abs(w @ top) / np.linalg.norm(w) > 0.99
    assert abs(np.linalg.norm(w) - 1.0) < 0.02
    assert result.history["orthonormality"][-1] < 0.02
    # The logged reconstruction error falls to what one component leaves: (sum - 8) / 8 per coordinate.
    assert result.history["loss"][:50].mean() > result.history["loss"][-100:].mean()
    assert result.history["loss"][-100:].mean() == pytest.approx(
        (sum(VARIANCES) - VARIANCES[0]) / 8, rel=0.15)


def test_sanger_finds_the_top_components_in_order_and_oja_their_subspace(planted):
    pcs = _pcs(planted)[0]
    sanger = Autoencoder(8, 3, tied=True, bias=False, seed=0)
    kw = dict(steps=600, batch_size=64, lr=0.03, eval_every=600, eval_trials=100)
    train_hebbian(sanger, planted, rule="sanger", **kw)
    w = sanger.encoder_weights[0].detach().double().numpy()
    cos = np.abs(np.sum(w * pcs[:3], axis=1)) / np.linalg.norm(w, axis=1)
    assert (cos > 0.99).all(), cos  # each neuron its own component, in order
    # Unit norms, up to the fluctuations of a constant-rate stochastic rule (~ lr * variance).
    np.testing.assert_allclose(np.linalg.norm(w, axis=1), 1.0, atol=0.03)

    oja = Autoencoder(8, 3, tied=True, bias=False, seed=0)
    train_hebbian(oja, planted, rule="oja", **kw)
    v = oja.encoder_weights[0].detach().double().numpy()
    assert np.degrees(subspace_angles(v.T, pcs[:3].T)).max() < 5.0
    np.testing.assert_allclose(v @ v.T, np.eye(3), atol=0.03)
    # ...but not the components themselves (any rotation of the subspace is a fixed point).
    assert (np.abs(np.sum(v * pcs[:3], axis=1)) / np.linalg.norm(v, axis=1)).min() < 0.95


def test_the_rules_are_their_equations_in_float64():
    gen = torch.Generator().manual_seed(0)
    w = torch.randn(3, 5, generator=gen, dtype=torch.float64)
    x = torch.randn(7, 5, generator=gen, dtype=torch.float64)
    oja = torch.zeros_like(w)
    sanger = torch.zeros_like(w)
    for xb in x:  # one example at a time, as the papers write them
        y = w @ xb
        oja += torch.outer(y, xb) - torch.outer(y, y) @ w
        for i in range(3):  # Sanger: dw_i = y_i (x - sum_{j <= i} y_j w_j)
            sanger[i] += y[i] * (xb - (y[: i + 1, None] * w[: i + 1]).sum(0))
    torch.testing.assert_close(hebbian_update(w, x, "oja"), oja / 7, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(hebbian_update(w, x, "sanger"), sanger / 7, rtol=1e-12, atol=1e-12)


@pytest.mark.slow
def test_a_linear_autoencoder_spans_the_top_principal_subspace(planted):
    """Baldi & Hornik (1989): the decoder's columns span the top-k principal subspace (not the
    components themselves: any invertible mixing of them reconstructs as well)."""
    net = Autoencoder(8, 3, seed=0)
    result = train(net, planted, steps=600, batch_size=64, lr=2e-2, eval_every=600,
                   eval_trials=600)
    pcs = _pcs(planted)[0]
    decoder = net.decoder_weights[-1].detach().double().numpy()  # (8, 3)
    assert np.degrees(subspace_angles(decoder, pcs[:3].T)).max() < 5.0
    held_out_mse = result.history["eval_loss"][-1]
    assert held_out_mse == pytest.approx(sum(VARIANCES[3:]) / 8, rel=0.15)


@pytest.mark.slow
def test_a_nonlinear_autoencoder_follows_a_curve_that_pca_cannot():
    """Data on a planted 1-D curve (a parabola in 2-D plus a little noise): one principal
    component leaves the curve's bend (~24 % of the variance); a tanh autoencoder with a
    one-unit code reconstructs it nearly to the noise, a linear one only as well as PCA."""
    rng = np.random.default_rng(0)
    t = rng.uniform(-1, 1, 4000)
    data = np.stack([t, t**2], 1) + 0.01 * rng.standard_normal((4000, 2))
    task = Samples(data, name="parabola")
    pca_residual = np.linalg.eigvalsh(np.cov(task.data.T))[0] / 2  # MSE per coordinate
    kw = dict(batch_size=64, eval_trials=800)
    linear = train(Autoencoder(2, 1, seed=0), task, steps=400, lr=3e-2, eval_every=400,
                   **kw).history["eval_loss"][-1]
    curved = train(Autoencoder(2, 1, hidden=[32], activation="tanh", seed=0), task, steps=800,
                   lr=2e-2, eval_every=800, **kw).history["eval_loss"][-1]
    assert linear == pytest.approx(pca_residual, rel=0.15)
    assert curved < 0.05 * pca_residual  # measured: 0.8 % of it


def test_refusals_name_the_argument(planted):
    with pytest.raises(TypeError, match=r"train_hebbian trains the single-layer linear network "
                                        r"y = W x with tied weights and no biases"):
        train_hebbian(Autoencoder(8, 2, seed=0), planted)
    with pytest.raises(TypeError, match=r"tied weights and no biases"):
        train_hebbian(RateRNN(8, 4, 8, seed=0), planted)
    with pytest.raises(ValueError, match=r"'rule' parameter of train_hebbian must be one of "
                                         r"\['oja', 'sanger'\]. Got 'hebb' instead"):
        train_hebbian(Autoencoder(8, 2, tied=True, bias=False, seed=0), planted, rule="hebb")
    with pytest.raises(ValueError, match=r"model.n_input \(4\) must equal task.n_inputs \(8\)"):
        train_hebbian(Autoencoder(4, 2, tied=True, bias=False, seed=0), planted)
    with pytest.raises(ValueError, match=r"A tied Autoencoder has one weight matrix: hidden must "
                                         r"be empty. Got hidden=\[4\] instead"):
        Autoencoder(8, 2, hidden=[4], tied=True)
    with pytest.raises(ValueError, match=r"x must be a tensor of shape \(batch, 8\); got \(2, 3\)"):
        Autoencoder(8, 2, seed=0)(torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"'data' parameter of Samples must be a \(n_examples, "
                                         r"D\) array with n_examples >= 2. Got shape \(3,\)"):
        Samples([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"'data' parameter of Samples must hold finite numbers"):
        Samples([[1.0], [np.nan]])
    with pytest.raises(ValueError, match=r"'variances' parameter of Samples.planted must be a "
                                         r"non-empty sequence of finite numbers >= 0"):
        Samples.planted([1.0, -1.0])

"""Tuning, activation maximization and latent search on vision models."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from brainlike.analysis import (
    activation_maximization,
    category_tuning,
    circular_selectivity,
    genetic_search,
    latent_gradient_search,
    lifetime_sparseness,
    load_digits_vae,
    modulation_index,
    tuning_curve,
)
from brainlike.models import ConvNet, layer_activations
from brainlike.recordings import Recording
from brainlike.tasks import gabor, grating_set, make


# ---------------------------------------------------------------- tuning
def test_orientation_tuning_of_a_gabor_filter_unit():
    """A unit whose filter is a 60-degree Gabor prefers 60 degrees; an isotropic one is untuned."""
    conv = torch.nn.Conv2d(1, 2, 15, bias=False)
    with torch.no_grad():
        conv.weight[0, 0] = torch.tensor(
            gabor(15, orientation=60.0, spatial_frequency=0.125, sigma=3.0) - 0.5
        )
        conv.weight[1, 0] = torch.tensor(
            gabor(15, orientation=0.0, spatial_frequency=0.0, sigma=3.0) - 0.5
        )
    net = torch.nn.Sequential(conv, torch.nn.ReLU())
    stim = grating_set(
        15,
        orientations=np.arange(0.0, 180.0, 15.0),
        phases=np.arange(0.0, 360.0, 45.0),
        spatial_frequencies=[0.125],
    )
    rec = Recording.from_layers(net, stim, ["1"])["1"]
    curve = tuning_curve(rec, "orientation")
    assert curve.values.tolist() == list(np.arange(0.0, 180.0, 15.0)) and (curve.count == 8).all()
    assert curve.preferred[0] == 60.0
    sel = circular_selectivity(curve, period=180.0)
    assert abs(sel.preferred[0] - 60.0) < 1.0 and sel.index[0] > 0.25  # broadly tuned (sigma = 3 px)
    assert sel.index[1] < 0.05  # the isotropic unit responds alike to every orientation
    mod = modulation_index(curve)
    assert mod[0] > 0.4 and mod[1] < 0.05


def test_tuning_curve_matches_a_naive_group_mean():
    rng = np.random.default_rng(0)
    r = rng.random((40, 3))
    v = rng.integers(0, 4, 40)
    curve = tuning_curve(r, v)
    for i, val in enumerate(curve.values):
        np.testing.assert_allclose(curve.mean[i], r[v == val].mean(0))
        np.testing.assert_allclose(curve.sem[i], r[v == val].std(0, ddof=1) / np.sqrt((v == val).sum()))
    with pytest.raises(ValueError, match=r"values must have shape \(n_stimuli,\) = \(40,\); got \(3,\)"):
        tuning_curve(r, [1, 2, 3])


def test_sparseness_and_category_tuning():
    one_hot = np.eye(5)
    np.testing.assert_allclose(lifetime_sparseness(one_hot), 1.0)
    np.testing.assert_allclose(lifetime_sparseness(np.ones((5, 2))), 0.0)
    with pytest.raises(ValueError, match="lifetime_sparseness needs non-negative responses"):
        lifetime_sparseness(-np.ones((3, 1)))
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 50)
    r = rng.standard_normal((200, 4)) * 0.1 + np.eye(4)[labels]  # unit k prefers category k
    ct = category_tuning(r, labels)
    assert ct.preferred.tolist() == [0, 1, 2, 3]
    assert (np.argmax(ct.tuning, axis=0) == np.arange(4)).all() and (ct.d_prime > 5).all()
    np.testing.assert_allclose(ct.tuning.mean(0), 0.0, atol=1e-12)
    np.testing.assert_allclose(ct.tuning.std(0), 1.0)


def test_convnet_layers_become_more_category_selective(digits_net, digits_test):
    """Category selectivity (d') of units rises from conv1 to fc2 in a trained ConvNet."""
    recs = Recording.from_layers(digits_net, digits_test.batch(), ["relu1", "relu4"])
    d = {k: category_tuning(r, "label").d_prime for k, r in recs.items()}
    assert np.median(d["relu4"]) > np.median(d["relu1"]) + 0.5


# ---------------------------------------------------------------- activation maximization
def _best_dataset_value(net, layer, kind, targets, images):
    acts = layer_activations(net, images, [layer], flatten=False)[layer]
    if kind == "unit":
        return acts.reshape(acts.shape[0], -1)[:, targets].max(0).values.numpy()
    return acts[:, targets].reshape(acts.shape[0], len(targets), -1).mean(-1).max(0).values.numpy()


@pytest.mark.parametrize(
    ("layer", "kind", "targets", "param"),
    [
        ("readout", "unit", list(range(10)), "fourier"),
        ("relu3", "unit", [0, 4, 5], "pixel"),
        ("relu2", "channel", [0, 4, 9], "fourier"),
    ],
)
def test_maximizing_image_beats_every_dataset_image(digits_net, layer, kind, targets, param):
    """The synthesized image drives each target above the best of all 1797 digit images."""
    images = np.concatenate([make("digits").data.images, make("digits", split="test").data.images])
    best = _best_dataset_value(digits_net, layer, kind, targets, images)
    vis = activation_maximization(
        digits_net, layer, targets, kind=kind, n_steps=150, lr=0.2, param=param, l2=0.01, tv=0.01, seed=0
    )
    assert vis.images.shape == (len(targets), 1, 8, 8)
    assert vis.images.min() >= 0.0 and vis.images.max() <= 1.0
    assert (vis.activation > best).all(), (vis.activation, best)
    assert vis.history.shape == (150, len(targets))


def test_activation_maximization_is_reproducible_and_leaves_the_model_alone(digits_net):
    before = {k: v.clone() for k, v in digits_net.state_dict().items()}
    kw = {"kind": "unit", "n_steps": 30, "blur": 0.1, "jitter": 1, "seed": 3}
    a = activation_maximization(digits_net, "readout", [2], **kw)
    b = activation_maximization(digits_net, "readout", [2], **kw)
    np.testing.assert_allclose(a.images, b.images, rtol=0, atol=1e-5)
    for k, v in digits_net.state_dict().items():
        assert torch.equal(v, before[k])
    assert all(p.grad is None for p in digits_net.parameters())
    c = activation_maximization(digits_net, "readout", [2], **{**kw, "seed": 4})
    assert not np.allclose(a.images, c.images)


def test_layer_objective_on_28px_mnist_and_errors():
    net = ConvNet((1, 28, 28), 10, layers="small", seed=0)
    vis = activation_maximization(net, "relu2", kind="layer", n_steps=40, lr=0.1)
    start = vis.history[0, 0]
    assert vis.images.shape == (1, 1, 28, 28) and vis.activation[0] > start
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 16\) for kind='channel'; got 0..20"):
        activation_maximization(net, "conv2", [0, 20], kind="channel", n_steps=1)
    with pytest.raises(
        ValueError,
        match=r"The 'param' parameter of activation_maximization must be one of \['fourier', 'pixel'\]",
    ):
        activation_maximization(net, "conv2", [0], param="cppn")
    with pytest.raises(ValueError, match=r"shape must be given: Sequential has no input_shape"):
        activation_maximization(torch.nn.Sequential(torch.nn.Flatten()), "0", [0])


# ---------------------------------------------------------------- latent search
def test_shipped_vae_reconstructs_held_out_digits():
    vae = load_digits_vae()
    test = torch.tensor(make("digits", split="test").data.images)
    with torch.no_grad():
        mu, _ = vae.encode(test)
        rec = vae.decode(mu)
    mse = float((rec - test).square().mean())
    assert mse < 0.25 * float(test.var())  # explains > 75% of the pixel variance of unseen digits


def test_genetic_search_maximizes_a_non_differentiable_spiking_unit(digits_net):
    """A Poisson 'neuron' driven by a ConvNet class unit: only its spike counts are seen."""
    rng = np.random.default_rng(0)

    def spikes(images):
        with torch.no_grad():
            drive = digits_net(torch.tensor(images)).outputs[:, 4].numpy()
        return rng.poisson(5.0 * np.exp(np.clip(drive, -10, 3) / 2))

    vae = load_digits_vae()
    res = genetic_search(spikes, vae, n_generations=40, population=20, seed=0)
    with torch.no_grad():
        random_imgs = vae.decode(
            torch.randn(200, vae.n_latent, generator=torch.Generator().manual_seed(1))
        )
        random_drive = digits_net(random_imgs).outputs[:, 4]
        found = digits_net(torch.tensor(res.image[None])).outputs[0, 4]
    assert found > torch.quantile(random_drive, 0.95)
    assert res.history.shape == (40, 20) and (np.diff(res.best) >= 0).all()
    with torch.no_grad():
        assert int(digits_net(torch.tensor(res.image[None])).outputs.argmax()) == 4


def test_latent_gradient_search(digits_net):
    res = latent_gradient_search(digits_net, "readout", 7, n_steps=60, n_starts=4, prior=0.1)
    assert res.image.shape == (1, 8, 8) and res.score >= res.history[0].max()
    with torch.no_grad():
        assert int(digits_net(torch.tensor(res.image[None])).outputs.argmax()) == 7


def test_genetic_search_checks_the_score():
    with pytest.raises(
        ValueError, match=r"score must return 20 finite values, one per image; got \(3,\)"
    ):
        genetic_search(lambda imgs: np.zeros(3), n_generations=2)
    with pytest.raises(
        ValueError,
        match=r"The 'n_conserve' parameter of genetic_search must be an int in \[0, population\)",
    ):
        genetic_search(lambda imgs: np.zeros(len(imgs)), n_conserve=20)

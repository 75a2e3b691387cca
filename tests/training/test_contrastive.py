"""Self-supervised contrastive learning (SimCLR): NT-Xent equals its definition, augmentations are
seeded, and the algorithm runs on the shared run machinery (resume, config, CLI)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from brainlike.experiments import ConfigError, parse_config, run_training
from brainlike.models import ConvNet
from brainlike.tasks import make
from brainlike.training import augment, nt_xent, train_contrastive


def _naive_nt_xent(z1: np.ndarray, z2: np.ndarray, tau: float) -> float:
    """Chen et al. (2020) Eq. 1, averaged over all 2B anchors, one term at a time."""
    z = np.concatenate([z1, z2])
    z = z / np.linalg.norm(z, axis=1, keepdims=True)
    n, b = z.shape[0], z1.shape[0]
    total = 0.0
    for i in range(n):
        j = (i + b) % n
        denom = sum(math.exp(float(z[i] @ z[k]) / tau) for k in range(n) if k != i)
        total += -math.log(math.exp(float(z[i] @ z[j]) / tau) / denom)
    return total / n


@pytest.mark.parametrize("tau", [0.1, 0.5, 2.0])
def test_nt_xent_equals_the_naive_formula(tau):
    rng = np.random.default_rng(0)
    z1, z2 = rng.standard_normal((7, 5)), rng.standard_normal((7, 5))
    got = nt_xent(torch.tensor(z1), torch.tensor(z2), tau).item()
    assert got == pytest.approx(_naive_nt_xent(z1, z2, tau), rel=1e-12)
    # invariant to each row's scale (cosine similarities)
    scale = torch.tensor(rng.uniform(0.1, 10, (7, 1)))
    assert nt_xent(torch.tensor(z1) * scale, torch.tensor(z2), tau).item() == pytest.approx(got, rel=1e-12)
    # symmetric in the two views
    assert nt_xent(torch.tensor(z2), torch.tensor(z1), tau).item() == pytest.approx(got, rel=1e-12)


def test_nt_xent_bounds_and_errors():
    z = torch.eye(6, dtype=torch.float64)
    # identical orthogonal views: each anchor's pair has similarity 1, the rest 0
    expected = -math.log(math.exp(1 / 0.5) / (math.exp(1 / 0.5) + 10))
    assert nt_xent(z, z, 0.5).item() == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match=r"z1 and z2 must have the same shape \(B, d\) with B >= 2"):
        nt_xent(torch.zeros(1, 3), torch.zeros(1, 3))
    with pytest.raises(ValueError, match=r"temperature must be > 0; got 0"):
        nt_xent(z, z, 0)


def test_augment_is_seeded_and_the_identity_at_zero_strength():
    x = torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    a = augment(x, torch.Generator().manual_seed(1))
    assert torch.equal(a, augment(x, torch.Generator().manual_seed(1)))
    assert not torch.equal(a, augment(x, torch.Generator().manual_seed(2)))
    none = augment(x, torch.Generator().manual_seed(1), translate=0, scale=0, rotate=0,
                   contrast=0, noise=0)
    torch.testing.assert_close(none, x, rtol=0, atol=1e-6)
    noisy = augment(x, torch.Generator().manual_seed(1), translate=0, scale=0, rotate=0,
                    contrast=0, noise=0.5)
    assert (noisy - x).std().item() == pytest.approx(0.5, rel=0.15)  # 384 draws
    # a zoom-in by 2 about the centre puts the centre pixels' neighbourhood on the whole image
    big = torch.zeros(1, 1, 8, 8)
    big[0, 0, 3:5, 3:5] = 1.0
    zoomed = augment(big, torch.Generator().manual_seed(0), translate=0, scale=0.99999,
                     rotate=0, contrast=0, noise=0)
    assert zoomed.sum() != big.sum()


def _net(seed=0):
    return ConvNet((1, 8, 8), 10, layers="small", seed=seed)


KW = dict(steps=6, batch_size=16, eval_every=3, eval_trials=40)


def test_resumes_bitwise_and_keeps_labels_out_of_the_encoder(tmp_path):
    task = make("digits")
    full = _net()
    res = train_contrastive(full, task, **KW, out=tmp_path / "full")
    assert res.steps == 6 and set(res.history) >= {"contrastive_loss", "probe_loss", "accuracy"}
    part = _net()

    class Crash(Exception):
        pass

    def crash(info):  # killed after the checkpoint of step 3
        if info.step == 4:
            raise Crash

    with pytest.raises(Crash):
        train_contrastive(part, task, **KW, out=tmp_path / "part", callbacks=[crash])
    resumed = _net()
    res2 = train_contrastive(resumed, task, **KW, out=tmp_path / "part")
    for (k, a), (_, b) in zip(full.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(a, b), k
    np.testing.assert_array_equal(res.history["loss"], res2.history["loss"])
    # without the probe the labels reach nothing: shuffling them changes no weight
    a, b = _net(), _net()
    train_contrastive(a, task, **{**KW, "steps": 2}, probe=False)

    class Shuffled:
        def __getattr__(self, name):
            return getattr(task, name)

        def generate(self, n, seed=None):
            batch = task.generate(n, seed=seed)
            perm = np.random.default_rng(0).permutation(n)
            return type(batch)(batch.inputs, batch.targets[perm], batch.mask, batch.conditions,
                               batch.input_names, batch.output_names, batch.task)

    train_contrastive(b, Shuffled(), **{**KW, "steps": 2}, probe=False)
    for (k, wa), (_, wb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(wa, wb), k


def test_run_config_algorithm_contrastive(tmp_path):
    cfg = parse_config({
        "task": {"name": "digits"}, "model": {"type": "convnet", "layers": "small"},
        "training": {"algorithm": "contrastive", "steps": 2, "batch_size": 8, "eval_every": 2,
                     "eval_trials": 20, "temperature": 0.2},
    })
    assert cfg.training.algorithm == "contrastive" and cfg.training.largest_batch() == 20
    res = run_training(cfg, tmp_path)
    assert res.steps == 2 and (tmp_path / "checkpoint.safetensors").is_file()
    from brainlike.models import VisionTransformer

    vit = VisionTransformer((1, 8, 8), 10, patch=2, dim=8, depth=1, heads=2, seed=0)
    assert train_contrastive(vit, make("digits"), steps=2, batch_size=8, eval_every=2,
                             eval_trials=20).steps == 2
    with pytest.raises(ConfigError, match=r"training.temperature: Input should be greater than 0"):
        parse_config({"task": {"name": "digits"}, "model": {"type": "convnet"},
                      "training": {"algorithm": "contrastive", "temperature": 0}})
    with pytest.raises(ConfigError, match=r"training.algorithm: must be one of \[.*'contrastive'"):
        parse_config({"task": {"name": "digits"}, "training": {"algorithm": "simclr"}})
    with pytest.raises(ValueError, match=r"The 'batch_size' parameter of train_contrastive must be an int >= 2"):
        train_contrastive(_net(), make("digits"), batch_size=1)
    from brainlike.models import RateRNN

    with pytest.raises(ValueError, match=r"train_contrastive needs a model with a linear 'readout'"):
        train_contrastive(RateRNN(1, 4, 10, seed=0), make("digits"), steps=1)


@pytest.mark.slow
def test_learns_a_representation_better_than_its_initialization():
    """Linear evaluation (logistic regression on the frozen last hidden layer, held-out digits):
    200 contrastive steps, no label reaching the encoder, beat the untrained network."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    task = make("digits")
    test = task.with_split("test")

    def linear_readout(net):
        with torch.no_grad():
            a = net.eval()(torch.tensor(task.data.images)).activity.numpy()
            b = net(torch.tensor(test.data.images)).activity.numpy()
        scaler = StandardScaler().fit(a)
        clf = LogisticRegression(max_iter=3000).fit(scaler.transform(a), task.data.labels)
        return clf.score(scaler.transform(b), test.data.labels)

    net = _net()
    untrained = linear_readout(net)
    train_contrastive(net, task, steps=200, batch_size=128, eval_every=200, eval_trials=359,
                      lr=2e-3, probe=False)
    assert linear_readout(net) > untrained + 0.02  # measured 0.967 against 0.922

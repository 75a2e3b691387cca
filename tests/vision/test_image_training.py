"""Image tasks train with the shared trainer: the loss of (B, n_classes) logits, evaluations on the
held-out split, and a ConvNet learning the generated shapes' identities."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from brainlike.models import ConvNet
from brainlike.tasks import make
from brainlike.training import RatePenalty, evaluate, masked_cross_entropy, train
from brainlike.training._session import eval_seed


def test_cross_entropy_of_image_logits_is_the_weighted_mean():
    g = torch.Generator().manual_seed(0)
    logits, labels = torch.randn(6, 4, generator=g), torch.randint(0, 4, (6,), generator=g)
    w = torch.tensor([1.0, 0.0, 2.0, 1.0, 1.0, 0.5])
    per = F.cross_entropy(logits, labels, reduction="none")
    torch.testing.assert_close(masked_cross_entropy(logits, labels, w), (per * w).sum() / w.sum())
    torch.testing.assert_close(masked_cross_entropy(logits, labels, torch.ones(6)),
                               F.cross_entropy(logits, labels))


def test_evaluations_score_the_held_out_split():
    task = make("digits")
    net = ConvNet(task.image_shape, 10, layers="small", seed=0)
    res = train(net, task, steps=2, batch_size=16, eval_every=2, eval_trials=50, seed=4,
                penalties=[RatePenalty(l2=1e-3)])  # a penalty with `valid`: none on images
    held_out = evaluate(net, task.with_split("test"), n_trials=50, seed=eval_seed(4, 2))
    assert res.accuracy == held_out.accuracy
    assert held_out.conditions["index"].max() < task.with_split("test").n_images


@pytest.mark.slow
def test_a_convnet_learns_identities_defined_by_shape():
    task = make("generated_shapes", labels="shape")
    net = ConvNet(task.image_shape, task.n_outputs, layers="small", seed=0)
    res = train(net, task, steps=150, batch_size=64, eval_every=150, eval_trials=1000)
    assert res.accuracy > 0.9  # 0.98 measured after 100 steps; chance 0.25

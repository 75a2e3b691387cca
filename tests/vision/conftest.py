"""Shared fixtures of the vision tests: a ConvNet trained on the digits (a few seconds)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from brainlike.models import ConvNet
from brainlike.tasks import make


def fit_convnet(
    net: ConvNet, task, *, steps: int, batch_size: int = 64, lr: float = 3e-3, seed: int = 0
) -> ConvNet:
    """A plain Adam/cross-entropy loop over the task's batches (one fresh batch per step)."""
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    for step in range(steps):
        batch = task.generate(batch_size, seed=[seed, 0, step])
        out = net(torch.tensor(batch.inputs))
        loss = torch.nn.functional.cross_entropy(out.outputs, torch.tensor(batch.targets))
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.zero_grad(set_to_none=True)
    return net.eval()


def accuracy(net: ConvNet, task) -> float:
    batch = task.batch()
    with torch.no_grad():
        logits = net(torch.tensor(batch.inputs)).outputs.numpy()
    return float(task.score(logits, batch).accuracy)


@pytest.fixture(scope="session")
def digits_net():
    """The primer's ConvNet (Fig. 4) trained for 400 steps on the digits' training split."""
    torch.manual_seed(0)
    task = make("digits")
    net = fit_convnet(
        ConvNet(task.image_shape, task.n_outputs, layers="primer", seed=0), task, steps=400
    )
    return net


@pytest.fixture(scope="session")
def digits_test():
    return make("digits", split="test")


def cosine(a, b) -> float:
    a, b = np.ravel(a), np.ravel(b)
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))

"""Facts about the per-step shortcuts of the training loop (issue 19): they give what the
general torch calls give, and ``train(device=...)`` is checked at the boundary."""

import math

import numpy as np
import pytest
import torch

from brainlike.models import RateRNN
from brainlike.tasks import make
from brainlike.training import train
from brainlike.training._loop import _clip_and_norm
from brainlike.training._session import nonfinite


def _grads(seed):
    g = torch.Generator().manual_seed(seed)
    params = [torch.zeros(s, requires_grad=True) for s in ((7, 5), (5,), (3, 7))]
    for p in params:
        p.grad = 3.0 * torch.randn(p.shape, generator=g)
    return params


@pytest.mark.parametrize("max_norm", [0.5, 1e6, math.inf])
def test_clip_and_norm_equals_clip_grad_norm_bit_for_bit(max_norm):
    ours, theirs = _grads(0), _grads(0)
    norm = _clip_and_norm(ours, max_norm)
    ref = torch.nn.utils.clip_grad_norm_(theirs, max_norm)
    assert torch.equal(norm, ref)
    for a, b in zip(ours, theirs):
        assert torch.equal(a.grad, b.grad)
    if max_norm == 0.5:  # it did clip: the total norm is now max_norm (to float32 rounding)
        total = torch.linalg.vector_norm(torch.cat([p.grad.ravel() for p in ours]))
        assert abs(float(total) - 0.5) < 1e-6


def test_nonfinite_names_each_bad_tensor_among_many():
    ts = [torch.ones(40, 30) for _ in range(5)]
    ts[1][17, 3] = float("nan")
    ts[3][0, 29] = -float("inf")
    assert nonfinite(ts) == [1, 3]
    assert nonfinite([torch.ones(3), torch.zeros(0)]) == []


def _task_and_net():
    task = make("perceptual_decision", dt=100.0)
    return task, RateRNN(task.n_inputs, 16, task.n_outputs, dt=100.0, tau=100.0, seed=0)


def test_device_cpu_is_the_default_device():
    task, net = _task_and_net()
    kw = dict(steps=6, batch_size=8, eval_every=6, eval_trials=20, seed=1)
    a = train(net, task, **kw)
    b = train(_task_and_net()[1], task, device="cpu", **kw)
    np.testing.assert_array_equal(a.history["loss"], b.history["loss"])


@pytest.mark.parametrize(("device", "match"), [
    ("cuda:99", r"'device' parameter of train is 'cuda:99', but this machine has \d+ CUDA"),
    ("gpu please", r"'device' parameter of train must be a torch.device or a device string.*"
                   r"Got 'gpu please'"),
    (3, r"'device' parameter of train must be a torch.device.*Got 3 instead"),
])
def test_bad_devices_are_named(device, match):
    task, net = _task_and_net()
    with pytest.raises(ValueError, match=match):
        train(net, task, steps=2, device=device)

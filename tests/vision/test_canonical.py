"""Canonical computations: divisive normalization, feature gain, predictive coding."""

from __future__ import annotations

import math

import pytest
import torch

from brainlike.models import ConvNet, DivisiveNormalization, FeatureGain, PredictiveCoding, apply_gain


# ---------------------------------------------------------------- divisive normalization
def test_eq37_closed_form():
    """n = 1, uniform pool: r_i = gamma x_i / (sigma + sum_j x_j) (primer Eq. 37, f = identity)."""
    norm = DivisiveNormalization(4, exponent=1.0, sigma=0.5, gamma=2.0)
    x = torch.rand(6, 4, dtype=torch.float64) + 0.1
    norm = norm.double()
    torch.testing.assert_close(norm(x), 2.0 * x / (0.5 + x.sum(1, keepdim=True)))


def test_heeger_contrast_response_half_max_at_sigma_and_saturation():
    norm = DivisiveNormalization(1, exponent=2.0, sigma=0.3).double()
    c = torch.tensor([[0.3], [3.0], [300.0]], dtype=torch.float64)
    r = norm(c)[:, 0]
    torch.testing.assert_close(r[0], torch.tensor(0.5, dtype=torch.float64))  # c = sigma: half max
    assert r[1] < r[2] < 1.0 and 1.0 - r[2] < 1e-5  # saturates at gamma = 1


def test_high_contrast_gain_invariance_and_rectification():
    """Scaling every input by k leaves the ratios r_i / r_j = (x_i / x_j)^n unchanged."""
    norm = DivisiveNormalization(3, exponent=2.0, sigma=1e-3).double()
    x = torch.tensor([[1.0, 2.0, 4.0]], dtype=torch.float64)
    r1, r10 = norm(x), norm(10 * x)
    torch.testing.assert_close(r1 / r1[:, :1], torch.tensor([[1.0, 4.0, 16.0]], dtype=torch.float64))
    torch.testing.assert_close(r10, r1, rtol=1e-5, atol=0)
    assert norm(torch.tensor([[-1.0, 2.0, 0.0]], dtype=torch.float64))[0, 0] == 0.0


def test_conv_pool_over_channels_and_learnable_parameters():
    norm = DivisiveNormalization(3, exponent=1.0, sigma=1.0, learn_weights=True)
    x = torch.rand(2, 3, 5, 5)
    expected = x / (1.0 + x.sum(1, keepdim=True))
    torch.testing.assert_close(norm(x), expected)
    loss = norm(x).square().sum()
    loss.backward()
    for p in (norm.log_exponent, norm.log_sigma, norm.raw_weights):
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0
    assert norm.log_gamma.grad is None  # gamma not learned by default
    time_major = DivisiveNormalization(3, exponent=1.0, sigma=1.0, dim=-1)
    y = torch.rand(2, 7, 3)
    torch.testing.assert_close(time_major(y), y / (1.0 + y.sum(-1, keepdim=True)))
    with pytest.raises(
        ValueError,
        match=r"DivisiveNormalization expects size 3 along dim -1; got input of shape \(2, 7, 4\)",
    ):
        time_major(torch.rand(2, 7, 4))
    with pytest.raises(
        ValueError,
        match=r"The 'sigma' parameter of DivisiveNormalization must be a float in the range \(0.0, inf\). Got 0",
    ):
        DivisiveNormalization(3, sigma=0)


def test_exponent_and_sigma_can_be_learned():
    """Fit n and sigma of a Naka-Rushton contrast response by gradient descent."""
    c = torch.linspace(0.02, 1.0, 40)[:, None]
    target = c**2.5 / (0.2**2.5 + c**2.5)
    norm = DivisiveNormalization(1, exponent=1.0, sigma=0.5)
    opt = torch.optim.Adam(norm.parameters(), lr=0.05)
    for _ in range(600):
        loss = (norm(c) - target).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert abs(norm.exponent.item() - 2.5) < 0.05 and abs(norm.sigma.item() - 0.2) < 0.005


# ---------------------------------------------------------------- attention
def test_feature_gain_formula_and_hook():
    g = torch.tensor([1.0, 0.0, -2.0])
    gain = FeatureGain(3, gains=g, beta=0.75)
    x = torch.rand(4, 3, 2, 2)
    expected = torch.relu(x * (1 + 0.75 * g).view(1, 3, 1, 1))
    torch.testing.assert_close(gain(x), expected)
    assert (gain(x)[:, 2] == 0).all()  # 1 + beta g < 0: silenced, not negative
    net = ConvNet((1, 8, 8), 10, seed=0)
    x = torch.rand(3, 1, 8, 8)
    with apply_gain(net, "relu2", torch.zeros(16), beta=5.0):
        same = net(x).outputs
    torch.testing.assert_close(same, net(x).outputs)
    with apply_gain(net, "relu2", torch.ones(16), beta=1.0) as module:
        doubled = net.pool2(net.relu2(net.conv2(net.pool1(net.relu1(net.conv1(x))))))
        module.set(torch.ones(16), 0.0)
        undone = net(x).outputs
    torch.testing.assert_close(
        doubled, 2 * net.pool2(net.relu2(net.conv2(net.pool1(net.relu1(net.conv1(x))))))
    )
    torch.testing.assert_close(undone, net(x).outputs)
    with pytest.raises(ValueError, match=r"gains must be a finite tensor of shape \(3,\); got \(2,\)"):
        gain.set(torch.ones(2), 1.0)


def test_gain_layer_in_a_layer_list():
    net = ConvNet(
        (1, 8, 8), 10, layers=[{"type": "conv", "channels": 4}, "relu", {"type": "gain"}], seed=0
    )
    x = torch.rand(2, 1, 8, 8)
    base = net(x).outputs
    net.gain1.set(torch.zeros(4), 3.0)
    torch.testing.assert_close(net(x).outputs, base)


# ---------------------------------------------------------------- predictive coding
def _exact_mode(pc: PredictiveCoding, x: torch.Tensor) -> list[torch.Tensor]:
    """Minimize the (quadratic) energy exactly: solve H r = b over all levels at once."""
    sizes = pc.sizes[1:]
    total = sum(sizes)

    def energy(flat):
        parts = list(torch.split(flat, sizes))
        return pc.energy(x[None], [p[None] for p in parts]).sum()

    zero = torch.zeros(total, dtype=torch.float64)
    h = torch.autograd.functional.hessian(energy, zero)
    g = torch.autograd.functional.jacobian(energy, zero)
    return list(torch.split(torch.linalg.solve(h, -g), sizes))


def test_linear_gaussian_inference_reaches_the_posterior_mode():
    pc = PredictiveCoding([6, 3], sigma=0.5, prior=0.2, seed=0).double()
    x = torch.randn(4, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    res = pc.infer(x, n_steps=5000, lr=0.05, tol=1e-12)
    U = pc.U[0].detach()
    exact = torch.linalg.solve(
        U.T @ U / 0.25 + 0.2 * torch.eye(3, dtype=torch.float64), U.T @ x.T / 0.25
    ).T
    torch.testing.assert_close(res.states[0], exact, rtol=0, atol=1e-8)
    assert res.converged
    diffs = res.energy[1:] - res.energy[:-1]
    assert (diffs <= 1e-12).all()  # gradient descent on E: the energy never rises
    # error units: precision-weighted residual of the prediction
    torch.testing.assert_close(res.errors[0], (x - res.predictions[0]) / 0.25)


def test_two_level_linear_network_reaches_the_joint_mode():
    pc = PredictiveCoding([8, 4, 2], sigma=[0.7, 1.3], prior=0.1, seed=2).double()
    x = torch.randn(8, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    res = pc.infer(x[None], n_steps=20000, lr=0.1, tol=1e-13)  # lr < 2 / max eig(H) = 0.22: stops at ~1300
    for got, want in zip(res.states, _exact_mode(pc, x)):
        torch.testing.assert_close(got[0], want, rtol=0, atol=1e-7)


def test_learning_reduces_the_energy_of_structured_data():
    gen = torch.Generator().manual_seed(0)
    basis = torch.randn(10, 2, generator=gen)
    data = torch.randn(256, 2, generator=gen) @ basis.T + 0.05 * torch.randn(256, 10, generator=gen)
    pc = PredictiveCoding([10, 2], sigma=1.0, prior=0.1, seed=1)
    before = pc.infer(data, n_steps=200).energy[-1]
    for _ in range(150):
        pc.learn(data, lr=0.05, n_steps=50)
    after = pc.infer(data, n_steps=200).energy[-1]
    assert after < 0.2 * before
    # the learned generative weights span the planted subspace: small principal angles
    q1, _ = torch.linalg.qr(pc.U[0].detach())
    q2, _ = torch.linalg.qr(basis)
    cosines = torch.linalg.svdvals(q1.T @ q2)
    assert cosines.min() > math.cos(math.radians(5))


def test_tanh_network_runs_and_checks_inputs():
    pc = PredictiveCoding([5, 3], activation="tanh", seed=0)
    res = pc.infer(torch.rand(2, 5), n_steps=100)
    assert res.energy[-1] < res.energy[0]
    with pytest.raises(ValueError, match=r"x must have shape \(batch, 5\); got \(2, 4\)"):
        pc.infer(torch.rand(2, 4))
    with pytest.raises(
        ValueError,
        match=r"The 'activation' parameter of PredictiveCoding must be one of \['linear', 'tanh'\]. Got 'relu'",
    ):
        PredictiveCoding([5, 3], activation="relu")

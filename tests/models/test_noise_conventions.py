"""The two recurrent-noise conventions of RateRNN and how they behave as dt changes.

``inside_f`` (Yang et al. 2019): r_t = (1 - a) r + a f(z + sqrt(2/a) s xi).
``on_state`` (Song et al. 2016):  r_t = (1 - a) r + a f(z) + sqrt(2 a) s xi.
For a linear f they coincide; for a nonlinear f only ``on_state`` converges as dt -> 0.
"""

import math

import pytest
import torch

from brainlike.models import ACTIVATIONS, RateRNN
from brainlike.models._bptt import leaky_loop, leaky_loop_reference

TAU, SIGMA = 100.0, 0.3


def _unit(convention, dt, activation, w=0.0, b=0.0):
    """One unit with self-coupling w and bias b, no input."""
    net = RateRNN(1, 1, 1, tau=TAU, dt=dt, sigma_rec=SIGMA, noise_convention=convention,
                  activation=activation, w_rec_init="identity", w_rec_gain=w, seed=0)
    with torch.no_grad():
        net.b_rec.fill_(b)
    return net


def _stationary(net, n_trials=8000, seed=0):
    """Mean over trials and over the second half of 8 tau, and the std across trials at the end."""
    steps = int(8 * TAU / net.dt)
    with torch.no_grad():
        r = net(torch.zeros(n_trials, steps, 1), generator=torch.Generator().manual_seed(seed))
    late = r.activity[:, steps // 2:, 0]
    return late.mean().item(), late[:, -1].std().item()


def test_linear_f_the_two_conventions_are_one_equation():
    """Same draws, same trajectories: alpha * sqrt(2/alpha) sigma xi == sqrt(2 alpha) sigma xi."""
    x = torch.randn(16, 30, 2, generator=torch.Generator().manual_seed(0))
    runs = []
    for convention in ("inside_f", "on_state"):
        net = RateRNN(2, 8, 1, tau=TAU, dt=10.0, activation="linear", sigma_rec=SIGMA,
                      noise_convention=convention, seed=4)
        runs.append(net(x, generator=torch.Generator().manual_seed(1)).activity)
    torch.testing.assert_close(runs[0], runs[1], rtol=0, atol=1e-6)
    assert runs[0].std() > 0.1  # the noise is there


def test_inside_f_with_relu_drifts_like_one_over_sqrt_dt():
    """z = 0: r's stationary mean is E[relu(s xi)] = s / sqrt(2 pi) with s = sqrt(2/alpha) sigma,
    i.e. sigma sqrt(tau / (pi dt)) -- a mean drive that grows as dt shrinks. With the noise on
    the state the mean is 0 at every dt."""
    for dt in (10.0, 1.25):
        mean, _ = _stationary(_unit("inside_f", dt, "relu"))
        predicted = SIGMA * math.sqrt(TAU / (math.pi * dt))
        # ~4e5 correlated samples: the standard error is ~0.3 %; 3 % leaves a wide margin.
        assert abs(mean - predicted) < 0.03 * predicted, (dt, mean, predicted)
        mean, std = _stationary(_unit("on_state", dt, "relu"))
        # An AR(1) process: stationary std sigma / sqrt(1 - alpha / 2) (-> sigma as dt -> 0);
        # the std of 8000 trials has a relative s.e. of 0.8 %.
        exact = SIGMA / math.sqrt(1 - dt / TAU / 2)
        assert abs(mean) < 0.02 and abs(std - exact) < 0.04 * exact


@pytest.mark.parametrize(("activation", "w", "b"), [("relu", 0.5, 0.2), ("tanh", 0.5, 0.2)])
def test_on_state_converges_as_dt_shrinks_and_inside_f_does_not(activation, w, b):
    """A nonlinear unit with recurrence: halving dt twice leaves the stationary statistics of
    the Euler-Maruyama (on_state) simulation unchanged to sampling error (s.e. of a mean ~0.005,
    of a std ~0.004, 8000 trials; discretization error O(alpha) ~ 0.003), while inside_f's
    change by many times that (ReLU: the mean drifts up; tanh: the noise is squashed)."""
    coarse, fine = (_stationary(_unit("on_state", dt, activation, w, b)) for dt in (5.0, 1.25))
    assert abs(coarse[0] - fine[0]) < 0.03 and abs(coarse[1] - fine[1]) < 0.03
    coarse_f, fine_f = (_stationary(_unit("inside_f", dt, activation, w, b)) for dt in (5.0, 1.25))
    if activation == "relu":
        assert fine_f[0] - coarse_f[0] > 0.5  # mean drive ~ 1/sqrt(dt)
    else:
        assert fine_f[1] < 0.6 * coarse_f[1]  # tanh squashes ever larger noise: its effect shrinks
    # and inside_f at the fine dt is far from the dt -> 0 limit that on_state converges to
    assert abs(fine_f[0] - fine[0]) > 0.2


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_fast_loop_with_state_noise_matches_the_naive_loop(name):
    g = torch.Generator().manual_seed(0)
    u = torch.randn(6, 3, 5, generator=g, dtype=torch.float64, requires_grad=True)
    w = (0.6 * torch.randn(5, 5, generator=g, dtype=torch.float64)).requires_grad_()
    r0 = torch.randn(3, 5, generator=g, dtype=torch.float64).abs().requires_grad_()
    noise = 0.1 * torch.randn(6, 3, 5, generator=g, dtype=torch.float64)
    act = ACTIVATIONS[name]
    fast = leaky_loop(u, w, r0, 0.3, act, noise)
    naive = leaky_loop_reference(u, w, r0, 0.3, act, noise)
    torch.testing.assert_close(fast, naive, rtol=0, atol=1e-12)
    weights = torch.randn(fast.shape, generator=g, dtype=torch.float64)
    for a, b in zip(torch.autograd.grad((fast * weights).sum(), (u, w, r0)),
                    torch.autograd.grad((naive * weights).sum(), (u, w, r0))):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


def test_on_state_noise_has_the_documented_scale_and_bad_conventions_are_named():
    net = _unit("on_state", 20.0, "relu")
    with torch.no_grad():
        r1 = net(torch.zeros(40000, 1, 1), generator=torch.Generator().manual_seed(0)).activity
    expected = math.sqrt(2 * 0.2) * SIGMA  # r_1 = sqrt(2 alpha) sigma xi from r_0 = 0, f(0) = 0
    assert abs(r1.std().item() - expected) < 0.02 * expected  # 4e4 samples: s.e. 0.35 %
    with pytest.raises(ValueError, match=r"'noise_convention' parameter of RateRNN must be one of \['inside_f', 'on_state'\]\. Got 'outside'"):
        RateRNN(1, 2, 1, noise_convention="outside")

"""FiringRatePenalty: rates in Hz, the range, its gradient, the config section."""

import pytest
import torch

from brainlike.experiments._config import PenaltyConfig
from brainlike.models import RateRNN, SpikingRNN
from brainlike.training import FiringRatePenalty, firing_rates_hz


def test_rates_are_in_hz_and_padding_is_excluded():
    s = torch.zeros(2, 10, 2)
    s[0, :4, 0] = 1.0    # trial 0: a spike at each of its 4 valid steps
    s[1, :, 1] = 1.0     # trial 1: unit 1 at every step, including padding after step 6
    valid = torch.zeros(2, 10, dtype=torch.bool)
    valid[0, :4] = True
    valid[1, :6] = True
    # 10 valid steps of 20 ms in all: unit 0 spikes 4 times, unit 1 six times.
    torch.testing.assert_close(firing_rates_hz(s, 20.0, valid), torch.tensor([20.0, 30.0]))
    torch.testing.assert_close(firing_rates_hz(s, 20.0), torch.tensor([4 / 20 * 50, 10 / 20 * 50]))


def test_penalty_is_zero_inside_the_range_and_quadratic_outside():
    net = SpikingRNN(1, 3, 1, dt=10.0, seed=0)
    s = torch.zeros(1, 100, 3)
    s[0, ::5, 0] = 1.0    # 20 Hz: inside [5, 40]
    s[0, ::2, 1] = 1.0    # 50 Hz: 10 Hz above
    penalty = FiringRatePenalty(low_hz=5.0, high_hz=40.0, strength=2.0)
    # unit 2 is silent: 5 Hz below. d = [0, 10/40, 5/40]
    expected = 2.0 * ((10 / 40) ** 2 + (5 / 40) ** 2) / 3
    assert float(penalty(net, s)) == pytest.approx(expected, rel=1e-6)
    assert float(penalty(net, s[..., :1])) == 0.0


def test_penalty_moves_rates_into_the_range():
    """Trained on the penalty alone, a network firing at 70 Hz on average comes down below 50 Hz (the
    gradient reaches the weights through the surrogate)."""
    torch.manual_seed(0)
    net = SpikingRNN(2, 20, 1, dt=5.0, tau_syn=10.0, tau_out=20.0, w_in_gain=8.0, input_synapse=True,
                     surrogate="fast_sigmoid", seed=0)
    x = torch.rand(8, 40, 2, generator=torch.Generator().manual_seed(0)) + 0.5
    penalty = FiringRatePenalty(low_hz=1.0, high_hz=50.0)
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    before = firing_rates_hz(net(x, noise=False).activity, net.dt).mean().item()
    for _ in range(40):
        opt.zero_grad()
        penalty(net, net(x, noise=False).activity).backward()
        opt.step()
    with torch.no_grad():
        activity = net(x, noise=False).activity
    assert before > 60.0
    assert firing_rates_hz(activity, net.dt).mean().item() < 50.0 and float(penalty(net, activity)) < 1e-2


def test_refusals_by_name():
    with pytest.raises(TypeError, match=r"FiringRatePenalty needs a spiking model \(SpikingRNN, whose activity is spikes\); got RateRNN"):
        FiringRatePenalty()(RateRNN(1, 2, 1, seed=0), torch.zeros(1, 3, 2))
    with pytest.raises(ValueError, match=r"FiringRatePenalty needs low_hz < high_hz; got low_hz=50\.0, high_hz=10\.0"):
        FiringRatePenalty(low_hz=50.0, high_hz=10.0)
    with pytest.raises(ValueError, match=r"The 'strength' parameter of FiringRatePenalty must be a float in the range \[0\.0, inf\)\. Got -1\.0 instead\."):
        FiringRatePenalty(strength=-1.0)


def test_config_section():
    built = PenaltyConfig(firing_rate=0.5, firing_rate_hz=[2.0, 30.0]).build()
    assert built == [FiringRatePenalty(low_hz=2.0, high_hz=30.0, strength=0.5)]
    assert PenaltyConfig().build() == []
    with pytest.raises(ValueError, match=r"firing_rate_hz must be \[low, high\] with 0 <= low < high; got \[30\.0, 2\.0\]"):
        PenaltyConfig(firing_rate=0.5, firing_rate_hz=[30.0, 2.0])
    with pytest.raises(ValueError, match=r"firing_rate_hz must be \[low, high\] with 0 <= low < high; got \[1\.0\]"):
        PenaltyConfig(firing_rate_hz=[1.0])

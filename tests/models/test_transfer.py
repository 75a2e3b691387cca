"""Rate-to-spiking transfer (Kim, Li & Sejnowski 2019) and the LIF f-I curve it relies on."""

import math

import pytest
import torch

from brainlike.models import RateRNN, SpikingRNN, rate_to_spiking


@pytest.mark.parametrize("u", [1.5, 3.0])
def test_uncoupled_unit_fires_at_the_rate_of_the_lif_f_i_curve(u):
    """A unit driven by a constant current u > theta from V = 0: the exact step reaches the
    threshold after k = ceil(ln(1 - theta/u) / ln beta) steps, then n_ref refractory steps;
    its rate is 1000 / ((k + n_ref) dt) Hz, close to the continuous
    1 / (t_ref + tau ln(u / (u - theta))) (the rate network's f for Kim et al.'s mapping)."""
    dt, tau, t_ref = 0.1, 10.0, 2.0
    net = SpikingRNN(1, 1, 1, dt=dt, tau_mem=tau, refractory=t_ref, reset="zero", seed=0).double()
    with torch.no_grad():
        net.w_in.fill_(1.0)
        net.w_rec.zero_()
    spikes = net(torch.full((1, 3000, 1), u, dtype=torch.float64), noise=False).activity[0, :, 0]
    k = math.ceil(math.log(1 - 1.0 / u) / math.log(net.beta))
    times = torch.nonzero(spikes).flatten()
    assert (times.diff() == k + net.refractory_steps).all() and times[0] == k - 1
    continuous = 1000.0 / (t_ref + tau * math.log(u / (u - 1.0)))
    assert 1000.0 / ((k + net.refractory_steps) * dt) == pytest.approx(continuous, rel=0.03)


def test_rate_to_spiking_maps_the_weights_with_the_published_scaling():
    rnn = RateRNN(3, 20, 2, tau=80.0, dt=20.0, connectivity={"type": "dale", "e_fraction": 0.75},
                  seed=0)
    with torch.no_grad():
        rnn.b_rec.fill_(0.1)
    snn = rate_to_spiking(rnn, 8.0, dt=0.5, threshold=1.0)
    w = rnn.effective_weights()
    assert (snn.dt, snn.tau_syn, snn.tau_out, snn.reset, snn.input_synapse) == (0.5, 80.0, 80.0, "zero", False)
    assert snn.refractory_steps == 4 and snn.tau_mem == 10.0
    torch.testing.assert_close(snn.w_rec, w.w_rec / 8.0)
    torch.testing.assert_close(snn.w_out, w.w_out / 8.0)
    torch.testing.assert_close(snn.w_in, w.w_in)
    torch.testing.assert_close(snn.b_rec, torch.full((20,), 1.1))
    sign = rnn.connectivity.cell_sign
    assert (snn.w_rec[:, sign > 0] >= 0).all() and (snn.w_rec[:, sign < 0] <= 0).all()  # Dale kept


def test_rate_to_spiking_refusals():
    with pytest.raises(ValueError, match=r"rate_to_spiking needs a non-negative rate function \['relu', 'softplus', 'sigmoid', 'retanh'\] \(spike rates cannot be negative\); this RateRNN has 'tanh'"):
        rate_to_spiking(RateRNN(1, 2, 1, activation="tanh", seed=0), 5.0)
    with pytest.raises(TypeError, match=r"rate_to_spiking converts a RateRNN; got SpikingRNN"):
        rate_to_spiking(SpikingRNN(1, 2, 1, seed=0), 5.0)
    with pytest.raises(ValueError, match=r"The 'scale' parameter of rate_to_spiking must be a float > 0\. Got 0 instead\."):
        rate_to_spiking(RateRNN(1, 2, 1, seed=0), 0)

"""STSPRNN: Mongillo et al. 2008 / Masse et al. 2019 short-term plasticity, stated as facts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from brainlike import models
from brainlike.models import STSPRNN, SYNAPSE_TYPES, RateRNN, synapse_types

DT = 10.0


def _silent_net(config, rate, n=4):
    """W = 0, W_x = 0, b = r0 = ``rate``: the rates stay at ``rate`` (ReLU, r = lerp(r, r))."""
    net = STSPRNN(1, n, 1, dt=DT, synapse_config=config, train_initial_state=True, seed=0).double()
    with torch.no_grad():
        net.w_rec.zero_()
        net.w_in.zero_()
        net.b_rec.fill_(rate)
        net.r0.fill_(rate)
    return net


@pytest.mark.parametrize("kind", ["facilitating", "depressing"])
def test_fixed_points_at_a_constant_rate(kind):
    """u* = U (1 + tau_u r) / (1 + U tau_u r), x* = 1 / (1 + u* tau_x r) (tau in s, r in Hz)."""
    rate = 12.0
    net = _silent_net("fac" if kind == "facilitating" else "dep", rate)
    with torch.no_grad():
        run = net.traced(torch.zeros(1, 2000, 1, dtype=torch.float64))   # 20 s
    parts = net.split_state(run.output.final_state)
    c = SYNAPSE_TYPES[kind]
    tau_u, tau_x, big_u = c["tau_u"] / 1000, c["tau_x"] / 1000, c["U"]
    u_star = big_u * (1 + tau_u * rate) / (1 + big_u * tau_u * rate)
    x_star = 1 / (1 + u_star * tau_x * rate)
    np.testing.assert_allclose(parts["r"].numpy(), rate, rtol=1e-12)
    np.testing.assert_allclose(parts["u"].numpy(), u_star, rtol=0, atol=1e-6)
    np.testing.assert_allclose(parts["x"].numpy(), x_star, rtol=0, atol=1e-6)
    np.testing.assert_allclose(run.traces["efficacy"][0, -1].numpy(), u_star * x_star, atol=1e-6)


def test_initial_state_is_rest_and_rest_is_kept():
    """x = 1, u = U before any activity (not already depressed, cf. NEST #957); at r = 0
    the synapses stay there exactly."""
    net = _silent_net("full", 0.0)
    s0 = net.split_state(net.initial_state(2))
    assert torch.equal(s0["x"], torch.ones(2, 4, dtype=torch.float64))
    # U is a float32 buffer of the published constants (cast to float64 by .double()).
    np.testing.assert_allclose(s0["u"][0].detach().numpy(), [0.15, 0.45, 0.15, 0.45], rtol=1e-7)
    with torch.no_grad():
        out = net(torch.zeros(2, 50, 1, dtype=torch.float64))
    assert torch.equal(out.final_state, net.initial_state(2))


def test_a_burst_facilitates_or_depresses():
    """A 200 ms input burst (rates rise to 20 Hz), then silence: efficacy u x above rest for
    facilitating synapses, below rest for depressing ones; the facilitation outlasts the burst
    by seconds (tau_u = 1.5 s) and the depression recovers (tau_x = 1.5 s)."""
    net = _silent_net("full", 0.0, n=2)
    with torch.no_grad():
        net.w_in.fill_(1.0)
        net.b_rec.zero_()
        net.r0.zero_()
    x = torch.zeros(1, 300, 1, dtype=torch.float64)
    x[0, :20] = 20.0
    with torch.no_grad():
        eff = net.traced(x).traces["efficacy"][0]
    rest = torch.tensor([0.15, 0.45], dtype=torch.float64)
    end_of_burst, one_second_later = eff[19], eff[119]
    assert end_of_burst[0] > 1.5 * rest[0] and end_of_burst[1] < 0.5 * rest[1]
    assert one_second_later[0] > 2 * rest[0] and one_second_later[1] < 0.6 * rest[1]
    assert abs(float(eff[-1, 1] - rest[1])) < 0.1 < abs(float(eff[50, 1] - rest[1]))


def test_step_is_the_equations():
    """One step, written out per unit in float64. The per-unit constants are float32 buffers
    (dt / tau, U) cast to float64, so they differ from the decimal constants by ~1e-9."""
    net = STSPRNN(3, 5, 2, dt=DT, seed=1).double()
    gen = torch.Generator().manual_seed(0)
    state = torch.cat([torch.rand(2, 5, generator=gen, dtype=torch.float64) * 20,
                       torch.rand(2, 10, generator=gen, dtype=torch.float64)], dim=1)
    u_in = torch.randn(2, 3, generator=gen, dtype=torch.float64)
    new = net.step(state, u_in).detach().numpy()
    p = {k: v.detach().numpy() for k, v in net.named_parameters()}
    r, x, u = state[:, :5].numpy(), state[:, 5:10].numpy(), state[:, 10:].numpy()
    for b in range(2):
        for j in range(5):
            c = SYNAPSE_TYPES["facilitating" if j % 2 == 0 else "depressing"]
            xj = x[b, j] + DT / c["tau_x"] * (1 - x[b, j]) - DT / 1000 * u[b, j] * x[b, j] * r[b, j]
            uj = u[b, j] + DT / c["tau_u"] * (c["U"] - u[b, j]) + DT / 1000 * c["U"] * (1 - u[b, j]) * r[b, j]
            assert new[b, 5 + j] == pytest.approx(min(max(xj, 0), 1), abs=1e-7)
            assert new[b, 10 + j] == pytest.approx(min(max(uj, 0), 1), abs=1e-7)
        eff = new[b, 10:] * new[b, 5:10] * r[b]
        z = p["w_rec"] @ eff + p["w_in"] @ u_in[b].numpy() + p["b_rec"]
        want = r[b] + 0.1 * (np.maximum(z, 0) - r[b])
        np.testing.assert_allclose(new[b, :5], want, rtol=0, atol=1e-12)


def test_static_synapses_are_the_rate_network():
    """synapse_config='none': efficacy 1, the network of RateRNN (same weights and noise)."""
    net = STSPRNN(3, 8, 2, dt=20.0, synapse_config="none", sigma_rec=0.1, seed=0)
    rnn = RateRNN(3, 8, 2, dt=20.0, sigma_rec=0.1, seed=5)
    rnn.load_state_dict({k: v for k, v in net.state_dict().items() if k in rnn.state_dict()})
    x = torch.randn(4, 10, 3, generator=torch.Generator().manual_seed(0))
    g = torch.Generator
    with torch.no_grad():
        a = net(x, generator=g().manual_seed(1))
        b = rnn(x, generator=g().manual_seed(1))
    torch.testing.assert_close(a.outputs, b.outputs, rtol=1e-6, atol=1e-6)
    assert torch.equal(net.split_state(a.final_state)["u"], torch.ones(4, 8))


def test_dale_populations_get_their_own_synapse_types():
    net = models.make("stsp", n_input=3, n_hidden=10, n_output=2, seed=0,
                      connectivity={"type": "dale", "e_fraction": 0.8},
                      synapse_config="exc_dep_inh_fac")
    assert net.synapse_types == ("depressing",) * 8 + ("facilitating",) * 2
    np.testing.assert_allclose(net.U.numpy(), [0.45] * 8 + [0.15] * 2, rtol=1e-6)
    w = net.effective_weights().w_rec.detach()
    assert (w[:, :8] >= 0).all() and (w[:, 8:] <= 0).all()
    # The signs hold for the weights in use too: efficacy is non-negative.
    with torch.no_grad():
        s = net(torch.rand(2, 30, 3)).final_state
        w_syn = net.synaptic_weights(s)
    assert (w_syn[..., :8] >= 0).all() and (w_syn[..., 8:] <= 0).all()
    assert synapse_types("inh_dep", 3, [True, False, True]) == ["static", "depressing", "static"]


def test_bad_arguments_are_refused_by_name():
    with pytest.raises(ValueError, match=r"synapse_config='exc_fac' gives excitatory and inhibitory "
                                         r"units their own synapse types, so it needs Dale's law"):
        models.make("stsp", 3, 10, 2, synapse_config="exc_fac")
    with pytest.raises(ValueError, match=r"The 'synapse_config' parameter of STSPRNN must be one of "
                                         r"\['full', 'fac', 'dep', .*\]\. Got 'facilitating'"):
        STSPRNN(3, 10, 2, synapse_config="facilitating")
    with pytest.raises(ValueError, match=r"STSPRNN needs dt <= tau .* Got dt=20\.0, tau=10\.0"):
        STSPRNN(3, 10, 2, dt=20.0, tau=10.0)
    with pytest.raises(ValueError, match=r"synapse_config must be one of \['full'"):
        synapse_types("sometimes", 3)
    with pytest.raises(ValueError, match="without_connections needs a STSPRNN with a plain w_rec"):
        STSPRNN(3, 10, 2, connectivity={"type": "dale"}).without_connections([0], [1])


@pytest.mark.parametrize("convention", ["inside_f", "on_state"])
def test_hand_written_backward_equals_autograd(convention):
    """Gradients of the fused loop (forward buffers, backward by hand) equal autograd through
    ``step`` applied T times, float64, for every parameter and the initial state; with
    Dale's law, noise, clipped resources (high rates) and outputs on r, x and u."""
    torch.manual_seed(0)
    net = STSPRNN(3, 6, 2, dt=20.0, sigma_rec=0.3, noise_convention=convention, seed=2,
                  connectivity={"type": "dale", "e_fraction": 0.5}, synapse_config="full",
                  train_initial_state=True).double()
    with torch.no_grad():
        net.w_in.mul_(300.0)           # rates of hundreds of Hz: x is driven to the clip at 0
    x = torch.rand(3, 25, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    s0 = net.initial_state(3).detach().clone().requires_grad_(True)
    params = dict(net.named_parameters())
    params.pop("r0")  # the simulation starts from s0

    def loss(run_states, outputs):
        parts = net.split_state(run_states)
        return (outputs.square().sum() + (parts["x"] * parts["u"]).sin().sum()
                + parts["r"].sum() * 1e-2)

    run = net.traced(x, s0, generator=torch.Generator().manual_seed(5))
    fused = torch.autograd.grad(loss(run.traces["state"], run.output.outputs),
                                [s0, *params.values()])
    assert float(net.split_state(run.traces["state"].detach())["x"].min()) == 0.0  # clip hit
    # The reference: the same noise, added as forward adds it, through the plain step.
    xi = torch.randn(25, 3, 6, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    w = net.effective_weights()
    state, states = s0, []
    for t in range(25):
        drive_noise = (2 / net.alpha) ** 0.5 * 0.3 * xi[t] if convention == "inside_f" else 0.0
        r, xs, us = net._split(state)
        xs, us = net._synapses(r, xs, us)
        z = (us * xs * r) @ w.w_rec.t() + x[:, t] @ w.w_in.t() + net.b_rec + drive_noise
        r = torch.lerp(r, torch.relu(z), net.alpha)
        if convention == "on_state":
            r = r + (2 * net.alpha) ** 0.5 * 0.3 * xi[t]
        state = torch.cat((r, xs, us), dim=-1)
        states.append(state)
    states = torch.stack(states, dim=1)
    torch.testing.assert_close(states, run.traces["state"], rtol=0, atol=1e-12)
    reference = torch.autograd.grad(loss(states, states[..., :6] @ w.w_out.t() + net.b_out),
                                    [s0, *params.values()])
    for name, a, b in zip(["state", *params], fused, reference):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12, msg=name)

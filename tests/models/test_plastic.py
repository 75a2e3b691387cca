"""PlasticRNN: the equations of Miconi et al. 2018/2019, stated as facts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from brainlike import models, tasks
from brainlike.models import PlasticRNN, RateRNN
from brainlike.training import train

N_IN, N, N_OUT = 2, 4, 1


def _net(rule, **kw):
    net = PlasticRNN(N_IN, N, N_OUT, rule=rule, alpha_init=0.5, seed=3, **kw).double()
    with torch.no_grad():
        net.b_rec.normal_(0.0, 0.3, generator=torch.Generator().manual_seed(1))
        if rule == "neuromodulated":
            net.b_mod.fill_(0.2)
            net.mod_fanout.normal_(0.0, 1.0, generator=torch.Generator().manual_seed(2))
    return net


def _reference(net, x):
    """The update written out per connection, in float64 NumPy."""
    p = {k: v.detach().numpy() for k, v in net.named_parameters()}
    w, a, w_in, b = p["w_rec"], p["alpha"], p["w_in"], p["b_rec"]
    eta = None if net.rule == "neuromodulated" else 1 / (1 + np.exp(-p["eta_logit"]))
    batch, steps, _ = x.shape
    hs, hebbs = np.zeros((batch, steps, N)), np.zeros((batch, steps, N, N))
    for b_ in range(batch):
        h, hebb = np.zeros(N), np.zeros((N, N))
        for t in range(steps):
            new = np.tanh([sum((w[i, j] + a[i, j] * hebb[i, j]) * h[j] for j in range(N))
                           + w_in[i] @ x[b_, t] + b[i] for i in range(N)])
            upd = np.empty((N, N))
            for i in range(N):
                for j in range(N):
                    if net.rule == "hebbian":
                        upd[i, j] = (1 - eta) * hebb[i, j] + eta * new[i] * h[j]
                    elif net.rule == "oja":
                        upd[i, j] = hebb[i, j] + eta * new[i] * (h[j] - new[i] * hebb[i, j])
                    else:
                        m = np.tanh(p["w_mod"] @ new + p["b_mod"])
                        upd[i, j] = np.clip(hebb[i, j] + p["mod_fanout"][i] * m * new[i] * h[j],
                                            -2.0, 2.0)
            h, hebb = new, upd
            hs[b_, t], hebbs[b_, t] = h, hebb
    return hs, hebbs


@pytest.mark.parametrize("rule", models.PLASTICITY_RULES)
def test_forward_is_the_equations(rule):
    net = _net(rule)
    x = torch.randn(2, 6, N_IN, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    with torch.no_grad():
        run = net.traced(x)
    hs, hebbs = _reference(net, x.numpy())
    np.testing.assert_allclose(run.output.activity.numpy(), hs, rtol=0, atol=1e-12)
    state = run.traces["state"].numpy()
    np.testing.assert_allclose(state[..., N:].reshape(2, 6, N, N), hebbs, rtol=0, atol=1e-12)
    # The trace norm is the Frobenius norm of Hebb_t; W_eff = W + alpha * Hebb.
    np.testing.assert_allclose(run.traces["hebb_norm"].numpy(), np.linalg.norm(hebbs, axis=(-2, -1)),
                               rtol=1e-12)
    w_eff = net.plastic_weights(run.output.final_state).detach().numpy()
    expected = net.w_rec.detach().numpy() + net.alpha.detach().numpy() * hebbs[:, -1]
    np.testing.assert_allclose(w_eff, expected, rtol=0, atol=1e-12)
    assert float(run.traces["hebb_norm"][:, -1].min()) > 0.01  # the trace did change


def test_modulation_trace_and_anti_hebbian_sign():
    net = _net("neuromodulated")
    with torch.no_grad():
        net.w_mod.zero_()
        net.b_mod.fill_(-3.0)          # m = tanh(-3) < 0 at every step
        net.mod_fanout.fill_(1.0)
        net.w_rec.zero_()
    x = torch.ones(1, 30, N_IN, dtype=torch.float64)
    with torch.no_grad():
        run = net.traced(x)
    np.testing.assert_allclose(run.traces["modulation"].numpy(), np.tanh(-3.0), rtol=1e-12)
    h = run.output.activity[0, -1].detach()
    hebb = net.split_state(run.output.final_state)["hebb"].reshape(N, N).detach()
    # Negative modulation: co-active pairs are depressed until the clip at -2.
    co = torch.outer(h, h)
    assert bool(((hebb * torch.sign(co)) <= 0).all())
    assert float(hebb.abs().max()) == pytest.approx(2.0, abs=1e-12)


@pytest.mark.parametrize("rule", ["hebbian", "oja"])
def test_trace_converges_to_the_rules_fixed_point(rule):
    """Constant activity h: Hebbian with decay -> h h^T; Oja -> h_j / h_i (planted)."""
    net = _net(rule)
    with torch.no_grad():
        net.w_rec.zero_()
        net.alpha.zero_()              # W_eff = 0: h_t = tanh(W_x x + b), constant
        net.b_rec.copy_(torch.tensor([0.8, -0.9, 1.0, -0.7]))
    x = torch.zeros(1, 1000, N_IN, dtype=torch.float64)   # h = tanh(b)
    with torch.no_grad():
        out = net(x)
    h = out.activity[0, -1].detach()
    hebb = net.split_state(out.final_state)["hebb"].reshape(N, N).detach()
    want = torch.outer(h, h) if rule == "hebbian" else h[None, :] / h[:, None]
    np.testing.assert_allclose(hebb.numpy(), want.numpy(), rtol=1e-8)


def test_without_plasticity_it_is_the_vanilla_rnn():
    """alpha = 0: the network of Eq. 14-16 (a RateRNN with tanh and dt = tau)."""
    net = PlasticRNN(3, 8, 2, seed=0)
    rnn = RateRNN(3, 8, 2, tau=20.0, dt=20.0, activation="tanh", seed=1)
    with torch.no_grad():
        net.alpha.zero_()
        for name in ("w_in", "w_rec", "b_rec", "w_out", "b_out"):
            getattr(rnn, name).copy_(getattr(net, name))
    x = torch.randn(4, 9, 3, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(net(x).outputs, rnn(x).outputs, rtol=1e-6, atol=1e-6)


def test_alpha_and_eta_are_learned():
    net = PlasticRNN(3, 8, 2, eta=0.2, seed=0)
    assert float(net.eta.detach()) == pytest.approx(0.2, rel=1e-6)
    names = dict(net.named_parameters())
    assert {"alpha", "eta_logit"} <= set(names)
    net(torch.randn(2, 5, 3)).outputs.square().sum().backward()
    assert names["alpha"].grad.abs().sum() > 0 and names["eta_logit"].grad.abs() > 0
    fixed = PlasticRNN(3, 8, 2, eta=0.2, learn_eta=False, seed=0)
    assert "eta_logit" not in dict(fixed.named_parameters()) and "eta_logit" in fixed.state_dict()
    mod = PlasticRNN(3, 8, 2, rule="neuromodulated", seed=0)
    assert {"w_mod", "b_mod", "mod_fanout"} <= set(dict(mod.named_parameters()))
    assert mod.eta is None


def test_bad_arguments_are_refused_by_name():
    with pytest.raises(ValueError, match=r"The 'rule' parameter of PlasticRNN must be one of "
                                         r"\['hebbian', 'oja', 'neuromodulated'\]\. Got 'stdp'"):
        models.make("plastic", 2, 4, 1, rule="stdp")
    with pytest.raises(ValueError, match=r"The 'eta' parameter of PlasticRNN must be a float in "
                                         r"the range \(0\.0, 1\.0\)\. Got 1\.0 instead\."):
        PlasticRNN(2, 4, 1, eta=1.0)
    with pytest.raises(ValueError, match=r"The 'alpha_init' parameter of PlasticRNN must be a "
                                         r"float in the range \[0\.0, inf\)\. Got -0\.1"):
        PlasticRNN(2, 4, 1, alpha_init=-0.1)


def test_lesioned_connections_have_no_plastic_part():
    net = _net("hebbian")
    cut = net.without_connections([0, 1], [2])
    assert not cut.w_rec[2, :2].any() and not cut.alpha[2, :2].any()
    assert net.w_rec[2, :2].all() and net.alpha[2, :2].all()  # the original is untouched
    x = torch.randn(1, 5, N_IN, dtype=torch.float64)
    with torch.no_grad():
        w = cut.plastic_weights(cut(x).final_state)
    assert not w[0, 2, :2].any()


@pytest.mark.slow
def test_plastic_network_learns_within_a_trial_where_the_rnn_does_not():
    """A small pattern-completion task (Miconi et al. 2018): 2 patterns of 8 bits per trial.

    Same size (16 units), same budget (600 steps, batch 32, lr 2e-2): the plastic network
    recalls the erased bits (mean sign error 0.07 when written), the non-plastic one does not
    (0.24; chance is 0.5). Margins: < 0.12 against > 0.18, and at most half the error.
    """
    task = tasks.make("pattern_completion", n_bits=8, n_patterns=2, n_presentations=1)
    errors = {}
    for kind, extra in (("plastic", {"alpha_init": 0.1}), ("rate", {"tau": task.dt, "activation": "tanh"})):
        net = models.make(kind, n_input=8, n_hidden=16, n_output=8, dt=task.dt, seed=0, **extra)
        train(net, task, steps=600, batch_size=32, lr=2e-2, eval_every=600, eval_trials=64, seed=0)
        batch = task.generate(500, seed=1)
        with torch.no_grad():
            out = net(torch.tensor(batch.inputs)).outputs
        errors[kind] = float(task.score(out, batch).error.mean())
    assert errors["plastic"] < 0.12 and errors["rate"] > 0.18, errors
    assert errors["plastic"] < errors["rate"] / 2, errors

"""Context-dependent gating (XdG) of any recurrent model: a gated unit is a unit clamped to 0
by the protocol's ``clamp`` at every step of its context (brainlike.models.ContextGated)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from brainlike.models import ContextGated, make
from brainlike.tasks import make as make_task
from brainlike.training import train

N_IN, N, N_OUT, B, T = 5, 10, 2, 3, 6
CONTEXTS = [3, 4]


def _inputs(context, seed=0):
    x = torch.randn(B, T, N_IN, generator=torch.Generator().manual_seed(seed))
    x[..., CONTEXTS] = 0.0
    if context is not None:
        x[..., CONTEXTS[context]] = 1.0
    return x


def _gated(kind, keep=0.3):
    base = make(kind, n_input=N_IN, n_hidden=N, n_output=N_OUT, seed=0)
    return ContextGated(base, context_inputs=CONTEXTS, keep=keep, seed=1)


def _clamped_reference(net, x, context):
    """The wrapped model stepped with the protocol's own ``step`` and ``clamp``: units outside
    the context's subset clamped to 0 before and after every step."""
    base = net.model
    off = np.flatnonzero(net.gates[context].numpy() == 0)
    state = base.initial_state(x.shape[0])
    outputs, activity = [], []
    for t in range(x.shape[1]):
        state = base.clamp(base.step(base.clamp(state, off, 0.0), x[:, t]), off, 0.0)
        outputs.append(base.readout(state))
        activity.append(base.activity_of(state))
    return torch.stack(outputs, 1), torch.stack(activity, 1)


@pytest.mark.parametrize("kind", ["rate", "lstm", "gru"])
@pytest.mark.parametrize("context", [0, 1])
def test_gating_is_clamping_the_other_units_at_every_step(kind, context):
    net = _gated(kind)
    x = _inputs(context)
    with torch.no_grad():
        out = net(x, noise=False)
        want_out, want_act = _clamped_reference(net, x, context)
    torch.testing.assert_close(out.outputs, want_out, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out.activity, want_act, rtol=1e-5, atol=1e-6)
    kept = net.gates[context].bool()
    assert int(kept.sum()) == 3  # round(0.3 * 10)
    assert float(out.activity[..., ~kept].abs().max()) == 0.0
    assert float(out.activity[..., kept].abs().max()) > 0.0
    # One step at a time with the noise-free map gives the same states.
    state = net.initial_state(B)
    for t in range(T):
        with torch.no_grad():
            state = net.step(state, x[:, t])
        torch.testing.assert_close(net.activity_of(state), out.activity[:, t], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(state, out.final_state, rtol=1e-5, atol=1e-6)


def test_contexts_get_different_subsets_and_no_context_gates_nothing():
    net = _gated("rate")
    assert not torch.equal(net.gates[0], net.gates[1])
    x = _inputs(None)
    torch.testing.assert_close(net(x, noise=False).outputs, net.model(x, noise=False).outputs,
                               rtol=1e-5, atol=1e-6)
    # Per trial and per step: trial 0 in context 0, trial 1 in context 1, trial 2 none.
    x = _inputs(None)
    x[0, :, CONTEXTS[0]] = 1.0
    x[1, :, CONTEXTS[1]] = 1.0
    gate = net.gate_of(x)
    assert torch.equal(gate[0, 0], net.gates[0]) and torch.equal(gate[1, 3], net.gates[1])
    assert torch.equal(gate[2, 5], torch.ones(N))


def test_gated_units_reach_nothing_so_their_outgoing_weights_get_no_gradient():
    net = _gated("rate")
    out = net(_inputs(0), noise=False)
    out.outputs.square().sum().backward()
    off = ~net.gates[0].bool()
    grad = net.model.w_rec.grad
    assert float(grad[:, off].abs().max()) == 0.0  # from gated units
    assert float(grad[:, ~off].abs().max()) > 0.0
    assert float(net.model.w_out.grad[:, off].abs().max()) == 0.0


def test_noise_traces_state_dict_and_config():
    base = make("rate", n_input=N_IN, n_hidden=N, n_output=N_OUT, sigma_rec=0.3, seed=0)
    net = ContextGated(base, context_inputs=CONTEXTS, keep=0.5, seed=3)
    x = _inputs(1)
    a = net(x, generator=torch.Generator().manual_seed(5))
    b = net(x, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a.outputs, b.outputs)
    assert not torch.allclose(a.outputs, net(x, noise=False).outputs)
    run = net.traced(x, generator=torch.Generator().manual_seed(5))
    assert torch.equal(run.output.outputs, a.outputs)
    assert run.traces["state"].shape == (B, T, N) and run.traces["pre_activation"].shape == (B, T, N)
    assert torch.equal(run.traces["state"], a.activity)
    cfg = json.loads(json.dumps(net.config()))
    assert cfg["model"]["type"] == "rate" and cfg["context_inputs"] == CONTEXTS and cfg["keep"] == 0.5
    other = ContextGated.from_config(cfg)
    assert not torch.equal(other.gates, net.gates)
    other.load_state_dict(net.state_dict())  # the subsets travel with the weights
    assert torch.equal(other.gates, net.gates)
    assert torch.equal(other(x, noise=False).outputs, net(x, noise=False).outputs)


def test_a_gated_network_trains_on_yang19_with_its_rule_inputs():
    task = make_task("yang19.go", dt=100.0)
    rules = [k for k, name in enumerate(task.input_names) if name.startswith("rule_")]
    base = make("rate", n_input=task.n_inputs, n_hidden=16, n_output=task.n_outputs, dt=100.0,
                tau=100.0, seed=0)
    net = ContextGated(base, context_inputs=rules, keep=0.25, seed=0)
    result = train(net, task, steps=3, batch_size=4, eval_every=3, eval_trials=8)
    assert result.steps == 3 and np.isfinite(result.history["loss"]).all()
    batch = task.generate(2, seed=0)
    with torch.no_grad():
        act = net(torch.tensor(batch.inputs)).activity
    assert int((act[0, 5] != 0).sum()) <= 4  # go's subset: 4 of 16 units


def test_refusals_name_the_argument():
    base = make("rate", n_input=N_IN, n_hidden=N, n_output=N_OUT, seed=0)
    with pytest.raises(ValueError, match=r"'context_inputs' parameter of ContextGated must be a "
                                         r"non-empty list of distinct input channels in \[0, 5\)\. "
                                         r"Got \[4, 5\] instead"):
        ContextGated(base, context_inputs=[4, 5])
    with pytest.raises(ValueError, match=r"distinct input channels.*Got \[1, 1\]"):
        ContextGated(base, context_inputs=[1, 1])
    with pytest.raises(ValueError, match=r"'keep' parameter of ContextGated must be a float in "
                                         r"the range \(0.0, 1.0\]. Got 0.0 instead"):
        ContextGated(base, context_inputs=[1], keep=0.0)
    with pytest.raises(TypeError, match=r"'model' parameter of ContextGated must be a recurrent "
                                        r"model .* Got ContextGated instead"):
        ContextGated(ContextGated(base, context_inputs=[1]), context_inputs=[1])

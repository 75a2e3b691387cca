"""Conformance suite: every registered recurrent model gets these checks for free.

Each kind in ``models.names()`` runs with its defaults; a few variants (noise conventions, a
connectivity, trained initial states) run too. A new kind added to the registry is covered
without touching this file.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from brainlike import models
from brainlike.analysis import find_fixed_points, model_step_fn
from brainlike.analysis.dynamics import inactivate, lesion_connections, lesion_units, simulate_clamped
from brainlike.models import RecurrentModel, RNNOutput, Traced, make, names

N_IN, N, N_OUT, B, T = 3, 6, 2, 4, 7

VARIANTS = [
    ("rate", {"sigma_rec": 0.2}),
    ("rate", {"sigma_rec": 0.2, "noise_convention": "on_state", "activation": "tanh"}),
    ("rate", {"connectivity": {"type": "dale", "e_fraction": 0.5}, "train_initial_state": True}),
    ("lstm", {"forget_bias": 1.0, "train_initial_state": True}),
    ("gru", {"train_initial_state": True}),
    ("plastic", {"rule": "oja", "train_initial_state": True}),
    ("plastic", {"rule": "neuromodulated"}),
    ("plastic", {"learn_eta": False, "activation": "relu", "w_rec_init": "orthogonal"}),
    ("stsp", {"sigma_rec": 0.2, "noise_convention": "on_state", "synapse_config": "fac"}),
    ("stsp", {"connectivity": {"type": "dale", "e_fraction": 0.5}, "synapse_config": "exc_dep_inh_fac",
              "train_initial_state": True, "sigma_rec": 0.1}),
]
CASES = [(k, {}) for k in names()] + [v for v in VARIANTS if v[0] in names()]


def _id(case):
    kind, params = case
    return kind + ("" if not params else "-" + "-".join(sorted(params)))


@pytest.fixture(params=CASES, ids=[_id(c) for c in CASES])
def case(request):
    return request.param


def _make(case, seed=0, **extra):
    kind, params = case
    return make(kind, n_input=N_IN, n_hidden=N, n_output=N_OUT, seed=seed, **{**params, **extra})


def _x(seed=0, t=T, dtype=torch.float32):
    return torch.randn(B, t, N_IN, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def test_registry_names_and_errors():
    assert names() == sorted(names()) and {"rate", "lstm", "gru"} <= set(names())
    with pytest.raises(ValueError, match=r"unknown model kind 'lstmm'; valid kinds are \[[^]]*'gru', 'lstm',[^]]* 'rate'"):
        make("lstmm", 3, 4, 2)
    with pytest.raises(ValueError, match=r"model kind 'lstm' has no parameter 'tau'; allowed: \['n_input', 'n_hidden'"):
        make("lstm", 3, 4, 2, tau=10.0)
    with pytest.raises(ValueError, match=r"The 'forget_bias' parameter of LSTM must be a float in the range \(-inf, inf\)\. Got inf instead\."):
        make("lstm", 3, 4, 2, forget_bias=float("inf"))
    with pytest.raises(TypeError, match=r"The 'train_initial_state' parameter of GRU must be a bool\. Got 1 instead\."):
        make("gru", 3, 4, 2, train_initial_state=1)
    with pytest.raises(ValueError, match=r"The 'seed' parameter of RateRNN must be an int in the range \[0, 9223372036854775807\] or None\. Got -1"):
        make("rate", 3, 4, 2, seed=-1)
    assert models.kind_of(make("gru", 3, 4, 2)) == "gru"


def test_protocol_attributes_and_shapes(case):
    model = _make(case)
    assert isinstance(model, RecurrentModel)
    assert (model.n_input, model.n_hidden, model.n_output) == (N_IN, N, N_OUT) and model.dt > 0
    assert model.state_size == sum(model.state_parts.values())
    assert model.activity_part in model.state_parts and model.state_parts[model.activity_part] == N
    out = model(_x())
    assert isinstance(out, RNNOutput) and len(out) == 3
    outputs, activity, final = out  # unpacks as three, whatever the kind
    assert outputs.shape == (B, T, N_OUT) and activity.shape == (B, T, N)
    assert final.shape == (B, model.state_size)
    assert outputs.dtype == activity.dtype == final.dtype == torch.float32
    # The outputs and the activity at a step are functions of the state after it.
    torch.testing.assert_close(model.activity_of(final), activity[:, -1], rtol=0, atol=0)
    torch.testing.assert_close(model.readout(final), outputs[:, -1], rtol=1e-6, atol=1e-6)
    assert model.initial_state(5).shape == (5, model.state_size)


def test_traces_have_documented_shapes_and_change_nothing(case):
    model = _make(case)
    x = _x()
    plain = model(x, generator=torch.Generator().manual_seed(5))
    run = model.traced(x, generator=torch.Generator().manual_seed(5))
    assert isinstance(run, Traced)
    for a, b in zip(run.output, plain):
        assert torch.equal(a, b)  # bitwise: the traced path runs the same simulation
    assert set(run.traces) == set(model.trace_shapes) and "state" in run.traces
    for name, shape in model.trace_shapes.items():
        assert run.traces[name].shape == (B, T, *shape), name
    states = run.traces["state"]
    torch.testing.assert_close(states[:, -1], plain.final_state, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(model.activity_of(states), plain.activity, rtol=1e-6, atol=1e-6)
    with pytest.raises(TypeError):
        run.traces["state"] = states  # read-only mapping


def test_seeding(case):
    a, b, c = _make(case, seed=0), _make(case, seed=0), _make(case, seed=1)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert sa.keys() == sb.keys() == sc.keys()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    random = [k for k, p in a.named_parameters() if p.numel() > 1 and p.std() > 0]
    assert random and all(not torch.equal(sa[k], sc[k]) for k in random)
    g = torch.Generator
    x = _x()
    torch.testing.assert_close(a(x, generator=g().manual_seed(3)), b(x, generator=g().manual_seed(3)),
                               rtol=0, atol=0)


def test_config_round_trip_and_save_load(case, tmp_path):
    model = _make(case)
    cfg = model.config()
    assert json.loads(json.dumps(cfg)) == cfg  # JSON-able
    kind = models.kind_of(model)
    again = make(kind, **cfg)
    assert again.config() == cfg and type(again) is type(model)
    # Weights travel in a state_dict (safetensors, as run directories store them).
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, tmp_path / "w.safetensors")
    again.load_state_dict(load_file(tmp_path / "w.safetensors"))
    x = _x()
    for a, b in zip(model(x, noise=False), again(x, noise=False)):
        assert torch.equal(a, b)
    text = repr(model)  # short: the sizes and what differs from the defaults, a line per part
    assert text.startswith(type(model).__name__ + "(") and f"n_hidden={N}" in text
    assert len(text) < 500 and max(len(line) for line in text.splitlines()) < 200


def test_state_continuation_and_one_step_at_a_time(case):
    model = _make(case)
    x = _x()
    whole = model(x, noise=False)
    first = model(x[:, :3], noise=False)
    second = model(x[:, 3:], first.final_state, noise=False)
    torch.testing.assert_close(torch.cat([first.outputs, second.outputs], 1), whole.outputs)
    torch.testing.assert_close(torch.cat([first.activity, second.activity], 1), whole.activity)
    torch.testing.assert_close(second.final_state, whole.final_state)
    # An agent stepped one environment step at a time: forward on (B, 1, N_IN) with the state.
    state, outs = None, []
    for t in range(T):
        o, _, state = model(x[:, t:t + 1], state, noise=False)
        outs.append(o)
    torch.testing.assert_close(torch.cat(outs, 1), whole.outputs)
    torch.testing.assert_close(state, whole.final_state)


def test_empty_simulation_is_the_identity(case):
    model = _make(case)
    s = torch.randn(B, model.state_size, generator=torch.Generator().manual_seed(0))
    out = model(torch.zeros(B, 0, N_IN), s)
    assert out.outputs.shape == (B, 0, N_OUT) and out.activity.shape == (B, 0, N)
    assert torch.equal(out.final_state, s)
    assert torch.equal(model(torch.zeros(B, 0, N_IN)).final_state, model.initial_state(B))
    run = model.traced(torch.zeros(B, 0, N_IN))
    assert {k: v.shape for k, v in run.traces.items()} == {
        k: (B, 0, *v) for k, v in model.trace_shapes.items()}


def test_step_is_forward_without_noise(case):
    """The one-step map agrees with forward (float64, so the comparison is tight)."""
    model = _make(case).double()
    x = _x(dtype=torch.float64)
    run = model.traced(x, noise=False)
    state = model.initial_state(B)
    for t in range(T):
        state = model.step(state, x[:, t])
        torch.testing.assert_close(state, run.traces["state"][:, t], rtol=0, atol=1e-12)
    torch.testing.assert_close(state, run.output.final_state, rtol=0, atol=1e-12)


def test_gradient_reaches_every_parameter(case):
    model = _make(case)
    x = _x()
    run = model.traced(x, noise=False)
    loss = run.output.outputs.square().mean() + sum(v.square().mean() for v in run.traces.values())
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_bad_inputs_are_refused_by_name(case):
    model = _make(case)
    with pytest.raises(TypeError, match=r"inputs must have the model's dtype torch\.float32; got torch\.float64\. Convert the inputs"):
        model(torch.zeros(B, T, N_IN, dtype=torch.float64))
    for dtype in (torch.int64, torch.bool):
        with pytest.raises(TypeError, match=rf"inputs must be floating point with the model's dtype torch\.float32; got {dtype}"):
            model(torch.zeros(B, T, N_IN, dtype=dtype))
    with pytest.raises(TypeError, match=r"inputs must be a torch\.Tensor of shape \(batch, time, n_input\); got ndarray"):
        model(np.zeros((B, T, N_IN), dtype=np.float32))
    with pytest.raises(ValueError, match=rf"inputs must have shape \(batch, time, n_input\) with n_input={N_IN}; got shape \({B}, {T}, {N_IN + 1}\)"):
        model(torch.zeros(B, T, N_IN + 1))
    with pytest.raises(ValueError, match=r"inputs must hold at least one trial \(batch >= 1\)"):
        model(torch.zeros(0, T, N_IN))
    s = model.state_size
    with pytest.raises(ValueError, match=rf"state must have shape \(batch, state_size\) = \({B}, {s}\); got \({B}, {s + 1}\)"):
        model(torch.zeros(B, T, N_IN), torch.zeros(B, s + 1))
    with pytest.raises(TypeError, match=r"state must have the model's dtype"):
        model(torch.zeros(B, T, N_IN), torch.zeros(B, s, dtype=torch.float64))
    with pytest.raises(ValueError, match=rf"state must have shape \(batch, state_size\) = \(1, {s}\) to match inputs; got \({s},\)"):
        model.step(torch.zeros(s), torch.zeros(1, N_IN))
    with pytest.raises(TypeError, match=r"generator must be a torch\.Generator or None; got int"):
        model(torch.zeros(B, T, N_IN), generator=0)


def test_clamp_sets_the_activity_only(case):
    model = _make(case)
    s = torch.randn(B, model.state_size, generator=torch.Generator().manual_seed(1))
    c = model.clamp(s, [0, 2], 0.5)
    a = model.activity_of(c)
    assert (a[:, [0, 2]] == 0.5).all()
    keep = [k for k in range(N) if k not in (0, 2)]
    assert torch.equal(a[:, keep], model.activity_of(s)[:, keep])
    for name, part in model.split_state(c).items():
        if name != model.activity_part:
            assert torch.equal(part, model.split_state(s)[name])
    assert not torch.equal(s, c)  # a copy; the input is untouched
    assert (model.activity_of(s)[:, [0, 2]] != 0.5).all()
    with pytest.raises(ValueError, match=rf"units must be unit indices in \[0, {N}\); got min 0, max {N}"):
        model.clamp(s, [0, N], 0.0)
    with pytest.raises(ValueError, match=r"'batch_size' parameter of \w+\.initial_state must be an int >= 1\. Got 0"):
        model.initial_state(0)


def test_clamped_simulation_and_lesions_work_for_every_kind(case):
    model = _make(case)
    x = _x()
    plain = model(x, noise=False)
    outputs, activity = simulate_clamped(model, x, noise=False)  # nothing clamped
    torch.testing.assert_close(outputs, plain.outputs)
    torch.testing.assert_close(activity, plain.activity)
    # Clamp the two units most active in the window (a spiking unit that never fires there
    # would be silenced without effect).
    units = plain.activity[:, 2:5].abs().sum((0, 1)).argsort(descending=True)[:2].tolist()
    outputs, activity = simulate_clamped(model, x, units=units, window=(2, 5), noise=False)
    assert (activity[:, 2:5][..., units] == 0).all()
    torch.testing.assert_close(outputs[:, :2], plain.outputs[:, :2])
    assert not torch.allclose(outputs[:, 2:], plain.outputs[:, 2:])


def test_fixed_points_of_every_kind():
    """model_step_fn + find_fixed_points on the flat state: the points found are fixed points
    of model.step (checked independently) and their Jacobians have the state's size."""
    for kind in names():
        model = make(kind, n_input=N_IN, n_hidden=N, n_output=N_OUT, seed=0)
        u = torch.tensor([0.3, -0.2, 0.1])
        fn = model_step_fn(model, u)
        # Unit-scale starts: a chaotic network (FeedbackRNN, g = 1.5) has local minima of q
        # (slow points) near the origin that starts of scale 0.1 all fall into.
        starts = torch.randn(8, model.state_size, generator=torch.Generator().manual_seed(0))
        res = find_fixed_points(fn, starts)
        assert len(res.points) >= 1, kind
        assert res.jacobians.shape[1:] == (model.state_size, model.state_size)
        x = torch.as_tensor(res.points)
        step = model.double().step(x, u.double().expand(len(x), -1))
        # A fixed point by the finder's definition: q = |F(x) - x|^2 / 2 below tol_q (1e-12).
        q = 0.5 * ((step - x) ** 2).sum(-1)
        assert q.max() < 1e-12, kind
        # The Jacobian is the derivative of the one-step map (autograd of model.step).
        step_fn = model.step
        jac = torch.autograd.functional.jacobian(lambda s, f=step_fn, v=u: f(s, v.double()[None]), x[:1])
        np.testing.assert_allclose(res.jacobians[0], jac[0, :, 0].numpy(), atol=1e-10)


def test_trajectory_pca_reads_every_kind(case):
    from brainlike.analysis import trajectory_pca

    model = _make(case)
    x = torch.cat([_x(0), _x(1)])  # two conditions of B trials each
    with torch.no_grad():
        activity = model(x, noise=False).activity.numpy()
    res = trajectory_pca(activity, np.repeat([0, 1], B), n_components=2)
    assert res.projections.shape[0] == 2 and res.projections.shape[-1] == 2


def test_perturbations_run_on_every_kind():
    from brainlike.tasks import make as make_task

    task = make_task("memory_report")
    batch = task.generate(16, seed=0, conditions={"trial_length": 10, "t_memorize": 2, "t_report": 7})
    for kind in names():
        model = make(kind, n_input=task.n_inputs, n_hidden=N, n_output=task.n_outputs, seed=0,
                     dt=task.dt)
        for effect in (lesion_units(model, task, batch, [0, 1], condition="t_report"),
                       inactivate(model, task, batch, [0], "hold", condition="t_report"),
                       lesion_connections(model, task, batch, [0], [1, 2], condition="t_report")):
            assert effect.counts.sum() == 16 and effect.baseline.shape == effect.perturbed.shape

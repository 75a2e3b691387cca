"""Facts about LSTM and GRU: the gates recomputed after the fused pass are the gates of a
step-by-step reference cell, written here from the equations and taken from torch's cells."""

import pytest
import torch

from brainlike.models import GRU, LSTM

N_IN, N, N_OUT, B, T = 3, 5, 2, 4, 9


def _x(dtype):
    return torch.randn(B, T, N_IN, generator=torch.Generator().manual_seed(0), dtype=dtype)


def _lstm_reference(model, x, h, c):
    """Primer Eq. 43, one step at a time, in float64 (weights cast from the model)."""
    w_ih, w_hh, b_ih, b_hh = (p.detach().double() for p in model._weights)
    n = model.n_hidden
    out = {k: [] for k in ("input_gate", "forget_gate", "cell_input", "output_gate", "cell", "h")}
    for t in range(x.shape[1]):
        z = x[:, t].double() @ w_ih.T + b_ih + h @ w_hh.T + b_hh
        i, f = torch.sigmoid(z[:, :n]), torch.sigmoid(z[:, n:2 * n])
        g, o = torch.tanh(z[:, 2 * n:3 * n]), torch.sigmoid(z[:, 3 * n:])
        c = f * c + i * g
        h = o * torch.tanh(c)
        for k, v in zip(out, (i, f, g, o, c, h)):
            out[k].append(v)
    return {k: torch.stack(v, 1) for k, v in out.items()}


@pytest.mark.parametrize(("dtype", "tol"), [(torch.float64, 1e-12), (torch.float32, 1e-6)])
def test_lstm_gates_equal_a_step_by_step_reference_cell(dtype, tol):
    """float64: the same equations to rounding; float32: within 1e-6 of the float64 reference
    (gates and cells are N_OUT(1); float32 rounding over 9 steps stays ~1e-7)."""
    model = LSTM(N_IN, N, N_OUT, forget_bias=1.0, train_initial_state=True, seed=3).to(dtype)
    with torch.no_grad():
        model.s0.normal_(0, 0.5, generator=torch.Generator().manual_seed(1))
    x = _x(dtype)
    run = model.traced(x)
    h0, c0 = (p.detach().double() for p in model.split_state(model.s0).values())
    ref = _lstm_reference(model, x, h0.expand(B, -1), c0.expand(B, -1))
    for name in ("input_gate", "forget_gate", "cell_input", "output_gate", "cell"):
        torch.testing.assert_close(run.traces[name].double(), ref[name], rtol=0, atol=tol)
    torch.testing.assert_close(run.output.activity.double(), ref["h"], rtol=0, atol=tol)


def test_lstm_matches_torch_lstm_cell():
    """Against software we did not write: torch.nn.LSTMCell with the same weights, stepped."""
    model = LSTM(N_IN, N, N_OUT, seed=0)
    cell = torch.nn.LSTMCell(N_IN, N)
    with torch.no_grad():
        for a, b in zip(cell.parameters(), model._weights):
            a.copy_(b)
    x = _x(torch.float32)
    run = model.traced(x)
    h = c = torch.zeros(B, N)
    for t in range(T):
        h, c = cell(x[:, t], (h, c))
        torch.testing.assert_close(run.output.activity[:, t], h, rtol=0, atol=1e-6)
        torch.testing.assert_close(run.traces["cell"][:, t], c, rtol=0, atol=1e-6)
    torch.testing.assert_close(run.output.final_state, torch.cat([h, c], 1), rtol=0, atol=1e-6)


def test_gru_gates_equal_torch_gru_cell_and_the_equations():
    model = GRU(N_IN, N, N_OUT, seed=2).double()
    cell = torch.nn.GRUCell(N_IN, N).double()
    with torch.no_grad():
        for a, b in zip(cell.parameters(), model._weights):
            a.copy_(b)
    w_ih, w_hh, b_ih, b_hh = (p.detach() for p in model._weights)
    x = _x(torch.float64)
    run = model.traced(x)
    h = torch.zeros(B, N, dtype=torch.float64)
    for t in range(T):
        gi, gh = x[:, t] @ w_ih.T + b_ih, h @ w_hh.T + b_hh
        r = torch.sigmoid(gi[:, :N] + gh[:, :N])
        z = torch.sigmoid(gi[:, N:2 * N] + gh[:, N:2 * N])
        n = torch.tanh(gi[:, 2 * N:] + r * gh[:, 2 * N:])
        h_ref = (1 - z) * n + z * h
        h = cell(x[:, t], h)
        torch.testing.assert_close(h_ref, h, rtol=0, atol=1e-12)
        for name, v in (("reset_gate", r), ("update_gate", z), ("candidate", n)):
            torch.testing.assert_close(run.traces[name][:, t], v, rtol=0, atol=1e-12)
        torch.testing.assert_close(run.output.activity[:, t], h, rtol=0, atol=1e-12)


def test_forget_bias_and_effective_weights():
    a, b = LSTM(N_IN, N, N_OUT, seed=0), LSTM(N_IN, N, N_OUT, forget_bias=1.0, seed=0)
    diff = b.rnn.bias_ih_l0.detach() - a.rnn.bias_ih_l0.detach()
    torch.testing.assert_close(diff, torch.cat([torch.zeros(N), torch.ones(N), torch.zeros(2 * N)]))
    w = a.effective_weights()
    assert w.w_in.shape == (4 * N, N_IN) and w.w_rec.shape == (4 * N, N) and w.w_out.shape == (N_OUT, N)
    assert GRU(N_IN, N, N_OUT).effective_weights().w_rec.shape == (3 * N, N)


@pytest.mark.parametrize("cls", [LSTM, GRU])
def test_without_connections_cuts_exactly_the_named_connections(cls):
    model = cls(N_IN, N, N_OUT, seed=0).double()
    cut = model.without_connections([0, 1], [3])
    s = torch.randn(1, model.state_size, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    u = torch.randn(1, N_IN, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    jac = torch.autograd.functional.jacobian(lambda v: cut.step(v, u), s)[0, :, 0]  # (S, S)
    full = torch.autograd.functional.jacobian(lambda v: model.step(v, u), s)[0, :, 0]
    n = model.n_hidden
    rows = [3] + ([n + 3] if cls is LSTM else [])  # h_3 (and c_3) no longer see h_0, h_1
    assert (jac[rows][:, [0, 1]] == 0).all() and (full[rows][:, [0, 1]] != 0).all()
    keep = [k for k in range(model.state_size) if k not in rows]
    torch.testing.assert_close(jac[keep], full[keep], rtol=0, atol=0)


def test_lstm_has_no_noise_and_refuses_a_continuous_flow():
    from brainlike.analysis import model_step_fn

    model = LSTM(N_IN, N, N_OUT, seed=0)
    x = _x(torch.float32)
    assert torch.equal(model(x, noise=True).outputs, model(x, noise=False).outputs)
    with pytest.raises(TypeError, match=r"LSTM has none \(a discrete-time map: use kind='discrete'\)"):
        model_step_fn(model, kind="continuous")

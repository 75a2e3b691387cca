"""Facts about RateRNN: the Euler equation, the Elman limit, the fast BPTT, errors."""

import math

import pytest
import torch

from brainlike.models import ACTIVATIONS, MLP, RateRNN
from brainlike.models._activations import get_activation
from brainlike.models._bptt import leaky_loop, leaky_loop_reference


def _random_loop_args(seed, t=6, b=3, n=5, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    u = torch.randn(t, b, n, generator=g, dtype=dtype, requires_grad=True)
    w = (0.6 * torch.randn(n, n, generator=g, dtype=dtype)).requires_grad_()
    r0 = torch.randn(b, n, generator=g, dtype=dtype).abs().requires_grad_()
    return u, w, r0


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("alpha", [0.2, 1.0])
def test_fast_loop_matches_naive_loop_and_its_gradients(name, alpha):
    act = get_activation(name)
    u, w, r0 = _random_loop_args(seed=1)
    fast = leaky_loop(u, w, r0, alpha, act)
    naive = leaky_loop_reference(u, w, r0, alpha, act)
    torch.testing.assert_close(fast, naive, rtol=0, atol=1e-12)
    weights = torch.randn(fast.shape, generator=torch.Generator().manual_seed(2), dtype=fast.dtype)
    g_fast = torch.autograd.grad((fast * weights).sum(), (u, w, r0))
    g_naive = torch.autograd.grad((naive * weights).sum(), (u, w, r0))
    # float64; the two backward passes only sum in different orders.
    for a, b in zip(g_fast, g_naive):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_fast_loop_passes_gradcheck(name):
    u, w, r0 = _random_loop_args(seed=3)
    act = get_activation(name)
    assert torch.autograd.gradcheck(lambda u, w, r0: leaky_loop(u, w, r0, 0.3, act), (u, w, r0))


def test_alpha_one_is_the_elman_network():
    """Eq. 14-16: r_t = f(W_r r_{t-1} + W_x x_t + b_r), y_t = W_y r_t + b_y."""
    rnn = RateRNN(4, 16, 3, tau=20.0, dt=20.0, activation="tanh", seed=0).double()
    x = torch.randn(2, 9, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    outputs, activity, final = rnn(x)
    r = torch.zeros(2, 16, dtype=torch.float64)
    for t in range(9):
        r = torch.tanh(r @ rnn.w_rec.T + x[:, t] @ rnn.w_in.T + rnn.b_rec)
        torch.testing.assert_close(activity[:, t], r, rtol=0, atol=1e-12)
        torch.testing.assert_close(outputs[:, t], r @ rnn.w_out.T + rnn.b_out, rtol=0, atol=1e-12)
    torch.testing.assert_close(final, r, rtol=0, atol=1e-12)


def test_forward_is_euler_step_of_eq_27_and_step_agrees():
    rnn = RateRNN(3, 8, 2, tau=100.0, dt=20.0, seed=1).double()
    x = torch.rand(4, 5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    _, activity, _ = rnn(x)
    r = torch.zeros(4, 8, dtype=torch.float64)
    for t in range(5):
        r = r + 0.2 * (-r + torch.relu(r @ rnn.w_rec.T + x[:, t] @ rnn.w_in.T + rnn.b_rec))
        torch.testing.assert_close(activity[:, t], r, rtol=0, atol=1e-12)
    state = activity[:, 2]
    torch.testing.assert_close(rnn.step(state, x[:, 3]), activity[:, 3], rtol=0, atol=1e-12)
    # Continuous form: r_{t+1} = r_t + dt * dr/dt.
    torch.testing.assert_close(
        state + rnn.dt * rnn.velocity(state, x[:, 3]), activity[:, 3], rtol=0, atol=1e-12
    )


def test_recurrent_noise_has_the_documented_scale():
    """With W = 0 and a linear f, one step from r = 0 gives r_1 = sqrt(2 alpha) sigma xi."""
    rnn = RateRNN(1, 500, 1, tau=100.0, dt=20.0, activation="linear", sigma_rec=0.3, seed=0)
    with torch.no_grad():
        rnn.w_rec.zero_()
        rnn.w_in.zero_()
    g = torch.Generator().manual_seed(0)
    _, activity, _ = rnn(torch.zeros(200, 1, 1), generator=g)
    std = activity[:, 0].std().item()
    expected = math.sqrt(2 * 0.2) * 0.3
    # 100,000 samples: the standard error of the std is ~0.2 %, so 2 % is > 9 standard errors.
    assert abs(std - expected) / expected < 0.02
    _, quiet, _ = rnn(torch.zeros(3, 1, 1), noise=False)
    assert quiet.abs().max().item() == 0.0


def test_initializations():
    gains = {"orthogonal": 0.5, "identity": 0.7, "gaussian": 1.0}
    for kind, gain in gains.items():
        w = RateRNN(1, 400, 1, w_rec_init=kind, w_rec_gain=gain, seed=0).w_rec.detach().double()
        moduli = torch.linalg.eigvals(w).abs()
        if kind == "gaussian":
            # Circular law: spectral radius -> gain; finite-n fluctuations are O(n^-1/2) ~ 5 %.
            assert abs(moduli.max().item() - gain) < 0.1
        else:
            torch.testing.assert_close(moduli, torch.full_like(moduli, gain), rtol=1e-5, atol=0)
    eye = RateRNN(1, 5, 1, w_rec_init="identity", seed=0).w_rec
    torch.testing.assert_close(eye, 0.5 * torch.eye(5))


def test_seed_makes_initialization_reproducible():
    a = RateRNN(3, 10, 2, seed=7).state_dict()
    b = RateRNN(3, 10, 2, seed=7).state_dict()
    c = RateRNN(3, 10, 2, seed=8).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["w_rec"], c["w_rec"])


def test_learnable_initial_state_gets_gradient():
    rnn = RateRNN(2, 6, 1, train_initial_state=True, seed=0)
    assert isinstance(rnn.r0, torch.nn.Parameter)
    out, _, _ = rnn(torch.ones(3, 4, 2))
    out.sum().backward()
    assert rnn.r0.grad is not None and rnn.r0.grad.abs().sum() > 0
    fixed = RateRNN(2, 6, 1, seed=0)
    assert "r0" not in dict(fixed.named_parameters())


def test_state_argument_continues_a_simulation():
    rnn = RateRNN(2, 6, 1, seed=0)
    x = torch.randn(3, 10, 2, generator=torch.Generator().manual_seed(0))
    whole = rnn(x).activity
    first = rnn(x[:, :4])
    second = rnn(x[:, 4:], first.final_state)
    torch.testing.assert_close(torch.cat([first.activity, second.activity], 1), whole)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"tau": -1.0}, r"'tau' parameter of RateRNN must be a float in the range \(0.0, inf\)\. Got -1.0"),
        ({"dt": 200.0}, r"dt <= tau"),
        ({"activation": "gelu"}, r"'activation' .* one of \['linear', 'relu'"),
        ({"w_rec_init": "xavier"}, r"'w_rec_init' .* Got 'xavier'"),
        ({"sigma_rec": -0.1}, r"'sigma_rec'"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RateRNN(3, 8, 2, **kwargs)


def test_bad_sizes_and_inputs_are_named():
    with pytest.raises(ValueError, match=r"'n_hidden' parameter of RateRNN must be an int in the range \[1, 1048576\]\. Got 0"):
        RateRNN(3, 0, 2)
    rnn = RateRNN(3, 8, 2, seed=0)
    with pytest.raises(ValueError, match=r"inputs must have shape \(batch, time, n_input\) with n_input=3; got shape \(2, 5, 4\)"):
        rnn(torch.zeros(2, 5, 4))
    with pytest.raises(ValueError, match=r"state must have shape \(batch, state_size\) = \(2, 8\); got \(2, 7\)"):
        rnn(torch.zeros(2, 5, 3), torch.zeros(2, 7))
    with pytest.raises(TypeError, match=r"inputs must be a torch\.Tensor of shape \(batch, time, n_input\); got ndarray"):
        import numpy as np

        rnn(np.zeros((2, 5, 3)))


def test_mlp_shapes_and_errors():
    net = MLP([4, 8, 8, 2], activation="tanh", seed=0)
    out, hidden = net(torch.zeros(3, 4))
    assert out.shape == (3, 2) and [h.shape for h in hidden] == [(3, 8), (3, 8)]
    with pytest.raises(ValueError, match=r"x must have shape \(batch, 4\); got \(3, 5\)"):
        net(torch.zeros(3, 5))
    with pytest.raises(ValueError, match="at least input and output"):
        MLP([4])


def test_step_and_velocity_check_the_state_shape():
    rnn = RateRNN(3, 8, 2, seed=0)
    for fn in (rnn.step, rnn.velocity):
        with pytest.raises(ValueError, match=r"state must have shape \(batch, state_size\) = \(1, 8\) to match inputs; got \(8,\)"):
            fn(torch.zeros(8), torch.zeros(1, 3))

"""The alpha = 1 shortcuts of the hand-written BPTT (issue 19) equal autograd through the naive
loop in float64, with state noise, a single step and an initial state that needs no gradient."""

import pytest
import torch

from brainlike.models import ACTIVATIONS
from brainlike.models._bptt import leaky_loop, leaky_loop_reference


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("n_steps", [1, 5])
@pytest.mark.parametrize("r0_grad", [True, False])
def test_alpha_one_with_noise_matches_autograd_in_float64(name, n_steps, r0_grad):
    g = torch.Generator().manual_seed(n_steps)
    u = torch.randn(n_steps, 3, 4, generator=g, dtype=torch.float64, requires_grad=True)
    w = (0.6 * torch.randn(4, 4, generator=g, dtype=torch.float64)).requires_grad_()
    r0 = torch.randn(3, 4, generator=g, dtype=torch.float64).abs().requires_grad_(r0_grad)
    noise = 0.1 * torch.randn(n_steps, 3, 4, generator=g, dtype=torch.float64)
    act = ACTIVATIONS[name]
    fast = leaky_loop(u, w, r0, 1.0, act, noise)
    naive = leaky_loop_reference(u, w, r0, 1.0, act, noise)
    torch.testing.assert_close(fast, naive, rtol=0, atol=1e-12)
    weights = torch.randn(fast.shape, generator=g, dtype=torch.float64)
    inputs = (u, w, r0) if r0_grad else (u, w)
    for a, b in zip(torch.autograd.grad((fast * weights).sum(), inputs),
                    torch.autograd.grad((naive * weights).sum(), inputs)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)

"""The ensemble kernel's shortcuts (alpha = 1, derivatives from z alone; issue 19) equal the
single-network loop, forward and backward, in float64."""

import pytest
import torch

from brainlike.models import ACTIVATIONS
from brainlike.models._bptt import leaky_loop
from brainlike.training._ensemble import ensemble_leaky_loop


@pytest.mark.parametrize("name", ["relu", "tanh", "softplus"])
@pytest.mark.parametrize("alpha", [1.0, 0.2])
def test_kernel_matches_the_single_network_loop(name, alpha):
    gen = torch.Generator().manual_seed(1)
    e, t, b, n = 3, 6, 4, 5
    u = torch.randn(e, t, b, n, generator=gen, dtype=torch.float64, requires_grad=True)
    w = (0.6 * torch.randn(e, n, n, generator=gen, dtype=torch.float64)).requires_grad_()
    r0 = torch.randn(e, b, n, generator=gen, dtype=torch.float64).abs().requires_grad_()
    act = ACTIVATIONS[name]
    weights = torch.randn(e, t, b, n, generator=gen, dtype=torch.float64)
    ens = ensemble_leaky_loop(u, w, r0, alpha, act)
    grads = torch.autograd.grad((ens * weights).sum(), (u, w, r0))
    for k in range(e):
        uk, wk, rk = (x.detach()[k].clone().requires_grad_() for x in (u, w, r0))
        alone = leaky_loop(uk, wk, rk, alpha, act)
        torch.testing.assert_close(ens[k].detach(), alone, rtol=0, atol=1e-12)
        for ours, theirs in zip((g[k] for g in grads),
                                torch.autograd.grad((alone * weights[k]).sum(), (uk, wk, rk))):
            torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-12)

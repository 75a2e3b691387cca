"""Initializations of recurrent weight matrices."""

from __future__ import annotations

import torch
from torch import Tensor

W_REC_INITS = ("orthogonal", "identity", "gaussian")


def init_recurrent(n: int, kind: str, gain: float, generator: torch.Generator) -> Tensor:
    """Return an initial ``(n, n)`` recurrent weight matrix.

    Parameters
    ----------
    n : int
        Number of units.
    kind : {"orthogonal", "identity", "gaussian"}
        ``"orthogonal"``: ``gain * Q`` with ``Q`` Haar-random orthogonal (Yang et al. 2019,
        ``randortho``); every eigenvalue has modulus ``gain``. ``"identity"``: ``gain * I``
        (Le et al. 2015; Yang et al. 2019, ``diag``). ``"gaussian"``: i.i.d.
        ``N(0, gain^2 / n)``, whose spectral radius tends to ``gain`` as ``n`` grows
        (Sompolinsky et al. 1988; circular law).
    gain : float
        Scale, or spectral radius for ``"gaussian"``.
    generator : torch.Generator
        Source of randomness.
    """
    if kind == "orthogonal":
        a = torch.randn(n, n, generator=generator, dtype=torch.float64)
        q, r = torch.linalg.qr(a)
        # Sign correction makes Q Haar-distributed (Mezzadri 2007).
        q = q * torch.sign(torch.diagonal(r)).unsqueeze(0)
        return (gain * q).float()
    if kind == "identity":
        return gain * torch.eye(n)
    if kind == "gaussian":
        return torch.randn(n, n, generator=generator) * (gain / n**0.5)
    raise ValueError(f"w_rec_init must be one of {list(W_REC_INITS)}; got {kind!r}")

"""Canonical computations as layers (Yang & Wang 2020, Section 5.2).

* :class:`DivisiveNormalization`: Eq. 37 generalized to the Heeger/Carandini form with learnable
  exponent, semi-saturation constant and gain.
* :class:`FeatureGain` and :func:`apply_gain`: feature-based attention as a multiplicative gain on
  the channels of a layer (Lindsay & Miller 2018).
* :class:`PredictiveCoding`: a hierarchical Rao & Ballard (1999) network with explicit prediction
  and error units, inference by iterative relaxation and local (Hebbian) learning.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from .. import _checks
from ._hooks import _tensor_of, resolve_layers

__all__ = [
    "DivisiveNormalization",
    "FeatureGain",
    "PCInference",
    "PredictiveCoding",
    "apply_gain",
]


def _positive(name: str, value: Any, owner: str) -> float:
    return _checks.in_range(name, value, owner, 0.0, math.inf)


# --------------------------------------------------------------------------- normalization
class DivisiveNormalization(nn.Module):
    r"""Divisive normalization over a pool of units (Carandini & Heeger 2012).

    .. math::

        r_i = \gamma \frac{[x_i]_+^{\,n}}{\sigma^{n} + \sum_j w_{ij} [x_j]_+^{\,n}}

    over the units ``j`` of the normalization pool: the channels at the same position for a
    ``(B, C, H, W)`` tensor, the features for ``(B, N)`` or ``(B, T, N)`` (``dim`` selects the
    axis). With ``n = 1`` and uniform weights ``w_ij = 1`` this is Eq. 37 of the primer,
    ``r_i = γ I_i / (Σ_j I_j + σ)`` (with ``f`` the identity); ``n = 2`` is Heeger's (1992)
    squared form, whose single-input contrast response ``c² / (σ² + c²)`` is half-maximal at
    ``c = σ`` (the semi-saturation constant).

    The drive is rectified (``[x]_+``), so negative inputs give 0. The exponent ``n``, ``σ`` and
    ``γ`` are positive, learned through their logarithms; the pool weights ``w`` (``C × C``,
    non-negative through a softplus; uniform ones when not learned) are optional parameters.

    Parameters
    ----------
    n_units : int
        Size of the normalized axis (channels or features).
    exponent : float
        Initial ``n``.
    sigma : float
        Initial semi-saturation constant ``σ`` (same units as ``x``).
    gamma : float
        Initial output gain ``γ``.
    dim : int
        The pool's axis: 1 for ``(B, C, H, W)`` and ``(B, N)``; -1 for ``(B, T, N)``.
    learn_exponent, learn_sigma, learn_gamma, learn_weights : bool
        Which of ``n``, ``σ``, ``γ`` and ``w`` are trainable.

    Examples
    --------
    >>> import torch
    >>> norm = DivisiveNormalization(3, exponent=1.0, sigma=1.0)
    >>> norm(torch.tensor([[1.0, 2.0, 3.0]])).detach()  # x / (1 + sum x)
    tensor([[0.1429, 0.2857, 0.4286]])

    References
    ----------
    Carandini, M. & Heeger, D. J. (2012). Normalization as a canonical neural computation.
    Nat. Rev. Neurosci. 13, 51-62. Heeger, D. J. (1992). Vis. Neurosci. 9, 181-197.
    Yang & Wang (2020), Eq. 37.
    """

    def __init__(
        self,
        n_units: int,
        *,
        exponent: float = 2.0,
        sigma: float = 1.0,
        gamma: float = 1.0,
        dim: int = 1,
        learn_exponent: bool = True,
        learn_sigma: bool = True,
        learn_gamma: bool = False,
        learn_weights: bool = False,
    ):
        super().__init__()
        owner = "DivisiveNormalization"
        self.n_units = _checks.positive_int("n_units", n_units, owner)
        if isinstance(dim, bool) or not isinstance(dim, int):
            raise ValueError(f"The 'dim' parameter of {owner} must be an int. Got {dim!r} instead.")
        self.dim = dim
        self.log_exponent = nn.Parameter(
            torch.tensor(math.log(_positive("exponent", exponent, owner))), requires_grad=learn_exponent
        )
        self.log_sigma = nn.Parameter(
            torch.tensor(math.log(_positive("sigma", sigma, owner))), requires_grad=learn_sigma
        )
        self.log_gamma = nn.Parameter(
            torch.tensor(math.log(_positive("gamma", gamma, owner))), requires_grad=learn_gamma
        )
        # softplus(raw) = 1 at raw = log(e - 1): uniform unit weights at initialization.
        raw = torch.full((self.n_units, self.n_units), math.log(math.e - 1.0))
        self.raw_weights = nn.Parameter(raw, requires_grad=learn_weights)

    @property
    def exponent(self) -> Tensor:
        return self.log_exponent.exp()

    @property
    def sigma(self) -> Tensor:
        return self.log_sigma.exp()

    @property
    def gamma(self) -> Tensor:
        return self.log_gamma.exp()

    @property
    def weights(self) -> Tensor:
        """Pool weights ``w (n_units, n_units)``, ``w[i, j]`` from unit ``j`` to unit ``i``."""
        return nn.functional.softplus(self.raw_weights)

    def forward(self, x: Tensor) -> Tensor:
        """Normalize ``x`` along ``dim``; same shape out."""
        if x.ndim < 2 or x.shape[self.dim] != self.n_units:
            raise ValueError(
                f"DivisiveNormalization expects size {self.n_units} along dim {self.dim}; got "
                f"input of shape {tuple(x.shape)}"
            )
        n = self.exponent
        # clamp_min keeps d/dn of 0^n finite (0 · log 0); exact zeros stay zero in the output.
        drive = torch.relu(x).clamp_min(1e-12).pow(n) * (x > 0)
        moved = drive.movedim(self.dim, -1)
        pool = (moved @ self.weights.T).movedim(-1, self.dim)
        return self.gamma * drive / (self.sigma.pow(n) + pool)

    def extra_repr(self) -> str:
        return (
            f"{self.n_units}, exponent={self.exponent.item():.3g}, sigma={self.sigma.item():.3g}, "
            f"gamma={self.gamma.item():.3g}, dim={self.dim}"
        )


# --------------------------------------------------------------------------- attention
class FeatureGain(nn.Module):
    r"""Feature-based attention as a multiplicative gain on channels (Lindsay & Miller 2018).

    .. math::

        r_k = \left[(1 + \beta\, g_k)\; x_k\right]_+

    for each channel ``k`` (axis 1 of ``(B, C, H, W)`` or ``(B, N)``). ``g`` is the gain
    profile, in Lindsay & Miller's feature-similarity-gain model the z-scored tuning of each
    feature map to the attended category (see
    :func:`brainlike.analysis.features.category_tuning`); ``β`` is the attention strength.
    ``β = 0`` (the default) leaves the layer unchanged; the ``[·]_+`` keeps rates non-negative
    when ``1 + β g_k < 0`` (their Eq. for multiplicative attention followed by a ReLU).

    Parameters
    ----------
    n_channels : int
    gains : Tensor, shape (n_channels,), optional
        Initial profile ``g`` (zeros if None).
    beta : float
        Initial strength.
    rectify : bool
        Apply ``[·]_+`` (default). Turn off for a layer whose outputs may be negative.

    Examples
    --------
    >>> import torch
    >>> gain = FeatureGain(2, gains=torch.tensor([1.0, -1.0]), beta=0.5)
    >>> gain(torch.ones(1, 2))
    tensor([[1.5000, 0.5000]])

    References
    ----------
    Lindsay, G. W. & Miller, K. D. (2018). How biological attention mechanisms improve task
    performance in a large-scale visual system model. eLife 7, e38105.
    """

    def __init__(
        self, n_channels: int, *, gains: Tensor | None = None, beta: float = 0.0, rectify: bool = True
    ):
        super().__init__()
        self.n_channels = _checks.positive_int("n_channels", n_channels, "FeatureGain")
        self.register_buffer("gains", torch.zeros(self.n_channels))
        self.beta = 0.0
        self.rectify = bool(rectify)
        self.set(gains if gains is not None else self.gains, beta)

    def set(self, gains: Any, beta: float) -> None:
        """Set the profile ``g (n_channels,)`` and the strength ``β`` (no gradient flows)."""
        g = torch.as_tensor(gains, dtype=torch.float32).detach()
        if g.shape != (self.n_channels,) or not torch.isfinite(g).all():
            raise ValueError(
                f"gains must be a finite tensor of shape ({self.n_channels},); got {tuple(g.shape)}"
            )
        ok = isinstance(beta, (int, float)) and not isinstance(beta, bool) and math.isfinite(beta)
        if not ok:
            raise ValueError(
                f"The 'beta' parameter of FeatureGain must be a finite float. Got {beta!r} instead."
            )
        self.gains.copy_(g)
        self.beta = float(beta)

    def factor(self) -> Tensor:
        """The per-channel multiplier ``1 + β g``."""
        return 1.0 + self.beta * self.gains

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim < 2 or x.shape[1] != self.n_channels:
            raise ValueError(
                f"FeatureGain expects {self.n_channels} channels on axis 1; got {tuple(x.shape)}"
            )
        shape = (1, self.n_channels) + (1,) * (x.ndim - 2)
        y = x * self.factor().to(x.dtype).view(shape)
        return torch.relu(y) if self.rectify else y

    def extra_repr(self) -> str:
        return f"{self.n_channels}, beta={self.beta:g}, rectify={self.rectify}"


@contextmanager
def apply_gain(
    model: nn.Module, layer: str, gains: Any, beta: float, *, rectify: bool = True
) -> Iterator[FeatureGain]:
    """Attend: multiply the output of ``layer`` of any module by ``1 + β g`` inside the block.

    A forward hook applies a :class:`FeatureGain` to the layer's output (axis 1 = channels or
    features), so attention can be applied at any layer of any network without changing it.

    Parameters
    ----------
    model : nn.Module
    layer : str
        Submodule name (``model.named_modules()``), e.g. ``"relu2"`` of a ConvNet.
    gains : array, shape (n_channels,)
    beta : float
    rectify : bool
        Rectify after the gain (Lindsay & Miller apply the gain before the ReLU; hooking the
        ReLU's output and rectifying again is equivalent for ``1 + β g ≥ 0`` and clips
        negative multipliers to zero).

    Yields
    ------
    FeatureGain
        The gain module in use (its ``beta`` and ``gains`` can be changed inside the block).

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU())
    >>> x = torch.ones(1, 2)
    >>> with apply_gain(net, "1", torch.ones(3), beta=1.0):
    ...     doubled = net(x)
    >>> bool(torch.allclose(doubled, 2 * net(x)))
    True
    """
    (name,) = resolve_layers(model, [layer])
    g = torch.as_tensor(gains, dtype=torch.float32)
    module = FeatureGain(int(g.shape[0]) if g.ndim == 1 else 1, gains=g, beta=beta, rectify=rectify)

    def hook(mod: nn.Module, args: Any, output: Any) -> Tensor:
        return module(_tensor_of(output, name))

    handle = model.get_submodule(name).register_forward_hook(hook)
    try:
        yield module
    finally:
        handle.remove()


# --------------------------------------------------------------------------- predictive coding
@dataclass(frozen=True)
class PCInference:
    """Result of :meth:`PredictiveCoding.infer`.

    Attributes
    ----------
    states : tuple of Tensor
        Representation units ``r_1 .. r_L``, each ``(B, sizes[l])``.
    predictions : tuple of Tensor
        Top-down predictions ``f(U_l r_l)`` of the level below, ``(B, sizes[l - 1])``.
    errors : tuple of Tensor
        Error units ``ε_{l-1} = (r_{l-1} - f(U_l r_l)) / σ²_{l-1}``, ``(B, sizes[l - 1])``
        (``r_0`` is the input).
    energy : Tensor, shape (n_steps + 1,)
        Mean energy over the batch before each step and at the end.
    converged : bool
        The largest state change of the last step was below ``tol``.
    """

    states: tuple[Tensor, ...]
    predictions: tuple[Tensor, ...]
    errors: tuple[Tensor, ...]
    energy: Tensor
    converged: bool


class PredictiveCoding(nn.Module):
    r"""Hierarchical predictive-coding network (Rao & Ballard 1999).

    Level ``l`` holds representation (prediction) units ``r_l``; it predicts the level below
    through generative weights ``U_l``: ``r̂_{l-1} = f(U_l r_l)``, and error units carry the
    precision-weighted residual ``ε_{l-1} = (r_{l-1} - r̂_{l-1}) / σ²_{l-1}`` upwards
    (``r_0 = x``, the input, is clamped). The network minimizes the energy

    .. math::

        E = \sum_{l=1}^{L} \frac{\lVert r_{l-1} - f(U_l r_l) \rVert^2}{2\sigma_{l-1}^2}
            + \frac{\alpha}{2}\sum_{l=1}^{L} \lVert r_l \rVert^2

    **Inference** (iterative relaxation, gradient descent on ``E`` with step ``η``):
    ``r_l ← r_l + η (U_lᵀ (f'(U_l r_l) ⊙ ε_{l-1}) - ε_l - α r_l)`` — bottom-up errors drive a
    level, the error of its own prediction from above (``ε_l``, absent at the top) and the
    Gaussian prior pull it back. **Learning** (Hebbian, after inference):
    ``ΔU_l = η_U · mean_batch (f'(U_l r_l) ⊙ ε_{l-1}) r_lᵀ``.

    In the linear-Gaussian case (``activation="linear"``) ``E`` is the negative log posterior
    of a linear Gaussian chain, so inference converges to the exact posterior mode (for one
    level ``r* = (UᵀU/σ² + αI)⁻¹ Uᵀ x / σ²``).

    Parameters
    ----------
    sizes : sequence of int
        ``[n_input, n_1, ..., n_L]``.
    activation : {"linear", "tanh"}
        ``f`` of the predictions.
    sigma : float or sequence of float
        Std of the prediction errors at each predicted level ``0 .. L-1``.
    prior : float
        Precision ``α`` of the zero-mean Gaussian prior on every ``r_l``.
    seed : int, optional
        Seeds ``U_l ~ N(0, 1/n_l)``.

    Examples
    --------
    >>> import torch
    >>> pc = PredictiveCoding([4, 2], seed=0)
    >>> res = pc.infer(torch.ones(3, 4), n_steps=200)
    >>> tuple(res.states[0].shape), bool(res.energy[-1] < res.energy[0])
    ((3, 2), True)

    References
    ----------
    Rao, R. P. N. & Ballard, D. H. (1999). Predictive coding in the visual cortex: a functional
    interpretation of some extra-classical receptive-field effects. Nat. Neurosci. 2, 79-87.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        *,
        activation: str = "linear",
        sigma: float | Sequence[float] = 1.0,
        prior: float = 1.0,
        seed: int | None = None,
    ):
        super().__init__()
        owner = "PredictiveCoding"
        sizes = list(sizes)
        if len(sizes) < 2:
            raise ValueError(f"sizes must list the input and at least one level; got {sizes!r}")
        self.sizes = [_checks.positive_int(f"sizes[{k}]", s, owner) for k, s in enumerate(sizes)]
        self.activation = _checks.one_of("activation", activation, owner, ["linear", "tanh"])
        sig = [sigma] * (len(sizes) - 1) if isinstance(sigma, (int, float)) else list(sigma)
        if len(sig) != len(sizes) - 1:
            raise ValueError(
                f"sigma must have one value per predicted level ({len(sizes) - 1}); got {sig!r}"
            )
        self.sigma = [_positive(f"sigma[{k}]", s, owner) for k, s in enumerate(sig)]
        self.prior = _checks.in_range("prior", prior, owner, 0.0, math.inf, low_open=False)
        gen = torch.Generator().manual_seed(0 if seed is None else int(seed))
        self.U = nn.ParameterList(
            nn.Parameter(torch.randn(lo, hi, generator=gen) / math.sqrt(hi))
            for lo, hi in zip(self.sizes[:-1], self.sizes[1:])
        )

    @property
    def n_levels(self) -> int:
        return len(self.sizes) - 1

    def _f(self, z: Tensor) -> tuple[Tensor, Tensor]:
        if self.activation == "linear":
            return z, torch.ones_like(z)
        y = torch.tanh(z)
        return y, 1.0 - y * y

    def _errors(self, x: Tensor, states: Sequence[Tensor]):
        below = [x, *states[:-1]]
        preds, errs, slopes = [], [], []
        for U, r, lower, s in zip(self.U, states, below, self.sigma):
            p, d = self._f(r @ U.T)
            preds.append(p)
            errs.append((lower - p) / s**2)
            slopes.append(d)
        return preds, errs, slopes

    def energy(self, x: Tensor, states: Sequence[Tensor]) -> Tensor:
        """Energy ``E`` of each sample, ``(B,)``."""
        _, errs, _ = self._errors(x, states)
        e = sum(0.5 * s**2 * (err * err).sum(-1) for err, s in zip(errs, self.sigma))
        return e + 0.5 * self.prior * sum((r * r).sum(-1) for r in states)

    def _check_x(self, x: Tensor) -> Tensor:
        x = torch.as_tensor(x, dtype=self.U[0].dtype)
        if x.ndim != 2 or x.shape[1] != self.sizes[0]:
            raise ValueError(f"x must have shape (batch, {self.sizes[0]}); got {tuple(x.shape)}")
        return x

    @torch.no_grad()
    def infer(
        self,
        x: Tensor,
        *,
        n_steps: int = 100,
        lr: float = 0.1,
        tol: float = 1e-6,
        init: Sequence[Tensor] | None = None,
    ) -> PCInference:
        """Relax the representation units for the input ``x (B, sizes[0])``.

        Parameters
        ----------
        n_steps : int
            Maximum number of relaxation steps.
        lr : float
            Step ``η`` (stable for ``η`` below 2 / the largest eigenvalue of ``E``'s Hessian).
        tol : float
            Stop early once no state moves by more than ``tol`` in a step.
        init : sequence of Tensor, optional
            Initial states (zeros if None).
        """
        owner = "PredictiveCoding.infer"
        n_steps = _checks.positive_int("n_steps", n_steps, owner)
        lr = _positive("lr", lr, owner)
        x = self._check_x(x)
        b = x.shape[0]
        if init is None:
            states = [x.new_zeros(b, n) for n in self.sizes[1:]]
        else:
            states = [torch.as_tensor(r, dtype=x.dtype).clone() for r in init]
            want = [(b, n) for n in self.sizes[1:]]
            if [tuple(r.shape) for r in states] != want:
                raise ValueError(
                    f"init must hold states of shapes {want}; got {[tuple(r.shape) for r in states]}"
                )
        energies = [self.energy(x, states).mean()]
        converged = False
        for _ in range(n_steps):
            _, errs, slopes = self._errors(x, states)
            step = 0.0
            for lvl in range(self.n_levels):
                drive = (slopes[lvl] * errs[lvl]) @ self.U[lvl]
                if lvl + 1 < self.n_levels:
                    drive = drive - errs[lvl + 1]
                delta = lr * (drive - self.prior * states[lvl])
                states[lvl] = states[lvl] + delta
                step = max(step, float(delta.abs().max()))
            energies.append(self.energy(x, states).mean())
            if step < tol:
                converged = True
                break
        preds, errs, _ = self._errors(x, states)
        return PCInference(tuple(states), tuple(preds), tuple(errs), torch.stack(energies), converged)

    @torch.no_grad()
    def learn(
        self, x: Tensor, *, lr: float = 0.01, n_steps: int = 100, infer_lr: float = 0.1
    ) -> PCInference:
        """One learning step on a batch: infer, then ``U_l += lr · mean (f' ⊙ ε_{l-1}) r_lᵀ``."""
        res = self.infer(x, n_steps=n_steps, lr=infer_lr)
        lr = _positive("lr", lr, "PredictiveCoding.learn")
        _, errs, slopes = self._errors(self._check_x(x), res.states)
        b = x.shape[0]
        for U, r, err, d in zip(self.U, res.states, errs, slopes):
            U.add_(lr * (d * err).T @ r / b)
        return res

"""Structured recurrent connectivity (Yang & Wang 2020, Section 5.1).

A connectivity object is a small ``nn.Module`` that owns the parameters of the recurrent weights
and returns the *effective* ``(N, N)`` matrix ``W`` (``W[i, j]`` is the weight from unit ``j`` to
unit ``i``). Pass one to :class:`~brainlike.models.RateRNN` as ``connectivity=``; the network
computes ``W`` once per forward pass and hands it to its fast recurrent loop, so any
differentiable parameterization composes with it. A connectivity may also constrain the input and
readout weights (inputs to excitatory units only, readout from excitatory units only).

Constraints hold by construction (reparameterization), so they hold after any number of gradient
steps: signs come from ``|w|`` or ``max(w, 0)`` times a fixed sign per presynaptic unit; masked
entries are multiplied by a fixed 0; fixed entries are buffers; a low-rank matrix is a product.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from .. import _checks

POSITIVE_FUNCTIONS = ("rectify", "abs")


def _generator(seed: int | None) -> torch.Generator:
    gen = torch.Generator()
    gen.manual_seed(seed if seed is not None else int(torch.randint(0, 2**62, ()).item()))
    return gen


def _positive(kind: str, w: Tensor) -> Tensor:
    return torch.relu(w) if kind == "rectify" else w.abs()


def _spectral_radius(w: Tensor) -> float:
    return float(torch.linalg.eigvals(w.double()).abs().max())


def _square_mask(name: str, mask: Any, n: int, owner: str) -> Tensor:
    m = torch.as_tensor(mask)
    if m.shape != (n, n):
        raise ValueError(
            f"The '{name}' parameter of {owner} must have shape (n_units, n_units) = ({n}, {n}). "
            f"Got shape {tuple(m.shape)} instead."
        )
    if m.dtype != torch.bool:
        if not bool(((m == 0) | (m == 1)).all()):
            raise ValueError(
                f"The '{name}' parameter of {owner} must be boolean or hold only 0 and 1. "
                "Got other values instead."
            )
        m = m != 0
    return m.clone()


def _random_mask(n_rows: int, n_cols: int, density: float, gen: torch.Generator) -> Tensor:
    return torch.rand(n_rows, n_cols, generator=gen) < density


class Connectivity(nn.Module):
    """Base class: a parameterization of the recurrent weights of ``n_units`` units.

    Subclasses implement :meth:`recurrent` and :meth:`config`; they may override
    :meth:`input_weights` / :meth:`output_weights` (maps from the network's raw ``w_in`` and
    ``w_out`` parameters to the effective ones) and :meth:`init_input` / :meth:`init_output`
    (adjust the raw initial values, e.g. make them positive).

    Attributes
    ----------
    n_units : int
    cell_sign : Tensor, shape (n_units,), or None
        ``+1`` for excitatory and ``-1`` for inhibitory units when the connectivity obeys Dale's
        law, else None.
    """

    n_units: int

    @property
    def cell_sign(self) -> Tensor | None:
        """``+1`` (excitatory) / ``-1`` (inhibitory) per unit under Dale's law, else None."""
        return None

    def recurrent(self) -> Tensor:
        """The effective recurrent matrix, shape ``(n_units, n_units)``, rows = postsynaptic."""
        raise NotImplementedError

    def input_weights(self, w_in: Tensor) -> Tensor:
        """Effective input weights ``(n_units, n_input)`` from the raw parameter."""
        return w_in

    def output_weights(self, w_out: Tensor) -> Tensor:
        """Effective readout weights ``(n_output, n_units)`` from the raw parameter."""
        return w_out

    def init_input(self, w_in: Tensor) -> Tensor:
        """Initial raw input weights, given the network's default draw."""
        return w_in

    def init_output(self, w_out: Tensor) -> Tensor:
        """Initial raw readout weights, given the network's default draw."""
        return w_out

    def config(self) -> dict:
        """JSON-serializable description (``"type"`` plus constructor arguments)."""
        raise NotImplementedError

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.config().items()
                         if k != "type" and v is not None)


# -- sign-constrained (Dale) --------------------------------------------------------------------


class _SignConstrained(Connectivity):
    """``W = pos(W~) * C * sign[None, :]``; inputs ``pos(W~_in) * rows``; readout
    ``pos(W~_out) * sign * cols``."""

    def _setup(
        self,
        sign: Tensor,
        mask: Tensor,
        input_rows: Tensor,
        output_cols: Tensor,
        positive: str,
        spectral_radius: float,
        gen: torch.Generator,
    ) -> None:
        n = sign.shape[0]
        self.n_units = n
        self.positive = positive
        self.spectral_radius = spectral_radius
        self.register_buffer("sign", sign.float())
        self.register_buffer("mask", mask.float())
        self.register_buffer("input_rows", input_rows.float())
        self.register_buffer("output_cols", output_cols.float())
        # Song et al. (2016): Gamma(k=2) magnitudes on the mask; inhibitory entries of each row
        # scaled by (sum of E entries) / (sum of I entries) so that every row is balanced in
        # expectation; the signed matrix rescaled to spectral radius rho0.
        exc = sign > 0
        c = mask.float().clone()
        n_e_in = c[:, exc].sum(1, keepdim=True)
        n_i_in = c[:, ~exc].sum(1, keepdim=True)
        ratio = torch.where(n_i_in > 0, n_e_in / n_i_in.clamp(min=1.0), torch.zeros_like(n_e_in))
        c[:, ~exc] = c[:, ~exc] * ratio
        # Sample through the generator: Gamma(2, 1) is the sum of two Exp(1) draws.
        u = torch.rand(2, n, n, generator=gen).clamp(min=1e-12)
        magnitude = -torch.log(u).sum(0) * c
        signed = magnitude * sign.float()[None, :]
        rho = _spectral_radius(signed)
        if rho > 0 and spectral_radius > 0:
            magnitude = magnitude * (spectral_radius / rho)
        self.weight = nn.Parameter(magnitude)

    @property
    def cell_sign(self) -> Tensor:
        return self.sign

    def recurrent(self) -> Tensor:
        return _positive(self.positive, self.weight) * self.mask * self.sign

    def input_weights(self, w_in: Tensor) -> Tensor:
        return _positive(self.positive, w_in) * self.input_rows[:, None]

    def output_weights(self, w_out: Tensor) -> Tensor:
        return _positive(self.positive, w_out) * (self.sign * self.output_cols)[None, :]

    def init_input(self, w_in: Tensor) -> Tensor:
        return w_in.abs()

    def init_output(self, w_out: Tensor) -> Tensor:
        return w_out.abs()

    @property
    def excitatory(self) -> Tensor:
        """Boolean ``(n_units,)``: which units are excitatory."""
        return self.sign > 0


class Dale(_SignConstrained):
    r"""Excitatory and inhibitory units (Dale's law), Song, Yang & Wang (2016).

    .. math::

        W = [\tilde W]_+ \odot C \,\mathrm{diag}(s), \qquad
        W_x = [\tilde W_x]_+ \odot (\text{input rows}), \qquad
        W_y = [\tilde W_y]_+ \,\mathrm{diag}(s \odot \text{readout columns})

    where ``s_j = +1`` for the first ``round(e_fraction * n_units)`` (excitatory) units and
    ``-1`` for the rest, ``C`` is the connection mask and ``[.]_+`` is rectification (or the
    absolute value, the primer's Eq. 35-36). Every column of ``W`` therefore has its presynaptic
    unit's sign, and external inputs are excitatory. Initialization as in Song et al. (2016):
    Gamma(2)-distributed magnitudes, inhibitory weights scaled so that each row is balanced in
    expectation, then the signed matrix rescaled to spectral radius ``spectral_radius``.

    Parameters
    ----------
    n_units : int
    e_fraction : float
        Fraction of excitatory units, in (0, 1] (default 0.8).
    positive : {"rectify", "abs"}
        Map from the free parameters to non-negative magnitudes. ``"rectify"`` (Song et al.'s
        default) lets weights reach exactly 0 (and stay there); ``"abs"`` (the primer's Eq. 35-36,
        PsychRNN) keeps every connection alive.
    inputs_to : {"excitatory", "all"}
        Which units receive the external inputs.
    readout_from : {"excitatory", "all"}
        Which units the readout sees. From inhibitory units the readout weight is negative.
    self_connections : bool
        Allow autapses (default False, as Song et al.).
    density : float, optional
        Keep each allowed connection with this probability (a random fixed mask).
    mask : array-like of bool, shape (n_units, n_units), optional
        An explicit connection mask (rows postsynaptic); combined with ``self_connections``.
    spectral_radius : float
        Spectral radius of the initial signed matrix (Song et al.: 1.5).
    seed : int, optional

    Examples
    --------
    >>> from brainlike.models import Dale, RateRNN
    >>> rnn = RateRNN(3, 50, 3, connectivity=Dale(50, e_fraction=0.8, seed=0), seed=0)
    >>> w = rnn.effective_weights().w_rec
    >>> bool((w[:, :40] >= 0).all() and (w[:, 40:] <= 0).all())
    True

    References
    ----------
    Song, H. F., Yang, G. R. & Wang, X.-J. (2016). Training excitatory-inhibitory recurrent neural
    networks for cognitive tasks. PLoS Comput. Biol. 12, e1004792.
    """

    def __init__(
        self,
        n_units: int,
        *,
        e_fraction: float = 0.8,
        positive: str = "rectify",
        inputs_to: str = "excitatory",
        readout_from: str = "excitatory",
        self_connections: bool = False,
        density: float | None = None,
        mask: Any = None,
        spectral_radius: float = 1.5,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        n = _checks.positive_int("n_units", n_units, owner)
        e_fraction = _checks.in_range("e_fraction", e_fraction, owner, 0.0, 1.0, high_open=False)
        _checks.one_of("positive", positive, owner, POSITIVE_FUNCTIONS)
        _checks.one_of("inputs_to", inputs_to, owner, ("excitatory", "all"))
        _checks.one_of("readout_from", readout_from, owner, ("excitatory", "all"))
        spectral_radius = _checks.in_range(
            "spectral_radius", spectral_radius, owner, 0.0, math.inf, low_open=False
        )
        if density is not None and mask is not None:
            raise ValueError(f"{owner} takes either 'density' or 'mask', not both.")
        if density is not None:
            density = _checks.in_range("density", density, owner, 0.0, 1.0, high_open=False)
        gen = _generator(seed)
        n_e = round(e_fraction * n)
        if n_e < 1:
            raise ValueError(
                f"{owner} needs at least one excitatory unit; e_fraction={e_fraction!r} of "
                f"n_units={n} gives {n_e}."
            )
        sign = torch.ones(n)
        sign[n_e:] = -1.0
        allowed = torch.ones(n, n, dtype=torch.bool)
        if mask is not None:
            allowed = _square_mask("mask", mask, n, owner)
        elif density is not None:
            allowed = _random_mask(n, n, density, gen)
        if not self_connections:
            allowed.fill_diagonal_(False)
        exc = sign > 0
        rows = exc if inputs_to == "excitatory" else torch.ones(n, dtype=torch.bool)
        cols = exc if readout_from == "excitatory" else torch.ones(n, dtype=torch.bool)
        self.n_excitatory = n_e
        self._config = {
            "type": "dale", "n_units": n, "e_fraction": e_fraction, "positive": positive,
            "inputs_to": inputs_to, "readout_from": readout_from,
            "self_connections": bool(self_connections), "density": density,
            "mask": None if mask is None else "given", "spectral_radius": spectral_radius,
            "seed": seed,
        }
        self._setup(sign, allowed, rows, cols, positive, spectral_radius, gen)

    def config(self) -> dict:
        return dict(self._config)


# -- multi-area -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Area:
    """One area of a :class:`MultiArea` network.

    Parameters
    ----------
    name : str
    n_units : int
    e_fraction : float
        Fraction of excitatory units (the first ones of the area).
    density : float
        Probability of each local (within-area) connection.
    """

    name: str
    n_units: int
    e_fraction: float = 0.8
    density: float = 1.0

    def __post_init__(self) -> None:
        owner = f"Area({self.name!r})"
        _checks.positive_int("n_units", self.n_units, owner)
        _checks.in_range("e_fraction", self.e_fraction, owner, 0.0, 1.0, high_open=False)
        _checks.in_range("density", self.density, owner, 0.0, 1.0, high_open=False)


@dataclass(frozen=True)
class Projection:
    """A long-range projection between areas, from the source area's excitatory units.

    Parameters
    ----------
    source, target : str
        Area names.
    density : float
        Probability of each connection from an excitatory source unit to a target unit.
    """

    source: str
    target: str
    density: float = 0.1

    def __post_init__(self) -> None:
        owner = f"Projection({self.source!r} -> {self.target!r})"
        _checks.in_range("density", self.density, owner, 0.0, 1.0, high_open=False)


class MultiArea(_SignConstrained):
    """Several areas, each with its own size and E/I split, linked by long-range projections.

    Local connections follow Dale's law within each area (density ``Area.density``). Areas are
    linked only by the listed :class:`Projection` s (feedforward or feedback), which, as in
    cortex, come from excitatory units only (Song et al. 2016, ``mante_areas``). External inputs
    reach the excitatory units of ``inputs_to``; the readout sees the excitatory units of
    ``readout_from`` (with ``input_cells="all"`` / ``readout_cells="all"`` their inhibitory units
    too; the readout weight from an inhibitory unit is then negative, as in :class:`Dale`).
    Units are ordered area by area, excitatory first; :attr:`area_slices` gives each area's
    units.

    Parameters
    ----------
    areas : sequence of Area
    projections : sequence of Projection
    inputs_to, readout_from : sequence of str
        Area names (default: the first area receives inputs, the last is read out).
    input_cells, readout_cells : {"excitatory", "all"}
        Which units of those areas receive the inputs / are read out (default excitatory only).
        On ``context_decision`` a two-area network with the defaults left chance only after
        ~5000 steps, with ``"all"`` for both after ~2900
        (``examples/reproductions/multiarea_context.py``).
    positive : {"rectify", "abs"}
    self_connections : bool
    spectral_radius : float
        Spectral radius of the initial signed matrix.
    seed : int, optional

    Examples
    --------
    >>> from brainlike.models import Area, MultiArea, Projection
    >>> net = MultiArea(
    ...     [Area("sensory", 40), Area("decision", 30)],
    ...     [Projection("sensory", "decision", 0.2), Projection("decision", "sensory", 0.05)],
    ...     seed=0,
    ... )
    >>> net.n_units, net.area_slices["decision"]
    (70, slice(40, 70, None))
    """

    def __init__(
        self,
        areas: Sequence[Area],
        projections: Sequence[Projection] = (),
        *,
        inputs_to: Sequence[str] | None = None,
        readout_from: Sequence[str] | None = None,
        input_cells: str = "excitatory",
        readout_cells: str = "excitatory",
        positive: str = "rectify",
        self_connections: bool = False,
        spectral_radius: float = 1.5,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        _checks.one_of("input_cells", input_cells, owner, ("excitatory", "all"))
        _checks.one_of("readout_cells", readout_cells, owner, ("excitatory", "all"))
        areas = tuple(areas)
        projections = tuple(projections)
        if not areas or not all(isinstance(a, Area) for a in areas):
            raise ValueError(
                f"The 'areas' parameter of {owner} must be a non-empty sequence of Area. "
                f"Got {areas!r} instead."
            )
        names = [a.name for a in areas]
        if len(set(names)) != len(names):
            raise ValueError(f"Area names of {owner} must be unique. Got {names} instead.")
        _checks.one_of("positive", positive, owner, POSITIVE_FUNCTIONS)
        spectral_radius = _checks.in_range(
            "spectral_radius", spectral_radius, owner, 0.0, math.inf, low_open=False
        )
        inputs_to = (names[0],) if inputs_to is None else tuple(inputs_to)
        readout_from = (names[-1],) if readout_from is None else tuple(readout_from)
        for arg, value in (("inputs_to", inputs_to), ("readout_from", readout_from)):
            unknown = [v for v in value if v not in names]
            if unknown:
                raise ValueError(
                    f"The '{arg}' parameter of {owner} must name areas among {names}. "
                    f"Got unknown {unknown} instead."
                )
        for p in projections:
            if not isinstance(p, Projection) or p.source not in names or p.target not in names:
                raise ValueError(
                    f"Each projection of {owner} must be a Projection between areas {names}. "
                    f"Got {p!r} instead."
                )
            if p.source == p.target:
                raise ValueError(
                    f"Projection {p.source!r} -> {p.target!r} of {owner} links an area to itself; "
                    "set the area's local density with Area(density=...) instead."
                )
        gen = _generator(seed)
        slices: dict[str, slice] = {}
        signs = []
        start = 0
        for a in areas:
            n_e = round(a.e_fraction * a.n_units)
            s = torch.ones(a.n_units)
            s[n_e:] = -1.0
            signs.append(s)
            slices[a.name] = slice(start, start + a.n_units)
            start += a.n_units
        n = start
        sign = torch.cat(signs)
        exc = sign > 0
        allowed = torch.zeros(n, n, dtype=torch.bool)
        for a in areas:
            sl = slices[a.name]
            allowed[sl, sl] = _random_mask(a.n_units, a.n_units, a.density, gen)
        for p in projections:
            src, tgt = slices[p.source], slices[p.target]
            block = _random_mask(tgt.stop - tgt.start, src.stop - src.start, p.density, gen)
            allowed[tgt, src] = block & exc[src][None, :]
        if not self_connections:
            allowed.fill_diagonal_(False)
        rows = torch.zeros(n, dtype=torch.bool)
        cols = torch.zeros(n, dtype=torch.bool)
        for name in inputs_to:
            rows[slices[name]] = True
        for name in readout_from:
            cols[slices[name]] = True
        self.areas = areas
        self.projections = projections
        self.area_slices: Mapping[str, slice] = slices
        self._config = {
            "type": "multi_area",
            "areas": [vars(a).copy() for a in areas],
            "projections": [vars(p).copy() for p in projections],
            "inputs_to": list(inputs_to), "readout_from": list(readout_from),
            "input_cells": input_cells, "readout_cells": readout_cells, "positive": positive,
            "self_connections": bool(self_connections),
            "spectral_radius": spectral_radius, "seed": seed,
        }
        if input_cells == "excitatory":
            rows = rows & exc
        if readout_cells == "excitatory":
            cols = cols & exc
        self._setup(sign, allowed, rows, cols, positive, spectral_radius, gen)

    def config(self) -> dict:
        return dict(self._config)


# -- sparse mask ------------------------------------------------------------------------------


class SparseMask(Connectivity):
    r"""A fixed sparse mask on trainable weights, ``W = \tilde W \odot M`` (primer Section 5.1).

    Parameters
    ----------
    n_units : int
    density : float, optional
        Keep each connection with this probability (random mask drawn from ``seed``).
    mask : array-like of bool, shape (n_units, n_units), optional
        An explicit mask (rows postsynaptic). Give exactly one of ``density`` and ``mask``.
    gain : float
        Initial spectral radius: ``\tilde W_{ij} \sim N(0, gain^2 / (p N))`` with ``p`` the
        mask's density (circular law).
    seed : int, optional

    Examples
    --------
    >>> from brainlike.models import RateRNN, SparseMask
    >>> rnn = RateRNN(3, 40, 2, connectivity=SparseMask(40, density=0.2, seed=0), seed=0)
    >>> w = rnn.effective_weights().w_rec
    >>> bool((w[~rnn.connectivity.mask.bool()] == 0).all())
    True
    """

    def __init__(
        self,
        n_units: int,
        *,
        density: float | None = None,
        mask: Any = None,
        gain: float = 0.9,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        n = _checks.positive_int("n_units", n_units, owner)
        if (density is None) == (mask is None):
            raise ValueError(f"{owner} needs exactly one of 'density' and 'mask'.")
        gain = _checks.in_range("gain", gain, owner, 0.0, math.inf, low_open=False)
        gen = _generator(seed)
        if mask is not None:
            m = _square_mask("mask", mask, n, owner)
        else:
            density = _checks.in_range("density", density, owner, 0.0, 1.0, high_open=False)
            m = _random_mask(n, n, density, gen)
        p = max(float(m.float().mean()), 1.0 / (n * n))
        self.n_units = n
        self.register_buffer("mask", m.float())
        self.weight = nn.Parameter(torch.randn(n, n, generator=gen) * (gain / math.sqrt(p * n)))
        self._config = {
            "type": "sparse", "n_units": n, "density": density,
            "mask": None if mask is None else "given", "gain": gain, "seed": seed,
        }

    def recurrent(self) -> Tensor:
        return self.weight * self.mask

    def config(self) -> dict:
        return dict(self._config)


# -- fixed + trainable ------------------------------------------------------------------------


class FixedPlusTrainable(Connectivity):
    r"""A fixed matrix plus a trainable part on selected entries,
    ``W = W_{train} \odot M + W_{fix}`` (primer Section 5.3; Rajan et al. 2016).

    ``W_fix`` is a buffer, so entries outside ``M`` keep their value exactly however long the
    network trains. ``W_train`` starts at 0, so training starts from ``W_fix``. Pair it with
    :class:`~brainlike.training.AnchorPenalty` for the soft version (Eq. 44).

    Parameters
    ----------
    w_fixed : array-like, shape (n_units, n_units)
        The non-trainable matrix.
    trainable : array-like of bool, shape (n_units, n_units)
        Which entries may change (``M``).

    Examples
    --------
    >>> import torch
    >>> from brainlike.models import FixedPlusTrainable
    >>> w_fix = torch.eye(4) * 0.5
    >>> c = FixedPlusTrainable(w_fix, trainable=torch.rand(4, 4) < 0.5)
    >>> torch.equal(c.recurrent(), w_fix)
    True
    """

    def __init__(self, w_fixed: Any, trainable: Any) -> None:
        super().__init__()
        owner = type(self).__name__
        w = torch.as_tensor(w_fixed, dtype=torch.float32)
        if w.ndim != 2 or w.shape[0] != w.shape[1] or w.shape[0] < 1:
            raise ValueError(
                f"The 'w_fixed' parameter of {owner} must be a square (n_units, n_units) matrix. "
                f"Got shape {tuple(w.shape)} instead."
            )
        n = w.shape[0]
        m = _square_mask("trainable", trainable, n, owner)
        self.n_units = n
        self.register_buffer("w_fixed", w.clone())
        self.register_buffer("trainable", m.float())
        self.weight = nn.Parameter(torch.zeros(n, n))

    def recurrent(self) -> Tensor:
        return self.weight * self.trainable + self.w_fixed

    def config(self) -> dict:
        return {"type": "fixed_plus_trainable", "n_units": self.n_units,
                "n_trainable": int(self.trainable.sum())}


# -- low rank ---------------------------------------------------------------------------------


class LowRank(Connectivity):
    r"""Low-rank recurrent weights (Mastrogiuseppe & Ostojic 2018),
    ``W = m n^T / N + g \chi / \sqrt{N}``.

    ``m`` and ``n`` are trainable ``(N, rank)`` matrices drawn from ``N(0, 1)``; ``chi`` is a
    fixed ``N(0, 1)`` matrix (a buffer), present when ``g > 0``. With ``g = 0`` the rank of
    ``W`` is at most ``rank`` by construction.

    Parameters
    ----------
    n_units : int
    rank : int
    g : float
        Strength of the fixed random part (0: pure low rank).
    seed : int, optional

    Examples
    --------
    >>> import torch
    >>> from brainlike.models import LowRank
    >>> c = LowRank(30, rank=2, seed=0)
    >>> int(torch.linalg.matrix_rank(c.recurrent()))
    2
    """

    def __init__(self, n_units: int, rank: int = 1, *, g: float = 0.0, seed: int | None = None):
        super().__init__()
        owner = type(self).__name__
        n = _checks.positive_int("n_units", n_units, owner)
        r = _checks.positive_int("rank", rank, owner)
        if r > n:
            raise ValueError(
                f"The 'rank' parameter of {owner} must be <= n_units={n}. Got {r} instead."
            )
        g = _checks.in_range("g", g, owner, 0.0, math.inf, low_open=False)
        gen = _generator(seed)
        self.n_units, self.rank, self.g = n, r, g
        self.m = nn.Parameter(torch.randn(n, r, generator=gen))
        self.n = nn.Parameter(torch.randn(n, r, generator=gen))
        chi = torch.randn(n, n, generator=gen) if g > 0 else torch.zeros(0, 0)
        self.register_buffer("chi", chi)
        self._seed = seed

    def recurrent(self) -> Tensor:
        w = self.m @ self.n.t() / self.n_units
        if self.g > 0:
            w = w + (self.g / math.sqrt(self.n_units)) * self.chi
        return w

    def config(self) -> dict:
        return {"type": "low_rank", "n_units": self.n_units, "rank": self.rank, "g": self.g,
                "seed": self._seed}


# -- from a config ----------------------------------------------------------------------------

_SPEC_TYPES = ("dale", "sparse", "low_rank", "multi_area")


def build_connectivity(
    spec: Mapping[str, Any], n_units: int, *, seed: int | None = None
) -> Connectivity:
    """Build a connectivity from a JSON/YAML-style description (as written by ``config()``).

    Parameters
    ----------
    spec : mapping
        ``{"type": "dale" | "sparse" | "low_rank" | "multi_area", **constructor arguments}``.
        For ``"multi_area"``, ``areas`` and ``projections`` are lists of mappings with the
        fields of :class:`Area` and :class:`Projection`. An ``n_units`` entry, if present, must
        equal ``n_units``; ``mask`` may only be None (explicit masks are not serializable).
    n_units : int
        The network size (``n_hidden``).
    seed : int, optional
        Used when ``spec`` has no ``seed``.

    Examples
    --------
    >>> c = build_connectivity({"type": "dale", "e_fraction": 0.75}, 40, seed=0)
    >>> type(c).__name__, c.n_excitatory
    ('Dale', 30)
    """
    kwargs = dict(spec)
    kind = kwargs.pop("type", None)
    if kind not in _SPEC_TYPES:
        raise ValueError(
            f"connectivity 'type' must be one of {list(_SPEC_TYPES)}. Got {kind!r} instead."
        )
    given_n = kwargs.pop("n_units", n_units)
    if given_n != n_units:
        raise ValueError(
            f"connectivity n_units must equal the network's n_hidden. Expected {n_units}, "
            f"got {given_n}."
        )
    if kwargs.pop("mask", None) is not None:
        raise ValueError("connectivity 'mask' cannot be given in a config; use 'density'.")
    kwargs.setdefault("seed", seed)
    try:
        if kind == "dale":
            return Dale(n_units, **kwargs)
        if kind == "sparse":
            return SparseMask(n_units, **kwargs)
        if kind == "low_rank":
            return LowRank(n_units, **kwargs)
        areas = [Area(**a) for a in kwargs.pop("areas", ())]
        projections = [Projection(**p) for p in kwargs.pop("projections", ())]
        total = sum(a.n_units for a in areas)
        if total != n_units:
            raise ValueError(
                f"multi_area areas must add up to n_hidden. Expected {n_units} units, got {total}."
            )
        return MultiArea(areas, projections, **kwargs)
    except TypeError as e:
        raise ValueError(f"bad {kind!r} connectivity arguments: {e}") from None

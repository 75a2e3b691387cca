"""What the leaky rate networks share (:class:`RateRNN`, :class:`STSPRNN`): their weights and
their initialization, the connectivity they may take, ``alpha = dt / tau``, the recurrent noise
conventions, the readout, the config and connection lesions."""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ._activations import get_activation
from ._connectivity import Connectivity, build_connectivity
from ._init import init_recurrent
from ._protocol import EffectiveWeights, RecurrentModel, derive_seed, fresh_seed, generator

#: Where the recurrent noise enters (see :class:`RateRNN`).
NOISE_CONVENTIONS = ("inside_f", "on_state")
_DEFAULT_GAIN = {"orthogonal": 0.5, "identity": 0.5, "gaussian": 0.9}
_CONNECTIVITY_STREAM = 1  # a connectivity built from a spec seeds from stream 1 of the model seed


def check_euler_step(owner: str, args: dict) -> None:
    """Refuse ``dt > tau`` in constructor ``args``: the Euler step needs ``alpha = dt/tau <= 1``."""
    dt, tau = args.get("dt"), args.get("tau")
    if dt is not None and tau is not None and dt > tau:
        raise ValueError(
            f"{owner} needs dt <= tau for a stable Euler step (alpha = dt/tau <= 1). "
            f"Got dt={dt!r}, tau={tau!r}."
        )


class LeakyRateModel(RecurrentModel):
    """Base of the leaky rate networks: ``tau dr/dt = -r + f(...)``, Euler steps of ``dt``."""

    activity_part = "r"

    def _setup(
        self, n_input: int, n_hidden: int, n_output: int, *, tau: float, dt: float,
        activation: str, sigma_rec: float, noise_convention: str, w_rec_init: str,
        w_rec_gain: float | None, train_initial_state: bool, seed: int | None,
        connectivity: Connectivity | Mapping[str, Any] | None,
    ) -> None:
        """The arguments and weights: ``W_x ~ N(0, 1/n_input)`` (Yang et al. 2019), ``W_r`` by
        ``w_rec_init``, ``W_y ~ U(-1/sqrt(N), 1/sqrt(N))`` (torch ``Linear``), biases and
        ``r_0`` zero; a connectivity given as a description is built with an independent
        stream of ``seed``."""
        self.n_input, self.n_hidden, self.n_output = int(n_input), int(n_hidden), int(n_output)
        self.tau, self.dt = float(tau), float(dt)
        self.activation = activation
        self.sigma_rec = float(sigma_rec)
        self.noise_convention = noise_convention
        self.w_rec_init = w_rec_init
        self.w_rec_gain = float(_DEFAULT_GAIN[w_rec_init] if w_rec_gain is None else w_rec_gain)
        self.train_initial_state = bool(train_initial_state)
        self._act = get_activation(activation)
        seed = fresh_seed() if seed is None else int(seed)
        if isinstance(connectivity, Mapping):
            connectivity = build_connectivity(
                connectivity, self.n_hidden, seed=derive_seed(seed, _CONNECTIVITY_STREAM))

        gen = generator(seed)
        n, i, o = self.n_hidden, self.n_input, self.n_output
        w_in = torch.randn(n, i, generator=gen) / math.sqrt(i)
        w_rec = init_recurrent(n, w_rec_init, self.w_rec_gain, gen)
        bound = 1.0 / math.sqrt(n)
        w_out = (torch.rand(o, n, generator=gen) * 2 - 1) * bound
        if connectivity is None:
            self.connectivity = None
            self.w_rec = nn.Parameter(w_rec)
        else:
            self.connectivity = connectivity
            w_in = connectivity.init_input(w_in)
            w_out = connectivity.init_output(w_out)
        self.w_in = nn.Parameter(w_in)
        self.b_rec = nn.Parameter(torch.zeros(n))
        self.w_out = nn.Parameter(w_out)
        self.b_out = nn.Parameter(torch.zeros(o))
        r0 = torch.zeros(n)
        if self.train_initial_state:
            self.r0 = nn.Parameter(r0)
        else:
            self.register_buffer("r0", r0)

    @classmethod
    def _check_together(cls, args: dict) -> None:
        check_euler_step(cls.__name__, args)
        conn, n = args.get("connectivity"), args.get("n_hidden")
        if conn is None or n is None:
            return
        if isinstance(conn, Mapping):
            build_connectivity(conn, n, seed=0)  # raises ValueError naming what is wrong
        elif conn.n_units != n:
            raise ValueError(
                f"connectivity.n_units must be equal to n_hidden of {cls.__name__}. "
                f"Expected {n}, got {conn.n_units}."
            )

    @property
    def alpha(self) -> float:
        """``dt / tau``."""
        return self.dt / self.tau

    def _rate_config(self, **extra: Any) -> dict:
        """The shared constructor arguments, then ``extra``, then the connectivity's config."""
        out = {
            "n_input": self.n_input,
            "n_hidden": self.n_hidden,
            "n_output": self.n_output,
            "tau": self.tau,
            "dt": self.dt,
            "activation": self.activation,
            "sigma_rec": self.sigma_rec,
            "noise_convention": self.noise_convention,
            "w_rec_init": self.w_rec_init,
            "w_rec_gain": self.w_rec_gain,
            "train_initial_state": self.train_initial_state,
            **extra,
        }
        if self.connectivity is not None:
            out["connectivity"] = self.connectivity.config()
        return out

    def effective_weights(self) -> EffectiveWeights:
        """The input, recurrent and readout weights in use (differentiable).

        Returns
        -------
        EffectiveWeights
            ``w_in (N, n_input)``, ``w_rec (N, N)``, ``w_out (n_output, N)``.
        """
        c = self.connectivity
        if c is None:
            return EffectiveWeights(self.w_in, self.w_rec, self.w_out)
        return EffectiveWeights(
            c.input_weights(self.w_in), c.recurrent(), c.output_weights(self.w_out)
        )

    def _drive_and_noise(self, inputs: Tensor, w: EffectiveWeights, noise: bool,
                         generator: torch.Generator | None) -> tuple[Tensor, Tensor | None]:
        """Time-major ``(T, B, N)`` input drive ``W_x x_t + b_r`` for all steps in one matmul
        (each step then reads a contiguous slice), with the recurrent noise: added to it
        (``"inside_f"``), or returned to be added to the state after each step
        (``"on_state"``)."""
        u = torch.matmul(inputs.transpose(0, 1), w.w_in.t()) + self.b_rec
        on_state = None
        if noise and self.sigma_rec > 0:
            xi = self._noise(u.shape, generator, u)
            if self.noise_convention == "inside_f":
                u = u + (math.sqrt(2.0 / self.alpha) * self.sigma_rec) * xi
            else:
                on_state = (math.sqrt(2.0 * self.alpha) * self.sigma_rec) * xi
        return u, on_state

    def _readout(self, state: Tensor) -> Tensor:
        w_out = self.effective_weights().w_out
        return state[..., : self.n_hidden] @ w_out.t() + self.b_out

    def without_connections(self, from_units: Any, to_units: Any) -> LeakyRateModel:
        """A copy with the recurrent connections from ``from_units`` to ``to_units`` set to 0.

        Needs a plain ``w_rec`` parameter (no connectivity parameterization).
        """
        if self.connectivity is not None:
            raise ValueError(
                f"without_connections needs a {type(self).__name__} with a plain w_rec parameter "
                f"(connectivity=None); this one has {type(self.connectivity).__name__}"
            )
        src = np.asarray(from_units, dtype=np.int64).reshape(-1)
        dst = np.asarray(to_units, dtype=np.int64).reshape(-1)
        cut = copy.deepcopy(self)
        with torch.no_grad():
            cut.w_rec[np.ix_(dst, src)] = 0.0
        return cut

"""The 20 tasks of Yang et al. 2019 (Nat Neurosci 22:297), ``make("yang19.<task>")``.

Names follow NeuroGym's ``yang19.*`` collection (go, rtgo, dlygo, anti, rtanti,
dlyanti, dm1, dm2, ctxdm1, ctxdm2, multidm, dlydm1, dlydm2, ctxdlydm1,
ctxdlydm2, multidlydm, dms, dnms, dmc, dnmc); the definitions are those of the
paper's code (``gyyang/multitask``, ``task.py``), whose function names are
given in each class's ``yang_fn``.

Shared encoding (all 20 tasks take and produce the same channels, so one
network can learn them all):

* 85 inputs: ``fixation``, two rings of 32 units (``mod1_0..31``,
  ``mod2_0..31``, unit k preferring ``2πk/32``) and 20 one-hot rule inputs
  (``rule_go`` .. ``rule_dnmc``, on for the whole trial). A stimulus at angle
  θ with strength s adds ``s · 0.8 · exp(-d²/2)`` to its ring, d the circular
  distance to each unit's preferred angle in units of π/8.
* 33 outputs: ``fixate`` and ``ring_0..31``. Targets (``target_kind="value"``,
  train with MSE) are 0.05 everywhere, the fixation output is 0.8 while the
  network should fixate, and from response onset the ring target adds the same
  bump (peak 0.85) at the response direction. The paper squashes the readout
  with a sigmoid; a linear readout also fits these targets (all in [0.05, 0.85]).
* Input noise ``sigma_x · sqrt(2/α)`` with ``α = dt/tau``, on every input and
  every valid step (the paper's ``add_x_noise``).
* Cost mask: the paper's ``c`` is 0 for the first 100 ms, 1 until response
  onset, 0 for the next 100 ms (grace period) and 5 after, and the fixation
  output's weight is doubled. Its loss is ``mean((c·(y − ŷ))²)``, so the
  weights on the *squared* error are ``c²``: ``batch.mask`` holds ``c²``
  (0, 1, 25) and ``batch.output_mask`` (B, T, 33) holds ``c²`` with the
  fixation column ×4.
* Score (``network.get_perf``): at each trial's last step the network fixates
  when the fixation output > 0.5; otherwise its choice is the population
  vector of the 32 ring outputs (the paper's ``popvec``, divided by the ring's
  total). A trial that should end fixating (no-go) is
  correct when the network fixates; any other is correct when the network does
  not fixate and the decoded direction is within 0.2π of the response.

Timing is drawn **per trial** (the engine pads and masks), where the paper
draws one timing per batch so that its batches need no padding; the
distribution of trials is the same, and per-trial draws make each batch more
varied. The modality of single-modality stimuli (go family, DMS, DMC) is
likewise drawn per trial rather than per batch.

Examples
--------
>>> import numpy as np
>>> from brainlike.tasks import make
>>> task = make("yang19.dlygo")
>>> task.n_inputs, task.n_outputs, task.target_kind
(85, 33, 'value')
>>> batch = task.generate(16, seed=0)
>>> task.score(batch.targets, batch).accuracy
1.0
>>> grid = task.grid()                      # the paper's noise-free test grid
>>> grid.batch_size, sorted(set(grid.lengths.tolist()))
(40, [125])
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from ._core import Task, TaskScore, TrialBatch, Trials, Variable, _check_positive, check_values, pick
from ._distributions import Choice, Fixed, Uniform, to_steps

__all__ = ["RULES", "YANG19_TASKS", "Yang19Task"]

N_RING = 32
TWO_PI = 2.0 * math.pi
#: Rule order of the paper's ``rules_dict['all']`` (NeuroGym's short names).
RULES = (
    "go", "rtgo", "dlygo", "anti", "rtanti", "dlyanti", "dm1", "dm2", "ctxdm1", "ctxdm2",
    "multidm", "dlydm1", "dlydm2", "ctxdlydm1", "ctxdlydm2", "multidlydm", "dms", "dnms",
    "dmc", "dnmc",
)  # fmt: skip
PREFERRED = TWO_PI * np.arange(N_RING) / N_RING
INPUT_NAMES = (
    "fixation",
    *(f"mod1_{k}" for k in range(N_RING)),
    *(f"mod2_{k}" for k in range(N_RING)),
    *(f"rule_{r}" for r in RULES),
)
OUTPUT_NAMES = ("fixate", *(f"ring_{k}" for k in range(N_RING)))
_LOC = {"low": 0.0, "high": TWO_PI}
_DMC_LOCS = tuple(math.pi * v for v in (0.1, 0.3, 0.5, 0.7, 0.9, 1.1, 1.3, 1.5, 1.7, 1.9))


def circular_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance on the circle between angles (rad), in [0, π]."""
    d = np.abs(np.mod(np.asarray(a) - np.asarray(b), TWO_PI))
    return np.minimum(d, TWO_PI - d)


def bump(angles: np.ndarray) -> np.ndarray:
    """Ring activity ``0.8·exp(-d²/2)``, d in units of π/8: shape (B, 32)."""
    d = circular_distance(np.asarray(angles, dtype=np.float64)[:, None], PREFERRED[None, :])
    return 0.8 * np.exp(-((d / (math.pi / 8)) ** 2) / 2)


def population_vector(ring: np.ndarray) -> np.ndarray:
    """Decoded direction (rad, [0, 2π)) of ring activity ``(B, 32)``, the paper's ``popvec``.

    ``atan2(Σ r_k sin θ_k / Σ r_k, Σ r_k cos θ_k / Σ r_k)`` (``gyyang/multitask``,
    ``network.py``): the sums are divided by the ring's total as in the paper, which leaves the
    direction unchanged for a positive total and turns it by π for a negative one (a linear
    readout can give one). NaN where the total is 0 (the paper divides by zero too), so such a
    trial is never correct.
    """
    total = ring.sum(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        sin, cos = (ring @ np.sin(PREFERRED)) / total, (ring @ np.cos(PREFERRED)) / total
    return np.mod(np.arctan2(sin, cos), TWO_PI)


class Yang19Task(Task):
    """Base of the Yang et al. 2019 tasks (encoding, cost mask, noise, score).

    Parameters
    ----------
    dt : float
        Step in ms (default 20, the paper's).
    tau : float
        Time constant in ms that sets the noise scale through ``α = dt/tau``
        (default 100).
    sigma_x : float
        Input noise; per-step std ``sigma_x · sqrt(2/α)`` (default 0.01).
    timing : mapping, optional
        Epoch -> duration overrides (ms).

    References
    ----------
    Yang, Joglekar, Song, Newsome & Wang (2019) Task representations in neural
    networks trained to perform many cognitive tasks. Nat Neurosci 22:297.
    """

    rule: ClassVar[str] = ""
    yang_fn: ClassVar[str] = ""
    label: ClassVar[str] = ""
    citation: ClassVar[str] = "Yang et al. 2019 Nat Neurosci (gyyang/multitask task.py; NeuroGym yang19)"
    grid_timing: ClassVar[Mapping[str, float]] = {}
    input_names = INPUT_NAMES
    output_names = OUTPUT_NAMES
    target_kind = "value"
    noise_channels = INPUT_NAMES
    #: Fixation input on for the whole trial (reaction-time and match tasks).
    fixation_always_on: ClassVar[bool] = False

    def __init__(
        self,
        *,
        dt: float = 20.0,
        tau: float = 100.0,
        sigma_x: float = 0.01,
        timing: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(dt=dt, sigma=sigma_x, timing=timing)
        self.tau = _check_positive("tau (ms)", tau)
        self.sigma_x = self.sigma
        self._params.update(tau=self.tau, sigma_x=self.sigma_x)

    @property
    def noise_std(self) -> float:
        """Per-step input noise std ``sigma_x · sqrt(2/α)``, ``α = dt/tau``."""
        return self.sigma_x * math.sqrt(2.0 * self.tau / self.dt)

    @property
    def ceiling(self) -> float | None:
        """1.0 without input noise; None otherwise (not computed)."""
        return 1.0 if self.sigma_x == 0 else None

    # ---- per-family hooks
    def stimuli(self, trials: Trials, c: Mapping[str, np.ndarray]) -> None:
        raise NotImplementedError

    def response(self, c: Mapping[str, np.ndarray]) -> np.ndarray:
        """(B,) response direction, -1 where the network should keep fixating."""
        raise NotImplementedError

    def grid_extra(self, c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Conditions the paper's test grid couples to the grid axes."""
        return c

    # ---- engine hooks
    def fill(self, trials: Trials, c) -> None:
        valid = trials.valid
        x, y = trials.inputs, trials.targets
        x[..., INPUT_NAMES.index(f"rule_{self.rule}")] = valid
        fix_in = valid if self.fixation_always_on else valid & ~trials.epoch("go1")
        x[..., 0] = fix_in
        self.stimuli(trials, c)
        resp = np.asarray(self.response(c), dtype=np.float64)
        go = resp >= 0
        go_on = trials.starts["go1"]
        t = np.arange(trials.n_steps)
        before = t[None, :] < go_on[:, None]
        y[valid] = 0.05
        y[..., 0] = np.where(valid & (before | ~go[:, None]), 0.8, y[..., 0])
        respond = valid & ~before & go[:, None]
        y[..., 1:] += respond[..., None] * bump(np.where(go, resp, 0.0))[:, None, :].astype(np.float32)
        # cost mask c: 0 first 100 ms, 1 until response, 0 for 100 ms, then 5
        grace = int(to_steps(np.array([100.0]), self.dt)[0])
        cmask = np.where(t[None, :] < grace, 0.0, 1.0) * before
        cmask = cmask + 5.0 * (t[None, :] >= (go_on + grace)[:, None])
        cmask = np.where(valid, cmask, 0.0) ** 2  # weights on the squared error
        trials.mask[...] = cmask
        om = np.repeat(cmask[..., None], self.n_outputs, axis=2).astype(np.float32)
        om[..., 0] *= 4.0
        trials.output_mask = om

    def default_grid(self) -> dict[str, tuple[float, ...]]:
        raise NotImplementedError

    def grid(self, values=None, *, seed: Any = 0, noise: bool = False) -> TrialBatch:
        """The paper's ``mode='test'`` grid: dense conditions, fixed timing, no noise.

        With ``values=None`` the grid and the fixed epoch durations are those of
        the paper's test mode (e.g. 20 directions × 2 modalities for the go
        family, 20 directions × 5 × 5 strengths for context DM); conditions that
        the paper couples to the axes (second stimulus opposite the first, with
        strength 2 − s) are filled in. With ``values`` given, this is
        :meth:`Task.grid` with the task's own timing.
        """
        if values is not None:
            return super().grid(values, seed=seed, noise=noise)
        fixed = type(self)(**{**self.params, "timing": dict(self.grid_timing)})
        axes = self.default_grid()
        mesh = np.meshgrid(*[np.asarray(v, dtype=np.float64) for v in axes.values()], indexing="ij")
        conditions = self.grid_extra({k: m.ravel() for k, m in zip(axes, mesh)})
        return fixed.generate(int(mesh[0].size), seed=seed, conditions=conditions, noise=noise)

    def score(self, outputs: Any, batch: TrialBatch) -> TaskScore:
        """The paper's rule (``network.get_perf``) at each trial's last step.

        ``outputs``: (B, T, 33), (batch, time, feature), on the target scale
        (after the sigmoid if the readout has one). ``decision`` is -1 when the
        fixation output is > 0.5, else 1 + the ring unit nearest the
        population-vector direction (the output channel index; -1 also where the
        ring's total is 0 and the paper's ``popvec`` has no direction). ``error``
        is the circular distance (rad) between that direction and the response,
        NaN where the network fixated or should have.
        """
        out = self._check_outputs(outputs, batch)
        last = out[np.arange(batch.batch_size), batch.lengths - 1]
        fixating = last[:, 0] > 0.5
        angle = population_vector(last[:, 1:])
        target = np.asarray(batch.conditions["response_loc"])
        should_fix = target < 0
        dist = circular_distance(angle, target)
        correct = np.where(should_fix, fixating, ~fixating & (dist < 0.2 * math.pi))
        nearest = np.argmin(circular_distance(angle[:, None], PREFERRED[None, :]), axis=1)
        decision = np.where(fixating | np.isnan(angle), -1, 1 + nearest)
        error = np.where(should_fix | fixating, np.nan, dist)
        return TaskScore(decision=decision, correct=correct, error=error)


def _add_ring(trials: Trials, mod: Any, loc: np.ndarray, strength: Any, *epochs: str) -> None:
    """Add a stimulus bump on ring ``mod`` (1 or 2; scalar or (B,)) during ``epochs``."""
    n = trials.n
    mod = np.broadcast_to(np.asarray(mod), (n,))
    block = bump(loc) * np.broadcast_to(np.asarray(strength, dtype=np.float64), (n,))[:, None]
    where = trials.epoch(*epochs)
    for m in (1, 2):
        sel = where & (mod == m)[:, None]
        cols = slice(1 + (m - 1) * N_RING, 1 + m * N_RING)
        trials.inputs[..., cols] += (sel[..., None] * block[:, None, :]).astype(np.float32)


def _loc_vars(*names: str) -> tuple[Variable, ...]:
    return tuple(Variable(n, f"{n.replace('_', ' ')} (rad)", **_LOC) for n in names)


_RESPONSE = Variable(
    "response_loc", "response direction (rad); -1 = keep fixating (no-go)", derived=True
)
_GRID20 = tuple(TWO_PI * k / 20 for k in range(20))


# --------------------------------------------------------------------------- go family
class _GoFamily(Yang19Task):
    anti: ClassVar[bool] = False
    variables = (
        *_loc_vars("stim_loc"),
        Variable("stim_mod", "modality of the stimulus (1 or 2)", integer=True, values=(1, 2)),
        _RESPONSE,
    )

    def sample_conditions(self, rng, n, fixed):
        loc = pick(fixed, "stim_loc", rng.uniform(0, TWO_PI, n))
        mod = pick(fixed, "stim_mod", rng.integers(1, 3, n))
        resp = np.mod(loc + math.pi, TWO_PI) if self.anti else loc
        return {"stim_loc": loc, "stim_mod": mod, "response_loc": resp}

    def response(self, c):
        return c["response_loc"]

    def default_grid(self):
        return {"stim_loc": _GRID20, "stim_mod": (1, 2)}


class _Go(_GoFamily):
    """Go / Anti (paper ``fdgo``/``fdanti``): the stimulus stays on from its onset.

    Epochs ``fix1`` U(300, 700), ``stim1`` U(500, 1500), ``go1`` 500 ms. The
    stimulus (random direction, modality 1 or 2) is on from ``stim1`` to the end;
    the fixation input goes off at ``go1``, when the network must saccade to
    the stimulus (Go) or opposite it (Anti). Conditions ``stim_loc``,
    ``stim_mod``; ``response_loc`` derived.
    """

    epoch_names = ("fix1", "stim1", "go1")
    default_timing: ClassVar[Mapping[str, Any]] = {
        "fix1": Uniform(300, 700), "stim1": Uniform(500, 1500), "go1": Fixed(500),
    }  # fmt: skip
    grid_timing: ClassVar[Mapping[str, float]] = {"fix1": 500, "stim1": 1000, "go1": 500}

    def stimuli(self, trials, c):
        _add_ring(trials, c["stim_mod"], c["stim_loc"], 1.0, "stim1", "go1")


class _ReactionGo(_GoFamily):
    """RT Go / RT Anti (paper ``reactgo``/``reactanti``): respond as soon as it appears.

    Epochs ``fix1`` U(500, 2500), ``go1`` 500 ms. The fixation input stays on
    for the whole trial; the stimulus appears at ``go1`` and the network must
    respond at once (to it, or opposite it for Anti).
    """

    epoch_names = ("fix1", "go1")
    default_timing: ClassVar[Mapping[str, Any]] = {"fix1": Uniform(500, 2500), "go1": Fixed(500)}
    grid_timing: ClassVar[Mapping[str, float]] = {"fix1": 2000, "go1": 500}
    fixation_always_on = True

    def stimuli(self, trials, c):
        _add_ring(trials, c["stim_mod"], c["stim_loc"], 1.0, "go1")


class _DelayGo(_GoFamily):
    """Dly Go / Dly Anti (paper ``delaygo``/``delayanti``): respond to a remembered stimulus.

    Epochs ``fix1`` {300, 500, 700}, ``stim1`` {200, 400, 600}, ``delay1``
    {200, 400, 800, 1600}, ``go1`` 500 ms. The stimulus is on during ``stim1``
    only; the fixation input goes off at ``go1``.
    """

    epoch_names = ("fix1", "stim1", "delay1", "go1")
    default_timing: ClassVar[Mapping[str, Any]] = {
        "fix1": Choice((300, 500, 700)), "stim1": Choice((200, 400, 600)),
        "delay1": Choice((200, 400, 800, 1600)), "go1": Fixed(500),
    }  # fmt: skip
    grid_timing: ClassVar[Mapping[str, float]] = {"fix1": 500, "stim1": 500, "delay1": 1000, "go1": 500}

    def stimuli(self, trials, c):
        _add_ring(trials, c["stim_mod"], c["stim_loc"], 1.0, "stim1")


# --------------------------------------------------------------------------- decision family
def _two_locations(rng, n, fixed):
    dist = rng.uniform(0.5 * math.pi, 1.5 * math.pi, n) * rng.choice([-1.0, 1.0], n)
    loc1 = pick(fixed, "stim1_loc", rng.uniform(0, TWO_PI, n))
    loc2 = pick(fixed, "stim2_loc", np.mod(loc1 + dist, TWO_PI))
    return loc1, loc2


def _genstim(rng, n, cohs):
    """The paper's ``contextdm_genstim``: mean U(0.8, 1.2) ± coherence."""
    mean = rng.uniform(0.8, 1.2, n)
    coh = np.asarray(cohs)[rng.integers(len(cohs), size=n)]
    sign = rng.choice([1.0, -1.0], n)
    return mean + coh * sign, mean - coh * sign


class _Decision(Yang19Task):
    """Shared parts of the perceptual-decision tasks (two stimuli, choose the stronger)."""

    default_coherences: ClassVar[tuple[float, ...]] = ()

    def __init__(
        self,
        *,
        dt: float = 20.0,
        tau: float = 100.0,
        sigma_x: float = 0.01,
        coherences: Any = None,
        timing: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(dt=dt, tau=tau, sigma_x=sigma_x, timing=timing)
        cohs = self.default_coherences if coherences is None else coherences
        self.coherences = check_values("coherences", cohs, low=0.0, high=1.0)
        self._params["coherences"] = list(self.coherences)

    def response(self, c):
        return c["response_loc"]


class _SingleDM(_Decision):
    """DM 1/2 and Dly DM 1/2: two stimuli in one modality; go to the stronger.

    Strengths: mean U(0.8, 1.2) ± coherence (random sign), coherence from
    ``coherences``; the second location lies U(0.5π, 1.5π) away from the first
    (either side). Conditions ``stim1_loc``, ``stim2_loc``, ``stim1_strength``,
    ``stim2_strength`` (fix them for psychometric curves); ``response_loc``
    (derived) is the location of the stronger one (the second on ties).
    """

    modality: ClassVar[int] = 1
    variables = (
        *_loc_vars("stim1_loc", "stim2_loc"),
        Variable("stim1_strength", "strength of stimulus 1", low=0.0),
        Variable("stim2_strength", "strength of stimulus 2", low=0.0),
        _RESPONSE,
    )

    def sample_conditions(self, rng, n, fixed):
        loc1, loc2 = _two_locations(rng, n, fixed)
        s1, s2 = _genstim(rng, n, self.coherences)
        s1, s2 = pick(fixed, "stim1_strength", s1), pick(fixed, "stim2_strength", s2)
        return {
            "stim1_loc": loc1, "stim2_loc": loc2, "stim1_strength": s1, "stim2_strength": s2,
            "response_loc": np.where(s1 > s2, loc1, loc2),
        }  # fmt: skip

    def stimuli(self, trials, c):
        e1, e2 = self.stim_epochs
        _add_ring(trials, self.modality, c["stim1_loc"], c["stim1_strength"], e1)
        _add_ring(trials, self.modality, c["stim2_loc"], c["stim2_strength"], e2)

    def default_grid(self):
        low, span = self.grid_strengths
        return {"stim1_loc": _GRID20, "stim1_strength": tuple(low + span * k / 5 for k in range(5))}

    def grid_extra(self, c):
        c["stim2_loc"] = np.mod(c["stim1_loc"] + math.pi, TWO_PI)
        c["stim2_strength"] = 2.0 - c["stim1_strength"]
        return c


class _ContextDM(_Decision):
    """Ctx DM 1/2, MultSen DM and their delayed versions: both modalities carry stimuli.

    Both rings show the two stimuli at the same two locations. For Ctx DM each
    modality's strengths are drawn independently (mean U(0.8, 1.2) ±
    coherence) and the target follows the attended modality (1 or 2). For
    MultSen DM a total strength per stimulus (mean ± coherence) is split
    across the modalities, ``s ± s·U(0.2, 0.8)·(±1)/2``, and the target follows
    the sum. Conditions ``stim1_loc``, ``stim2_loc`` and ``stim{1,2}_mod{1,2}_strength``;
    ``response_loc`` derived.
    """

    attend: ClassVar[int] = 0  # 1, 2, or 0 = both (multisensory)
    variables = (
        *_loc_vars("stim1_loc", "stim2_loc"),
        *(
            Variable(f"stim{i}_mod{m}_strength", f"strength of stimulus {i} in modality {m}", low=0.0)
            for i in (1, 2)
            for m in (1, 2)
        ),
        _RESPONSE,
    )

    def sample_conditions(self, rng, n, fixed):
        loc1, loc2 = _two_locations(rng, n, fixed)
        if self.attend:
            s11, s21 = _genstim(rng, n, self.coherences)
            s12, s22 = _genstim(rng, n, self.coherences)
        else:
            s1, s2 = _genstim(rng, n, self.coherences)
            d1 = s1 * rng.uniform(0.2, 0.8, n) * rng.choice([1.0, -1.0], n)
            d2 = s2 * rng.uniform(0.2, 0.8, n) * rng.choice([1.0, -1.0], n)
            s11, s12, s21, s22 = s1 + d1 / 2, s1 - d1 / 2, s2 + d2 / 2, s2 - d2 / 2
        c = {"stim1_loc": loc1, "stim2_loc": loc2}
        drawn = {"stim1_mod1": s11, "stim1_mod2": s12, "stim2_mod1": s21, "stim2_mod2": s22}
        for key, v in drawn.items():
            c[f"{key}_strength"] = pick(fixed, f"{key}_strength", v)
        if self.attend:
            a, b = c[f"stim1_mod{self.attend}_strength"], c[f"stim2_mod{self.attend}_strength"]
        else:
            a = c["stim1_mod1_strength"] + c["stim1_mod2_strength"]
            b = c["stim2_mod1_strength"] + c["stim2_mod2_strength"]
        c["response_loc"] = np.where(a > b, loc1, loc2)
        return c

    def stimuli(self, trials, c):
        e1, e2 = self.stim_epochs
        for m in (1, 2):
            _add_ring(trials, m, c["stim1_loc"], c[f"stim1_mod{m}_strength"], e1)
            _add_ring(trials, m, c["stim2_loc"], c[f"stim2_mod{m}_strength"], e2)

    def default_grid(self):
        s = tuple(0.8 + 0.4 * k / 5 for k in range(5))
        return {"stim1_loc": _GRID20, "stim1_mod1_strength": s, "stim1_mod2_strength": s}

    def grid_extra(self, c):
        c["stim2_loc"] = np.mod(c["stim1_loc"] + math.pi, TWO_PI)
        c["stim2_mod1_strength"] = 2.0 - c["stim1_mod1_strength"]
        c["stim2_mod2_strength"] = 2.0 - c["stim1_mod2_strength"]
        return c


_DM_TIMING = {"fix1": Uniform(100, 400), "stim1": Choice((400, 800, 1600)), "go1": Fixed(500)}
_DLY_DM_TIMING = {
    "fix1": Choice((200, 400, 600)), "stim1": Choice((200, 400, 600)),
    "delay1": Choice((200, 400, 800, 1600)), "stim2": Choice((200, 400, 600)),
    "delay2": Uniform(100, 300), "go1": Fixed(500),
}  # fmt: skip
_DM_DOC = """
    Epochs ``fix1`` U(100, 400), ``stim1`` {400, 800, 1600}, ``go1`` 500 ms; both
    stimuli are on during ``stim1`` and the fixation input goes off at ``go1``.
    Coherences {0.01, 0.02, 0.04, 0.08} (the paper's; ×10 for its ``easy_task``)."""
_DLY_DM_DOC = """
    Epochs ``fix1`` {200, 400, 600}, ``stim1`` {200, 400, 600}, ``delay1``
    {200, 400, 800, 1600}, ``stim2`` {200, 400, 600}, ``delay2`` U(100, 300),
    ``go1`` 500 ms: the stimuli come one after the other. Coherences
    {0.08, 0.16, 0.32} (×2 for the paper's ``easy_task``)."""


# --------------------------------------------------------------------------- matching family
class _Match(Yang19Task):
    """DMS/DNMS/DMC/DNMC: compare a test stimulus to a remembered sample.

    The sample (``stim1``) and test (from ``go1`` to the end) are in modalities
    drawn independently. The fixation input stays on the whole trial; from
    test onset the network must saccade to the test on a go trial and keep
    fixating otherwise (the fixation target stays 0.8 and the ring gets no bump).
    """

    epoch_names = ("fix1", "stim1", "delay1", "go1")
    fixation_always_on = True
    go_on_match: ClassVar[bool] = True
    grid_timing: ClassVar[Mapping[str, float]] = {"fix1": 500, "stim1": 500, "delay1": 1200, "go1": 500}

    def stimuli(self, trials, c):
        _add_ring(trials, c["stim1_mod"], c["stim1_loc"], 1.0, "stim1")
        _add_ring(trials, c["stim2_mod"], c["stim2_loc"], 1.0, "go1")

    def response(self, c):
        go = c["match"] == (1 if self.go_on_match else 0)
        return np.where(go, c["stim2_loc"], -1.0)

    def _mods(self, rng, n, fixed):
        m1, m2 = rng.integers(1, 3, n), rng.integers(1, 3, n)
        return pick(fixed, "stim1_mod", m1), pick(fixed, "stim2_mod", m2)


_MOD_VARS = (
    Variable("stim1_mod", "modality of the sample (1 or 2)", integer=True, values=(1, 2)),
    Variable("stim2_mod", "modality of the test (1 or 2)", integer=True, values=(1, 2)),
)


class _DMS(_Match):
    """Delayed match-to-sample (DMS: go on a match) / non-match (DNMS: go on a non-match).

    Epochs ``fix1`` {200, 400, 600}, ``stim1`` {200, 400, 600}, ``delay1``
    {200, 400, 800, 1600}, ``go1`` 500 ms. Match with probability 1/2; a
    non-match test lies U(π/9, 17π/9) away from the sample (either side).
    Conditions ``stim1_loc``, ``stim2_loc``, ``stim1_mod``, ``stim2_mod``,
    ``match``; fixing ``stim2_loc`` makes ``match`` = (distance < π/36), the
    paper's psychometric rule.
    """

    default_timing: ClassVar[Mapping[str, Any]] = {
        "fix1": Choice((200, 400, 600)), "stim1": Choice((200, 400, 600)),
        "delay1": Choice((200, 400, 800, 1600)), "go1": Fixed(500),
    }  # fmt: skip
    variables = (
        *_loc_vars("stim1_loc", "stim2_loc"),
        *_MOD_VARS,
        Variable("match", "1 if the test matches the sample", integer=True, values=(0, 1)),
        _RESPONSE,
    )

    def sample_conditions(self, rng, n, fixed):
        m1, m2 = self._mods(rng, n, fixed)
        match = pick(fixed, "match", rng.integers(0, 2, n))
        dist = rng.uniform(math.pi / 9, 17 * math.pi / 9, n) * rng.choice([-1.0, 1.0], n)
        loc1 = pick(fixed, "stim1_loc", rng.uniform(0, TWO_PI, n))
        loc2 = np.mod(loc1 + dist * (1 - match), TWO_PI)
        if "stim2_loc" in fixed:
            loc2 = fixed["stim2_loc"]
            derived = (circular_distance(loc1, loc2) < math.pi / 36).astype(np.int64)
            if "match" in fixed and not np.array_equal(derived, fixed["match"]):
                raise ValueError(
                    "conditions fix 'stim2_loc' and 'match' inconsistently (match means a "
                    "distance < π/36); fix one of them"
                )
            match = derived
        c = {"stim1_loc": loc1, "stim2_loc": loc2, "stim1_mod": m1, "stim2_mod": m2, "match": match}
        c["response_loc"] = self.response(c)
        return c

    def default_grid(self):
        return {"stim1_loc": _GRID20, "stim1_mod": (1, 2), "stim2_mod": (1, 2)}

    def grid_extra(self, c):
        match = np.full(c["stim1_loc"].shape, 1 if self.go_on_match else 0)
        c["stim2_loc"] = np.mod(c["stim1_loc"] + math.pi * (1 - match), TWO_PI)
        return c


class _DMC(_Match):
    """Delayed match-to-category (DMC: go on a category match) / non-match (DNMC).

    Epochs ``fix1`` {200, 400, 600}, ``stim1`` {200, 400, 600}, ``delay1``
    {200, 400, 800, 1600}, ``go1`` {200, 400, 600} ms. Sample and test are
    drawn independently from {0.1, 0.3, …, 1.9}π; category = (location < π).
    Conditions ``stim1_loc``, ``stim2_loc``, ``stim1_mod``, ``stim2_mod``;
    ``stim1_category``, ``stim2_category`` (1 if < π) and ``match`` derived.
    """

    default_timing: ClassVar[Mapping[str, Any]] = {
        "fix1": Choice((200, 400, 600)), "stim1": Choice((200, 400, 600)),
        "delay1": Choice((200, 400, 800, 1600)), "go1": Choice((200, 400, 600)),
    }  # fmt: skip
    variables = (
        *_loc_vars("stim1_loc", "stim2_loc"),
        *_MOD_VARS,
        Variable("stim1_category", "1 if the sample lies below π", integer=True, derived=True),
        Variable("stim2_category", "1 if the test lies below π", integer=True, derived=True),
        Variable("match", "1 if sample and test share the category", integer=True, derived=True),
        _RESPONSE,
    )

    def sample_conditions(self, rng, n, fixed):
        m1, m2 = self._mods(rng, n, fixed)
        locs = np.asarray(_DMC_LOCS)
        loc1 = pick(fixed, "stim1_loc", locs[rng.integers(len(locs), size=n)])
        loc2 = pick(fixed, "stim2_loc", locs[rng.integers(len(locs), size=n)])
        cat1, cat2 = (loc1 < math.pi).astype(np.int64), (loc2 < math.pi).astype(np.int64)
        c = {
            "stim1_loc": loc1, "stim2_loc": loc2, "stim1_mod": m1, "stim2_mod": m2,
            "stim1_category": cat1, "stim2_category": cat2, "match": (cat1 == cat2).astype(np.int64),
        }  # fmt: skip
        c["response_loc"] = self.response(c)
        return c

    def default_grid(self):
        locs = [math.pi * (0.1 + 0.8 * k / 10) for k in range(10)]
        locs += [math.pi * (1.1 + 0.8 * k / 10) for k in range(10)]
        return {"stim1_loc": tuple(locs), "stim1_mod": (1, 2), "stim2_mod": (1, 2)}

    def grid_extra(self, c):
        flip = 0.0 if self.go_on_match else math.pi
        c["stim2_loc"] = np.mod(c["stim1_loc"] + flip, TWO_PI)
        return c


# --------------------------------------------------------------------------- the 20 tasks
def _leaf(base: type, rule: str, fn: str, label: str, what: str, extra_doc: str = "", **attrs) -> type:
    doc = (
        f"Yang et al. 2019 '{label}' (paper ``{fn}``; NeuroGym ``yang19.{rule}-v0``): {what}\n"
        f"{extra_doc}\n\n    Family definition: see ``{base.__name__}``; encoding, cost mask, noise "
        "and score: see :class:`Yang19Task`.\n"
    )
    ns = {
        "__doc__": doc, "name": f"yang19.{rule}", "rule": rule, "yang_fn": fn, "label": label,
        "description": f"{label}: {what}", "__module__": __name__, **attrs,
    }  # fmt: skip
    return type(f"Yang19_{rule}", (base,), ns)


_DM_SINGLE = {"epoch_names": ("fix1", "stim1", "go1"), "default_timing": _DM_TIMING,
              "stim_epochs": ("stim1", "stim1"),
              "grid_timing": {"fix1": 500, "stim1": 1500, "go1": 500}}  # fmt: skip
_DM_CTX = {**_DM_SINGLE, "grid_timing": {"fix1": 500, "stim1": 1000, "go1": 500}}
_DLY = {"epoch_names": ("fix1", "stim1", "delay1", "stim2", "delay2", "go1"),
        "default_timing": _DLY_DM_TIMING, "stim_epochs": ("stim1", "stim2")}  # fmt: skip
_DLY_SINGLE = {**_DLY, "grid_timing": {"fix1": 500, "stim1": 500, "delay1": 1000, "stim2": 500,
                                        "delay2": 200, "go1": 300}}  # fmt: skip
_DLY_CTX = {**_DLY, "grid_timing": {"fix1": 500, "stim1": 500, "delay1": 1000, "stim2": 500,
                                     "delay2": 500, "go1": 500}}  # fmt: skip
_COH = (0.01, 0.02, 0.04, 0.08)
_DLY_COH = (0.08, 0.16, 0.32)

YANG19_TASKS: tuple[type[Yang19Task], ...] = (
    _leaf(_Go, "go", "fdgo", "Go", "saccade to the stimulus when the fixation input goes off"),
    _leaf(_ReactionGo, "rtgo", "reactgo", "RT Go", "saccade to the stimulus as soon as it appears"),
    _leaf(_DelayGo, "dlygo", "delaygo", "Dly Go", "saccade to a remembered stimulus"),
    _leaf(_Go, "anti", "fdanti", "Anti", "saccade opposite the stimulus at the go cue", anti=True),
    _leaf(_ReactionGo, "rtanti", "reactanti", "RT Anti", "saccade opposite the stimulus at once",
          anti=True),
    _leaf(_DelayGo, "dlyanti", "delayanti", "Dly Anti", "saccade opposite a remembered stimulus",
          anti=True),
    _leaf(_SingleDM, "dm1", "dm1", "DM 1", "go to the stronger of two modality-1 stimuli", _DM_DOC,
          modality=1, default_coherences=_COH, grid_strengths=(0.8, 0.4), **_DM_SINGLE),
    _leaf(_SingleDM, "dm2", "dm2", "DM 2", "go to the stronger of two modality-2 stimuli", _DM_DOC,
          modality=2, default_coherences=_COH, grid_strengths=(0.8, 0.4), **_DM_SINGLE),
    _leaf(_ContextDM, "ctxdm1", "contextdm1", "Ctx DM 1",
          "go to the stronger stimulus in modality 1, ignoring modality 2", _DM_DOC, attend=1,
          default_coherences=_COH, **_DM_CTX),
    _leaf(_ContextDM, "ctxdm2", "contextdm2", "Ctx DM 2",
          "go to the stronger stimulus in modality 2, ignoring modality 1", _DM_DOC, attend=2,
          default_coherences=_COH, **_DM_CTX),
    _leaf(_ContextDM, "multidm", "multidm", "MultSen DM",
          "go to the stimulus stronger summed over both modalities", _DM_DOC, attend=0,
          default_coherences=_COH, **_DM_CTX),
    _leaf(_SingleDM, "dlydm1", "delaydm1", "Dly DM 1",
          "go to the stronger of two sequential modality-1 stimuli", _DLY_DM_DOC, modality=1,
          default_coherences=_DLY_COH, grid_strengths=(0.5, 1.0), **_DLY_SINGLE),
    _leaf(_SingleDM, "dlydm2", "delaydm2", "Dly DM 2",
          "go to the stronger of two sequential modality-2 stimuli", _DLY_DM_DOC, modality=2,
          default_coherences=_DLY_COH, grid_strengths=(0.5, 1.0), **_DLY_SINGLE),
    _leaf(_ContextDM, "ctxdlydm1", "contextdelaydm1", "Ctx Dly DM 1",
          "sequential stimuli; the stronger in modality 1", _DLY_DM_DOC, attend=1,
          default_coherences=_DLY_COH, **_DLY_CTX),
    _leaf(_ContextDM, "ctxdlydm2", "contextdelaydm2", "Ctx Dly DM 2",
          "sequential stimuli; the stronger in modality 2", _DLY_DM_DOC, attend=2,
          default_coherences=_DLY_COH, **_DLY_CTX),
    _leaf(_ContextDM, "multidlydm", "multidelaydm", "MultSen Dly DM",
          "sequential stimuli; the stronger summed over modalities", _DLY_DM_DOC, attend=0,
          default_coherences=_DLY_COH, **_DLY_CTX),
    _leaf(_DMS, "dms", "dmsgo", "DMS", "saccade to the test if it matches the sample"),
    _leaf(_DMS, "dnms", "dmsnogo", "DNMS", "saccade to the test if it differs from the sample",
          go_on_match=False),
    _leaf(_DMC, "dmc", "dmcgo", "DMC", "saccade to the test if its category matches the sample's"),
    _leaf(_DMC, "dnmc", "dmcnogo", "DNMC", "saccade to the test if its category differs",
          go_on_match=False),
)  # fmt: skip

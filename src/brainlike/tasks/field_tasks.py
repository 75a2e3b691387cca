"""More tasks the field uses: go/no-go, interval timing, wagering, bandits, clicks.

All are class tasks (output 0 = fixate) with NeuroGym-style encodings; each
class docstring gives the paper, timing, encoding, conditions and score rule.

Examples
--------
>>> import numpy as np
>>> from brainlike.tasks import make
>>> task = make("ready_set_go")
>>> batch = task.generate(8, seed=0)
>>> task.score(10.0 * np.eye(2)[batch.targets], batch).accuracy
1.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from ._core import (
    Task,
    TaskScore,
    TrialBatch,
    Trials,
    Variable,
    _check_positive,
    check_values,
    duration_steps_sample,
    integrator_ceiling,
    pick,
)
from ._distributions import Choice, Fixed, Uniform, to_steps

__all__ = [
    "GoNoGo",
    "IntervalDiscrimination",
    "PoissonClicks",
    "PostDecisionWager",
    "ReadySetGo",
    "TwoArmedBandit",
]


class GoNoGo(Task):
    """Go/No-Go: respond after a go cue, withhold after a no-go cue.

    NeuroGym ``GoNogo-v0`` (Zhang et al. 2019 eLife). Epochs ``fixation`` 0,
    ``stimulus`` 500, ``delay`` 500, ``decision`` 500 ms (dt 100). Inputs
    ``fixation`` (1 until ``decision``), ``go``, ``nogo`` (the cue, during
    ``stimulus``; noise ``sigma/sqrt(dt)`` there). Outputs ``fixate``,
    ``respond``: target ``respond`` during ``decision`` on go trials, ``fixate``
    otherwise. Conditions ``go`` (0/1, p = 1/2), ``ground_truth`` (derived: 1,
    or -1 = no response expected). Score: last-step argmax; a no-go trial is
    correct when the network still fixates (decision -1).
    """

    name: ClassVar[str] = "go_no_go"
    description: ClassVar[str] = "Respond after a go cue, keep fixating after a no-go cue"
    citation: ClassVar[str] = "Zhang et al. 2019 eLife (NeuroGym GoNogo-v0)"
    epoch_names = ("fixation", "stimulus", "delay", "decision")
    default_timing: ClassVar[Mapping[str, Any]] = {
        "fixation": 0.0, "stimulus": 500.0, "delay": 500.0, "decision": 500.0,
    }  # fmt: skip
    input_names = ("fixation", "go", "nogo")
    output_names = ("fixate", "respond")
    noise_channels = ("go", "nogo")
    noise_epochs = ("stimulus",)
    variables = (
        Variable("go", "1 go trial, 0 no-go", integer=True, values=(0, 1),
                 labels={0: "no-go", 1: "go"}),
        Variable("ground_truth", "1 respond, -1 keep fixating", integer=True, derived=True),
    )

    def __init__(self, *, dt: float = 100.0, sigma: float = 0.0, timing=None) -> None:
        super().__init__(dt=dt, sigma=sigma, timing=timing)
        self._params["sigma"] = self.sigma

    @property
    def ceiling(self) -> float | None:
        return 1.0 if self.sigma == 0 else None

    def sample_conditions(self, rng, n, fixed):
        go = pick(fixed, "go", rng.integers(0, 2, n))
        return {"go": go, "ground_truth": np.where(go == 1, 1, -1)}

    def fill(self, trials: Trials, c) -> None:
        go = c["go"]
        trials.set_input("fixation", 1.0, "fixation", "stimulus", "delay")
        trials.set_input("go", go.astype(float), "stimulus")
        trials.set_input("nogo", 1.0 - go, "stimulus")
        trials.set_target(np.where(go == 1, 1, 0), "decision")


class ReadySetGo(Task):
    """Ready-Set-Go interval reproduction (Jazayeri & Shadlen 2015).

    Two brief flashes, Ready and Set, are ``ts`` ms apart (sample interval,
    ``ts`` ~ U(``prior``)); the network must respond ``gain · ts`` after Set.
    Epochs (from the conditions): ``fixation`` 500, ``ready`` 100, ``measure``
    ts − 100, ``set`` 100, ``produce`` gain·ts − 100, ``go`` 300 ms (dt 20).
    Inputs ``fixation`` (1 until ``go``), ``ready``, ``set`` (pulses); outputs
    ``fixate``, ``respond``, target ``respond`` during ``go``. Conditions
    ``ts`` (ms), ``gain`` (from ``gains``), ``target_interval`` (derived,
    gain·ts, ms). The prior defaults to the paper's "short" one, U(480, 800)
    ms (its "long" one is U(800, 1200)).

    Score: the produced interval ``tp`` runs from Set onset to the first step
    whose argmax is ``respond``; correct when the network did not respond
    before Set and ``|tp − gain·ts| < tolerance · gain·ts`` (default 0.15).
    ``decision`` is 1 on a response after Set, -1 otherwise; ``error`` is
    ``tp − gain·ts`` in ms (NaN without a response).
    """

    name: ClassVar[str] = "ready_set_go"
    description: ClassVar[str] = "Measure the Ready-Set interval and reproduce it after Set"
    citation: ClassVar[str] = "Jazayeri & Shadlen 2015 Neuron (NeuroGym ReadySetGo-v0)"
    epoch_names = ("fixation", "ready", "measure", "set", "produce", "go")
    input_names = ("fixation", "ready", "set")
    output_names = ("fixate", "respond")

    def __init__(
        self,
        *,
        dt: float = 20.0,
        prior: Any = (480.0, 800.0),
        gains: Any = (1.0,),
        tolerance: float = 0.15,
    ) -> None:
        super().__init__(dt=dt)
        bounds = check_values("prior", prior, low=200.0, high=1e5)
        if len(bounds) != 2 or bounds[0] > bounds[1]:
            raise ValueError(f"prior must be [low, high] ms with 200 <= low <= high, got {prior!r}")
        self.prior = bounds
        self.gains = check_values("gains", gains, low=0.25, high=4.0)
        self.tolerance = _check_positive("tolerance", tolerance)
        self.variables = (
            Variable("ts", "sample interval Ready->Set onset (ms)", low=200.0),
            Variable("gain", "produced/sample interval ratio", values=self.gains),
            Variable("target_interval", "gain·ts (ms)", derived=True),
        )
        self._params.update(prior=list(self.prior), gains=list(self.gains), tolerance=self.tolerance)

    def sample_conditions(self, rng, n, fixed):
        ts = pick(fixed, "ts", rng.uniform(*self.prior, n))
        gain = pick(fixed, "gain", np.asarray(self.gains)[rng.integers(len(self.gains), size=n)])
        return {"ts": ts, "gain": gain, "target_interval": gain * ts}

    def epoch_steps(self, rng, n, c):
        s = lambda ms: to_steps(np.broadcast_to(np.asarray(ms, dtype=float), (n,)), self.dt)  # noqa: E731
        pulse = s(100.0)
        return {
            "fixation": s(500.0), "ready": pulse, "measure": np.maximum(s(c["ts"]) - pulse, 0),
            "set": pulse, "produce": np.maximum(s(c["target_interval"]) - pulse, 0), "go": s(300.0),
        }  # fmt: skip

    def fill(self, trials: Trials, c) -> None:
        trials.set_input("fixation", 1.0, "fixation", "ready", "measure", "set", "produce")
        trials.set_input("ready", 1.0, "ready")
        trials.set_input("set", 1.0, "set")
        trials.set_target(1, "go")

    def score(self, outputs, batch: TrialBatch) -> TaskScore:
        """Produced interval from Set onset to the first response (see the class docstring)."""
        out = self._check_outputs(outputs, batch)
        respond = (np.argmax(out, axis=-1) == 1) & (batch.mask > 0)
        t = np.arange(batch.n_steps)
        set_on = batch.epochs["set"][:, 0]
        early = (respond & (t[None, :] < set_on[:, None])).any(axis=1)
        after = respond & (t[None, :] >= set_on[:, None])
        any_resp = after.any(axis=1)
        first = np.where(any_resp, np.argmax(after, axis=1), -1)
        tp = (first - set_on) * batch.dt
        target = batch.conditions["target_interval"]
        error = np.where(any_resp, tp - target, np.nan)
        within = np.abs(np.nan_to_num(error, nan=np.inf)) < self.tolerance * target
        correct = ~early & any_resp & within
        return TaskScore(decision=np.where(any_resp & ~early, 1, -1), correct=correct, error=error)


class IntervalDiscrimination(Task):
    """Interval discrimination: which of two sequential durations was longer (Genovesio et al. 2009).

    NeuroGym ``IntervalDiscrimination-v0``. Epochs ``fixation`` 300,
    ``stim1`` d1, ``delay1`` U(800, 1200), ``stim2`` d2, ``delay2`` 500,
    ``decision`` 300 ms (dt 20); d1, d2 ~ U(300, 600) ms, drawn until their
    step counts differ (so the answer is in the input). Inputs ``fixation``
    (1 until ``decision``) and ``stimulus`` (1 during ``stim1`` and ``stim2``).
    Outputs ``fixate``, ``first_longer``, ``second_longer``. Conditions
    ``d1``, ``d2`` (ms), ``ground_truth`` (derived from the step counts:
    1 if the first lasted more steps). Score: last-step argmax.
    """

    name: ClassVar[str] = "interval_discrimination"
    description: ClassVar[str] = "Report which of two sequential intervals was longer"
    citation: ClassVar[str] = "Genovesio et al. 2009 Neuron (NeuroGym IntervalDiscrimination-v0)"
    epoch_names = ("fixation", "stim1", "delay1", "stim2", "delay2", "decision")
    input_names = ("fixation", "stimulus")
    output_names = ("fixate", "first_longer", "second_longer")
    variables = (
        Variable("d1", "first interval (ms)", low=0.0),
        Variable("d2", "second interval (ms)", low=0.0),
        Variable("ground_truth", "1 first, 2 second longer (in steps)", integer=True, derived=True),
    )

    def __init__(self, *, dt: float = 20.0) -> None:
        super().__init__(dt=dt)

    @property
    def ceiling(self) -> float:
        return 1.0

    def sample_conditions(self, rng, n, fixed):
        d1, d2 = rng.uniform(300, 600, n), rng.uniform(300, 600, n)
        for _ in range(100):  # redraw step ties (vectorized)
            tie = to_steps(d1, self.dt) == to_steps(d2, self.dt)
            if not tie.any():
                break
            d2 = np.where(tie, rng.uniform(300, 600, n), d2)
        d1, d2 = pick(fixed, "d1", d1), pick(fixed, "d2", d2)
        k1, k2 = to_steps(d1, self.dt), to_steps(d2, self.dt)
        if (k1 == k2).any():
            raise ValueError("conditions 'd1' and 'd2' must differ by at least one step of dt")
        return {"d1": d1, "d2": d2, "ground_truth": np.where(k1 > k2, 1, 2)}

    def epoch_steps(self, rng, n, c):
        s = lambda ms: to_steps(np.broadcast_to(np.asarray(ms, dtype=float), (n,)), self.dt)  # noqa: E731
        return {
            "fixation": s(300.0), "stim1": s(c["d1"]), "delay1": s(rng.uniform(800, 1200, n)),
            "stim2": s(c["d2"]), "delay2": s(500.0), "decision": s(300.0),
        }  # fmt: skip

    def fill(self, trials: Trials, c) -> None:
        trials.set_input("fixation", 1.0, "fixation", "stim1", "delay1", "stim2", "delay2")
        trials.set_input("stimulus", 1.0, "stim1", "stim2")
        trials.set_target(c["ground_truth"], "decision")


class PostDecisionWager(Task):
    """Post-decision wagering with a sure-bet option (Kiani & Shadlen 2009).

    A random-dot direction discrimination whose evidence lasts ``stimulus``
    ms; on wager trials (p = 1/2) a sure target appears halfway through the
    delay. Epochs ``fixation`` 100, ``stimulus`` {100, 200, 400, 800},
    ``delay1`` U(500, 750), ``delay2`` U(700, 1250), ``decision`` 100 ms (dt
    20). Inputs ``fixation`` (1 until ``decision``), ``stim_1``, ``stim_2``
    (``0.5 ± coh/200``, + on the correct side, noise ``sigma/sqrt(dt)`` during
    ``stimulus``), ``sure_cue`` (1 from ``delay2`` to the end on wager trials).
    Outputs ``fixate``, ``choice_1``, ``choice_2``, ``sure``. Coherences (%)
    {0, 3.2, 6.4, 12.8, 25.6, 51.2}.

    Supervised target: the correct direction during ``decision`` (as
    NeuroGym's); learning when to wager needs the rewards. Reward structure
    (:meth:`reward`, used by :func:`as_gym_env` and :meth:`as_vector_env`):
    correct direction ``r_correct`` (1), wrong direction 0, sure target
    ``r_sure`` (default 0.7, "smaller but certain") on wager trials; choosing
    the sure target when it was not offered pays ``r_abort`` (-1), as breaking
    fixation does (Song et al. 2017's ``R_ABORTED``; NeuroGym's ``abort``).
    :meth:`ideal_observer` gives the Bayes-optimal wager and its expected
    reward per coherence.

    Conditions ``coherence``, ``ground_truth`` (1/2), ``wager`` (0/1). Score:
    correct when the last-step choice is the correct direction (a sure choice
    is not correct; ``decision`` 3 marks it).
    """

    name: ClassVar[str] = "post_decision_wager"
    description: ClassVar[str] = "Discriminate motion direction, or opt out for a sure small reward"
    citation: ClassVar[str] = "Kiani & Shadlen 2009 Science (NeuroGym PostDecisionWager-v0)"
    epoch_names = ("fixation", "stimulus", "delay1", "delay2", "decision")
    default_timing: ClassVar[Mapping[str, Any]] = {
        "fixation": Fixed(100), "stimulus": Choice((100, 200, 400, 800)),
        "delay1": Uniform(500, 750), "delay2": Uniform(700, 1250), "decision": Fixed(100),
    }  # fmt: skip
    input_names = ("fixation", "stim_1", "stim_2", "sure_cue")
    output_names = ("fixate", "choice_1", "choice_2", "sure")
    noise_channels = ("stim_1", "stim_2")
    noise_epochs = ("stimulus",)

    def __init__(
        self,
        *,
        dt: float = 20.0,
        sigma: float = 1.0,
        coherences: Any = (0.0, 3.2, 6.4, 12.8, 25.6, 51.2),
        r_correct: float = 1.0,
        r_sure: float = 0.7,
        r_abort: float = -1.0,
        timing=None,
    ) -> None:
        super().__init__(dt=dt, sigma=sigma, timing=timing)
        self.coherences = check_values("coherences", coherences, low=0.0, high=100.0)
        self.r_correct = _check_positive("r_correct", r_correct)
        self.r_sure = _check_positive("r_sure", r_sure, allow_zero=True)
        if self.r_sure >= self.r_correct:
            raise ValueError(f"r_sure must be < r_correct={self.r_correct}, got {self.r_sure}")
        if isinstance(r_abort, bool) or not isinstance(r_abort, (int, float)) or not r_abort <= 0:
            raise ValueError(f"r_abort must be a number <= 0, got {r_abort!r}")
        self.r_abort = float(r_abort)
        self.variables = (
            Variable("coherence", "motion coherence (%)", values=self.coherences),
            Variable("ground_truth", "correct direction (1 or 2)", integer=True, values=(1, 2)),
            Variable("wager", "1 if the sure target is offered", integer=True, values=(0, 1),
                     labels={0: "no sure target", 1: "sure target offered"}),
        )
        self._params.update(
            sigma=self.sigma, coherences=list(self.coherences), r_correct=self.r_correct,
            r_sure=self.r_sure, r_abort=self.r_abort,
        )  # fmt: skip

    def sample_conditions(self, rng, n, fixed):
        coh = np.asarray(self.coherences)[rng.integers(len(self.coherences), size=n)]
        return {
            "coherence": pick(fixed, "coherence", coh),
            "ground_truth": pick(fixed, "ground_truth", rng.integers(1, 3, n)),
            "wager": pick(fixed, "wager", rng.integers(0, 2, n)),
        }

    def fill(self, trials: Trials, c) -> None:
        trials.set_input("fixation", 1.0, "fixation", "stimulus", "delay1", "delay2")
        delta = c["coherence"] / 200.0
        right = c["ground_truth"] == 2
        trials.set_input("stim_1", 0.5 + np.where(right, -delta, delta), "stimulus")
        trials.set_input("stim_2", 0.5 + np.where(right, delta, -delta), "stimulus")
        trials.set_input("sure_cue", c["wager"].astype(float), "delay2", "decision")
        trials.set_target(c["ground_truth"], "decision")

    @property
    def ceiling(self) -> float:
        """Ideal-observer accuracy of the direction (the sure target never taken)."""
        return integrator_ceiling(self.coherences, self.noise_std, self.timing["stimulus"], self.dt)

    def ideal_observer(self, n_grid: int = 4001) -> dict[str, np.ndarray]:
        """The Bayes-optimal wager and its expected reward per coherence.

        The observer sums the evidence ``x = sum_t (stim_2 - stim_1)`` over the ``k``
        stimulus steps (``x ~ N(±k coh/100, 2 k noise_std^2)``), knows ``k`` and the uniform
        prior over ``coherences``, and chooses the side of ``x``; its confidence is the
        posterior probability of that side, ``q(x) = P(correct | x, k)``. On a wager trial it
        takes the sure target when ``q r_correct < r_sure`` (a wrong choice pays 0), the
        policy with the largest expected reward. Averaged over the stimulus steps of
        ``timing["stimulus"]``, by quadrature over ``x`` (``n_grid`` points over ±9 SD).

        Returns
        -------
        dict
            Arrays of shape (n_coherences,): ``coherence``; ``accuracy`` (no sure target);
            ``p_sure`` (wager trials); ``accuracy_waived`` (wager trials, the sure target
            declined); ``reward_optimal``,
            ``reward_never_sure`` (``accuracy * r_correct``), ``reward_always_sure``
            (``r_sure``): expected reward of a wager trial under each policy. Floats:
            ``p_sure_if_wrong`` / ``p_sure_if_correct``, P(sure) on wager trials whose
            direction choice would be wrong / right (all coherences pooled);
            ``threshold``, the confidence below which the sure target pays more.
            The signatures of Kiani & Shadlen (2009): ``p_sure`` falls with coherence,
            ``accuracy_waived >= accuracy``, ``p_sure_if_wrong > p_sure_if_correct``.

        Examples
        --------
        >>> from brainlike.tasks import make
        >>> ideal = make("post_decision_wager").ideal_observer()
        >>> ideal["p_sure"].round(2).tolist()
        [0.61, 0.57, 0.47, 0.25, 0.06, 0.0]
        >>> round(float(ideal["reward_optimal"].mean()), 3), float(ideal["reward_always_sure"][0])
        (0.842, 0.7)
        """
        n_grid = _check_positive("n_grid", n_grid, integer=True)
        if self.noise_std == 0:
            raise ValueError("ideal_observer needs sigma > 0 (noise-free evidence is certain)")
        steps, counts = duration_steps_sample(self.timing["stimulus"], self.dt)
        w_k = counts / counts.sum()
        coh = np.asarray(self.coherences, np.float64) / 100.0
        theta = self.r_sure / self.r_correct
        z = np.linspace(-9.0, 9.0, n_grid)
        dz = z[1] - z[0]
        out = {name: np.zeros(len(coh)) for name in (
            "accuracy", "p_sure", "p_right_taken", "p_wrong_sure", "p_right_sure")}
        for k, wk in zip(steps.astype(np.float64), w_k):
            if k == 0:  # no evidence: confidence 1/2
                sure = float(theta > 0.5)
                out["accuracy"] += wk * 0.5
                out["p_sure"] += wk * sure
                out["p_right_taken"] += wk * 0.5 * (1 - sure)
                out["p_wrong_sure"] += wk * 0.5 * sure
                out["p_right_sure"] += wk * 0.5 * sure
                continue
            sd = math.sqrt(2.0 * k) * self.noise_std
            x = coh[:, None] * k + sd * z[None, :]  # (C, G): evidence given the true coherence
            like_r = np.exp(-0.5 * ((x[..., None] - k * coh) / sd) ** 2).mean(-1)
            like_l = np.exp(-0.5 * ((x[..., None] + k * coh) / sd) ** 2).mean(-1)
            q = np.maximum(like_r, like_l) / (like_r + like_l)  # confidence
            right = np.where(x > 0, 1.0, np.where(x == 0, 0.5, 0.0))  # the side of x is correct
            dens = np.exp(-0.5 * z**2) / math.sqrt(2 * math.pi) * dz
            sure = (q < theta).astype(np.float64)
            out["accuracy"] += wk * (right * dens).sum(1)
            out["p_sure"] += wk * (sure * dens).sum(1)
            out["p_right_taken"] += wk * (right * (1 - sure) * dens).sum(1)
            out["p_wrong_sure"] += wk * ((1 - right) * sure * dens).sum(1)
            out["p_right_sure"] += wk * (right * sure * dens).sum(1)
        acc, p_sure = out["accuracy"], out["p_sure"]
        with np.errstate(invalid="ignore", divide="ignore"):
            waived = out["p_right_taken"] / (1 - p_sure)
            if_wrong = out["p_wrong_sure"].sum() / (1 - acc).sum()
            if_right = out["p_right_sure"].sum() / acc.sum()
        return {
            "coherence": coh * 100.0, "accuracy": acc, "p_sure": p_sure,
            "accuracy_waived": waived,
            "p_sure_if_wrong": float(if_wrong), "p_sure_if_correct": float(if_right),
            "reward_optimal": p_sure * self.r_sure + out["p_right_taken"] * self.r_correct,
            "reward_never_sure": acc * self.r_correct,
            "reward_always_sure": np.full(len(coh), self.r_sure), "threshold": theta,
        }

    def reward(self, score: TaskScore, batch: TrialBatch) -> np.ndarray:
        """Per-trial reward: r_correct, 0 for an error, r_sure for the sure target on a wager
        trial, r_abort for the sure target when it was not offered (Song et al. 2017)."""
        sure = score.decision == 3
        offered = batch.conditions["wager"] == 1
        return np.where(sure, np.where(offered, self.r_sure, self.r_abort),
                        np.where(score.correct, self.r_correct, 0.0))


class TwoArmedBandit(Task):
    """Two-armed bandit episodes for meta-reinforcement learning (Wang et al. 2018).

    One trial is an episode of ``n_pulls`` pulls, one step each (``dt``
    labels time). Each arm pays 1 with its own probability, fixed within the
    episode and drawn from the reward ``schedule``: ``"independent"`` (p1, p2
    ~ U(0, 1)), ``"anticorrelated"`` (p2 = 1 − p1, Wang et al. 2018) or
    ``"fixed"`` (one arm 0.75, the other 0.25, at random).

    Inputs ``prev_arm_1``, ``prev_arm_2``, ``prev_reward``: the previous
    pull's one-hot arm and its reward (0 at the first step). In a generated
    batch the pulls come from a uniformly random behaviour policy (drawn from
    the batch's seed), so a supervised network learns to infer the better arm
    from the feedback; as a Gymnasium env (:func:`as_gym_env`,
    :meth:`~brainlike.tasks.Task.as_vector_env`) the agent's own pulls and
    rewards are fed back (closed loop, :meth:`feedback`) and each step's reward
    is that pull's payoff — the meta-RL setting. ``reward_input=False`` keeps
    ``prev_reward`` at 0 (a control network that cannot see its rewards).

    Outputs ``fixate``, ``arm_1``, ``arm_2``; target the better arm at every
    step (class 0 never). Conditions ``p_arm1``, ``p_arm2``, ``ground_truth``
    (derived, better arm; 1 on ties). Score: last-step argmax is the better
    arm (the ideal observer is below 1 when p1 ≈ p2; ``ceiling`` None).
    """

    name: ClassVar[str] = "two_armed_bandit"
    description: ClassVar[str] = "Infer the better of two Bernoulli arms from pulls and rewards"
    citation: ClassVar[str] = "Wang et al. 2018 Nat Neurosci (NeuroGym Bandit-v0)"
    epoch_names = ("pulls",)
    input_names = ("prev_arm_1", "prev_arm_2", "prev_reward")
    output_names = ("fixate", "arm_1", "arm_2")
    _SCHEDULES = ("independent", "anticorrelated", "fixed")

    def __init__(self, *, dt: float = 100.0, n_pulls: int = 20, schedule: str = "anticorrelated",
                 reward_input: bool = True):
        super().__init__(dt=dt)
        self.n_pulls = _check_positive("n_pulls", n_pulls, integer=True)
        if schedule not in self._SCHEDULES:
            raise ValueError(f"schedule must be one of {list(self._SCHEDULES)}, got {schedule!r}")
        if not isinstance(reward_input, bool):
            raise TypeError(f"reward_input must be a bool, got {reward_input!r}")
        self.schedule = schedule
        self.reward_input = reward_input
        self.variables = (
            Variable("p_arm1", "reward probability of arm 1", low=0.0, high=1.0),
            Variable("p_arm2", "reward probability of arm 2", low=0.0, high=1.0),
            Variable("ground_truth", "better arm (1 or 2)", integer=True, derived=True),
        )
        self._params.update(n_pulls=self.n_pulls, schedule=schedule, reward_input=reward_input)

    def sample_conditions(self, rng, n, fixed):
        u, flip = rng.uniform(0, 1, n), rng.integers(0, 2, n)
        v = rng.uniform(0, 1, n)
        if self.schedule == "independent":
            p1, p2 = u, v
        elif self.schedule == "anticorrelated":
            p1, p2 = u, 1 - u
        else:
            p1 = np.where(flip == 1, 0.75, 0.25)
            p2 = 1 - p1
        p1, p2 = pick(fixed, "p_arm1", p1), pick(fixed, "p_arm2", p2)
        return {"p_arm1": p1, "p_arm2": p2, "ground_truth": np.where(p2 > p1, 2, 1)}

    def epoch_steps(self, rng, n, c):
        return {"pulls": np.full(n, self.n_pulls, dtype=np.int64)}

    def fill(self, trials: Trials, c) -> None:
        n, t = trials.n, trials.n_steps
        arm = trials.rng.integers(1, 3, (n, t))
        p = np.where(arm == 1, c["p_arm1"][:, None], c["p_arm2"][:, None])
        reward = (trials.rng.random((n, t)) < p).astype(np.float32)
        x = trials.inputs
        x[:, 1:, 0] = arm[:, :-1] == 1
        x[:, 1:, 1] = arm[:, :-1] == 2
        x[:, 1:, 2] = reward[:, :-1] * self.reward_input
        trials.set_target(c["ground_truth"], "pulls")

    # closed loop for as_gym_env: the agent's pull is paid and fed back
    def env_feedback(
        self, rng: np.random.Generator, batch: TrialBatch, action: int
    ) -> tuple[float, np.ndarray]:
        """Payoff of pulling ``action`` (1 or 2; 0 = no pull, pays 0) and the next step's inputs."""
        reward, fed = self.feedback(rng, batch.conditions, np.array([int(action)]))
        return float(reward[0]), fed[0]

    def feedback(
        self, rng: np.random.Generator, conditions: Mapping[str, np.ndarray], actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Closed loop, vectorized: payoffs of pulls ``actions`` (k,) (1 or 2; 0 = no pull, pays
        0) in trials of ``conditions`` (each (k,)) and the next step's inputs (k, 3).

        One uniform draw per pull from ``rng``; ``prev_reward`` stays 0 without ``reward_input``.
        """
        a = np.asarray(actions)
        p = np.where(a == 1, conditions["p_arm1"], np.where(a == 2, conditions["p_arm2"], 0.0))
        reward = (rng.random(a.shape[0]) < p).astype(np.float64)
        fed = np.stack([a == 1, a == 2, reward * self.reward_input], axis=1).astype(np.float32)
        return reward, fed


class PoissonClicks(Task):
    """Poisson clicks accumulation (Brunton, Botvinick & Brody 2013).

    Two trains of clicks, left and right, Poisson with rates summing to
    ``total_rate`` (40 Hz) and log-ratio ``gamma`` = log(r_right/r_left) from
    ``gammas``; the stimulus lasts ``duration`` ~ U(100, 1000) ms. Epochs
    ``fixation`` 500, ``stimulus`` duration, ``decision`` 100 ms (dt 10).
    Inputs ``fixation`` (1 until ``decision``), ``click_left``,
    ``click_right`` (number of clicks in each step; clicks are drawn from the
    per-trial ``click_seed``, so a trial is reproducible from its conditions).
    Outputs ``fixate``, ``left``, ``right``; target the side that played more
    clicks (the paper's reward rule; ties go to the higher-rate side).
    Conditions ``gamma``, ``duration`` (ms), ``click_seed``, and derived
    ``n_left``, ``n_right``, ``ground_truth`` (1 left, 2 right). Score:
    last-step argmax. ``ceiling`` 1 (the counts are in the input).
    """

    name: ClassVar[str] = "poisson_clicks"
    description: ClassVar[str] = "Count two Poisson click trains; report the side with more clicks"
    citation: ClassVar[str] = "Brunton, Botvinick & Brody 2013 Science"
    epoch_names = ("fixation", "stimulus", "decision")
    input_names = ("fixation", "click_left", "click_right")
    output_names = ("fixate", "left", "right")

    def __init__(
        self,
        *,
        dt: float = 10.0,
        total_rate: float = 40.0,
        gammas: Any = (-4.0, -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 4.0),
    ) -> None:
        super().__init__(dt=dt)
        self.total_rate = _check_positive("total_rate", total_rate)
        self.gammas = check_values("gammas", gammas, low=-10.0, high=10.0)
        self.variables = (
            Variable("gamma", "log(r_right / r_left)", low=-10.0, high=10.0),
            Variable("duration", "stimulus duration (ms)", low=0.0),
            Variable("click_seed", "seed of the trial's click trains", integer=True, low=0),
            Variable("n_left", "number of left clicks", integer=True, derived=True),
            Variable("n_right", "number of right clicks", integer=True, derived=True),
            Variable("ground_truth", "1 left, 2 right (more clicks)", integer=True, derived=True),
        )
        self._params.update(total_rate=self.total_rate, gammas=list(self.gammas))

    @property
    def ceiling(self) -> float:
        return 1.0

    def _clicks(self, gamma, duration, seeds) -> list[np.ndarray]:
        steps = to_steps(duration, self.dt)
        r_right = self.total_rate / (1 + np.exp(-gamma))
        rates = np.stack([self.total_rate - r_right, r_right], axis=1) * self.dt / 1000.0
        return [
            np.random.default_rng(int(s)).poisson(rates[i], size=(int(k), 2))
            for i, (s, k) in enumerate(zip(seeds, steps))
        ]

    def sample_conditions(self, rng, n, fixed):
        gamma = pick(fixed, "gamma", np.asarray(self.gammas)[rng.integers(len(self.gammas), size=n)])
        duration = pick(fixed, "duration", rng.uniform(100, 1000, n))
        seeds = pick(fixed, "click_seed", rng.integers(0, 2**31 - 1, n))
        counts = np.array([c.sum(axis=0) for c in self._clicks(gamma, duration, seeds)]).reshape(n, 2)
        gt = np.where(counts[:, 1] > counts[:, 0], 2, np.where(counts[:, 1] < counts[:, 0], 1, 0))
        gt = np.where(gt == 0, np.where(gamma > 0, 2, 1), gt)
        return {
            "gamma": gamma, "duration": duration, "click_seed": seeds, "n_left": counts[:, 0],
            "n_right": counts[:, 1], "ground_truth": gt,
        }  # fmt: skip

    def epoch_steps(self, rng, n, c):
        return {
            "fixation": to_steps(np.full(n, 500.0), self.dt),
            "stimulus": to_steps(c["duration"], self.dt),
            "decision": to_steps(np.full(n, 100.0), self.dt),
        }

    def fill(self, trials: Trials, c) -> None:
        trials.set_input("fixation", 1.0, "fixation", "stimulus")
        start = trials.starts["stimulus"]
        for i, clicks in enumerate(self._clicks(c["gamma"], c["duration"], c["click_seed"])):
            trials.inputs[i, start[i] : start[i] + len(clicks), 1:3] = clicks
        trials.set_target(c["ground_truth"], "decision")


FIELD_TASKS = (
    GoNoGo, ReadySetGo, IntervalDiscrimination, PostDecisionWager, TwoArmedBandit, PoissonClicks,
)  # fmt: skip

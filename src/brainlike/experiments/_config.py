"""Validated run configuration: YAML <-> typed model, errors that name the field.

Every section is strict: unknown keys, duplicate YAML keys, a bool or a string where a number
belongs, non-finite floats (``.inf``, ``.nan``) and integers outside int64 are refused by name;
YAML aliases that expand past :data:`MAX_YAML_NODES` nodes (an "alias bomb") are refused before
anything is validated.
"""

from __future__ import annotations

import math
import reprlib
import warnings
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Union

import numpy as np
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    SerializeAsAny,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from .. import tasks
from ..training import (
    EWC,
    SI,
    FiringRatePenalty,
    RatePenalty,
    TrainResult,
    WeightPenalty,
    train,
    train_a2c,
    train_ppo,
    train_sequential,
)
from ..training._loop import OPTIMIZERS, SCHEDULES
from ..training._losses import NORMALIZATIONS
from ._models import AnyModelConfig, default_model_config

MAX_YAML_NODES = 100_000  # a run or sweep config has hundreds; an alias bomb has billions
_INT64 = 2**63
_F32 = 3.4e38  # within float32 (whose maximum is 3.40282e38): larger factors overflow weights
# Inputs and targets of the largest batch a config may ask for (the recurrent buffers of the
# model come on top): beyond this, a config is refused instead of exhausting the memory.
MAX_BATCH_BYTES = 2**35


class ConfigError(ValueError):
    """A configuration that does not validate; the message lists every bad field."""


def _bounded(value: Any, where: str = "") -> None:
    """Refuse integers outside int64 and non-finite floats anywhere inside ``value``."""
    if isinstance(value, bool):
        return
    got = f"; got {value!r:.40}" if where else ""
    if isinstance(value, int):
        if not -_INT64 <= value < _INT64:
            raise ValueError(f"{where}must be an integer in [-2**63, 2**63){got}")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where}must be a finite number{got}")
    elif isinstance(value, dict):
        for k, v in value.items():
            _bounded(v, f"{where}{k}: ")
    elif isinstance(value, (list, tuple)):
        for v in value:
            _bounded(v, where)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _representable(cls, v: Any) -> Any:
        _bounded(v)
        return v


class TaskSpec(_Strict):
    """One registered task: its name and the parameters passed to :func:`brainlike.tasks.make`."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)

    def build(self) -> Any:
        return tasks.make(self.name, **self.params)


class BlockSpec(_Strict):
    """One block of a sequential schedule: its task(s) and its number of training steps."""

    tasks: list[TaskSpec | str] = Field(min_length=1)
    steps: int = Field(ge=1)
    probabilities: list[float] | dict[str, float] | None = None

    def build(self) -> tasks.MultiTask:
        specs = [TaskSpec(name=t) if isinstance(t, str) else t for t in self.tasks]
        return tasks.MultiTask([t.build() for t in specs], probabilities=self.probabilities)


class TaskConfig(_Strict):
    """The learning problem: one task (``name`` + ``params``) or several (``tasks``).

    With ``tasks`` (a list of names or ``{name, params}`` entries) the network trains on a
    :class:`brainlike.tasks.MultiTask` -- one task per batch, drawn with ``probabilities``
    (a list, or a mapping name -> weight; default uniform) -- and every evaluation scores each
    task; the criterion applies to the worst.
    """

    name: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    tasks: list[TaskSpec | str] | None = None
    probabilities: list[float] | dict[str, float] | None = None
    blocks: list[BlockSpec] | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _buildable(self) -> TaskConfig:
        given = [k for k in ("name", "tasks", "blocks") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give either name (one task) or tasks (a multi-task) or blocks (a "
                             f"sequential schedule), exactly one; got {given or 'none'}")
        if self.tasks is None and self.probabilities is not None:
            raise ValueError("probabilities apply to tasks (a multi-task) only")
        if self.name is None and self.params:
            raise ValueError("params belong to each entry of tasks for a multi-task")
        try:
            task = self.build()
        except (ValueError, TypeError) as e:
            raise ValueError(str(e)) from None
        longest_trial(task)
        return self

    def build(self) -> tasks.Task | tasks.MultiTask | tasks.Sequential:
        """The task, :class:`~brainlike.tasks.MultiTask` or :class:`~brainlike.tasks.Sequential`
        this section describes."""
        if self.blocks is not None:
            return tasks.Sequential([(b.build(), b.steps) for b in self.blocks])
        if self.tasks is None:
            return tasks.make(self.name, **self.params)
        specs = [TaskSpec(name=t) if isinstance(t, str) else t for t in self.tasks]
        return tasks.MultiTask(
            [t.build() for t in specs], probabilities=self.probabilities
        )


class PenaltyConfig(_Strict):
    """L1/L2 penalties on the recurrent weights and on the rates (all >= 0).

    Means over entries (see :class:`brainlike.training.WeightPenalty` for the conversion from
    Yang et al. 2019's ``sum(w^2) / 2``).
    """

    l1_weight: float = Field(0.0, ge=0, le=_F32)
    l2_weight: float = Field(0.0, ge=0, le=_F32)
    l1_rate: float = Field(0.0, ge=0, le=_F32)
    l2_rate: float = Field(0.0, ge=0, le=_F32)
    #: Spiking models: strength of :class:`brainlike.training.FiringRatePenalty` (0: off) and
    #: its target range ``[low, high]`` in Hz.
    firing_rate: float = Field(0.0, ge=0, le=_F32)
    firing_rate_hz: list[float] = Field(default_factory=lambda: [1.0, 50.0])

    @model_validator(mode="after")
    def _rate_range(self) -> PenaltyConfig:
        rates = self.firing_rate_hz
        if len(rates) != 2 or not 0 <= rates[0] < rates[1]:
            raise ValueError(f"firing_rate_hz must be [low, high] with 0 <= low < high; got "
                             f"{list(self.firing_rate_hz)}")
        return self

    def build(self) -> list:
        """The penalty objects to pass to ``train(penalties=...)`` (empty when all are 0)."""
        out: list = []
        if self.l1_weight or self.l2_weight:
            out.append(WeightPenalty(l1=self.l1_weight, l2=self.l2_weight))
        if self.l1_rate or self.l2_rate:
            out.append(RatePenalty(l1=self.l1_rate, l2=self.l2_rate))
        if self.firing_rate:
            low, high = self.firing_rate_hz
            out.append(FiringRatePenalty(low_hz=low, high_hz=high, strength=self.firing_rate))
        return out


class AlgorithmConfig(_Strict):
    """What the ``training:`` section of every learning algorithm holds.

    A learning algorithm is one subclass with ``algorithm: Literal["<name>"]``, its own fields
    and :meth:`train`, plus one entry in :data:`ALGORITHMS`; the run config's ``training`` is
    the union of those, chosen by ``algorithm`` (default ``"bptt"``).

    ``criterion`` is an absolute accuracy; ``criterion_of_ceiling`` a fraction of the task's
    accuracy ceiling (set at most one).
    """

    algorithm: str
    steps: int = Field(5000, ge=1)
    eval_every: int = Field(50, ge=1)
    eval_trials: int = Field(500, ge=1)
    criterion: float | None = Field(None, gt=0, le=1)
    criterion_of_ceiling: float | None = Field(None, gt=0, le=1)
    seed: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _one_criterion(self) -> AlgorithmConfig:
        if self.criterion is not None and self.criterion_of_ceiling is not None:
            raise ValueError("set criterion or criterion_of_ceiling, not both")
        return self

    def largest_batch(self) -> int:
        """The most trials one step or evaluation generates at once."""
        return self.eval_trials

    def check_model(self, model_type: str) -> None:
        """Raise ``ValueError`` if this algorithm cannot train the model kind ``model_type``."""

    #: Whether the config's ``penalties`` apply (they are added to BPTT's loss).
    takes_penalties: ClassVar[bool] = True

    def train(
        self, model: Any, task: Any, *, out: Path, criterion: float | None, penalties: list,
        resume: bool, progress: bool,
    ) -> TrainResult:  # pragma: no cover - every algorithm overrides it
        raise NotImplementedError


class EWCConfig(_Strict):
    """Elastic weight consolidation (:class:`brainlike.training.EWC`)."""

    method: Literal["ewc"]
    strength: float = Field(ge=0, le=_F32)
    fisher_trials: int = Field(200, ge=1)
    fisher: Literal["empirical", "true"] = "empirical"

    def build(self) -> EWC:
        return EWC(self.strength, fisher_trials=self.fisher_trials, fisher=self.fisher)


class SIConfig(_Strict):
    """Synaptic intelligence (:class:`brainlike.training.SI`)."""

    method: Literal["si"]
    strength: float = Field(ge=0, le=_F32)
    damping: float = Field(0.01, gt=0, le=_F32)

    def build(self) -> SI:
        return SI(self.strength, damping=self.damping)


ContinualConfig = Annotated[Union[EWCConfig, SIConfig], Field(discriminator="method")]  # noqa: UP007


class TrainingConfig(AlgorithmConfig):
    """Masked BPTT: the arguments of :func:`brainlike.training.train`.

    ``loss_normalization`` defaults to ``"weights"``, and to ``"entries"`` (Yang et al. 2019's
    mean over all entries) for a multi-task or a sequence whose tasks are all ``yang19.*``.

    Over a sequential schedule (``task.blocks``) the run is
    :func:`brainlike.training.train_sequential`: the blocks set the steps, and ``continual``
    (``{method: ewc | si, strength: ...}``) adds a consolidation penalty; without it the blocks
    are trained plainly in sequence.
    """

    algorithm: Literal["bptt"] = "bptt"
    batch_size: int = Field(64, ge=1)
    optimizer: Literal[OPTIMIZERS] = "adam"  # type: ignore[valid-type]
    lr: float = Field(3e-3, gt=0, le=_F32)
    weight_decay: float = Field(0.0, ge=0, le=_F32)
    momentum: float = Field(0.9, ge=0, le=1)
    grad_clip: float | None = Field(1.0, gt=0, le=_F32)
    schedule: Literal[SCHEDULES] = "constant"  # type: ignore[valid-type]
    loss_normalization: Literal[NORMALIZATIONS] = "weights"  # type: ignore[valid-type]
    continual: ContinualConfig | None = None

    def largest_batch(self) -> int:
        return max(self.batch_size, self.eval_trials)

    def train(
        self, model: Any, task: Any, *, out: Path, criterion: float | None, penalties: list,
        resume: bool, progress: bool,
    ) -> TrainResult:
        """Train ``model`` on ``task`` with :func:`brainlike.training.train` (or
        :func:`~brainlike.training.train_sequential` for a sequential schedule) and these settings."""
        if isinstance(task, tasks.Sequential):
            return train_sequential(
                model, task, continual=None if self.continual is None else self.continual.build(),
                batch_size=self.batch_size, optimizer=self.optimizer, lr=self.lr,
                weight_decay=self.weight_decay, momentum=self.momentum, grad_clip=self.grad_clip,
                penalties=penalties, eval_every=self.eval_every, eval_trials=self.eval_trials,
                seed=self.seed, out=out, resume=resume, progress=progress,
                loss_normalization=self.loss_normalization,
            )
        return train(
            model, task,
            steps=self.steps, batch_size=self.batch_size, optimizer=self.optimizer, lr=self.lr,
            weight_decay=self.weight_decay, momentum=self.momentum, grad_clip=self.grad_clip,
            schedule=self.schedule, penalties=penalties, eval_every=self.eval_every,
            eval_trials=self.eval_trials, criterion=criterion, seed=self.seed, out=out,
            resume=resume, progress=progress, loss_normalization=self.loss_normalization,
        )


class ContrastiveConfig(AlgorithmConfig):
    """Self-supervised contrastive learning (SimCLR) of an image model: the arguments of
    :func:`brainlike.training.train_contrastive` (``probe``: the readout is an online linear
    probe on the detached representation, and the evaluations score it)."""

    algorithm: Literal["contrastive"] = "contrastive"
    batch_size: int = Field(128, ge=2)
    lr: float = Field(1e-3, gt=0, le=_F32)
    weight_decay: float = Field(0.0, ge=0, le=_F32)
    temperature: float = Field(0.5, gt=0, le=_F32)
    projection_dim: int = Field(32, ge=1)
    projection_hidden: int = Field(128, ge=1)
    probe: bool = True
    translate: float = Field(0.125, ge=0, le=1)
    scale: float = Field(0.15, ge=0, lt=1)
    rotate: float = Field(15.0, ge=0, le=180)
    contrast: float = Field(0.3, ge=0, lt=1)
    noise: float = Field(0.1, ge=0, le=_F32)
    grad_clip: float | None = Field(None, gt=0, le=_F32)

    def largest_batch(self) -> int:
        return max(2 * self.batch_size, self.eval_trials)

    def train(
        self, model: Any, task: Any, *, out: Path, criterion: float | None, penalties: list,
        resume: bool, progress: bool,
    ) -> TrainResult:
        from ..training import train_contrastive

        if getattr(task, "image_shape", None) is None:
            raise ConfigError(
                f"training.algorithm 'contrastive' needs an image task; task {task.name!r} has "
                "trials with a time axis"
            )
        fields = self.model_dump(exclude={"algorithm", "criterion", "criterion_of_ceiling"})
        return train_contrastive(model, task, **fields, criterion=criterion,
                                 penalties=penalties, out=out, resume=resume, progress=progress)


class A2CConfig(AlgorithmConfig):
    """Reward-based training, Song et al. 2017's actor-critic: :func:`brainlike.training.train_a2c`.

    ``criterion`` is Song's stopping rule: ``correct_of_answered >= criterion`` with at least
    ``min_answered`` of the trials answered. Penalties do not apply.
    """

    algorithm: Literal["a2c"] = "a2c"
    steps: int = Field(2000, ge=1)
    batch_size: int = Field(64, ge=1)
    lr: float = Field(1e-3, gt=0, le=_F32)
    schedule: Literal["constant", "cosine", "linear"] = "constant"
    gamma: float = Field(0.99, ge=0, le=1)
    gae_lambda: float = Field(1.0, ge=0, le=1)
    value_coef: float = Field(0.5, ge=0, le=_F32)
    entropy_coef: float = Field(0.0, ge=0, le=_F32)
    value_network: Literal["shared", "separate"] = "shared"
    grad_clip: float | None = Field(1.0, gt=0, le=_F32)
    n_steps: int | None = Field(None, ge=1)
    min_answered: float = Field(0.99, ge=0, le=1)
    normalize_rewards: bool = False

    def largest_batch(self) -> int:
        return max(self.batch_size, self.eval_trials)

    def _arguments(self) -> dict[str, Any]:
        skip = {"algorithm", "criterion", "criterion_of_ceiling"}
        return {k: getattr(self, k) for k in type(self).model_fields if k not in skip}

    def train(
        self, model: Any, task: Any, *, out: Path, criterion: float | None, penalties: list,
        resume: bool, progress: bool,
    ) -> TrainResult:
        if penalties:
            raise ConfigError(f"penalties do not apply to training.algorithm {self.algorithm!r}; "
                              "remove the penalties section")
        fn = train_a2c if self.algorithm == "a2c" else train_ppo
        return fn(model, task, criterion=criterion, out=out, resume=resume, progress=progress,
                  **self._arguments())


class PPOConfig(A2CConfig):
    """Recurrent PPO over whole trials: :func:`brainlike.training.train_ppo` (as ``a2c``, plus
    ``epochs``, ``n_minibatches``, ``clip_range``, ``normalize_advantages``)."""

    algorithm: Literal["ppo"] = "ppo"  # type: ignore[assignment]
    steps: int = Field(500, ge=1)
    lr: float = Field(3e-4, gt=0, le=_F32)
    gae_lambda: float = Field(0.95, ge=0, le=1)
    grad_clip: float | None = Field(0.5, gt=0, le=_F32)
    eval_every: int = Field(10, ge=1)
    epochs: int = Field(4, ge=1)
    n_minibatches: int = Field(4, ge=1)
    clip_range: float = Field(0.2, gt=0, lt=1)
    normalize_advantages: bool = True


class _NoPenalties:
    takes_penalties: ClassVar[bool] = False


def _trains_only(algorithm: str, model_type: str, supported: tuple[str, ...]) -> None:
    if model_type not in supported:
        raise ValueError(f"training.algorithm {algorithm!r} trains model.type {list(supported)}; "
                         f"got {model_type!r}")


class ForceConfig(_NoPenalties, AlgorithmConfig):
    """FORCE: :func:`brainlike.training.train_force` (``model.type: feedback``; a task of
    signal windows such as ``sum_of_sines``). ``steps`` counts windows."""

    algorithm: Literal["force"] = "force"
    steps: int = Field(36, ge=1)
    eval_every: int = Field(4, ge=1)
    variant: Literal["readout", "internal"] = "readout"
    alpha: float = Field(1.0, gt=0, le=_F32)
    learn_every: int = Field(2, ge=1)

    def largest_batch(self) -> int:
        return 1

    def check_model(self, model_type: str) -> None:
        _trains_only("force", model_type, ("feedback",))

    def train(self, model, task, *, out, criterion, penalties, resume, progress) -> TrainResult:
        from ..training import train_force

        return train_force(
            model, task, steps=self.steps, variant=self.variant, alpha=self.alpha,
            learn_every=self.learn_every, eval_every=self.eval_every, criterion=criterion,
            seed=self.seed, out=out, resume=resume, progress=progress,
        )


class _GradientRuleConfig(_NoPenalties, TrainingConfig):
    """The optimizer fields of BPTT, for the rules that replace its gradient."""

    def check_model(self, model_type: str) -> None:
        _trains_only(self.algorithm, model_type, ("rate",))

    def _options(self) -> dict:
        return dict(
            steps=self.steps, batch_size=self.batch_size, optimizer=self.optimizer, lr=self.lr,
            weight_decay=self.weight_decay, momentum=self.momentum, grad_clip=self.grad_clip,
            schedule=self.schedule, eval_every=self.eval_every, eval_trials=self.eval_trials,
            seed=self.seed, loss_normalization=self.loss_normalization,
        )


class FeedbackAlignmentConfig(_GradientRuleConfig):
    """Feedback alignment: :func:`brainlike.training.train_feedback_alignment` on a ``rate``
    model (an MLP trains from Python)."""

    algorithm: Literal["feedback_alignment"] = "feedback_alignment"  # type: ignore[assignment]
    mode: Literal["fa", "dfa", "backprop"] = "fa"

    def train(self, model, task, *, out, criterion, penalties, resume, progress) -> TrainResult:
        from ..training import train_feedback_alignment

        return train_feedback_alignment(model, task, mode=self.mode, criterion=criterion,
                                        out=out, resume=resume, progress=progress,
                                        **self._options())


class RfloConfig(_GradientRuleConfig):
    """RFLO: :func:`brainlike.training.train_rflo` on a ``rate`` model."""

    algorithm: Literal["rflo"] = "rflo"  # type: ignore[assignment]
    feedback: Literal["symmetric", "random"] = "random"
    trace: Literal["local", "full"] = "local"

    def train(self, model, task, *, out, criterion, penalties, resume, progress) -> TrainResult:
        from ..training import train_rflo

        return train_rflo(model, task, feedback=self.feedback, trace=self.trace,
                          criterion=criterion, out=out, resume=resume, progress=progress,
                          **self._options())


class EpropConfig(RfloConfig):
    """e-prop: :func:`brainlike.training.train_eprop` on a ``rate`` or ``spiking`` model."""

    algorithm: Literal["eprop"] = "eprop"  # type: ignore[assignment]
    feedback: Literal["symmetric", "random"] = "symmetric"

    def check_model(self, model_type: str) -> None:
        _trains_only("eprop", model_type, ("rate", "spiking"))
        if model_type == "spiking" and self.trace != "local":
            raise ValueError(f"training.trace {self.trace!r} is for model.type 'rate'; a "
                             "'spiking' model trains with e-prop's local traces (trace: local)")

    def train(self, model, task, *, out, criterion, penalties, resume, progress) -> TrainResult:
        from ..training import train_eprop

        return train_eprop(model, task, feedback=self.feedback, trace=self.trace,
                           criterion=criterion, out=out, resume=resume, progress=progress,
                           **self._options())


# The learning algorithms a run config can name in ``training.algorithm``.
ALGORITHMS: dict[str, type[AlgorithmConfig]] = {"bptt": TrainingConfig}
ALGORITHMS["contrastive"] = ContrastiveConfig
ALGORITHMS["a2c"] = A2CConfig
ALGORITHMS["ppo"] = PPOConfig
ALGORITHMS["force"] = ForceConfig
ALGORITHMS["feedback_alignment"] = FeedbackAlignmentConfig
ALGORITHMS["rflo"] = RfloConfig
ALGORITHMS["eprop"] = EpropConfig


def _algorithm_of(value: Any) -> str | None:
    if isinstance(value, dict):
        name = value.get("algorithm", "bptt")
    else:
        name = getattr(value, "algorithm", None)
    return name if isinstance(name, str) and name in ALGORITHMS else None


TrainingSection = Annotated[
    Union[tuple(Annotated[cls, Tag(name)] for name, cls in ALGORITHMS.items())],  # noqa: UP007
    Discriminator(
        _algorithm_of, custom_error_type="unknown_algorithm",
        custom_error_message=f"must be one of {list(ALGORITHMS)}",
    ),
]


def longest_trial(task: Any) -> int | None:
    """The longest of 64 sampled trials of ``task`` (of each task of a multi-task), in steps,
    without generating them; ``None`` where the task does not say (not a :class:`Task`).

    Raises ``ValueError`` when a trial would not fit in int64 steps (``dt`` far too small).
    """
    parts = getattr(task, "tasks", None)
    if parts is not None:
        lengths = [longest_trial(t) for t in parts.values()]
        return max((n for n in lengths if n is not None), default=None)
    if not isinstance(task, tasks.Task):
        return None
    rng = np.random.default_rng(0)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # the int cast of a huge duration
        conds = task.sample_conditions(rng, 64, {})
        steps = task.epoch_steps(rng, 64, conds)
    total = np.zeros(64, dtype=np.float64)
    for e in task.epoch_names:
        s = np.asarray(steps[e])
        if (s < 0).any():
            raise ValueError(
                f"{task.name}: at dt={task.dt:g} ms its epoch {e!r} lasts more than 2**63 steps; "
                "raise dt"
            )
        total += s
    return int(total.max())


def _sections(data: Any) -> tuple[dict | None, dict | None]:
    """The raw ``task`` and ``training`` mappings of a config (None, None if either is not one),
    for the defaults that depend on both."""
    if not isinstance(data, dict):
        return None, None
    task, training = data.get("task"), data.get("training", {})
    if not (isinstance(task, dict) and isinstance(training, dict)):
        return None, None
    return task, training


class RunConfig(_Strict):
    """Everything that defines a run: task, model, training, penalties and CPU threads."""

    task: TaskConfig
    model: AnyModelConfig = Field(default_factory=default_model_config)
    training: SerializeAsAny[TrainingSection] = Field(default_factory=TrainingConfig)
    penalties: PenaltyConfig = Field(default_factory=PenaltyConfig)
    threads: int = Field(1, ge=1, le=1024)

    @model_validator(mode="before")
    @classmethod
    def _paper_normalization(cls, data: Any) -> Any:
        """Yang et al. 2019's loss normalization by default for their multi-task."""
        task, training = _sections(data)
        if task is None:
            return data
        entries = list(task.get("tasks") or [])
        for block in task.get("blocks") or []:
            entries.extend(block.get("tasks") or [] if isinstance(block, dict) else [None])
        names = [t if isinstance(t, str) else t.get("name") if isinstance(t, dict) else None
                 for t in entries]
        if (names and all(isinstance(n, str) and n.startswith("yang19.") for n in names)
                and training.get("algorithm", "bptt") == "bptt"
                and "loss_normalization" not in training):
            data = {**data, "training": {**training, "loss_normalization": "entries"}}
        return data

    @model_validator(mode="before")
    @classmethod
    def _steps_of_the_blocks(cls, data: Any) -> Any:
        """A sequential schedule's ``training.steps`` is the sum of its blocks' steps."""
        task, training = _sections(data)
        if task is None:
            return data
        blocks = task.get("blocks")
        steps = [b.get("steps") if isinstance(b, dict) else None for b in blocks or []]
        if (not steps or "steps" in training
                or not all(isinstance(n, int) and not isinstance(n, bool) for n in steps)):
            return data
        return {**data, "training": {**training, "steps": sum(steps)}}

    @model_validator(mode="after")
    def _algorithm_fits_model(self) -> RunConfig:
        self.training.check_model(self.model.type)
        if not self.training.takes_penalties and self.penalties.build():
            raise ValueError(f"training.algorithm {self.training.algorithm!r} takes no "
                             "penalties; remove the penalties section")
        return self

    @model_validator(mode="after")
    def _model_fits_task(self) -> RunConfig:
        self.model.check_task(self.task.build())  # e.g. dt <= tau
        return self

    @model_validator(mode="after")
    def _sequential_fits(self) -> RunConfig:
        """A sequential schedule trains with BPTT, its blocks set the steps; ``continual``
        needs one."""
        t, blocks = self.training, self.task.blocks
        if blocks is None:
            if getattr(t, "continual", None) is not None:
                raise ValueError("training.continual needs a sequential schedule: give task.blocks "
                                 "(tasks trained one after another)")
            return self
        if t.algorithm != "bptt":
            raise ValueError(f"task.blocks (a sequential schedule) trains with training.algorithm "
                             f"'bptt'; got {t.algorithm!r}")
        total = sum(b.steps for b in blocks)
        if t.steps != total:
            raise ValueError(f"training.steps ({t.steps}) must be left out or equal the blocks' "
                             f"steps ({total}) for a sequential schedule")
        if t.criterion is not None or t.criterion_of_ceiling is not None:
            raise ValueError("a sequential schedule trains every block for its steps: leave out "
                             "training.criterion and training.criterion_of_ceiling")
        if t.schedule != "constant":
            raise ValueError(f"a sequential schedule trains with a constant learning rate; got "
                             f"training.schedule {t.schedule!r}")
        return self

    @model_validator(mode="after")
    def _criterion_resolves(self) -> RunConfig:
        self.criterion_for(self.task.build())
        return self

    @model_validator(mode="after")
    def _batches_fit_in_memory(self) -> RunConfig:
        n = getattr(self.model, "n_hidden", None)
        if isinstance(n, int) and 16 * n * n > MAX_BATCH_BYTES:
            # N x N float32 recurrent weights, their gradient and two Adam moments.
            raise ValueError(
                f"model.n_hidden={n} needs {16 * n * n / 2**30:.3g} GiB for the recurrent "
                f"weights and their optimizer state alone (limit {MAX_BATCH_BYTES / 2**30:g} GiB)"
            )
        task = self.task.build()
        longest = longest_trial(task)
        if longest is None:
            return self
        trials = self.training.largest_batch()
        need = trials * longest * (task.n_inputs + task.n_outputs + 1) * 4
        if need > MAX_BATCH_BYTES:
            raise ValueError(
                f"batches of {trials} trials of up to {longest} steps (task dt {task.dt:g} ms) "
                f"need {need / 2**30:.3g} GiB for inputs and targets alone (limit "
                f"{MAX_BATCH_BYTES / 2**30:g} GiB): raise the task's dt or lower "
                "training.batch_size / training.eval_trials"
            )
        return self

    def criterion_for(self, task: tasks.Task) -> float | None:
        """The absolute accuracy criterion, resolving ``criterion_of_ceiling``."""
        t = self.training
        if t.criterion_of_ceiling is None:
            return t.criterion
        if task.ceiling is None:
            raise ValueError(
                f"training.criterion_of_ceiling is set but task {task.name!r} has no known "
                "ceiling; use training.criterion"
            )
        return t.criterion_of_ceiling * task.ceiling

    def to_dict(self) -> dict:
        """The config as plain JSON-able data, every default filled in."""
        return self.model_dump(mode="json")


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 60
_REPR.maxlist = _REPR.maxdict = _REPR.maxtuple = 6
_REPR.maxlevel = 2


def _format(err: ValidationError) -> str:
    lines = []
    for e in err.errors(include_url=False):
        loc = [str(p) for p in e["loc"]]
        if len(loc) > 1 and loc[0] == "training" and loc[1] in ALGORITHMS:
            del loc[1]  # the union's tag: training.lr, not training.bptt.lr
        msg = e["msg"].removeprefix("Value error, ")
        value = e.get("input")
        if e.get("ctx", {}).get("le") == _F32:
            msg = "Input should be less than or equal to 3.4e+38 (the weights are float32)"
        if e["type"] == "unknown_algorithm":
            if isinstance(value, dict):
                loc, value = [*loc, "algorithm"], value.get("algorithm")
            else:
                msg = "must be a mapping"
        # Bounded: the input may be huge (a YAML alias expands to a shared, deep structure).
        got = "" if e["type"] == "missing" or isinstance(value, dict) else (
            f" (got {_REPR.repr(value)})")
        lines.append(f"  {'.'.join(loc) or '(top level)'}: {msg}{got}")
    return "invalid run config:\n" + "\n".join(lines)


def parse_config(data: Any) -> RunConfig:
    """Validate a config mapping; raise :class:`ConfigError` naming every bad field."""
    if not isinstance(data, dict):
        raise ConfigError(f"a run config must be a mapping; got {type(data).__name__}")
    try:
        return RunConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_format(e)) from None


# -- YAML ---------------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses duplicate keys and alias bombs."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                hash(key)
            except TypeError:
                continue  # SafeLoader reports unhashable keys itself
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark,
                    f"found the key {key!r} twice (the second would silently replace the "
                    "first)", key_node.start_mark,
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


def _expanded_size(node: yaml.Node, limit: int) -> int:
    """Nodes of ``node`` with every alias expanded (shared nodes counted once per use)."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(node, False)]
    open_: set[int] = set()
    while stack:
        current, children_done = stack.pop()
        key = id(current)
        if key in sizes:
            continue
        if isinstance(current, yaml.ScalarNode):
            sizes[key] = 1
            continue
        kids = ([n for pair in current.value for n in pair]
                if isinstance(current, yaml.MappingNode) else list(current.value))
        if children_done:
            open_.discard(key)
            sizes[key] = min(limit + 1, 1 + sum(sizes[id(k)] for k in kids))
            continue
        if key in open_:
            raise ValueError("a YAML alias refers to the node that contains it")
        open_.add(key)
        stack.append((current, True))
        for k in kids:
            if id(k) in open_:
                raise ValueError("a YAML alias refers to the node that contains it")
            if id(k) not in sizes:
                stack.append((k, False))
    return sizes[id(node)]


def read_yaml(path: str | Path, what: str = "config file") -> Any:
    """Read a YAML (or JSON) file safely; raise :class:`ConfigError` naming what is wrong."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{what} {path} does not exist")
    if not path.is_file():
        raise ConfigError(f"{what} {path} is not a file")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{what} {path} is not a text (UTF-8) file") from None
    except OSError as e:
        raise ConfigError(f"cannot read {what} {path}: {e.strerror or e}") from None
    try:
        loader = _Loader(text)
        loader.name = str(path)  # for the marks of error messages
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            size = _expanded_size(node, MAX_YAML_NODES)
            if size > MAX_YAML_NODES:
                raise ConfigError(
                    f"{path} expands to more than {MAX_YAML_NODES} YAML nodes (through aliases); "
                    "a config this large is refused"
                )
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except ValueError as e:
        if isinstance(e, ConfigError):
            raise
        raise ConfigError(f"{path} is not a usable YAML file: {e}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path} is not valid YAML: {e}") from None


def load_config(path: str | Path) -> RunConfig:
    """Read and validate a YAML (or JSON) run config."""
    return parse_config(read_yaml(path))


#: libyaml's emitter where PyYAML was built with it, ~5x faster than ``yaml.safe_dump`` (an
#: ensemble of 32 runs dumps 32 configs): the same text for configs (tested on the examples; a
#: long string that needs double quotes may be folded at another place, the same YAML value).
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def dump_config(config: RunConfig) -> str:
    """The config as YAML text (what a run directory's ``config.yaml`` holds)."""
    return yaml.dump(config.to_dict(), Dumper=_DUMPER, sort_keys=False)

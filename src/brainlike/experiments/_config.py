"""Validated run configuration: YAML <-> typed model, errors that name the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .. import tasks
from ..training import RatePenalty, WeightPenalty
from ..training._loop import OPTIMIZERS, SCHEDULES
from ._models import AnyModelConfig, default_model_config


class ConfigError(ValueError):
    """A configuration that does not validate; the message lists every bad field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TaskSpec(_Strict):
    """One registered task: its name and the parameters passed to :func:`brainlike.tasks.make`."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)


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

    @model_validator(mode="after")
    def _buildable(self) -> TaskConfig:
        if (self.name is None) == (self.tasks is None):
            raise ValueError("give either name (one task) or tasks (a multi-task), not both")
        if self.tasks is None and self.probabilities is not None:
            raise ValueError("probabilities apply to tasks (a multi-task) only")
        if self.tasks is not None and self.params:
            raise ValueError("params belong to each entry of tasks for a multi-task")
        try:
            self.build()
        except (ValueError, TypeError) as e:
            raise ValueError(str(e)) from None
        return self

    def build(self) -> tasks.Task | tasks.MultiTask:
        if self.tasks is None:
            return tasks.make(self.name, **self.params)
        specs = [TaskSpec(name=t) if isinstance(t, str) else t for t in self.tasks]
        return tasks.MultiTask(
            [tasks.make(t.name, **t.params) for t in specs], probabilities=self.probabilities
        )


class PenaltyConfig(_Strict):
    """L1/L2 penalties on the recurrent weights and on the rates (all >= 0)."""

    l1_weight: float = Field(0.0, ge=0)
    l2_weight: float = Field(0.0, ge=0)
    l1_rate: float = Field(0.0, ge=0)
    l2_rate: float = Field(0.0, ge=0)

    def build(self) -> list:
        out: list = []
        if self.l1_weight or self.l2_weight:
            out.append(WeightPenalty(l1=self.l1_weight, l2=self.l2_weight))
        if self.l1_rate or self.l2_rate:
            out.append(RatePenalty(l1=self.l1_rate, l2=self.l2_rate))
        return out


class TrainingConfig(_Strict):
    """Arguments of :func:`brainlike.training.train`.

    ``criterion`` is an absolute accuracy; ``criterion_of_ceiling`` a fraction of the task's
    accuracy ceiling (set at most one).
    """

    steps: int = Field(5000, ge=1)
    batch_size: int = Field(64, ge=1)
    optimizer: Literal[OPTIMIZERS] = "adam"  # type: ignore[valid-type]
    lr: float = Field(3e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    momentum: float = Field(0.9, ge=0, le=1)
    grad_clip: float | None = Field(1.0, gt=0)
    schedule: Literal[SCHEDULES] = "constant"  # type: ignore[valid-type]
    eval_every: int = Field(50, ge=1)
    eval_trials: int = Field(500, ge=1)
    criterion: float | None = Field(None, gt=0, le=1)
    criterion_of_ceiling: float | None = Field(None, gt=0, le=1)
    seed: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _one_criterion(self) -> TrainingConfig:
        if self.criterion is not None and self.criterion_of_ceiling is not None:
            raise ValueError("set criterion or criterion_of_ceiling, not both")
        return self


class RunConfig(_Strict):
    """Everything that defines a run: task, model, training, penalties and CPU threads."""

    task: TaskConfig
    model: AnyModelConfig = Field(default_factory=default_model_config)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    penalties: PenaltyConfig = Field(default_factory=PenaltyConfig)
    threads: int = Field(1, ge=1)

    @model_validator(mode="after")
    def _model_fits_task(self) -> RunConfig:
        self.model.check_task(self.task.build())  # e.g. dt <= tau
        return self

    def criterion_for(self, task: tasks.Task) -> float | None:
        """The absolute accuracy criterion, resolving ``criterion_of_ceiling``."""
        t = self.training
        if t.criterion_of_ceiling is None:
            return t.criterion
        if task.ceiling is None:
            raise ConfigError(
                f"training.criterion_of_ceiling is set but task {task.name!r} has no known "
                "ceiling; use training.criterion"
            )
        return t.criterion_of_ceiling * task.ceiling

    def to_dict(self) -> dict:
        return self.model_dump(mode="json")


def _format(err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"].removeprefix("Value error, ")
        got = f" (got {e['input']!r})" if e["type"] not in ("missing",) and "input" in e else ""
        if isinstance(e.get("input"), dict):
            got = ""
        lines.append(f"  {loc}: {msg}{got}")
    return "invalid run config:\n" + "\n".join(lines)


def parse_config(data: Any) -> RunConfig:
    """Validate a config mapping; raise :class:`ConfigError` naming every bad field."""
    if not isinstance(data, dict):
        raise ConfigError(f"a run config must be a mapping; got {type(data).__name__}")
    try:
        return RunConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_format(e)) from None


def load_config(path: str | Path) -> RunConfig:
    """Read and validate a YAML (or JSON) run config."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise ConfigError(f"{path} is not valid YAML: {e}") from None
    return parse_config(data)


def dump_config(config: RunConfig) -> str:
    return yaml.safe_dump(config.to_dict(), sort_keys=False)

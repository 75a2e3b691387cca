"""Validated configs and run directories (train, resume, evaluate)."""

from ._config import (
    ConfigError,
    ModelConfig,
    PenaltyConfig,
    RunConfig,
    TaskConfig,
    TrainingConfig,
    dump_config,
    load_config,
    parse_config,
)
from ._run import Run, build_model, evaluate_run, load_run, run_training

__all__ = [
    "ConfigError",
    "ModelConfig",
    "PenaltyConfig",
    "Run",
    "RunConfig",
    "TaskConfig",
    "TrainingConfig",
    "build_model",
    "dump_config",
    "evaluate_run",
    "load_config",
    "load_run",
    "parse_config",
    "run_training",
]

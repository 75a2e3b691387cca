"""Validated configs and run directories (train, resume, evaluate)."""

from ._config import (
    ConfigError,
    PenaltyConfig,
    RunConfig,
    TaskConfig,
    TrainingConfig,
    dump_config,
    load_config,
    parse_config,
)
from ._models import ModelConfig, model_config_class
from ._run import Run, build_model, evaluate_run, load_run, run_training, write_evaluation
from .sweeps import (
    aggregate,
    load_sweep,
    parse_sweep,
    plot_aggregate,
    results_table,
    run_sweep,
    sweep_status,
)

__all__ = [
    "ConfigError",
    "ModelConfig",
    "PenaltyConfig",
    "Run",
    "RunConfig",
    "TaskConfig",
    "TrainingConfig",
    "aggregate",
    "build_model",
    "dump_config",
    "evaluate_run",
    "load_config",
    "load_run",
    "load_sweep",
    "model_config_class",
    "parse_config",
    "parse_sweep",
    "plot_aggregate",
    "results_table",
    "run_sweep",
    "run_training",
    "sweep_status",
    "write_evaluation",
]

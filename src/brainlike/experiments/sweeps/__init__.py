"""Sweeps over seeds and hyperparameters: many ordinary run directories, on a local process pool
or a Ray cluster, resumable, with a results table and aggregation across networks.

>>> from brainlike.experiments.sweeps import parse_sweep
>>> sweep = parse_sweep({"base": {"task": {"name": "perceptual_decision"}}, "seeds": [0, 1, 2]})
>>> [r.name for r in sweep.runs]
['seed=0', 'seed=1', 'seed=2']
"""

from ._engines import ENGINES, Engine, LocalEngine, Outcome, RayEngine, WorkerLost, make_engine
from ._results import aggregate, plot_aggregate, results_table, write_results
from ._runner import (
    RunState,
    SweepResult,
    read_events,
    run_ensemble_training,
    run_job,
    run_sweep,
    sweep_status,
)
from ._spec import RunSpec, Sweep, SweepSpec, dump_sweep, ensemble_groups, load_sweep, parse_sweep

__all__ = [
    "ENGINES",
    "Engine",
    "LocalEngine",
    "Outcome",
    "RayEngine",
    "RunSpec",
    "RunState",
    "Sweep",
    "SweepResult",
    "SweepSpec",
    "WorkerLost",
    "aggregate",
    "dump_sweep",
    "ensemble_groups",
    "load_sweep",
    "make_engine",
    "parse_sweep",
    "plot_aggregate",
    "read_events",
    "results_table",
    "run_ensemble_training",
    "run_job",
    "run_sweep",
    "sweep_status",
    "write_results",
]

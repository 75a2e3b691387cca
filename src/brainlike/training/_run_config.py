"""``config.yaml`` for runs trained from Python, so that every run directory is the same.

``brainlike train`` writes a run directory's ``config.yaml`` from the validated run config it
was given. ``train(out=...)`` from Python has no config file; it writes the one that describes
its run -- the task by name and parameters, the model by kind and ``config()``, the training
arguments, the penalties -- so that :func:`brainlike.experiments.load_run`,
``Recording.from_run``, ``brainlike evaluate`` and ``brainlike report`` open it like a CLI run.

A run that no run config can describe (a task or model that is not registered, a penalty other
than the config's weight, rate and firing-rate penalties) gets no ``config.yaml``. Validation
uses :mod:`brainlike.experiments`, imported here lazily: the one place where ``training`` reaches
up a layer, because the config schema lives there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ._checkpoint import atomic_write_text
from ._firing_rate import FiringRatePenalty
from ._regularizers import RatePenalty, WeightPenalty

CONFIG = "config.yaml"
#: The settings of a run that are not fields of the config's ``training`` section.
_NOT_TRAINING = ("task", "task_params", "model", "penalties", "criterion")


def _penalties(penalties: Sequence[Any]) -> dict[str, Any] | None:
    """The config's ``penalties`` section for these penalty objects, or None if it has none."""
    out: dict[str, Any] = {}
    for p in penalties:
        if type(p) is WeightPenalty and tuple(p.params) == ("w_rec",) and "l1_weight" not in out:
            out.update(l1_weight=float(p.l1), l2_weight=float(p.l2))
        elif type(p) is RatePenalty and "l1_rate" not in out:
            out.update(l1_rate=float(p.l1), l2_rate=float(p.l2))
        elif type(p) is FiringRatePenalty and "firing_rate" not in out:
            out.update(firing_rate=float(p.strength),
                       firing_rate_hz=[float(p.low_hz), float(p.high_hz)])
        else:
            return None
    return out


def run_config(settings: Mapping[str, Any], model: Any, task: Any,
               penalties: Sequence[Any]) -> dict[str, Any] | None:
    """The run config (a plain mapping) of a run with these session ``settings``, or None."""
    from ..models import kind_of

    section = _penalties(penalties)
    config = getattr(model, "config", None)
    if section is None or not callable(config) or getattr(task, "tasks", None) is not None:
        return None
    try:
        kind = kind_of(model)
    except ValueError:
        return None
    arguments = {k: v for k, v in config().items() if k not in ("n_input", "n_output", "dt")}
    training = {k: v for k, v in settings.items() if k not in _NOT_TRAINING}
    if settings.get("criterion") is not None:
        training["criterion"] = settings["criterion"]
    return {
        "task": {"name": task.name, "params": dict(task.params)},
        "model": {"type": kind, **arguments},
        "training": training,
        "penalties": section,
    }


def write_run_config(directory: str | Path, settings: Mapping[str, Any], model: Any, task: Any,
                     penalties: Sequence[Any]) -> Path | None:
    """Write ``directory/config.yaml`` for a run trained from Python; return its path.

    Where no valid run config describes the run, a ``config.yaml`` left in ``directory`` by an
    earlier run is removed (it would describe another run) and None is returned.
    """
    from ..experiments import ConfigError, dump_config, parse_config

    path = Path(directory) / CONFIG
    data = run_config(settings, model, task, penalties)
    try:
        text = None if data is None else dump_config(parse_config(data))
    except (ConfigError, ValueError, TypeError):
        text = None
    if text is None:
        path.unlink(missing_ok=True)
        return None
    atomic_write_text(path, text)
    return path

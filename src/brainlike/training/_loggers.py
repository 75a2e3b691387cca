"""Experiment loggers as training callbacks: follow a run in TensorBoard or Weights & Biases.

A logger is a callback like any other (``train(..., callbacks=[logger])``; every learning
algorithm built on the shared run machinery takes them): it is called with a
:class:`~brainlike.training.StepInfo` after every step and writes that step's row of the
metrics log (``loss``, ``task_loss``, ``penalty``, ``lr``, ``grad_norm``, and on evaluation steps
``accuracy``, ``eval_loss`` and, for a multi-task, ``accuracy/<task>``). Training closes it when
the run ends (its ``close`` method), also when the run fails. Both back ends are optional
extras, imported only when a logger first writes: ``pip install "brainlike[tensorboard]"`` or
``"brainlike[wandb]"``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import _checks

__all__ = ["TensorBoardLogger", "WandbLogger"]


def _scalars(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The finite numbers of a metrics row (``step`` excluded; NaN/None skipped)."""
    out = {}
    for k, v in metrics.items():
        if k == "step" or isinstance(v, bool) or not isinstance(v, (int, float)):
            continue
        if math.isfinite(v):
            out[k] = float(v)
    return out


def _missing(package: str, extra: str, owner: str) -> ImportError:
    return ImportError(f"{owner} needs the {package} package, which is not installed: "
                       f'pip install "brainlike[{extra}]" (or pip install {package})')


class TensorBoardLogger:
    """Write every step's metrics as TensorBoard scalars (one event file per run).

    Parameters
    ----------
    log_dir : str or Path
        Directory of the event files; point ``tensorboard --logdir`` at it (or at its parent to
        compare runs).
    every : int
        Log every ``every``-th step (evaluation steps are always logged).

    Examples
    --------
    >>> from brainlike.training import TensorBoardLogger
    >>> logger = TensorBoardLogger("runs/pdm/tensorboard")   # nothing is written yet
    >>> logger.log_dir.name
    'tensorboard'
    """

    def __init__(self, log_dir: str | Path, *, every: int = 1) -> None:
        self.log_dir = Path(log_dir)
        self.every = _checks.positive_int("every", every, "TensorBoardLogger")
        self._writer: Any = None

    def _open(self) -> Any:
        if self._writer is None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                raise _missing("tensorboard", "tensorboard", "TensorBoardLogger") from None
            self._writer = SummaryWriter(log_dir=str(self.log_dir))
        return self._writer

    def __call__(self, info: Any) -> None:
        evaluation = "accuracy" in info.metrics
        if info.step % self.every and not evaluation:
            return
        writer = self._open()
        for name, value in _scalars(info.metrics).items():
            writer.add_scalar(name, value, global_step=info.step)
        if evaluation:
            writer.flush()

    def close(self) -> None:
        """Flush and close the event file (a later call opens a new one)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class WandbLogger:
    """Log every step's metrics to a Weights & Biases run.

    Parameters
    ----------
    project : str
        W&B project.
    name : str, optional
        Run name (W&B picks one otherwise).
    config : mapping, optional
        Hyperparameters shown with the run (e.g. a run config's ``to_dict()``).
    mode : {"online", "offline", "disabled"}, optional
        ``"offline"`` writes to ``dir`` only (upload later with ``wandb sync``); default W&B's
        own setting (``WANDB_MODE``, else online).
    dir : str or Path, optional
        Where W&B keeps its local files (default the working directory).
    every : int
        Log every ``every``-th step (evaluation steps are always logged).
    **init : Any
        Passed on to ``wandb.init`` (``entity``, ``tags``, ``group``, ...).

    Examples
    --------
    >>> from brainlike.training import WandbLogger
    >>> logger = WandbLogger("brainlike-pdm", mode="offline")   # W&B starts at the first step
    >>> logger.project
    'brainlike-pdm'
    """

    def __init__(self, project: str, *, name: str | None = None,
                 config: Mapping[str, Any] | None = None, mode: str | None = None,
                 dir: str | Path | None = None, every: int = 1, **init: Any) -> None:
        if mode is not None and mode not in ("online", "offline", "disabled"):
            raise ValueError(f"The 'mode' parameter of WandbLogger must be 'online', 'offline', "
                             f"'disabled' or None. Got {mode!r} instead.")
        self.project, self.name, self.mode = project, name, mode
        self.config = dict(config or {})
        self.dir = None if dir is None else Path(dir)
        self.every = _checks.positive_int("every", every, "WandbLogger")
        self.init = init
        self.run: Any = None

    def _open(self) -> Any:
        if self.run is None:
            try:
                import wandb
            except ImportError:
                raise _missing("wandb", "wandb", "WandbLogger") from None
            kwargs = dict(self.init)
            if self.dir is not None:
                self.dir.mkdir(parents=True, exist_ok=True)
                kwargs["dir"] = str(self.dir)
            self.run = wandb.init(project=self.project, name=self.name, config=self.config,
                                  mode=self.mode, **kwargs)
        return self.run

    def __call__(self, info: Any) -> None:
        if info.step % self.every and "accuracy" not in info.metrics:
            return
        self._open().log(_scalars(info.metrics), step=info.step)

    def close(self) -> None:
        """Finish the W&B run (a later call starts a new one)."""
        if self.run is not None:
            self.run.finish()
            self.run = None

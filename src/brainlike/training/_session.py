"""The run machinery every learning algorithm of :mod:`brainlike.training` shares.

A learning algorithm (BPTT in :func:`train`, the vectorized ensemble, FORCE, RL, ...) writes only
its own per-step update. Everything else is a :class:`Session`:

* the **run directory**, locked exclusively (an OS lock, released when the process dies; a
  second writer is refused with the holder's pid) and cleaned of temporary files that killed
  processes left behind;
* **resume**: the checkpoint is verified (checksum), its settings and model config must equal
  this call's (training *longer* is allowed where it changes no result, see
  :meth:`Session.open`), model, optimizer and schedule state are restored, and the metrics log is
  cut back to the checkpoint's step (a torn last line is dropped);
* the **NaN/inf guard** on the loss, the gradient and the updated parameters;
* **evaluation rows** (single task, or every task of a multi-task), the **criterion**,
  **callbacks**, the **progress bar**, **checkpoints** (atomic) with the metrics appended first;
* the :class:`TrainResult`.

A tiny algorithm::

    with Session(out, algorithm="toy", settings={"lr": lr}, model=model, task=task,
                 steps=steps, seed=seed, optimizer=opt) as run:
        for step in run:                                  # the updates still to do
            batch = task.generate(8, seed=trial_seed(seed, step))
            loss = ...                                    # the algorithm's own update
            run.check_loss(loss)
            ...
            run.check_parameters()
            run.record({"loss": float(loss)})
    return run.result()

See docs/architecture.md, "Adding a learning algorithm".
"""

from __future__ import annotations

import json
import math
import os
import socket
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from .. import _checks
from .._progress import tqdm
from ._checkpoint import (
    CHECKPOINT,
    Checkpoint,
    CheckpointError,
    atomic_write_text,
    open_checkpoint,
    optimizer_state,
    orphaned_temporaries,
    restore,
    save_checkpoint,
)
from ._losses import task_loss

try:  # POSIX; the lock is advisory and released by the OS when its holder dies
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

METRICS = "metrics.jsonl"
LOCK = ".lock"
# Independent random streams derived from (seed, stream, step): a resumed run draws exactly the
# trials and noise an uninterrupted run would have drawn.
TRAIN_TRIALS, EVAL_TRIALS, TRAIN_NOISE, EVAL_NOISE = range(4)
# Files a Session writes; their orphaned temporaries are removed when the directory is opened.
_OWN_FILES = (CHECKPOINT, METRICS)


class TrainingDivergedError(FloatingPointError):
    """The loss, the gradient or the updated parameters became NaN or infinite."""


class RunDirectoryError(ValueError):
    """A run directory that cannot be used as asked: locked by another process, holding another
    run, a damaged checkpoint or log, or not writable. The message says how to go on."""


class RunLockedError(RunDirectoryError):
    """Another process is writing to the run directory."""


# -- records --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepInfo:
    """What a callback sees after each optimization step.

    ``metrics`` holds this step's row of the log: ``loss``, ``task_loss``, ``penalty``, ``lr``,
    ``grad_norm`` and, on evaluation steps, ``accuracy`` and ``eval_loss``.
    """

    step: int
    metrics: Mapping[str, float]
    model: nn.Module


@dataclass(frozen=True)
class Evaluation:
    """Performance on a batch of fresh trials.

    Attributes
    ----------
    accuracy : float
        Fraction of trials scored correct by ``task.score``.
    loss : float
        Task loss on these trials.
    correct : ndarray, shape (n_trials,)
    decision : ndarray, shape (n_trials,)
    conditions : mapping of str to ndarray, each (n_trials,)
        The trials' task variables, to break performance down by condition.
    """

    accuracy: float
    loss: float
    correct: np.ndarray
    decision: np.ndarray
    conditions: Mapping[str, np.ndarray]

    def __repr__(self) -> str:
        return (f"Evaluation(accuracy={self.accuracy:.4f}, loss={self.loss:.4f}, "
                f"n_trials={len(self.correct)}, conditions={sorted(self.conditions)})")


@dataclass(frozen=True)
class TrainResult:
    """Outcome of :func:`train` (and of every learning algorithm built on :class:`Session`).

    Attributes
    ----------
    status : {"criterion", "max_steps", "stopped"}
        Why training ended: the evaluation accuracy reached ``criterion``, the step budget ran
        out, or a callback asked to stop.
    steps : int
        Optimization steps taken in total (including steps before a resume).
    history : dict of str to ndarray
        Per-step log, each array of length ``steps``: ``step``, ``loss``, ``task_loss``,
        ``penalty``, ``lr``, ``grad_norm``; ``accuracy`` and ``eval_loss`` (and, for a
        multi-task, ``accuracy_mean`` and ``accuracy/<task>``) are NaN off evaluation steps.
    accuracy : float or None
        Accuracy at the last evaluation.
    train_seconds, eval_seconds : float
        Wall time spent in this call on training steps and on evaluations.
    directory : Path or None
        Where checkpoint and metrics were written.
    """

    status: str
    steps: int
    history: dict[str, np.ndarray]
    accuracy: float | None
    train_seconds: float
    eval_seconds: float
    directory: Path | None = None

    def __repr__(self) -> str:
        """One line: the arrays of ``history`` are summarized by their names and length."""
        acc = "None" if self.accuracy is None else f"{self.accuracy:.4f}"
        where = "None" if self.directory is None else repr(str(self.directory))
        return (f"TrainResult(status={self.status!r}, steps={self.steps}, accuracy={acc}, "
                f"train_seconds={self.train_seconds:.1f}, eval_seconds={self.eval_seconds:.1f}, "
                f"history=<{len(self.history)} series: {', '.join(self.history)}>, "
                f"directory={where})")


# -- seeds ----------------------------------------------------------------------------------------


def stream_seed(seed: int, stream: int, step: int) -> list[int]:
    """The seed of ``task.generate`` for ``stream`` at ``step`` (``[seed, stream, step]``)."""
    return [seed, stream, step]


def generator(seed: int, stream: int, step: int) -> torch.Generator:
    """A ``torch.Generator`` seeded from ``(seed, stream, step)`` (the recurrent noise)."""
    state = np.random.SeedSequence([seed, stream, step]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 31 | int(state[1]) >> 1)


def eval_seed(seed: int, step: int) -> int:
    """The seed of the evaluation at ``step``."""
    return int(np.random.SeedSequence([seed, EVAL_TRIALS, step]).generate_state(1)[0])


# -- evaluation -----------------------------------------------------------------------------------


def to_tensors(batch: Any, device: Any = None) -> tuple[Tensor, Tensor, Tensor]:
    """``(inputs, targets, loss weights)`` of a :class:`TrialBatch` as new tensors (on
    ``device``, default the CPU)."""
    # torch.tensor copies: TrialBatch arrays are read-only and must stay so.
    inputs = torch.tensor(batch.inputs, dtype=torch.float32, device=device)
    if batch.target_kind == "class":
        targets = torch.tensor(batch.targets, dtype=torch.long, device=device)
    else:
        targets = torch.tensor(batch.targets, dtype=torch.float32, device=device)
    # Per-output weights, where a task gives them, replace the per-step mask (value tasks).
    mask = batch.mask if getattr(batch, "output_mask", None) is None else batch.output_mask
    return inputs, targets, torch.tensor(mask, dtype=torch.float32, device=device)


def valid_steps(batch: Any, device: Any = None) -> Tensor | None:
    """``(B, T)`` bool on ``device`` (default the CPU): the steps before each trial ended
    (padding is False); None for a batch without a time axis (images, samples)."""
    if getattr(batch, "lengths", None) is None:
        return None
    t = batch.inputs.shape[1]
    lengths = torch.tensor(np.asarray(batch.lengths), device=device)
    return torch.arange(t, device=device)[None, :] < lengths[:, None]


def model_device(model: nn.Module) -> torch.device:
    """The device of a model's first parameter (or buffer); CPU for a model without tensors."""
    for t in model.parameters():
        return t.device
    for t in model.buffers():
        return t.device
    return torch.device("cpu")


def task_outputs(outputs: Tensor, task: Any, batch: Any) -> Tensor:
    """``outputs`` as the task that made ``batch`` reads them.

    A task with a head of its own among the outputs (``task.output_units``, the output units of
    its classes: task-incremental learning, e.g. :class:`brainlike.tasks.ClassSubset`) is scored
    and trained on those units alone: the logits of the others are set to ``-inf``, so that its
    softmax and its decisions range over its own classes. Other tasks read every output. For a
    multi-task (an object with a ``tasks`` mapping) the task is the one named by ``batch.task``.
    """
    parts = getattr(task, "tasks", None)
    if parts is not None:
        task = parts.get(getattr(batch, "task", None), task)
    units = getattr(task, "output_units", None)
    if units is None:
        return outputs
    keep = torch.zeros(outputs.shape[-1], dtype=torch.bool, device=outputs.device)
    keep[list(units)] = True
    return outputs.masked_fill(~keep, float("-inf"))


def batch_loss(
    model: nn.Module, task: Any, batch: Any, noise: torch.Generator | None,
    normalization: str = "weights",
) -> tuple[Tensor, Any, Tensor]:
    """Run ``model`` on ``batch`` and return ``(task loss, model output, outputs as scored)``.

    The one place where a batch (trials ``(B, T, I)`` or examples without a time axis) meets a
    model and the task's loss (see :func:`task_outputs` for tasks with a head of their own).
    """
    inputs, targets, mask = to_tensors(batch, model_device(model))
    out = model(inputs, generator=noise)
    outputs = task_outputs(out.outputs, task, batch)
    loss = task_loss(outputs, targets, mask, batch.target_kind, normalization=normalization,
                     lengths=getattr(batch, "lengths", None))
    return loss, out, outputs


def evaluate(
    model: nn.Module, task: Any, *, n_trials: int = 500, seed: int = 0,
    loss_normalization: str = "weights",
) -> Evaluation:
    """Score ``model`` on ``n_trials`` fresh trials of ``task`` by the task's own rule.

    Parameters
    ----------
    model : nn.Module
        A recurrent model taking ``(B, T, I)`` inputs and returning ``(outputs, activity, state)``.
    task : Task
    n_trials : int
    seed : int
        Seed of the trials and of the recurrent noise (an int in [0, 2**63)).
    loss_normalization : {"weights", "entries"}
        How ``loss`` is normalized (see :func:`brainlike.training.task_loss`).

    Returns
    -------
    Evaluation

    Examples
    --------
    >>> from brainlike.models import RateRNN
    >>> from brainlike.tasks import make
    >>> task = make("perceptual_decision", dt=100.0)
    >>> ev = evaluate(RateRNN(3, 8, 3, dt=100.0, seed=0), task, n_trials=20)
    >>> ev.correct.shape
    (20,)
    """
    _checks.positive_int("n_trials", n_trials, "evaluate")
    seed = _checks.seed("seed", seed, "evaluate")
    batch = task.generate(n_trials, seed=[seed, EVAL_TRIALS, 0])
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            loss, _, outputs = batch_loss(model, task, batch, generator(seed, EVAL_NOISE, 0),
                                          loss_normalization)
    finally:
        model.train(was_training)
    score = task.score(outputs.cpu().numpy(), batch)
    loss = loss.item()
    return Evaluation(
        float(score.accuracy), loss, score.correct, score.decision, dict(batch.conditions)
    )


def json_number(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _held_out(task: Any) -> Any:
    """What a trainer scores: ``task.evaluation_task`` (held-out examples of a data set) where a
    task has one; trial tasks draw fresh trials and are scored themselves."""
    return getattr(task, "evaluation_task", task)


def evaluation_row(
    model: nn.Module, task: Any, n_trials: int, seed: int, loss_normalization: str = "weights"
) -> dict[str, Any]:
    """Evaluation metrics of one log row.

    For a multi-task (an object with a ``tasks`` mapping, such as
    :class:`brainlike.tasks.MultiTask`) every task is scored on its own trials:
    ``accuracy/<name>`` and ``eval_loss/<name>`` per task, ``accuracy`` the worst task's (what
    the criterion applies to, as in Yang et al. 2019) and ``accuracy_mean`` their mean. A task
    with an ``evaluation_task`` (a data set's training split) is scored on that one's held-out
    examples.
    """
    subtasks = getattr(task, "tasks", None)
    kw = {"n_trials": n_trials, "loss_normalization": loss_normalization}
    if subtasks is None:
        ev = evaluate(model, _held_out(task), seed=seed, **kw)
        return {"accuracy": ev.accuracy, "eval_loss": json_number(ev.loss)}
    row: dict[str, Any] = {}
    accuracies, losses = [], []
    for k, (name, sub) in enumerate(subtasks.items()):
        ev = evaluate(model, _held_out(sub), seed=(seed + k) % 2**63, **kw)
        row[f"accuracy/{name}"] = ev.accuracy
        row[f"eval_loss/{name}"] = json_number(ev.loss)
        accuracies.append(ev.accuracy)
        losses.append(ev.loss)
    row["accuracy"] = min(accuracies)
    row["accuracy_mean"] = float(np.mean(accuracies))
    row["eval_loss"] = json_number(float(np.mean(losses)))
    return row


_COLUMNS = ("step", "loss", "task_loss", "penalty", "lr", "grad_norm", "accuracy", "eval_loss")


def history(rows: list[dict]) -> dict[str, np.ndarray]:
    """Per-step arrays of the log rows (NaN where a row lacks a column)."""
    extra = sorted({k for r in rows for k in r} - set(_COLUMNS))
    hist = {}
    for key in (*_COLUMNS, *extra):
        values = [r.get(key) for r in rows]
        if key == "step":
            hist[key] = np.array(values, dtype=np.int64)
        else:
            hist[key] = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    return hist


# -- the run directory ----------------------------------------------------------------------------

_HELD: dict[Path, RunDirectory] = {}  # directories this process holds, by resolved path


class RunDirectory:
    """A run directory held exclusively by this process (see :func:`lock_run_directory`)."""

    def __init__(self, path: Path, key: Path, fd: int | None, created: bool) -> None:
        self.path, self._key, self._fd, self._created = path, key, fd, created
        self._depth = 1
        self._deferred: list[Callable[[], None]] = []

    def defer(self, action: Callable[[], None]) -> None:
        """Run ``action`` once a :class:`Session` has checked this directory (or at once, if
        one already has): writes that must not happen when the run is refused."""
        self._deferred.append(action)

    @property
    def held_by_caller(self) -> bool:
        """Whether a caller up the stack locked the directory first (``run_training``, a sweep
        worker): that caller then owns the directory's ``config.yaml`` and summary."""
        return self._depth > 1

    def run_deferred(self) -> None:
        actions, self._deferred = self._deferred, []
        for action in actions:
            action()

    def release(self) -> None:
        self._depth -= 1
        if self._depth > 0:
            return
        _HELD.pop(self._key, None)
        if self._fd is None:
            return
        try:
            # A directory this call created and nothing wrote to: leave no trace.
            if self._created and [p.name for p in self.path.iterdir()] == [LOCK]:
                (self.path / LOCK).unlink()
                self.path.rmdir()
        except OSError:
            pass
        finally:
            os.close(self._fd)  # releases the lock
            self._fd = None

    def __enter__(self) -> RunDirectory:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _holder(path: Path) -> str:
    try:
        text = (path / LOCK).read_text().split()
    except OSError:
        text = []
    if not text:
        return "another process"
    host = f" on {text[1]}" if len(text) > 1 and text[1] != socket.gethostname() else ""
    return f"process {text[0]}{host}"


def lock_run_directory(path: str | Path) -> RunDirectory:
    """Create (if needed) and lock a run directory for writing; re-entrant within a process.

    The lock is ``flock`` on ``<path>/.lock``, which also records the holder's pid and host;
    the operating system releases it when the holder exits or is killed, so a crash never
    leaves a stale lock. A directory this call created is removed again on release when
    nothing but the lock file was written to it.

    Raises
    ------
    RunLockedError
        Another process holds the directory (the message names its pid).
    RunDirectoryError
        The directory cannot be created or written.
    """
    path = Path(path)
    created = not path.exists()
    try:
        path.mkdir(parents=True, exist_ok=True)
        key = path.resolve()
    except OSError as e:
        raise RunDirectoryError(f"cannot create run directory {path}: {e.strerror or e}") from None
    held = _HELD.get(key)
    if held is not None:
        held._depth += 1
        return held
    if fcntl is None:  # pragma: no cover - no OS lock on this platform
        rd = RunDirectory(path, key, None, created)
        _HELD[key] = rd
        return rd
    try:
        fd = os.open(path / LOCK, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as e:
        raise RunDirectoryError(
            f"cannot write to run directory {path}: {e.strerror or e}; choose a writable --out"
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise RunLockedError(
            f"run directory {path} is in use by {_holder(path)}; a run directory has one writer "
            "at a time: wait for that process to finish (or stop it), or choose another --out"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
    rd = RunDirectory(path, key, fd, created)
    _HELD[key] = rd
    return rd


def is_locked(path: str | Path) -> bool:
    """Whether some process holds the run directory's lock (False where it has none)."""
    lock = Path(path) / LOCK
    if fcntl is None or not lock.is_file():
        return False
    if Path(path).resolve() in _HELD:
        return True
    fd = os.open(lock, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


# -- the metrics log ------------------------------------------------------------------------------


def read_metrics(directory: Path, up_to: int) -> list[dict]:
    """The rows of ``directory/metrics.jsonl`` up to step ``up_to``, which must be complete.

    A torn last line (an append cut short by a full disk or a kill) and rows past ``up_to``
    (appended before a checkpoint that was never written) are dropped; anything else that does
    not give the steps ``1 .. up_to`` in order raises :class:`RunDirectoryError`.
    """
    path = directory / METRICS
    lines = path.read_text(errors="replace").splitlines() if path.exists() else []
    rows: list[dict] = []
    for k, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            step = row["step"] if isinstance(row, dict) else None
        except (json.JSONDecodeError, KeyError):
            step = None
        if not isinstance(step, int):
            if k == len(lines) - 1:
                break  # the torn tail of an interrupted append
            raise RunDirectoryError(
                f"{path} line {k + 1} is not a metrics row; the log is damaged. Start over with "
                "resume=False (CLI: --restart), which discards the run"
            )
        if step <= up_to:
            rows.append(row)
    if [r["step"] for r in rows] != list(range(1, up_to + 1)):
        have = f"steps {rows[0]['step']}..{rows[-1]['step']} ({len(rows)} rows)" if rows else "no rows"
        raise RunDirectoryError(
            f"{path} holds {have} but the checkpoint is at step {up_to}: the log does not belong "
            "to the checkpoint. Start over with resume=False (CLI: --restart), which discards it"
        )
    return rows


def append_metrics(directory: Path, rows: Sequence[dict]) -> None:
    """Append rows to ``metrics.jsonl`` in one write, flushed to disk."""
    if not rows:
        return
    with open(directory / METRICS, "a") as f:
        f.write("".join(json.dumps(r) + "\n" for r in rows))
        f.flush()
        os.fsync(f.fileno())


# -- the guard ------------------------------------------------------------------------------------


def _last_good(directory: Path | None) -> str:
    if directory is None or not (directory / CHECKPOINT).exists():
        return "."
    return f"; the last good checkpoint is {directory / CHECKPOINT}"


def nonfinite(tensors: Sequence[Tensor]) -> list[int]:
    """Indices of the tensors holding a NaN or an infinity."""
    live = [t.detach() for t in tensors if t.numel()]
    if not live:
        return []
    # max|x| is inf or nan exactly when x holds one (a sum could overflow on finite values);
    # one call for all tensors of a device and dtype, one host sync.
    if len({(t.device, t.dtype) for t in live}) == 1 and live[0].dtype.is_floating_point:
        peaks = torch.stack(torch._foreach_norm(live, math.inf))
    else:
        peaks = torch.stack([t.abs().amax().to(torch.float64).cpu() for t in live])
    if bool(torch.isfinite(peaks).all()):
        return []
    index = [k for k, t in enumerate(tensors) if t.numel()]
    return [index[j] for j in torch.nonzero(~torch.isfinite(peaks)).flatten().tolist()]


def run_summary(result: TrainResult, criterion: float | None, ceiling: float | None) -> dict:
    """What a run directory's ``summary.json`` holds when training ends."""
    return {
        "status": result.status,
        "steps": result.steps,
        "accuracy": result.accuracy,
        "criterion": criterion,
        "ceiling": ceiling,
        "train_seconds_last_session": result.train_seconds,
        "eval_seconds_last_session": result.eval_seconds,
    }


# -- the session ----------------------------------------------------------------------------------


def _jsonable(x: Any) -> Any:
    return json.loads(json.dumps(x))


def _differences(have: Mapping, want: Mapping) -> list[str]:
    out = []
    for key in sorted(set(have) | set(want)):
        a, b = have.get(key), want.get(key)
        if a == b:
            continue
        if key == "model" and isinstance(a, Mapping) and isinstance(b, Mapping):
            out.extend(f"model.{k}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k))
        else:
            out.append(key)
    return out


class Session:
    """One training run's shared machinery: directory, resume, guard, evaluations, checkpoints.

    Parameters
    ----------
    out : path or None
        Run directory; ``None`` trains without writing anything.
    algorithm : str
        The learning algorithm's name, recorded in the settings (a run of one algorithm is never
        resumed by another).
    settings : mapping
        The algorithm's own hyperparameters (JSON-able), which a resumed run must match. The
        session adds ``algorithm``, ``task``, ``task_params``, ``steps``, ``eval_every``,
        ``eval_trials``, ``criterion``, ``seed`` and ``model`` (``model.config()`` when the
        model has one).
    model : nn.Module
        Evaluated, checkpointed and guarded.
    task : Task or MultiTask
    steps, eval_every, eval_trials, criterion, seed, callbacks, resume, progress
        As in :func:`brainlike.training.train`.
    optimizer, scheduler : optional
        Saved and restored with the model. An algorithm without them leaves them None.
    state : callable, optional
        ``state() -> dict of str to Tensor``: the algorithm's own tensors to checkpoint; after
        :meth:`open` a resumed run finds them in :attr:`state`.
    steps_tied_to : str, optional
        Why raising ``steps`` would change the run (e.g. ``"schedule 'cosine'"``); ``None``
        when training longer changes nothing up to the old step count.
    loss_normalization : str
        Passed to :func:`evaluate` for the evaluation loss.
    owner : str
        The public function's name, for messages.
    evaluation : callable, optional
        ``evaluation(seed) -> row``: the evaluation columns of a log row, for an algorithm whose
        model is not scored by :func:`evaluate` (a policy played by reward); default
        :func:`evaluation_row`. ``row["accuracy"]`` may be None where it means nothing.
    criterion_met : callable, optional
        ``criterion_met(row) -> bool`` on an evaluation row, in place of ``accuracy >=
        criterion`` (Song et al. 2017's rule needs two numbers).

    Attributes
    ----------
    step : int
        Updates done so far (the next update makes row ``step + 1``).
    status : str or None
        Set once the run has ended.
    rows : list of dict
        The log so far (resumed rows included).
    checkpoint : Checkpoint or None
        The checkpoint resumed from.
    state : dict of str to Tensor
        The algorithm's tensors from that checkpoint (empty otherwise).
    held_by_caller : bool
        A caller locked the run directory before this session (``run_training``): it writes
        the directory's ``config.yaml``, not :meth:`write_config`.
    train_seconds, eval_seconds : float
    """

    def __init__(
        self,
        out: str | Path | None,
        *,
        algorithm: str,
        settings: Mapping[str, Any],
        model: nn.Module,
        task: Any,
        steps: int,
        seed: int,
        eval_every: int = 50,
        eval_trials: int = 500,
        criterion: float | None = None,
        callbacks: Sequence[Callable[[StepInfo], bool | None]] = (),
        optimizer: torch.optim.Optimizer | None = None,
        scheduler: Any = None,
        state: Callable[[], dict[str, Tensor]] | None = None,
        resume: bool = True,
        progress: bool = False,
        steps_tied_to: str | None = None,
        loss_normalization: str = "weights",
        owner: str = "train",
        evaluation: Callable[[int], Mapping[str, Any]] | None = None,
        criterion_met: Callable[[Mapping[str, Any]], bool] | None = None,
    ) -> None:
        self.directory = Path(out) if out is not None else None
        self.model, self.task = model, task
        self.steps, self.seed = steps, seed
        self.eval_every, self.eval_trials, self.criterion = eval_every, eval_trials, criterion
        self.callbacks = tuple(callbacks)
        self.optimizer, self.scheduler, self._state_fn = optimizer, scheduler, state
        self.resume, self.progress, self.steps_tied_to = resume, progress, steps_tied_to
        self.loss_normalization, self.owner = loss_normalization, owner
        self._evaluation, self._criterion_met = evaluation, criterion_met
        config = getattr(model, "config", None)
        self.settings = {
            "algorithm": algorithm, "task": task.name, "task_params": task.params,
            "steps": steps, "eval_every": eval_every, "eval_trials": eval_trials,
            "criterion": criterion, "seed": seed, **settings,
            "model": config() if callable(config) else None,
        }
        self.step = 0
        self.status: str | None = None
        self.rows: list[dict] = []
        self.checkpoint: Checkpoint | None = None
        self.state: dict[str, Tensor] = {}
        self.train_seconds = self.eval_seconds = 0.0
        self._pending: list[dict] = []
        self._lock: RunDirectory | None = None
        self._bar: Any = None
        self._t0: float | None = None
        self.held_by_caller = False

    # -- opening ----------------------------------------------------------------------------------

    def open(self) -> Session:
        """Lock the directory, resume from its checkpoint (or start over), start the progress bar.

        Resuming needs a checkpoint whose settings equal this session's. The one exception is
        ``steps``: a run may be continued for more steps when nothing up to its old step count
        depends on the budget (``steps_tied_to`` is None, e.g. a constant learning rate), and
        then trains exactly as an uninterrupted run of the new length would.
        """
        d = self.directory
        if d is not None:
            self._lock = lock_run_directory(d)
            self.held_by_caller = self._lock.held_by_caller
            try:
                self._open_directory(d)
                self._lock.run_deferred()
            except BaseException:
                self._lock.release()
                self._lock = None
                raise
        self._bar = tqdm(total=self.steps, initial=self.step, disable=not self.progress,
                         desc=self.owner, leave=False)
        return self

    def _open_directory(self, d: Path) -> None:
        for tmp in orphaned_temporaries(d, _OWN_FILES):
            tmp.unlink(missing_ok=True)
        ckpt = d / CHECKPOINT
        if ckpt.exists() and self.resume:
            c = open_checkpoint(ckpt)
            self._check_settings(ckpt, c)
            self._restore(ckpt, c)
            self.rows = read_metrics(d, self.step)
            atomic_write_text(d / METRICS, "".join(json.dumps(r) + "\n" for r in self.rows))
        else:
            ckpt.unlink(missing_ok=True)
            (d / METRICS).unlink(missing_ok=True)

    def _check_settings(self, path: Path, c: Checkpoint) -> None:
        have, want = c.meta["trainer"]["settings"], _jsonable(self.settings)
        if not isinstance(have, Mapping):
            raise CheckpointError(f"{path} is not a usable checkpoint: its settings are {have!r}")
        diff = _differences(have, want)
        where = f"{self.directory} holds a checkpoint of a run with other settings"
        fix = "use another out directory or resume=False to start over"
        step = int(c.meta["trainer"]["step"])
        if diff == ["steps"]:
            if self.steps_tied_to is not None:
                raise RunDirectoryError(
                    f"{where} (['steps']: {have['steps']} -> {want['steps']}). Training longer is "
                    f"refused because the {self.steps_tied_to} depends on steps, so the steps "
                    f"already taken differ from those of a {want['steps']}-step run; {fix}"
                )
            if step > self.steps:
                raise RunDirectoryError(
                    f"{where} (['steps']): its checkpoint is at step {step}, past steps="
                    f"{self.steps}; {fix}"
                )
        elif diff:
            raise RunDirectoryError(f"{where} ({diff}); {fix}")

    def _restore(self, path: Path, c: Checkpoint) -> None:
        restore(path, c, self.model, self.optimizer, self.scheduler)
        trainer = c.meta["trainer"]
        self.step = int(trainer["step"])
        status = trainer.get("status")
        # A run that ran out of steps continues when given more (see open()).
        self.status = None if status == "max_steps" and self.step < self.steps else status
        self.checkpoint, self.state = c, dict(c.state)

    def optimizer_state(self, params: Sequence[Tensor]) -> dict | None:
        """The resumed checkpoint's optimizer ``state_dict``, checked against ``params``."""
        if self.checkpoint is None or self.directory is None:
            return None
        return optimizer_state(self.directory / CHECKPOINT, self.checkpoint, list(params))

    def __enter__(self) -> Session:
        return self.open()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def write_config(self, penalties: Sequence[Any] = ()) -> None:
        """Write the run directory's ``config.yaml`` for a run trained from Python.

        Done on a fresh start (and on a resume that lacks one) unless a caller that locked the
        directory first owns it (``brainlike train``); see :mod:`._run_config`. A summary of an
        earlier session is removed when this one trains (:meth:`write_summary` writes it).
        """
        if self.directory is None or self.held_by_caller:
            return
        if not self.done:  # this session trains: an old summary would describe another state
            (self.directory / "summary.json").unlink(missing_ok=True)
        if self.checkpoint is None or not (self.directory / "config.yaml").exists():
            from ._run_config import write_run_config

            write_run_config(self.directory, self.settings, self.model, self.task, penalties)

    def write_summary(self) -> None:
        """Write ``summary.json`` (:func:`run_summary`) at the end of a run trained from Python
        (``brainlike train`` writes its own, the same, when a caller owns the directory)."""
        if self.directory is None or self.held_by_caller:
            return
        ceiling = getattr(self.task, "ceiling", None)
        atomic_write_text(self.directory / "summary.json",
                          json.dumps(run_summary(self.result(), self.criterion, ceiling), indent=2))

    def close(self) -> None:
        """End the run: the progress bar, the callbacks that have a ``close`` method (loggers),
        and the directory's lock."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        for cb in self.callbacks:
            close = getattr(cb, "close", None)
            if callable(close):
                close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    # -- the loop ---------------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        return self.status is not None or self.step >= self.steps

    def __iter__(self) -> Iterator[int]:
        """Yield the index of each update still to do (``step``, from 0), timing each."""
        while not self.done:
            self._t0 = time.perf_counter()
            yield self.step

    def evaluates_at(self, step: int) -> bool:
        """Whether row ``step`` (1-based) gets an evaluation and a checkpoint."""
        return step % self.eval_every == 0 or step == self.steps

    # -- the guard --------------------------------------------------------------------------------

    def check_loss(self, loss: Tensor | float) -> None:
        """Refuse a non-finite loss before any update (:class:`TrainingDivergedError`)."""
        value = float(loss.detach()) if isinstance(loss, Tensor) else float(loss)
        if not math.isfinite(value):
            raise TrainingDivergedError(
                f"loss became {value} at step {self.step + 1}; the weights were not updated"
                + _last_good(self.directory)
            )

    def check_gradient(self, norm: Tensor | float) -> None:
        """Refuse a non-finite gradient norm before the update."""
        value = float(norm.detach()) if isinstance(norm, Tensor) else float(norm)
        if not math.isfinite(value):
            raise TrainingDivergedError(
                f"gradient norm became {value} at step {self.step + 1}; the weights were not "
                "updated" + _last_good(self.directory)
            )

    def check_parameters(self, named: Sequence[tuple[str, Tensor]] | None = None) -> None:
        """Refuse parameters that the update made non-finite (before they can be saved).

        ``named``: ``(name, tensor)`` pairs; default ``model.named_parameters()``.
        """
        pairs = list(self.model.named_parameters() if named is None else named)
        bad = nonfinite([t for _, t in pairs])
        if bad:
            names = [pairs[k][0] for k in bad]
            raise TrainingDivergedError(
                f"parameters {names} became NaN or infinite in the update of step "
                f"{self.step + 1} (a smaller lr or gradient clipping may help); the model in "
                "memory holds them and no checkpoint was written with them"
                + _last_good(self.directory)
            )

    # -- after each update ------------------------------------------------------------------------

    def record(
        self,
        row: Mapping[str, Any],
        *,
        seconds: float | None = None,
        checkpoint_state: Callable[[], tuple[Any, Any]] | None = None,
    ) -> dict[str, Any]:
        """Log the update just made and do what follows it; return the full row.

        Evaluates (every ``eval_every`` steps and at the last), applies the criterion, calls the
        callbacks, and checkpoints on evaluation steps and when the run ends.

        Parameters
        ----------
        row : mapping
            The update's metrics (``loss``, ...); ``step`` is added.
        seconds : float, optional
            Training time of the update (default: since the loop yielded it).
        checkpoint_state : callable, optional
            ``() -> (optimizer, scheduler)`` to save instead of the session's own, called only
            when a checkpoint is written (an ensemble member's slice of a stacked optimizer).
        """
        now = time.perf_counter()
        if seconds is None:
            seconds = now - self._t0 if self._t0 is not None else 0.0
        self.train_seconds += seconds
        self.step += 1
        full: dict[str, Any] = {"step": self.step, **row}
        if self.evaluates_at(self.step):
            t1 = time.perf_counter()
            seed = eval_seed(self.seed, self.step)
            full.update(self._evaluation(seed) if self._evaluation is not None else evaluation_row(
                self.model, self.task, self.eval_trials, seed, self.loss_normalization))
            self.eval_seconds += time.perf_counter() - t1
            if self._criterion_met is not None:
                if self._criterion_met(full):
                    self.status = "criterion"
            elif self.criterion is not None and full["accuracy"] >= self.criterion:
                self.status = "criterion"
        self._pending.append(full)
        self.rows.append(full)
        if self._bar is not None:
            self._bar.update(1)
            if full.get("accuracy") is not None:
                self._bar.set_postfix(loss=f"{full['loss']:.4f}", acc=f"{full['accuracy']:.3f}")
        info = StepInfo(self.step, full, self.model)
        if any(bool(cb(info)) for cb in self.callbacks) and self.status is None:
            self.status = "stopped"
        if self.status is None and self.step == self.steps:
            self.status = "max_steps"
        if "accuracy" in full or self.status is not None:
            self.save(checkpoint_state)
        return full

    def save(self, checkpoint_state: Callable[[], tuple[Any, Any]] | None = None) -> None:
        """Append the pending log rows, then write the checkpoint (atomically)."""
        if self.directory is None:
            self._pending.clear()
            return
        optimizer, scheduler = (
            checkpoint_state() if checkpoint_state is not None else (self.optimizer, self.scheduler)
        )
        append_metrics(self.directory, self._pending)
        save_checkpoint(
            self.directory, self.model, optimizer, scheduler,
            {"step": self.step, "status": self.status, "settings": self.settings},
            state=self._state_fn() if self._state_fn is not None else None,
        )
        self._pending.clear()

    def result(self) -> TrainResult:
        """The :class:`TrainResult` of the run as it stands."""
        accuracy = next(
            (r["accuracy"] for r in reversed(self.rows) if r.get("accuracy") is not None), None
        )
        return TrainResult(
            status=self.status or "max_steps",
            steps=self.step,
            history=history(self.rows),
            accuracy=accuracy,
            train_seconds=self.train_seconds,
            eval_seconds=self.eval_seconds,
            directory=self.directory,
        )

"""Running a sweep: jobs on an engine, retries, resumption, and the state of every run.

Layout of a sweep directory::

    sweep.yaml            the sweep (base inlined); a rerun must hold the same sweep
    runs/<name>/          one ordinary run directory per run (see brainlike.experiments)
    .state/<name>.jsonl   the run's events: start (host, pid, attempt), done, failed (error)
    .state/driver.json    host and pid of the process driving the sweep
    results.parquet       one row per run (written when the sweep ends)

A run is done when its ``summary.json`` exists: :func:`run_training` writes it atomically as
its last act, so a run is never half-finished. Rerunning a sweep skips done runs and resumes
the others from their checkpoints. The sweep directory is locked by its driver and every run
directory by the worker training it (OS locks, released when a process dies), so two drivers
never run one sweep and two workers never train one run; workers exit when the driver dies.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..._progress import tqdm
from ...training import train_ensemble
from ...training._checkpoint import atomic_write_text
from ...training._session import is_locked, lock_run_directory, run_summary
from .._config import ConfigError, RunConfig, dump_config, parse_config
from .._run import CONFIG, SUMMARY, _check_same_run, _model_for, read_summary, run_training
from ._engines import Engine, WorkerLost, make_engine
from ._spec import Sweep, dump_sweep, ensemble_groups, load_sweep, parse_sweep

SWEEP_FILE = "sweep.yaml"
RUNS = "runs"
STATE = ".state"
RESULTS = "results.parquet"
_FREE_RESUBMITS = 3


# -- events -------------------------------------------------------------------------------------


def _event(directory: Path, name: str, kind: str, **info: Any) -> None:
    path = directory / STATE / f"{name}.jsonl"
    row = {"event": kind, "time": time.time(), "host": socket.gethostname(), "pid": os.getpid(),
           **info}
    with open(path, "a") as f:  # one short line per write: appends do not interleave
        f.write(json.dumps(row) + "\n")
        f.flush()


def read_events(directory: str | Path, name: str) -> list[dict]:
    """The events of run ``name`` of the sweep in ``directory``, oldest first."""
    path = Path(directory) / STATE / f"{name}.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut short by a killed process
            continue
    return out


# -- the job a worker runs -----------------------------------------------------------------------


def run_ensemble_training(configs: list[RunConfig], outs: list[Path]) -> list:
    """Train runs that differ only in their seeds as one vectorized ensemble.

    Each directory ends up as :func:`brainlike.experiments.run_training` would leave it
    (``config.yaml``, checkpoint, ``metrics.jsonl``, ``summary.json``); rerunning resumes.
    """
    first = configs[0]
    task = first.task.build()
    models = [_model_for(c, task) for c in configs]
    t = first.training
    criterion = first.criterion_for(task)
    with contextlib.ExitStack() as held:
        for config, out in zip(configs, outs):
            directory = held.enter_context(lock_run_directory(out))
            _check_same_run(config, out)
            text = dump_config(config)

            def start(out: Path = out, text: str = text) -> None:
                (out / SUMMARY).unlink(missing_ok=True)
                atomic_write_text(out / CONFIG, text)

            directory.defer(start)
        torch.set_num_threads(first.threads)
        results = train_ensemble(
            models, task, seeds=[c.training.seed for c in configs],
            steps=t.steps, batch_size=t.batch_size, optimizer=t.optimizer, lr=t.lr,
            weight_decay=t.weight_decay, momentum=t.momentum, grad_clip=t.grad_clip,
            schedule=t.schedule, penalties=first.penalties.build(), eval_every=t.eval_every,
            eval_trials=t.eval_trials, criterion=criterion, outs=outs, resume=True,
            loss_normalization=t.loss_normalization, progress=False,  # the driver shows progress
        )
        for result, out in zip(results, outs):
            summary = {**run_summary(result, criterion, task.ceiling),
                       "ensemble_size": len(configs)}
            atomic_write_text(out / SUMMARY, json.dumps(summary, indent=2))
    return list(results)


def run_job(payload: dict) -> dict:
    """Train one job of a sweep (one run, or an ensemble of runs) in this process.

    ``payload``: ``directory``, ``attempt`` (a token), ``runs`` (list of ``[name, config]``),
    ``ensemble`` (bool). Runs already done are skipped. Returns ``{name: summary}``.
    """
    directory = Path(payload["directory"])
    attempt = payload["attempt"]
    todo = []
    for name, cfg in payload["runs"]:
        out = directory / RUNS / name
        if not (out / SUMMARY).exists():
            todo.append((name, parse_config(cfg), out))
        elif not any(e["event"] == "done" for e in read_events(directory, name)):
            # Finished, but its worker died before it could say so: record it now (once).
            _event(directory, name, "done", attempt=attempt, recorded_late=True)
    for name, _, _ in todo:
        _event(directory, name, "start", attempt=attempt, ensemble=len(todo))
    if len(todo) > 1 and payload["ensemble"]:
        run_ensemble_training([c for _, c, _ in todo], [o for _, _, o in todo])
    else:
        for _, config, out in todo:
            run_training(config, out)
    for name, _, _ in todo:
        _event(directory, name, "done", attempt=attempt)
    return {name: read_summary(directory / RUNS / name) for name, _ in payload["runs"]}


# -- the driver ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepResult:
    """Outcome of :func:`run_sweep`.

    Attributes
    ----------
    directory : Path
    done : tuple of str
        Runs finished (now or by an earlier invocation).
    failed : dict of str to str
        Runs that failed every attempt, with the last error.
    skipped : tuple of str
        Runs that were already done before this invocation.
    table : Path
        The results table (Parquet).
    seconds : float
        Wall time of this invocation.
    """

    directory: Path
    done: tuple[str, ...]
    failed: dict[str, str] = field(default_factory=dict)
    skipped: tuple[str, ...] = ()
    table: Path | None = None
    seconds: float = 0.0


def _prepare(sweep: Sweep, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / RUNS).mkdir(exist_ok=True)
    (directory / STATE).mkdir(exist_ok=True)
    path = directory / SWEEP_FILE
    text = dump_sweep(sweep)
    if path.exists():
        existing = load_sweep(path)
        if [(r.name, r.config) for r in existing.runs] != [(r.name, r.config) for r in sweep.runs]:
            raise ConfigError(
                f"{directory} holds another sweep ({path}); choose another --out or delete it"
            )
    atomic_write_text(path, text)


def _started(directory: Path, names: list[str], attempt: str) -> bool:
    return any(e.get("attempt") == attempt and e["event"] == "start"
               for n in names for e in read_events(directory, n))


def run_sweep(
    sweep: Sweep | str | Path,
    out: str | Path,
    *,
    engine: str | Engine = "local",
    address: str | None = None,
    workers: int | None = None,
    retries: int | None = None,
    echo: Callable[[str], None] | None = None,
    progress: bool = False,
) -> SweepResult:
    """Run every run of a sweep (skipping those already done) and write the results table.

    Parameters
    ----------
    sweep : Sweep or path
        A parsed sweep or a sweep YAML file.
    out : path
        The sweep directory (created; a rerun with the same sweep resumes it).
    engine : {"local", "ray"} or Engine
        Where jobs run: a local process pool (default) or Ray.
    address : str, optional
        Ray head address (``host:port``) for the ray engine.
    workers : int, optional
        Processes of the local engine that train runs, this one included (it runs jobs too
        while the others start). Default: up to ``cpu_count // threads`` (at least 1), each
        worker started only while the machine has an idle core (see
        :func:`~brainlike.experiments.sweeps.make_engine`). ``1`` trains every run in this
        process, one after another, without starting any.
    retries : int, optional
        Overrides the sweep's ``retries``: a failing job is tried ``1 + retries`` times; a
        dead worker counts as a failure only for the jobs it had started.
    echo : callable, optional
        Receives one line per finished or failed job.
    progress : bool
        Show a progress bar (on stderr): runs done out of those to do, and failures.

    Returns
    -------
    SweepResult
    """
    t0 = time.perf_counter()
    if not isinstance(sweep, Sweep):
        sweep = load_sweep(sweep)
    directory = Path(out)
    with lock_run_directory(directory):  # one driver per sweep directory
        return _drive(sweep, directory, engine, address, workers, retries, echo, t0, progress)


def _drive(sweep: Sweep, directory: Path, engine: str | Engine, address: str | None,
           workers: int | None, retries: int | None, echo: Callable[[str], None] | None,
           t0: float, progress: bool = False) -> SweepResult:
    _prepare(sweep, directory)
    atomic_write_text(directory / STATE / "driver.json",
                      json.dumps({"host": socket.gethostname(), "pid": os.getpid()}))
    max_retries = sweep.spec.retries if retries is None else retries

    skipped = tuple(r.name for r in sweep.runs if (directory / RUNS / r.name / SUMMARY).exists())
    groups = []
    for g in ensemble_groups(sweep):
        todo = tuple(r for r in g if r.name not in skipped)
        if todo:
            groups.append(todo)
    threads = max((r.config.threads for r in sweep.runs), default=1)
    if isinstance(engine, str):
        engine = make_engine(engine, address=address, workers=workers, threads=threads)

    failed: dict[str, str] = {}
    attempts: dict[int, int] = {}
    free: dict[int, int] = {}
    jobs: dict[int, tuple] = {}

    def submit(key: int, runs: tuple) -> None:
        token = uuid.uuid4().hex
        jobs[key] = (runs, token)
        payload = {
            "directory": str(directory.resolve()),
            "attempt": token,
            "runs": [[r.name, r.config.to_dict()] for r in runs],
            "ensemble": sweep.spec.ensemble,
        }
        engine.submit(key, run_job, payload, cpus=runs[0].config.threads)

    bar = tqdm(total=sum(len(g) for g in groups), desc="sweep", unit="run", disable=not progress,
               leave=False)

    def say(line: str) -> None:
        if echo is not None:
            with bar.external_write_mode():
                echo(line)

    next_key = 0
    try:
        for g in groups:
            attempts[next_key] = 0
            submit(next_key, g)
            next_key += 1
        for outcome in engine.outcomes():
            key = outcome.key
            runs, token = jobs.pop(key)
            names = [r.name for r in runs]
            if outcome.error is None:
                bar.update(len(names))
                say(f"done    {', '.join(names)}")
                continue
            err = outcome.error
            lost = isinstance(err, WorkerLost)
            if not lost or _started(directory, names, token):
                attempts[key] += 1
            else:
                # Lost before it started (its pool broke under it): free, a few times only, so
                # that workers that cannot start at all still end the sweep.
                free[key] = free.get(key, 0) + 1
                if free[key] > _FREE_RESUBMITS:
                    attempts[key] += 1
            message = "".join(traceback.format_exception_only(type(err), err)).strip()
            if len(runs) > 1 and not lost:
                # An ensemble that raised (e.g. one member diverged): train its runs one by one
                # so that the error lands on the run it belongs to.
                say(f"split   ensemble of {len(runs)} after: {message}")
                for r in runs:
                    attempts[next_key] = 0
                    submit(next_key, (r,))
                    next_key += 1
            elif attempts[key] <= max_retries:
                say(f"retry   {', '.join(names)} ({attempts[key]}/{max_retries}): {message}")
                submit(key, runs)
            else:
                detail = "".join(traceback.format_exception(type(err), err, err.__traceback__))
                for name in names:
                    failed[name] = message
                    if not (directory / RUNS / name / SUMMARY).exists():
                        _event(directory, name, "failed", error=message, traceback=detail,
                               attempts=attempts[key])
                bar.update(len(names))
                bar.set_postfix(failed=len(failed))
                say(f"FAILED  {', '.join(names)}: {message}")
    finally:
        bar.close()
        engine.close()

    from ._results import write_results

    table = write_results(directory, sweep)
    done = tuple(r.name for r in sweep.runs if (directory / RUNS / r.name / SUMMARY).exists())
    return SweepResult(directory, done, failed, skipped, table, time.perf_counter() - t0)


# -- status -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunState:
    """Where one run of a sweep stands.

    Attributes
    ----------
    name : str
    state : {"done", "running", "interrupted", "failed", "pending"}
        ``interrupted``: it started but neither finished nor failed, and the process driving
        the sweep is gone (rerun the sweep to resume it).
    steps : int or None
        Steps in its last checkpoint.
    error : str or None
        The last error of a failed run.
    host, pid : str or None, int or None
        Where it was last started.
    """

    name: str
    state: str
    steps: int | None = None
    error: str | None = None
    host: str | None = None
    pid: int | None = None


def _driver_alive(directory: Path) -> bool:
    """Whether a driver holds the sweep directory's lock (released by the OS when it dies)."""
    return is_locked(directory)


def sweep_status(directory: str | Path) -> list[RunState]:
    """The state of every run of the sweep in ``directory``, in the sweep's order."""
    directory = Path(directory)
    if not (directory / SWEEP_FILE).is_file():
        raise FileNotFoundError(f"{directory} is not a sweep directory (no {SWEEP_FILE})")
    sweep = load_sweep(directory / SWEEP_FILE)
    alive = _driver_alive(directory)
    out = []
    for run in sweep.runs:
        rdir = directory / RUNS / run.name
        steps = _checkpoint_step(rdir)
        events = read_events(directory, run.name)
        last = next((e for e in reversed(events) if e["event"] in ("start", "done", "failed")), None)
        host = last.get("host") if last else None
        pid = last.get("pid") if last else None
        if (rdir / SUMMARY).exists():
            state, error = "done", None
        elif last is not None and last["event"] == "failed":
            state, error = "failed", last.get("error")
        elif is_locked(rdir) or (last is not None and last["event"] == "start" and alive):
            state, error = "running", None
        elif last is not None and last["event"] == "start":
            state, error = "interrupted", None
        else:
            state, error = "pending", None
        out.append(RunState(run.name, state, steps, error, host, pid))
    return out


def _checkpoint_step(rdir: Path) -> int | None:
    from ...training._checkpoint import CHECKPOINT, read_checkpoint

    path = rdir / CHECKPOINT
    if not path.exists():
        return None
    try:
        return int(read_checkpoint(path)[2]["trainer"]["step"])
    except (OSError, ValueError, KeyError):
        return None


__all__ = [
    "RunState",
    "SweepResult",
    "parse_sweep",
    "read_events",
    "run_ensemble_training",
    "run_job",
    "run_sweep",
    "sweep_status",
]

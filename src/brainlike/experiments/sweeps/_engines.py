"""Engines that run sweep jobs: a local process pool and Ray, behind one small interface.

An engine runs ``fn(payload)`` somewhere and reports, for each submission, either its return
value or the error it ended with. A worker that dies (killed, out of memory) is an error like
any other: :class:`WorkerLost`, for the job that worker was running only. The sweep runner
decides about retries; engines never retry.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Protocol

ENGINES = ("local", "ray")
_PARENT_POLL_S = 0.2


class WorkerLost(RuntimeError):
    """The process running a job died before it reported back."""


class RemoteTraceback(Exception):
    """The traceback of an error raised in a worker process (the error's ``__cause__``)."""

    def __str__(self) -> str:
        return "\n" + str(self.args[0])


@dataclass(frozen=True)
class Outcome:
    """What became of one submission: ``value`` if it returned, else ``error``."""

    key: Any
    value: Any = None
    error: BaseException | None = None


class Engine(Protocol):
    """Runs jobs; the sweep runner submits, then collects outcomes as they finish."""

    name: str

    def submit(self, key: Any, fn: Callable[[Any], Any], payload: Any, *, cpus: int) -> None:
        ...

    def outcomes(self) -> Iterator[Outcome]:
        """Yield an :class:`Outcome` per submission as each finishes, until none is pending
        (submissions made while iterating are included)."""
        ...

    def close(self) -> None:
        ...


def _exit_with_parent(parent: int) -> None:
    """End this worker when the process that started it is gone (it was killed).

    ``os.getppid()`` changes when the parent dies (the worker is re-parented); the worker then
    exits at once, so no orphan keeps training (its run directory's lock and checkpoints are
    released and atomic: the next run of the sweep resumes them).
    """
    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(70)
            time.sleep(_PARENT_POLL_S)

    threading.Thread(target=watch, name="brainlike-parent-watch", daemon=True).start()


def _worker(conn: Connection, parent: int) -> None:
    """A worker process: run ``(fn, payload)`` messages one at a time until ``None``."""
    _exit_with_parent(parent)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        fn, payload = message
        try:
            reply: tuple = ("ok", fn(payload))
        except BaseException as e:  # reported to the runner as the job's error
            reply = ("error", e, "".join(traceback.format_exception(type(e), e, e.__traceback__)))
        try:
            conn.send(reply)
        except Exception:  # the value or the error does not pickle
            err = reply[1] if reply[0] == "error" else None
            text = f"{type(err).__name__}: {err}" if err is not None else "unpicklable result"
            conn.send(("error", RuntimeError(text), reply[2] if len(reply) > 2 else ""))


class _Worker:
    def __init__(self, ctx: Any) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker, args=(child, os.getpid()), daemon=True)
        self.process.start()
        child.close()
        self.key: Any = None
        self.busy = False


class LocalEngine:
    """Worker processes on this machine (spawned, so nothing of the driver is shared).

    Each worker runs one job at a time and is watched on its own: a worker that dies fails
    only the job it was running (:class:`WorkerLost`) and is replaced for the next one, so the
    other jobs in flight go on. Workers exit when the driving process dies.

    Parameters
    ----------
    workers : int, optional
        Processes at most; default the machine's CPU count (the runner passes CPU count
        divided by the runs' ``threads``).
    """

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        if workers is not None and (isinstance(workers, bool) or workers < 1):
            raise ValueError(f"The 'workers' parameter of LocalEngine must be >= 1. Got {workers!r}.")
        self.workers = workers or os.cpu_count() or 1
        self._ctx = multiprocessing.get_context("spawn")
        self._pool: list[_Worker] = []
        self._queue: deque[tuple[Any, Callable, Any]] = deque()
        self._lost: list[Outcome] = []

    def submit(self, key: Any, fn: Callable[[Any], Any], payload: Any, *, cpus: int = 1) -> None:
        self._queue.append((key, fn, payload))
        self._dispatch()

    def _dispatch(self) -> None:
        for w in [w for w in self._pool if not w.busy and not w.process.is_alive()]:
            self._pool.remove(w)  # died while idle: it had no job to lose
            w.conn.close()
        while self._queue:
            idle = next((w for w in self._pool if not w.busy), None)
            if idle is None:
                if len(self._pool) >= self.workers:
                    return
                idle = _Worker(self._ctx)
                self._pool.append(idle)
            key, fn, payload = self._queue.popleft()
            try:
                idle.conn.send((fn, payload))
            except OSError:  # the worker died before it could take the job
                self._pool.remove(idle)
                idle.conn.close()
                self._lost.append(Outcome(key, error=WorkerLost(
                    f"worker process {idle.process.pid} died before it started the job")))
                continue
            idle.key, idle.busy = key, True

    def running(self) -> dict[Any, int]:
        """The jobs handed to a worker and not yet reported: key -> the worker's pid."""
        return {w.key: w.process.pid for w in self._pool if w.busy}

    def outcomes(self) -> Iterator[Outcome]:
        while True:
            self._dispatch()
            while self._lost:
                yield self._lost.pop(0)
            busy = [w for w in self._pool if w.busy]
            if not busy:
                if self._queue or self._lost:
                    continue
                return
            ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy])
            for w in busy:
                if w.conn in ready or w.conn.poll():
                    try:
                        reply = w.conn.recv()
                    except (EOFError, OSError):
                        reply = None
                    if reply is not None:
                        w.busy = False
                        if reply[0] == "ok":
                            yield Outcome(w.key, value=reply[1])
                        else:
                            err = reply[1]
                            err.__cause__ = RemoteTraceback(reply[2])
                            yield Outcome(w.key, error=err)
                        continue
                if w.process.sentinel in ready or not w.process.is_alive():
                    w.process.join()
                    self._pool.remove(w)
                    w.conn.close()
                    yield Outcome(w.key, error=WorkerLost(
                        f"worker process {w.process.pid} died (exit code {w.process.exitcode})"))

    def close(self) -> None:
        self._queue.clear()
        for w in self._pool:
            try:
                w.conn.send(None)
            except (OSError, ValueError):
                pass
        deadline = time.monotonic() + 10.0
        for w in self._pool:
            w.process.join(max(0.0, deadline - time.monotonic()))
            if w.process.is_alive():
                w.process.kill()
                w.process.join()
            w.conn.close()
        self._pool = []


class RayEngine:
    """Ray tasks on a cluster (``address``) or on a Ray instance started in this process.

    Each job is a task asking for ``cpus`` CPUs (the runs' ``threads``). Ray's own retries are
    off (``max_retries=0``): a lost worker comes back as :class:`WorkerLost` and the runner
    retries the job, which resumes its runs from their checkpoints.

    Parameters
    ----------
    address : str, optional
        ``host:port`` of a running Ray head (``ray start --head``), or ``"auto"``; default
        starts a fresh local Ray (never joins another) for the duration of the sweep.
    """

    name = "ray"

    def __init__(self, address: str | None = None) -> None:
        try:
            import ray
        except ImportError:  # pragma: no cover - depends on the environment
            raise ImportError(
                "the ray engine needs Ray: pip install 'brainlike[ray]'"
            ) from None
        self._ray = ray
        self._owns = not ray.is_initialized()
        if self._owns:
            # address=None would join whatever cluster this machine ran last (ray start);
            # "local" starts a fresh Ray of our own, stopped by close().
            ray.init(address=address or "local", include_dashboard=False, log_to_driver=False,
                     configure_logging=False)
        self._refs: dict[Any, Any] = {}
        self._remote: dict[tuple[Callable, int], Any] = {}

    def submit(self, key: Any, fn: Callable[[Any], Any], payload: Any, *, cpus: int = 1) -> None:
        remote = self._remote.get((fn, cpus))
        if remote is None:
            remote = self._remote[(fn, cpus)] = self._ray.remote(
                num_cpus=cpus, max_retries=0
            )(fn)
        self._refs[remote.remote(payload)] = key

    def outcomes(self) -> Iterator[Outcome]:
        ray = self._ray
        while self._refs:
            done, _ = ray.wait(list(self._refs), num_returns=1)
            for ref in done:
                key = self._refs.pop(ref)
                try:
                    yield Outcome(key, value=ray.get(ref))
                except ray.exceptions.RayTaskError as e:
                    cause = e.as_instanceof_cause()
                    yield Outcome(key, error=cause if isinstance(cause, Exception) else e)
                except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError,
                        ray.exceptions.LocalRayletDiedError) as e:
                    yield Outcome(key, error=WorkerLost(f"a Ray worker died: {type(e).__name__}"))
                except ray.exceptions.RayError as e:
                    yield Outcome(key, error=e)

    def close(self) -> None:
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()


def make_engine(name: str, *, address: str | None = None, workers: int | None = None) -> Engine:
    """The engine called ``name`` (``"local"`` or ``"ray"``)."""
    if name == "local":
        if address is not None:
            raise ValueError("--address is for the ray engine; the local engine needs none")
        return LocalEngine(workers)
    if name == "ray":
        return RayEngine(address)
    raise ValueError(f"engine must be one of {list(ENGINES)}; got {name!r}")

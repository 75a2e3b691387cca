"""Engines that run sweep jobs: a local process pool and Ray, behind one small interface.

An engine runs ``fn(payload)`` somewhere and reports, for each submission, either its return
value or the error it ended with. A worker that dies (killed, out of memory) is an error like
any other: :class:`WorkerLost`, for the job that worker was running only. The sweep runner
decides about retries; engines never retry.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import sys
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
_FAILED_STARTS = 3  # workers that die before they are ready, in a row, before giving up on them


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


def _worker(conn: Connection, parent: int, threads: int, preload: tuple[str, ...],
            idle_s: float) -> None:
    """A worker process: import ``preload`` once, say ``ready``, then run ``(fn, payload)``
    messages one at a time until ``None`` (or ``idle_s`` seconds without a message)."""
    _exit_with_parent(parent)
    for module in preload:
        importlib.import_module(module)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    conn.send(("ready", os.getpid()))
    while True:
        try:
            if not conn.poll(idle_s):
                return  # idle too long: give the memory back (the engine starts another)
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
    def __init__(self, ctx: Any, threads: int, preload: tuple[str, ...], idle_s: float) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker, args=(child, os.getpid(), threads, preload,
                                                         idle_s), daemon=True)
        self.process.start()
        child.close()
        self.key: Any = None
        self.busy = False
        self.ready = False


#: Started workers left idle by a finished sweep, reused by the next one in this process.
_WARM: list[_Worker] = []
_WARM_LOCK = threading.Lock()
#: What a worker imports before it says it is ready, so that no job waits for an import:
#: torch and brainlike, and ``torch._dynamo``, which torch imports lazily when the first
#: optimizer is made (~1 s on a quiet 2-core machine, 7 s at load 11: most of a first job).
PRELOAD = ("brainlike.experiments.sweeps._runner", "torch._dynamo")


def _take_warm() -> _Worker | None:
    with _WARM_LOCK:
        while _WARM:
            w = _WARM.pop()
            if w.process.is_alive():
                return w  # ready, or still starting (its "ready" message is on its way)
            w.process.join()
            w.conn.close()  # it exited (idle too long)
    return None


def _idle_core() -> bool:
    """Whether the machine has a core to spare (1-minute load average < CPU count - 0.5)."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average on this platform: assume a spare core
        return True
    return load < (os.cpu_count() or 1) - 0.5


def close_warm_workers() -> int:
    """End the workers kept warm for the next sweep in this process; return how many."""
    with _WARM_LOCK:
        warm = list(_WARM)
        _WARM.clear()
    _stop(warm)
    return len(warm)


def _stop(workers: list[_Worker]) -> None:
    """End ``workers``: one still starting has no job and is killed; the others are asked to
    exit after the job they run, and killed if they have not within 10 s in all."""
    for w in workers:
        if not w.ready and not w.busy:
            w.process.kill()
        try:
            w.conn.send(None)
        except (OSError, ValueError):
            pass
    deadline = time.monotonic() + 10.0
    for w in workers:
        w.process.join(max(0.0, deadline - time.monotonic()))
        if w.process.is_alive():
            w.process.kill()
            w.process.join()
        w.conn.close()


class LocalEngine:
    """Worker processes on this machine (spawned, so nothing of the driver is shared).

    Jobs wait in one queue. A worker takes the next job only once it has started and imported
    ``preload`` (torch and brainlike), so no job waits for a process to start; meanwhile, with
    ``inline=True``, the driving process itself runs jobs from the same queue (it counts as
    one of the ``workers``), so a sweep is never slower than running its jobs one by one in
    this process, and ``workers=1`` runs everything here without starting a process. With
    ``keep_warm=True``, workers idle when the engine closes are kept for the next engine in
    this process (they exit after ``idle_s`` seconds without a job).

    Each worker runs one job at a time and is watched on its own: a worker that dies fails
    only the job it was running (:class:`WorkerLost`) and is replaced for the next one, so the
    other jobs in flight go on. Workers exit when the driving process dies. A job run inline
    has no such protection: if it kills the process, the driver dies with it (rerunning the
    sweep resumes it).

    Parameters
    ----------
    workers : int, optional
        Processes at most, the driver included when ``inline``; default the machine's CPU
        count (the runner passes CPU count divided by the runs' ``threads``).
    inline : bool
        Run jobs in the driving process too (the sweep runner's default).
    threads : int
        ``torch.set_num_threads`` in each worker as it starts (so that workers × threads
        stays within the cores while it imports; each run then sets its own ``threads``).
    keep_warm : bool
        Keep idle started workers for the next engine in this process.
    idle_s : float
        A worker exits after this many seconds without a job.
    preload : tuple of str
        Modules each worker imports before it takes a job.
    idle_cores_only : bool
        Start a worker only while the machine has an idle core (1-minute load average below
        CPU count - 0.5), checked again before each job this process takes: on a busy machine
        another process only takes its CPU time from the others (with Linux's per-session
        scheduling, from this very process), and its start-up is pure cost.
    """

    name = "local"

    def __init__(self, workers: int | None = None, *, inline: bool = False, threads: int = 1,
                 keep_warm: bool = False, idle_s: float = 300.0,
                 preload: tuple[str, ...] = PRELOAD, idle_cores_only: bool = False) -> None:
        if workers is not None and (isinstance(workers, bool) or workers < 1):
            raise ValueError(f"The 'workers' parameter of LocalEngine must be >= 1. Got {workers!r}.")
        self.workers = workers or os.cpu_count() or 1
        self.inline = inline
        self.threads = threads
        self.keep_warm = keep_warm
        self.idle_s = idle_s
        self.preload = tuple(preload)
        self.idle_cores_only = idle_cores_only
        self._ctx = multiprocessing.get_context("spawn")
        self._pool: list[_Worker] = []
        self._queue: deque[tuple[Any, Callable, Any]] = deque()
        self._done: deque[Outcome] = deque()
        self._inline_key: Any = None
        self._failed_starts = 0
        self._cv = threading.Condition()
        self._wake_r, self._wake_w = self._ctx.Pipe(duplex=False)
        self._thread: threading.Thread | None = None
        self._closing = False

    # -- the driver's side ------------------------------------------------------------------

    def submit(self, key: Any, fn: Callable[[Any], Any], payload: Any, *, cpus: int = 1) -> None:
        with self._cv:
            self._queue.append((key, fn, payload))
        self._wake()

    def running(self) -> dict[Any, int]:
        """The jobs taken and not yet reported: key -> the pid of the process running it."""
        with self._cv:
            out = {w.key: w.process.pid for w in self._pool if w.busy}
            if self._inline_key is not None:
                out[self._inline_key] = os.getpid()
            return out

    def outcomes(self) -> Iterator[Outcome]:
        while True:
            job = outcome = None
            with self._cv:
                while True:
                    if self._done:
                        outcome = self._done.popleft()
                        break
                    if self.inline and self._queue:
                        job = self._queue.popleft()
                        self._inline_key = job[0]
                        break
                    if not self._queue and not any(w.busy for w in self._pool):
                        return
                    self._start()
                    self._cv.wait()
            if job is not None:
                self._wake()  # the other jobs go to workers while this one runs here
                outcome = self._run_inline(*job)
                with self._cv:
                    self._inline_key = None
            yield outcome

    def _run_inline(self, key: Any, fn: Callable[[Any], Any], payload: Any) -> Outcome:
        torch = sys.modules.get("torch")
        threads = torch.get_num_threads() if torch is not None else None
        try:
            return Outcome(key, value=fn(payload))
        except Exception as e:  # the job's error; KeyboardInterrupt and the like end the sweep
            return Outcome(key, error=e)
        finally:
            torch = sys.modules.get("torch")
            if torch is not None and threads is not None:
                torch.set_num_threads(threads)  # the run set its own

    def _wake(self) -> None:
        with self._cv:
            self._start()
        try:
            self._wake_w.send_bytes(b"w")
        except (OSError, ValueError):
            pass

    def _start(self) -> None:
        """Start the thread that feeds the workers (under the lock)."""
        if self._thread is None and not self._closing:
            self._thread = threading.Thread(target=self._feed, name="brainlike-local-engine",
                                            daemon=True)
            self._thread.start()

    # -- the feeding thread: hands queued jobs to ready workers, collects their outcomes -----

    def _feed(self) -> None:
        while True:
            with self._cv:
                if self._closing:
                    return
                self._assign()
                waitables = [self._wake_r] + [w.conn for w in self._pool] + [
                    w.process.sentinel for w in self._pool]
            ready = wait(waitables)
            with self._cv:
                if self._wake_r in ready:
                    while self._wake_r.poll():
                        self._wake_r.recv_bytes()
                for w in list(self._pool):
                    self._collect(w, ready)
                self._cv.notify_all()

    def _assign(self) -> None:
        for w in [w for w in self._pool if not w.busy and not w.process.is_alive()]:
            self._lost(w)  # died while idle: it had no job to lose
        for w in self._pool:
            if self._queue and w.ready and not w.busy:
                key, fn, payload = self._queue.popleft()
                try:
                    w.conn.send((fn, payload))
                except OSError:  # the worker died before it could take the job
                    self._queue.appendleft((key, fn, payload))
                    continue  # its sentinel reports it
                w.key, w.busy = key, True
        cap = self.workers - (1 if self.inline else 0)
        if self.inline and self._failed_starts >= _FAILED_STARTS:
            cap = 0  # workers cannot start here: the driver runs everything
        while len(self._pool) < cap and sum(not w.busy for w in self._pool) < len(self._queue):
            if self.idle_cores_only and not _idle_core():
                return  # checked again when this process takes its next job
            w = (_take_warm() if self.keep_warm else None) or _Worker(
                self._ctx, self.threads, self.preload, self.idle_s)
            self._pool.append(w)
            if w.ready:
                self._assign()
                return

    def _collect(self, w: _Worker, ready: list) -> None:
        if w.conn in ready or w.conn.poll():
            try:
                reply = w.conn.recv()
            except (EOFError, OSError):
                reply = None
            if reply is not None:
                if reply[0] == "ready":
                    w.ready = True
                    self._failed_starts = 0
                    return
                w.busy = False
                if reply[0] == "ok":
                    self._done.append(Outcome(w.key, value=reply[1]))
                else:
                    err = reply[1]
                    err.__cause__ = RemoteTraceback(reply[2])
                    self._done.append(Outcome(w.key, error=err))
                return
        if w.process.sentinel in ready or not w.process.is_alive():
            self._lost(w)

    def _lost(self, w: _Worker) -> None:
        w.process.join()
        self._pool.remove(w)
        w.conn.close()
        if w.busy:
            self._done.append(Outcome(w.key, error=WorkerLost(
                f"worker process {w.process.pid} died (exit code {w.process.exitcode})")))
        elif not w.ready:
            self._failed_starts += 1
            if not self.inline and self._queue:
                # Fail a job for it, so that workers that cannot start still end the sweep.
                key = self._queue.popleft()[0]
                self._done.append(Outcome(key, error=WorkerLost(
                    f"worker process {w.process.pid} died before it started the job "
                    f"(exit code {w.process.exitcode})")))

    def close(self) -> None:
        with self._cv:
            self._closing = True
            self._queue.clear()
        try:
            self._wake_w.send_bytes(b"w")
        except (OSError, ValueError):
            pass
        if self._thread is not None:
            self._thread.join()
        # Started or starting workers with no job are the next sweep's, if kept warm.
        keep = [w for w in self._pool
                if self.keep_warm and not w.busy and w.process.is_alive()]
        _stop([w for w in self._pool if w not in keep])
        self._pool = []
        with _WARM_LOCK:
            _WARM.extend(keep)
        self._wake_r.close()
        self._wake_w.close()


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


def make_engine(name: str, *, address: str | None = None, workers: int | None = None,
                threads: int = 1) -> Engine:
    """The engine called ``name`` (``"local"`` or ``"ray"``).

    The local engine made here runs jobs in this process too (``inline``) and keeps its
    started workers for the next sweep in this process (``keep_warm``); see
    :class:`LocalEngine`. Without ``workers`` it uses up to CPU count // ``threads``
    processes, starting workers only while the machine has an idle core
    (``idle_cores_only``); with ``workers`` it starts up to that many whatever the load.
    """
    if name == "local":
        if address is not None:
            raise ValueError("--address is for the ray engine; the local engine needs none")
        return LocalEngine(workers or max(1, (os.cpu_count() or 1) // threads), inline=True,
                           threads=threads, keep_warm=True, idle_cores_only=workers is None)
    if name == "ray":
        return RayEngine(address)
    raise ValueError(f"engine must be one of {list(ENGINES)}; got {name!r}")

"""Engines that run sweep jobs: a local process pool and Ray, behind one small interface.

An engine runs ``fn(payload)`` somewhere and reports, for each submission, either its return
value or the error it ended with. A worker that dies (killed, out of memory) is an error like
any other: :class:`WorkerLost`. The sweep runner decides about retries; engines never retry.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Protocol

ENGINES = ("local", "ray")


class WorkerLost(RuntimeError):
    """The process running a job died before it reported back."""


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


class LocalEngine:
    """A pool of spawned worker processes (``concurrent.futures``), nothing to start.

    Parameters
    ----------
    workers : int, optional
        Processes in the pool; default the machine's CPU count (the runner passes CPU count
        divided by the runs' ``threads``).
    """

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        if workers is not None and (isinstance(workers, bool) or workers < 1):
            raise ValueError(f"The 'workers' parameter of LocalEngine must be >= 1. Got {workers!r}.")
        self.workers = workers or os.cpu_count() or 1
        self._pool: cf.ProcessPoolExecutor | None = None
        self._futures: dict[cf.Future, Any] = {}

    def _executor(self) -> cf.ProcessPoolExecutor:
        if self._pool is None:
            self._pool = cf.ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context("spawn")
            )
        return self._pool

    def submit(self, key: Any, fn: Callable[[Any], Any], payload: Any, *, cpus: int = 1) -> None:
        try:
            fut = self._executor().submit(fn, payload)
        except BrokenProcessPool:
            self._reset()
            fut = self._executor().submit(fn, payload)
        self._futures[fut] = key

    def _reset(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = None

    def outcomes(self) -> Iterator[Outcome]:
        while self._futures:
            done, _ = cf.wait(list(self._futures), return_when=cf.FIRST_COMPLETED)
            broken = False
            for fut in done:
                key = self._futures.pop(fut)
                try:
                    yield Outcome(key, value=fut.result())
                except BrokenProcessPool as e:
                    broken = True
                    yield Outcome(key, error=WorkerLost(f"a worker process died: {e}"))
                except BaseException as e:  # reported to the runner as the run's error
                    yield Outcome(key, error=e)
            if broken:
                # Every job of a broken pool fails; later submissions go to a fresh pool.
                self._reset()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


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

"""The local engine: jobs run in the driver while workers start, workers are reused warm, and a
sweep on it gives exactly what training its runs one by one in this process gives."""

import math
import os
import time

import pytest
import torch

from brainlike.experiments import run_training
from brainlike.experiments.sweeps import (
    LocalEngine,
    WorkerLost,
    _runner,
    parse_sweep,
    read_events,
    run_sweep,
)
from brainlike.experiments.sweeps._engines import RemoteTraceback, close_warm_workers
from brainlike.training._checkpoint import read_checkpoint

BASE = {
    "task": {"name": "perceptual_decision", "params": {"dt": 100.0}},
    "model": {"n_hidden": 8},
    "training": {"steps": 4, "batch_size": 8, "eval_every": 4, "eval_trials": 8},
}


def _weights(directory):
    return read_checkpoint(directory / "checkpoint.safetensors")[0]


def _wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def test_a_sweep_on_the_default_engine_equals_training_each_run_alone_once(tmp_path):
    sweep = parse_sweep({"base": BASE, "seeds": [0, 1, 2, 3, 4, 5], "ensemble": False})
    try:
        result = run_sweep(sweep, tmp_path / "pool", workers=2)
    finally:
        close_warm_workers()
    assert sorted(result.done) == sorted(r.name for r in sweep.runs) and not result.failed
    for run in sweep.runs:
        events = [e["event"] for e in read_events(tmp_path / "pool", run.name)]
        assert events == ["start", "done"], (run.name, events)  # executed exactly once
        alone = tmp_path / "alone" / run.name
        run_training(run.config, alone)
        pooled, single = _weights(tmp_path / "pool" / "runs" / run.name), _weights(alone)
        assert pooled.keys() == single.keys()
        for key in single:  # same operations on one thread in both: bit for bit the same
            torch.testing.assert_close(pooled[key], single[key], rtol=0, atol=0)


def test_one_worker_means_this_process_and_a_failing_run_is_reported(tmp_path, monkeypatch):
    sweep = parse_sweep({"base": BASE, "grid": {"training.lr": [0.001, 0.01]}, "retries": 0,
                         "ensemble": False})
    real = _runner.run_training

    def flaky(config, out, **kw):
        if config.training.lr == 0.01:
            raise RuntimeError("simulated failure")
        return real(config, out, **kw)

    monkeypatch.setattr(_runner, "run_training", flaky)  # seen only by this process
    threads = torch.get_num_threads()
    result = run_sweep(sweep, tmp_path / "s", workers=1)
    assert result.done == ("lr=0.001,seed=0",)
    assert result.failed == {"lr=0.01,seed=0": "RuntimeError: simulated failure"}
    starts = [e for r in sweep.runs for e in read_events(tmp_path / "s", r.name)
              if e["event"] == "start"]
    assert len(starts) == 2 and {e["pid"] for e in starts} == {os.getpid()}
    assert torch.get_num_threads() == threads  # the run's own setting does not stay


def test_every_job_is_reported_once_whether_run_inline_or_by_a_worker():
    engine = LocalEngine(workers=2, inline=True)
    try:
        for k in range(8):
            engine.submit(k, time.sleep, 0.2)
        engine.submit("bad", math.sqrt, -1.0)
        outcomes = list(engine.outcomes())
    finally:
        engine.close()
    assert sorted(map(str, (o.key for o in outcomes))) == sorted([*map(str, range(8)), "bad"])
    errors = {o.key: o.error for o in outcomes if o.error is not None}
    assert list(errors) == ["bad"]
    with pytest.raises(ValueError, match="math domain error"):
        raise errors["bad"]


def test_an_idle_worker_is_kept_warm_for_the_next_engine_and_reports_job_errors():
    close_warm_workers()
    pids, outcomes = [], []
    try:
        for fn, arg in ((time.sleep, 0.5), (math.sqrt, -1.0)):
            engine = LocalEngine(workers=1, keep_warm=True)
            try:
                engine.submit("job", fn, arg)
                it = engine.outcomes()  # starts the worker; the job waits until it is ready
                if fn is time.sleep:
                    _wait_for(lambda e=engine: "job" in e.running(), 120, "the job to start")
                    pids.append(engine.running()["job"])
                outcomes += list(it)
                pids.append(next(w.process.pid for w in engine._pool))
            finally:
                engine.close()
        assert pids[0] == pids[1] == pids[2] != os.getpid()  # one process for both engines
    finally:
        assert close_warm_workers() == 1
    assert [o.error for o in outcomes[:1]] == [None]
    error = outcomes[1].error
    assert isinstance(error, ValueError) and "math domain error" in str(error)
    assert isinstance(error.__cause__, RemoteTraceback)  # the worker's traceback comes along
    assert "math domain error" in str(error.__cause__)


def test_workers_that_cannot_start_fail_the_job_instead_of_hanging():
    engine = LocalEngine(workers=1, preload=("brainlike_no_such_module",))
    try:
        engine.submit("job", time.sleep, 0.0)
        (outcome,) = list(engine.outcomes())
    finally:
        engine.close()
    assert isinstance(outcome.error, WorkerLost)
    with pytest.raises(WorkerLost, match=r"died before it started the job \(exit code 1\)"):
        raise outcome.error


@pytest.mark.parametrize("load, started", [(100.0, 0), (0.0, 1)])
def test_workers_are_started_only_while_a_core_is_idle(monkeypatch, load, started):
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    engine = LocalEngine(workers=2, inline=True, idle_cores_only=True)
    try:
        for k in range(4):
            engine.submit(k, time.sleep, 0.05)
        outcomes = list(engine.outcomes())
        pool = len(engine._pool)  # started (or starting) workers
    finally:
        engine.close()
    assert sorted(o.key for o in outcomes) == [0, 1, 2, 3]
    assert all(o.error is None for o in outcomes)
    assert pool == started

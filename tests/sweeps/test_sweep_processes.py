"""Sweep processes: workers die with their driver, one worker's death fails only its job, and run
names always fit the file system."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from brainlike.experiments.sweeps import LocalEngine, WorkerLost, parse_sweep, read_events
from brainlike.experiments.sweeps._runner import RUNS, STATE, sweep_status

BASE = {
    "task": {"name": "perceptual_decision", "params": {"dt": 100.0}},
    "model": {"n_hidden": 4},
    "training": {"steps": 10**6, "batch_size": 2, "eval_every": 10**6, "eval_trials": 2},
}


def _alive(pid: int) -> bool:
    """Running (a zombie nobody reaped yet counts as dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return state not in ("Z", "X")


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc to tell a zombie from a worker")
def test_killing_the_driver_ends_its_workers_and_the_runs_read_interrupted(tmp_path):
    """Item 1: no orphan keeps training a run directory after its driver is killed."""
    (tmp_path / "sweep.yaml").write_text(json.dumps({"base": BASE, "seeds": [0, 1],
                                                     "ensemble": False}))
    out = tmp_path / "s"
    driver = subprocess.Popen(
        [sys.executable, "-m", "brainlike.cli", "sweep", str(tmp_path / "sweep.yaml"),
         "--out", str(out), "--workers", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    names = ["seed=0", "seed=1"]

    def started():
        return all(any(e["event"] == "start" for e in read_events(out, n)) for n in names)

    try:
        _wait_for(started, 120, "both runs to start")
        workers = {next(e["pid"] for e in read_events(out, n) if e["event"] == "start")
                   for n in names}
        assert len(workers) == 2 and all(_alive(p) for p in workers)
        assert {s.state for s in sweep_status(out)} == {"running"}
        driver.send_signal(signal.SIGKILL)
        driver.wait()
        _wait_for(lambda: not any(_alive(p) for p in workers), 10, "the workers to exit")
    finally:
        driver.kill()
        driver.wait()
    # Nobody holds the runs any more: they read "interrupted", and a rerun may resume them.
    # (A worker's main thread can read as a zombie while its other threads still exit and
    # hold its files, the run lock included, for a moment: wait for the lock, not the pid.)
    _wait_for(lambda: {s.state for s in sweep_status(out)} == {"interrupted"}, 10,
              "the runs to read interrupted")


def test_one_dead_worker_fails_only_its_own_job():
    """Item 7: the other job in flight finishes; only the dead worker's job is lost."""
    engine = LocalEngine(workers=2)
    try:
        engine.submit("long", time.sleep, 60.0)
        engine.submit("short", time.sleep, 3.0)
        _wait_for(lambda: len(engine.running()) == 2, 60, "both jobs to be taken")
        os.kill(engine.running()["long"], signal.SIGKILL)
        outcomes = {o.key: o for o in engine.outcomes()}
    finally:
        engine.close()
    assert isinstance(outcomes["long"].error, WorkerLost)
    assert "died (exit code -9)" in str(outcomes["long"].error)
    assert outcomes["short"].error is None and outcomes["short"].value is None


def test_run_names_too_long_for_a_file_name_are_shortened_with_a_hash(tmp_path):
    long = [round(0.001 * k, 3) for k in range(120)]
    sweep = parse_sweep({"base": BASE, "grid": {"task.params.coherences": [long, long[:-1]]}})
    names = [r.name for r in sweep.runs]
    assert len(set(names)) == 2 and all(len(n.encode()) <= 200 for n in names)
    assert names[0].startswith("coherences=-0.0-0.001-0.002-") and "~" in names[0]
    for n in names:  # the run directory and its events file can be created
        (tmp_path / RUNS / n).mkdir(parents=True)
        (tmp_path / STATE).mkdir(exist_ok=True)
        (tmp_path / STATE / f"{n}.jsonl").write_text("")
    short = parse_sweep({"base": BASE, "grid": {"training.lr": [0.1]}})
    assert [r.name for r in short.runs] == ["lr=0.1,seed=0"]

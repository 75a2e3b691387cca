"""The Ray engine against a real local Ray head on loopback (no mock): a worker is killed mid-run
and every run still completes exactly once, with the same results as the local pool."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from brainlike.experiments.sweeps import RayEngine, parse_sweep, read_events, run_sweep

ray = pytest.importorskip("ray")

BASE = {
    "task": {"name": "perceptual_decision", "params": {"dt": 100.0}},
    "model": {"n_hidden": 16},
    "training": {"steps": 80, "batch_size": 16, "eval_every": 10, "eval_trials": 20},
}


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ray_head():
    """A Ray head on 127.0.0.1 with 2 CPUs, in its own process group, stopped by that group's id
    (never `ray stop`, which would stop every Ray on the machine)."""
    port = _free_port()
    temp = tempfile.mkdtemp(prefix="rt", dir="/tmp")  # Ray's socket paths must stay short
    # A loopback-only test cluster: no token (Ray 2.5x enables token auth when ~/.ray holds one).
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "OMP_NUM_THREADS": "1",
           "RAY_AUTH_MODE": "disabled"}
    ray_bin = Path(sys.executable).parent / "ray"
    head = subprocess.Popen(
        [str(ray_bin), "start", "--head", "--block", "--node-ip-address=127.0.0.1",
         f"--port={port}", "--num-cpus=2", "--include-dashboard=false",
         "--disable-usage-stats", f"--temp-dir={temp}"],
        env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    address = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if head.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Ray head did not start (exit {head.poll()})") from None
            time.sleep(0.2)
    try:
        yield address
    finally:
        if ray.is_initialized():
            ray.shutdown()
        for sig, wait in ((signal.SIGTERM, 3), (signal.SIGKILL, 10)):
            try:
                os.killpg(head.pid, sig)
            except ProcessLookupError:
                break
            try:
                head.wait(timeout=wait)
                os.killpg(head.pid, signal.SIGKILL)  # the head's children, if any remain
            except (subprocess.TimeoutExpired, ProcessLookupError):
                continue
            break
        head.wait()
        shutil.rmtree(temp, ignore_errors=True)


def _kill_a_worker_mid_run(directory: Path, names: list[str], killed: list) -> None:
    """When some run has a checkpoint but no summary, SIGKILL the worker training it."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not killed:
        for name in names:
            run = directory / "runs" / name
            starts = [e for e in read_events(directory, name) if e["event"] == "start"]
            if starts and (run / "checkpoint.safetensors").exists() and not (run / "summary.json").exists():
                os.kill(starts[-1]["pid"], signal.SIGKILL)
                killed.append((name, starts[-1]["pid"]))
                return
        time.sleep(0.05)


@pytest.mark.slow


def test_ray_sweep_survives_a_killed_worker_and_matches_the_local_pool(ray_head, tmp_path):
    sweep = parse_sweep({"base": BASE, "grid": {"training.lr": [0.001, 0.01]}, "seeds": [0, 1],
                         "retries": 1})
    names = [r.name for r in sweep.runs]
    directory = tmp_path / "ray"
    killed: list = []
    killer = threading.Thread(target=_kill_a_worker_mid_run, args=(directory, names, killed))
    killer.start()
    try:
        result = run_sweep(sweep, directory, engine=RayEngine(ray_head))
    finally:
        killer.join()
    assert killed, "no worker was caught mid-run"
    assert sorted(result.done) == sorted(names) and not result.failed
    for name in names:
        events = [e["event"] for e in read_events(directory, name)]
        assert events.count("done") == 1  # completed exactly once
        steps = [json.loads(line)["step"] for line in
                 (directory / "runs" / name / "metrics.jsonl").read_text().splitlines()]
        assert steps == list(range(1, 81))  # every step logged once, resumed where it stopped
    killed_name = killed[0][0]
    assert [e["event"] for e in read_events(directory, killed_name)].count("start") == 2
    ray_table = pd.read_parquet(directory / "results.parquet").set_index("run")
    assert len(ray_table) == 4 and set(ray_table["state"]) == {"done"}

    local = run_sweep(sweep, tmp_path / "local", engine="local", workers=2)
    local_table = pd.read_parquet(local.table).set_index("run")
    assert list(local_table.index) == list(ray_table.index)
    # Same seeds, same code: identical numbers (a resumed run continues bit for bit).
    pd.testing.assert_series_equal(local_table["final_loss"], ray_table["final_loss"], rtol=1e-6)
    pd.testing.assert_series_equal(local_table["accuracy"], ray_table["accuracy"])

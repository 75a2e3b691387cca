"""Sweeps: expansion, names, ensembles, retries, resumption, status, results table, CLI."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from brainlike.cli import app
from brainlike.experiments import ConfigError, run_training
from brainlike.experiments.sweeps import (
    Outcome,
    WorkerLost,
    _runner,
    aggregate,
    ensemble_groups,
    parse_sweep,
    plot_aggregate,
    read_events,
    results_table,
    run_sweep,
    sweep_status,
)

BASE = {
    "task": {"name": "perceptual_decision", "params": {"dt": 100.0}},
    "model": {"n_hidden": 8},
    "training": {"steps": 6, "batch_size": 8, "eval_every": 3, "eval_trials": 20},
}


class InlineEngine:
    """Runs each job at once in this process (the runner's logic without processes)."""

    name = "inline"

    def __init__(self):
        self._done = []

    def submit(self, key, fn, payload, *, cpus):
        try:
            self._done.append(Outcome(key, value=fn(payload)))
        except Exception as e:
            self._done.append(Outcome(key, error=e))

    def outcomes(self):
        while self._done:
            yield self._done.pop(0)

    def close(self):
        pass


def test_grid_times_seeds_gives_deterministic_names_and_configs():
    sweep = parse_sweep({"base": BASE, "grid": {"training.lr": [0.001, 0.01],
                                                "model.n_hidden": [8, 16]}, "seeds": [0, 1]})
    names = [r.name for r in sweep.runs]
    assert names[:2] == ["lr=0.001,n_hidden=8,seed=0", "lr=0.001,n_hidden=8,seed=1"]
    assert len(names) == len(set(names)) == 8
    run = sweep.run("lr=0.01,n_hidden=16,seed=1")
    assert (run.config.training.lr, run.config.model.n_hidden) == (0.01, 16)
    assert run.config.model.seed == run.config.training.seed == 1
    assert sweep.varied_fields == ("training.lr", "model.n_hidden", "seed")


def test_random_draws_are_reproducible_rounded_and_in_range():
    spec = {"base": BASE, "random": {"training.lr": {"loguniform": [1e-4, 1e-2]},
                                     "model.activation": {"choice": ["relu", "tanh"]}},
            "samples": 5, "sample_seed": 3, "seeds": [0]}
    a, b = parse_sweep(spec), parse_sweep(spec)
    assert [r.name for r in a.runs] == [r.name for r in b.runs]
    lrs = [r.config.training.lr for r in a.runs]
    assert all(1e-4 <= lr <= 1e-2 for lr in lrs)
    assert all(float(f"{lr:.4g}") == lr for lr in lrs)  # the name shows the exact value
    assert a.runs[0].name.startswith("sample=0,lr=")
    other = parse_sweep({**spec, "sample_seed": 4})
    assert [r.config.training.lr for r in other.runs] != lrs


def test_sweep_errors_name_the_field():
    with pytest.raises(ConfigError, match=r"sweep run lrr=1,seed=0: invalid run config:\n  training.lrr: Extra inputs"):
        parse_sweep({"base": BASE, "grid": {"training.lrr": [1]}})
    with pytest.raises(ConfigError, match=r"training\.lr: Input should be greater than 0"):
        parse_sweep({"base": BASE, "grid": {"training.lr": [-1.0]}})
    with pytest.raises(ConfigError, match="random fields need samples >= 1"):
        parse_sweep({"base": BASE, "random": {"training.lr": {"uniform": [0.1, 0.2]}}})
    with pytest.raises(ConfigError, match="loguniform needs lo > 0"):
        parse_sweep({"base": BASE, "random": {"training.lr": {"loguniform": [0, 1]}}, "samples": 1})
    with pytest.raises(ConfigError, match="seeds must be distinct"):
        parse_sweep({"base": BASE, "seeds": [1, 1]})
    with pytest.raises(ConfigError, match="sweep base: invalid run config"):
        parse_sweep({"base": {"model": {}}})


def test_runs_that_differ_only_in_seed_are_grouped_into_ensembles():
    sweep = parse_sweep({"base": BASE, "grid": {"training.lr": [0.001, 0.01]},
                         "seeds": [0, 1, 2, 3, 4], "max_ensemble": 3})
    sizes = [len(g) for g in ensemble_groups(sweep)]
    assert sizes == [3, 2, 3, 2]
    assert {r.config.training.lr for r in ensemble_groups(sweep)[0]} == {0.001}
    dale = {**BASE, "model": {"n_hidden": 8, "connectivity": {"type": "dale"}}}
    assert [len(g) for g in ensemble_groups(parse_sweep({"base": dale, "seeds": [0, 1]}))] == [1, 1]
    off = parse_sweep({"base": BASE, "seeds": [0, 1], "ensemble": False})
    assert [len(g) for g in ensemble_groups(off)] == [1, 1]


def test_sweep_runs_resumes_and_tabulates(tmp_path):
    sweep = parse_sweep({"base": BASE, "grid": {"training.lr": [0.001, 0.01]}, "seeds": [0, 1]})
    result = run_sweep(sweep, tmp_path / "s", engine=InlineEngine())
    assert sorted(result.done) == sorted(r.name for r in sweep.runs) and not result.failed
    table = pd.read_parquet(tmp_path / "s" / "results.parquet")
    assert len(table) == 4 and set(table["state"]) == {"done"}
    assert set(table["ensemble_size"]) == {2}
    assert {"training.lr", "model.seed", "accuracy", "final_loss", "path"} <= set(table.columns)
    # An ensemble member equals the same run trained alone by run_training.
    run = sweep.run("lr=0.01,seed=1")
    alone = run_training(run.config, tmp_path / "alone")
    row = table.set_index("run").loc["lr=0.01,seed=1"]
    assert row["steps"] == alone.steps == 6
    assert row["final_loss"] == pytest.approx(alone.history["loss"][-1], rel=1e-5)
    # Rerunning skips every finished run: each run completed exactly once.
    again = run_sweep(sweep, tmp_path / "s", engine=InlineEngine())
    assert sorted(again.skipped) == sorted(result.done)
    for r in sweep.runs:
        assert [e["event"] for e in read_events(tmp_path / "s", r.name)] == ["start", "done"]
    assert {s.state for s in sweep_status(tmp_path / "s")} == {"done"}
    with pytest.raises(ConfigError, match="holds another sweep"):
        run_sweep(parse_sweep({"base": BASE, "seeds": [5]}), tmp_path / "s", engine=InlineEngine())


def test_a_failing_run_is_retried_then_reported_and_rerun_later(tmp_path, monkeypatch):
    sweep = parse_sweep({"base": BASE, "grid": {"training.lr": [0.001, 0.01]}, "seeds": [0],
                         "retries": 2})
    calls = []
    real = _runner.run_training

    def flaky(config, out, **kw):
        calls.append(out.name)
        if config.training.lr == 0.01:
            raise RuntimeError("simulated failure")
        return real(config, out, **kw)

    monkeypatch.setattr(_runner, "run_training", flaky)
    result = run_sweep(sweep, tmp_path / "s", engine=InlineEngine())
    assert calls.count("lr=0.01,seed=0") == 3 and calls.count("lr=0.001,seed=0") == 1
    assert result.failed == {"lr=0.01,seed=0": "RuntimeError: simulated failure"}
    states = {s.name: s for s in sweep_status(tmp_path / "s")}
    assert states["lr=0.01,seed=0"].state == "failed"
    assert states["lr=0.01,seed=0"].error == "RuntimeError: simulated failure"
    table = results_table(tmp_path / "s").set_index("run")
    assert table.loc["lr=0.01,seed=0", "state"] == "failed"
    assert table.loc["lr=0.01,seed=0", "error"] == "RuntimeError: simulated failure"
    # Fixed: the rerun trains only the failed run.
    monkeypatch.setattr(_runner, "run_training", real)
    again = run_sweep(sweep, tmp_path / "s", engine=InlineEngine())
    assert again.skipped == ("lr=0.001,seed=0",) and not again.failed
    assert set(results_table(tmp_path / "s")["state"]) == {"done"}


def test_aggregate_applies_an_analysis_to_every_network_and_plots_it(tmp_path):
    sweep = parse_sweep({"base": BASE, "grid": {"training.lr": [0.001, 0.01]}, "seeds": [0, 1]})
    run_sweep(sweep, tmp_path / "s", engine=InlineEngine())
    table = aggregate(tmp_path / "s", lambda run: run.model.w_rec.detach().abs().mean().item(), name="w")
    assert list(table.columns) == ["run", "training.lr", "seed", "w"]
    assert len(table) == 4 and np.isfinite(table["w"]).all()
    fig = plot_aggregate(table, "w", "training.lr")
    assert fig.axes[0].get_xlabel() == "training.lr"
    with pytest.raises(ValueError, match="column 'nope' is not in the table"):
        plot_aggregate(table, "nope")


def test_cli_sweep_on_the_local_process_pool_and_status(tmp_path):
    spec = {"base": BASE, "seeds": [0, 1], "grid": {"model.n_hidden": [4, 6]}}
    (tmp_path / "sweep.yaml").write_text(json.dumps(spec))  # JSON is YAML
    runner = CliRunner()
    res = runner.invoke(app, ["sweep", str(tmp_path / "sweep.yaml"), "--out", str(tmp_path / "s"),
                              "--workers", "2"])
    assert res.exit_code == 0, res.output
    assert "4/4 done (0 already), 0 failed" in res.output
    res = runner.invoke(app, ["sweep", "status", str(tmp_path / "s")])
    assert res.exit_code == 0, res.output
    assert "4 done, 0 running, 0 interrupted, 0 failed, 0 pending (of 4)" in res.output
    res = runner.invoke(app, ["sweep", str(tmp_path / "sweep.yaml"), "--out", str(tmp_path / "s"),
                              "--engine", "slurm"])
    assert res.exit_code == 2 and "--engine must be one of ['local', 'ray']; got 'slurm'" in res.output
    res = runner.invoke(app, ["sweep", "status", str(tmp_path / "nowhere")])
    assert res.exit_code == 2 and "is not a sweep directory" in res.output


class _DeadWorkers(InlineEngine):
    """Every worker dies before it starts its job."""

    def submit(self, key, fn, payload, *, cpus):
        self.submitted = getattr(self, "submitted", 0) + 1
        self._done.append(Outcome(key, error=WorkerLost("a worker process died")))


def test_workers_that_never_start_end_the_sweep_with_the_runs_failed(tmp_path):
    sweep = parse_sweep({"base": BASE, "seeds": [0], "retries": 1})
    engine = _DeadWorkers()
    result = run_sweep(sweep, tmp_path / "s", engine=engine)
    assert result.failed == {"seed=0": "brainlike.experiments.sweeps._engines.WorkerLost: a worker process died"}
    # 1 first try + 3 free resubmits (lost before starting) + 1 retry.
    assert engine.submitted == 5

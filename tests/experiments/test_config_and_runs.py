"""Configs validate at the boundary; run directories resume; the CLI works end to end."""

import json

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from brainlike.cli import app
from brainlike.experiments import (
    ConfigError,
    dump_config,
    evaluate_run,
    load_config,
    load_run,
    parse_config,
    run_training,
)

BASE = {
    "task": {"name": "perceptual_decision", "params": {"dt": 100.0}},
    "model": {"n_hidden": 16, "tau": 100.0, "seed": 1},
    "training": {"steps": 20, "batch_size": 8, "eval_every": 10, "eval_trials": 50, "lr": 3e-3},
}


def _with(**patch):
    data = json.loads(json.dumps(BASE))
    for dotted, value in patch.items():
        node = data
        *parents, leaf = dotted.split("__")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return data


def test_yaml_round_trip(tmp_path):
    cfg = parse_config(BASE)
    path = tmp_path / "c.yaml"
    path.write_text(dump_config(cfg))
    assert load_config(path) == cfg
    assert cfg.model.activation == "relu" and cfg.threads == 1


@pytest.mark.parametrize(
    ("patch", "match"),
    [
        ({"training__lr": -1}, r"training\.lr: Input should be greater than 0 \(got -1\)"),
        ({"model__n_hidden": 0}, r"model\.n_hidden: Input should be greater than or equal to 1"),
        ({"model__activation": "gelu"}, r"model\.activation: must be one of \['linear', 'relu'"),
        ({"model__colour": 3}, r"model\.colour: Extra inputs are not permitted"),
        ({"task__name": "nope"}, r"task: unknown task 'nope'; valid names are \["),
        ({"task__params": {"dt": 100.0, "foo": 1}}, r"task: task 'perceptual_decision' has no parameter 'foo'"),
        ({"training__optimizer": "rmsprop"}, r"training\.optimizer: Input should be 'adam', 'adamw' or 'sgd'"),
        ({"model__tau": 50.0}, r"model does not fit task 'perceptual_decision' \(dt = 100\.0 ms\): RateRNN needs dt <= tau"),
        ({"training__criterion": 0.8, "training__criterion_of_ceiling": 0.9}, r"set criterion or criterion_of_ceiling, not both"),
    ],
)
def test_bad_configs_name_the_field(patch, match):
    with pytest.raises(ConfigError, match=match):
        parse_config(_with(**patch))


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("task: [unclosed")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        load_config(bad)
    bad.write_text("- a list")
    with pytest.raises(ConfigError, match="must be a mapping; got list"):
        load_config(bad)


def test_run_directory_resumes_and_loads(tmp_path):
    cfg = parse_config(BASE)
    first = run_training(cfg, tmp_path)
    assert first.steps == 20
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == [".lock", "checkpoint.safetensors", "config.yaml", "metrics.jsonl", "summary.json"]
    again = run_training(cfg, tmp_path)  # finished: nothing more to do
    np.testing.assert_array_equal(again.history["loss"], first.history["loss"])
    run = load_run(tmp_path)
    assert run.config == cfg and run.summary["steps"] == 20
    (name, ev), = evaluate_run(tmp_path, n_trials=100).items()
    assert name == "perceptual_decision" and ev.correct.shape == (100,)
    assert ev.accuracy == ev.correct.mean()
    report = json.loads((tmp_path / "evaluation.json").read_text())
    assert report["n_trials"] == 100 and report["tasks"][name]["accuracy"] == ev.accuracy
    other = parse_config(_with(training__lr=1e-2))
    with pytest.raises(ConfigError, match="holds a run with another config"):
        run_training(other, tmp_path)
    restarted = run_training(other, tmp_path, restart=True)
    assert restarted.steps == 20 and load_run(tmp_path).config == other


def test_ceiling_criterion_resolves():
    cfg = parse_config(_with(training__criterion_of_ceiling=0.9))
    task = cfg.task.build()
    assert cfg.criterion_for(task) == pytest.approx(0.9 * task.ceiling)
    mem = parse_config({"task": {"name": "memory_report"}, "model": {"tau": 20.0},
                        "training": {"criterion_of_ceiling": 0.9}})
    assert mem.criterion_for(mem.task.build()) == pytest.approx(0.9)


def test_cli_train_evaluate_tasks(tmp_path):
    runner = CliRunner()
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(BASE))
    out = tmp_path / "run"
    res = runner.invoke(app, ["train", str(config), "--out", str(out), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "max_steps after 20 steps" in res.output
    res = runner.invoke(app, ["evaluate", str(out), "--trials", "200"])
    assert res.exit_code == 0, res.output
    assert "perceptual_decision: accuracy" in res.output and "by coherence: 0=" in res.output and "by ground_truth: choice_1=" in res.output
    res = runner.invoke(app, ["tasks"])
    assert res.exit_code == 0 and "perceptual_decision" in res.output and "Britten" in res.output


def test_cli_errors_are_clear(tmp_path):
    runner = CliRunner()
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump(_with(training__lr=0)))
    res = runner.invoke(app, ["train", str(config), "--out", str(tmp_path / "r")])
    assert res.exit_code == 2
    assert "training.lr: Input should be greater than 0" in res.output
    res = runner.invoke(app, ["evaluate", str(tmp_path / "nothing")])
    assert res.exit_code == 2 and "is not a run directory" in res.output


@pytest.mark.slow
def test_demo_trains_to_criterion_and_writes_figures(tmp_path):
    res = CliRunner().invoke(app, ["demo", "--out", str(tmp_path), "--no-progress"])
    assert res.exit_code == 0, res.output
    for name in ("learning_curve", "psychometric", "pca", "example_trial"):
        png = tmp_path / "figures" / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((tmp_path / "analysis.json").read_text())
    assert summary["status"] == "criterion"
    assert summary["accuracy_at_stop"] >= summary["criterion"]
    # Easy trials are solved; the psychometric curve rises with signed coherence.
    assert summary["probe_accuracy_by_coherence"]["51.2"] > 0.95
    assert summary["psychometric"]["scale"] > 0


def test_a_killed_training_process_resumes_to_the_same_curve(tmp_path):
    """SIGKILL mid-run, then rerun the same command: the metrics equal an uninterrupted run."""
    import os
    import signal
    import subprocess
    import sys
    import time

    cfg = _with(training__steps=200, training__eval_every=10, training__eval_trials=20)
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(cfg))
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    cmd = [sys.executable, "-m", "brainlike.cli", "train", str(config), "--no-progress", "--out"]
    proc = subprocess.Popen([*cmd, str(killed)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600  # generous: a loaded machine imports torch slowly
    metrics = killed / "metrics.jsonl"
    while time.monotonic() < deadline and proc.poll() is None:
        if metrics.exists() and len(metrics.read_text().splitlines()) >= 30:
            break
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    rows = metrics.read_text().splitlines()
    assert 30 <= len(rows) < 200, "the kill must land mid-run"
    subprocess.run([*cmd, str(killed)], check=True, capture_output=True)
    subprocess.run([*cmd, str(clean)], check=True, capture_output=True)
    a = [json.loads(x) for x in metrics.read_text().splitlines()]
    b = [json.loads(x) for x in (clean / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in a] == list(range(1, 201))
    # Bitwise equality is the fact under test: per-step seeds make training deterministic.
    assert a == b


def test_multitask_config_trains_and_logs_per_task_accuracy(tmp_path):
    cfg = parse_config({
        "task": {"tasks": ["yang19.go", {"name": "yang19.anti", "params": {"sigma_x": 0.0}}],
                 "probabilities": {"yang19.go": 1, "yang19.anti": 3}},
        "model": {"n_hidden": 16, "tau": 100.0},
        "training": {"steps": 4, "batch_size": 4, "eval_every": 2, "eval_trials": 8},
    })
    task = cfg.task.build()
    assert list(task.tasks) == ["yang19.go", "yang19.anti"]
    assert task.probabilities == {"yang19.go": 0.25, "yang19.anti": 0.75}
    assert task.tasks["yang19.anti"].params["sigma_x"] == 0.0
    run_training(cfg, tmp_path)
    rows = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in rows if "accuracy" in r]
    assert [r["step"] for r in evals] == [2, 4]
    for r in evals:
        assert r["accuracy"] == min(r["accuracy/yang19.go"], r["accuracy/yang19.anti"])
    assert load_run(tmp_path).task.name == task.name
    assert sorted(evaluate_run(tmp_path, n_trials=8)) == ["yang19.anti", "yang19.go"]


@pytest.mark.parametrize(
    ("task", "match"),
    [
        ({"name": "yang19.go", "tasks": ["yang19.go"]}, "either name .* or tasks"),
        ({}, "either name .* or tasks"),
        ({"name": "yang19.go", "probabilities": [1.0]}, "probabilities apply to tasks"),
        ({"tasks": ["yang19.go", "perceptual_decision"]}, r"task: tasks must share n_inputs: .yang19.go. has 85, .perceptual_decision. has 3"),
    ],
)
def test_bad_multitask_configs(task, match):
    with pytest.raises(ConfigError, match=match):
        parse_config({"task": task})

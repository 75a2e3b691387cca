"""training.algorithm: force | feedback_alignment | rflo | eprop through the run config and the
`brainlike train` command: validation names what is wrong, runs write and resume a directory."""

import json
import re

import pytest
import yaml
from typer.testing import CliRunner

from brainlike.cli import app
from brainlike.experiments import ConfigError, dump_config, load_run, parse_config, run_training
from brainlike.experiments._config import ALGORITHMS

PDM = {"name": "perceptual_decision", "params": {"dt": 100.0}}
SMALL = {"steps": 2, "batch_size": 4, "eval_every": 2, "eval_trials": 8}


@pytest.mark.parametrize("algorithm", ["feedback_alignment", "rflo", "eprop"])
def test_gradient_rules_train_a_rate_network_from_a_config(algorithm, tmp_path):
    cfg = parse_config({"task": PDM, "model": {"n_hidden": 6},
                        "training": {"algorithm": algorithm, **SMALL}})
    assert parse_config(yaml.safe_load(dump_config(cfg))) == cfg
    result = run_training(cfg, tmp_path)
    assert result.steps == 2 and 0.0 <= result.accuracy <= 1.0
    assert load_run(tmp_path).config.training.algorithm == algorithm
    assert run_training(cfg, tmp_path).steps == 2  # finished: returns at once


def test_eprop_trains_a_spiking_network_from_the_command_line_and_resumes(tmp_path):
    config = tmp_path / "eprop.yaml"
    config.write_text(yaml.safe_dump({
        "task": {"name": "perceptual_decision", "params": {"dt": 20.0}},
        "model": {"type": "spiking", "n_hidden": 6, "sigma_rec": 0.1},
        "training": {"algorithm": "eprop", "feedback": "random", **SMALL},
    }))
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["train", str(config), "--out", str(out), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "max_steps after 2 steps" in res.output
    assert load_run(out).config.model.type == "spiking"
    assert json.loads((out / "summary.json").read_text())["steps"] == 2
    res = CliRunner().invoke(app, ["train", str(config), "--out", str(out), "--no-progress"])
    assert res.exit_code == 0 and "max_steps after 2 steps" in res.output  # finished: resumed


def test_force_runs_from_the_command_line(tmp_path):
    config = tmp_path / "force.yaml"
    config.write_text(yaml.safe_dump({
        "task": {"name": "sum_of_sines", "params": {"timing": {"generate": 50.0}}},
        "model": {"type": "feedback", "n_hidden": 30, "readout_scale": 0.0},
        "training": {"algorithm": "force", "steps": 3, "eval_every": 3},
    }))
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["train", str(config), "--out", str(out), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "max_steps after 3 steps" in res.output
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3] and "eval_mae" in rows[-1]
    assert json.loads((out / "summary.json").read_text())["steps"] == 3


def test_configs_refuse_models_penalties_and_options_an_algorithm_does_not_take():
    cases = [
        ({"task": {"name": "sum_of_sines"}, "training": {"algorithm": "force"}},
         r"training.algorithm 'force' trains model.type \['feedback'\]; got 'rate'"),
        ({"task": PDM, "model": {"type": "gru"}, "training": {"algorithm": "eprop"}},
         r"training.algorithm 'eprop' trains model.type \['rate', 'spiking'\]; got 'gru'"),
        ({"task": PDM, "model": {"type": "spiking"}, "training": {"algorithm": "rflo"}},
         r"training.algorithm 'rflo' trains model.type \['rate'\]; got 'spiking'"),
        ({"task": PDM, "model": {"type": "spiking"},
          "training": {"algorithm": "eprop", "trace": "full"}},
         r"training.trace 'full' is for model.type 'rate'; a 'spiking' model trains with "
         r"e-prop's local traces"),
        ({"task": PDM, "training": {"algorithm": "rflo"}, "penalties": {"l2_rate": 0.1}},
         r"training.algorithm 'rflo' takes no penalties; remove the penalties section"),
        ({"task": PDM, "training": {"algorithm": "feedback_alignment", "mode": "sign"}},
         r"training.mode: Input should be 'fa', 'dfa' or 'backprop' \(got 'sign'\)"),
        ({"task": PDM, "training": {"algorithm": "eprop", "alpha": 1.0}},
         r"training.alpha: Extra inputs are not permitted"),
        ({"task": PDM, "training": {"algorithm": "hebb"}},
         "training.algorithm: must be one of " + re.escape(str(list(ALGORITHMS)))),
    ]
    for data, message in cases:
        with pytest.raises(ConfigError, match=message):
            parse_config(data)

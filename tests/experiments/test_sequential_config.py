"""Run configs for continual learning: ``task.blocks`` (a sequential schedule), ``training.continual``
and the model option ``context_gating`` (XdG), through run directories and the CLI."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from brainlike.cli import app
from brainlike.experiments import ConfigError, evaluate_run, load_run, parse_config, run_training
from brainlike.models import ContextGated
from brainlike.tasks import Sequential

GO = {"name": "yang19.go", "params": {"dt": 100.0}}
ANTI = {"name": "yang19.anti", "params": {"dt": 100.0}}
SEQ = {
    "task": {"blocks": [{"tasks": [GO], "steps": 3}, {"tasks": [ANTI], "steps": 3}]},
    "model": {"n_hidden": 16, "tau": 100.0},
    "training": {"batch_size": 4, "eval_every": 100, "eval_trials": 8,
                 "continual": {"method": "si", "strength": 1.0}},
}


def _with(base, **patch):
    data = json.loads(json.dumps(base))
    for dotted, value in patch.items():
        node = data
        *parents, leaf = dotted.split("__")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return data


def test_a_sequential_config_trains_block_by_block_and_writes_the_retention_matrix(tmp_path):
    cfg = parse_config(SEQ)
    assert cfg.training.loss_normalization == "entries"  # Yang et al.'s, as for their multi-task
    assert cfg.training.continual.damping == 0.01
    task = cfg.task.build()
    assert isinstance(task, Sequential) and task.ends == (3, 6)
    result = run_training(cfg, tmp_path)
    assert result.steps == 6 and result.retention.shape == (2, 2)
    saved = json.loads((tmp_path / "retention.json").read_text())
    assert saved["tasks"] == ["yang19.go", "yang19.anti"] and saved["accuracy"][0][1] is None
    rows = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "accuracy" in r] == [3, 6]
    assert rows[-1]["penalty"] > 0 and rows[2]["penalty"] == 0
    run = load_run(tmp_path)
    assert run.task.name == "yang19.go > yang19.anti"
    assert sorted(evaluate_run(tmp_path, n_trials=8)) == ["yang19.anti", "yang19.go"]
    assert run_training(cfg, tmp_path).steps == 6  # a finished run returns at once


def test_the_cli_trains_a_sequential_config(tmp_path):
    path = tmp_path / "seq.yaml"
    path.write_text(yaml.safe_dump(_with(SEQ, training__continual={"method": "ewc",
                                                                    "strength": 10.0,
                                                                    "fisher_trials": 2,
                                                                    "fisher": "true"})))
    result = CliRunner().invoke(app, ["train", str(path), "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "retention.json").is_file()


@pytest.mark.parametrize(
    ("patch", "match"),
    [
        ({"task": {"name": "yang19.go"}},
         r"training.continual needs a sequential schedule: give task.blocks"),
        ({"training__steps": 5}, r"training.steps \(5\) must be left out or equal the blocks' "
                                 r"steps \(6\) for a sequential schedule"),
        ({"training__criterion": 0.9}, r"leave out training.criterion"),
        ({"training__schedule": "cosine"}, r"constant learning rate; got training.schedule 'cosine'"),
        ({"training__continual": {"method": "lwf", "strength": 1.0}},
         r"training.continual: Input tag 'lwf' found using 'method' does not match any of the "
         r"expected tags: 'ewc', 'si'"),
        ({"training__continual": {"method": "si", "strength": -1.0}},
         r"training.continual.si.strength: Input should be greater than or equal to 0"),
        ({"training__continual": {"method": "si", "strength": 1.0, "fisher_trials": 3}},
         r"training.continual.si.fisher_trials: Extra inputs are not permitted"),
        ({"training__continual": {"method": "ewc", "strength": 1.0, "fisher": "exact"}},
         r"training.continual.ewc.fisher: Input should be 'empirical' or 'true'"),
        ({"task": {"name": "yang19.go", "blocks": [{"tasks": ["yang19.go"], "steps": 1}]}},
         r"give either name \(one task\) or tasks \(a multi-task\) or blocks .*got \['name', "
         r"'blocks'\]"),
        ({"task": {"blocks": [{"tasks": ["yang19.go"], "steps": 0}]}},
         r"task.blocks.0.steps: Input should be greater than or equal to 1"),
        ({"task": {"blocks": [{"tasks": ["yang19.go"], "steps": 2},
                              {"tasks": ["perceptual_decision"], "steps": 2}]}},
         r"the tasks of all blocks must share n_inputs: 'yang19.go' has 85, "
         r"'perceptual_decision' has 3"),
    ],
)
def test_bad_sequential_configs_name_the_field(patch, match):
    with pytest.raises(ConfigError, match=match):
        parse_config(_with(SEQ, **patch))


def test_context_gating_is_a_model_option_for_every_kind(tmp_path):
    cfg = parse_config(_with(SEQ, model={"type": "gru", "n_hidden": 16,
                                         "context_gating": {"context_inputs": "rule_",
                                                            "keep": 0.25}}))
    run_training(cfg, tmp_path)
    model = load_run(tmp_path).model
    assert isinstance(model, ContextGated) and model.config()["model"]["type"] == "gru"
    assert model.context_inputs == list(range(65, 85)) and int(model.gates[0].sum()) == 4
    with pytest.raises(ConfigError, match=r"no input of task 'yang19.go > yang19.anti' starts "
                                          r"with 'cue_'"):
        parse_config(_with(SEQ, model__context_gating={"context_inputs": "cue_"}))
    with pytest.raises(ConfigError, match=r"context_inputs must be distinct input channels of "
                                          r"task .* \(< 85\); got \[3, 85\]"):
        parse_config(_with(SEQ, model__context_gating={"context_inputs": [3, 85]}))
    with pytest.raises(ConfigError, match=r"model.context_gating.keep: Input should be less than "
                                          r"or equal to 1"):
        parse_config(_with(SEQ, model__context_gating={"context_inputs": [3], "keep": 2.0}))

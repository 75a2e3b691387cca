"""Every registered model kind through the run machinery: its config section (derived from the
constructor), train, resume, evaluate, load_run, Recording.from_run, sweeps; the seed streams of
a network and its connectivity; run directories written before the model registry still load."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
import yaml
from typer.testing import CliRunner

from brainlike import models
from brainlike.cli import app
from brainlike.experiments import (
    ConfigError,
    build_model,
    dump_config,
    evaluate_run,
    load_config,
    load_run,
    model_config_class,
    parse_config,
    run_training,
)
from brainlike.experiments.sweeps import ensemble_groups, parse_sweep
from brainlike.models import Dale, RateRNN, derive_seed
from brainlike.recordings import Recording
from brainlike.training import train_ensemble

TASK = {"name": "memory_report"}
TRAIN = {"steps": 2, "batch_size": 4, "eval_every": 2, "eval_trials": 8}


def _config(kind, **model):
    return parse_config({"task": TASK, "model": {"type": kind, "n_hidden": 6, **model},
                         "training": TRAIN})


@pytest.mark.parametrize("kind", models.names())
def test_each_kind_has_a_config_section_derived_from_its_constructor(kind):
    cls = model_config_class(kind)
    fields = set(cls.model_fields) - {"type", "context_gating"}  # the kind, an option of every kind
    configurable = {name for name, a in models.arguments(kind).items()
                    if name not in ("n_input", "n_output", "dt")
                    and any(t in (bool, int, float, str) or t.__name__ == "Mapping" for t in a.types)}
    assert fields == configurable
    cfg = _config(kind)
    assert cfg.model.type == kind and cfg.model.seed == 0
    assert parse_config(yaml.safe_load(dump_config(cfg))) == cfg
    model = build_model(cfg, cfg.task.build())
    assert models.kind_of(model) == kind and model.n_hidden == 6
    assert model.dt == cfg.task.build().dt
    with pytest.raises(ConfigError, match=r"model\.n_hidden: Input should be greater than or equal to 1 \(got 0\)"):
        _config(kind, n_hidden=0)
    with pytest.raises(ConfigError, match=r"model\.seed: Input should be a valid integer \(got 1\.5\)"):
        _config(kind, seed=1.5)
    with pytest.raises(ConfigError, match=r"model\.colour: Extra inputs are not permitted"):
        _config(kind, colour=3)


def test_config_errors_name_the_field_and_the_kinds():
    kinds = re.escape(str([*models.names(), *models.names("feedforward")]))
    with pytest.raises(ConfigError, match=rf"model: type must be one of {kinds} \(got 'transformer'\)"):
        _config("transformer")
    with pytest.raises(ConfigError, match=r"model\.tau: Extra inputs are not permitted \(got 50\.0\)"):
        _config("lstm", tau=50.0)
    with pytest.raises(ConfigError, match=r"model\.forget_bias: Input should be a finite number"):
        _config("lstm", forget_bias=float("inf"))
    with pytest.raises(ConfigError, match=r"model\.noise_convention: must be one of \['inside_f', 'on_state'\] \(got 'outside'\)"):
        _config("rate", noise_convention="outside")
    with pytest.raises(ConfigError, match=r"model\.train_initial_state: Input should be a valid boolean \(got 1\)"):
        _config("gru", train_initial_state=1)
    with pytest.raises(ConfigError, match=r"model: must be a mapping with a 'type'"):
        parse_config({"task": TASK, "model": [1, 2]})


def test_run_directories_written_before_the_registry_still_load(tmp_path):
    """A config.yaml as round 1 wrote it (type: RateRNN, no noise_convention) validates to the
    same config as today's spelling, and a RateRNN's state_dict keys are round 1's (so its
    checkpoints load)."""
    old = {"task": {"name": "perceptual_decision", "params": {"dt": 100.0}},
           "model": {"type": "RateRNN", "n_hidden": 8, "tau": 100.0, "activation": "relu",
                     "sigma_rec": 0.0, "w_rec_init": "orthogonal", "w_rec_gain": None,
                     "train_initial_state": False, "seed": 1, "connectivity": None},
           "training": {"steps": 2, "batch_size": 4, "eval_every": 2, "eval_trials": 8}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(old, sort_keys=False))
    cfg = load_config(tmp_path / "config.yaml")
    assert cfg.model.type == "rate" and cfg.model.noise_convention == "inside_f"
    assert parse_config({**old, "model": {"n_hidden": 8, "seed": 1}}) == cfg  # no type: rate
    run_training(cfg, tmp_path)  # accepted as the directory's own config
    assert load_run(tmp_path).config == cfg
    keys = sorted(RateRNN(3, 4, 2, seed=0).state_dict())
    assert keys == ["b_out", "b_rec", "r0", "w_in", "w_out", "w_rec"]


def test_old_connectivity_checkpoints_load_their_own_weights(tmp_path):
    """Round 1 seeded a config's connectivity with the model's seed; today it gets its own
    stream. A checkpoint of the old network still loads exactly: weights, masks and fixed
    parts are all in its state_dict."""
    spec = {"type": "dale", "e_fraction": 0.75, "density": 0.5}
    cfg = parse_config({"task": {"name": "perceptual_decision", "params": {"dt": 100.0}},
                        "model": {"n_hidden": 12, "seed": 3, "connectivity": spec}})
    task = cfg.task.build()
    old = RateRNN(task.n_inputs, 12, task.n_outputs, dt=task.dt, seed=3,
                  connectivity=Dale(12, e_fraction=0.75, density=0.5, seed=3))
    new = build_model(cfg, task)
    assert not torch.equal(old.effective_weights().w_rec, new.effective_weights().w_rec)
    new.load_state_dict(old.state_dict())
    for a, b in zip(old.effective_weights().__dict__.values(), new.effective_weights().__dict__.values()):
        assert torch.equal(a, b)


def test_network_and_connectivity_draw_from_independent_streams():
    spec = {"type": "dale", "e_fraction": 0.8}
    net = RateRNN(3, 20, 2, connectivity=spec, seed=5)
    assert net.connectivity.config()["seed"] == derive_seed(5, 1) != 5
    twin = RateRNN(3, 20, 2, connectivity=Dale(20, e_fraction=0.8, seed=derive_seed(5, 1)), seed=5)
    same_stream = Dale(20, e_fraction=0.8, seed=5)  # what round 1 did: the network's own stream
    assert torch.equal(net.connectivity.weight, twin.connectivity.weight)
    assert not torch.equal(net.connectivity.weight, same_stream.weight)
    assert torch.equal(net.w_in, twin.w_in)  # the network's own draws do not depend on it
    with pytest.raises(ValueError, match=r"connectivity 'type' must be one of"):
        RateRNN(3, 20, 2, connectivity={"type": "dales"})


@pytest.mark.parametrize("kind", models.names())
def test_train_resume_evaluate_load_and_record_every_kind(kind, tmp_path):
    cfg = _config(kind)
    first = run_training(cfg, tmp_path)
    assert first.steps == 2 and (tmp_path / "checkpoint.safetensors").is_file()
    again = run_training(cfg, tmp_path)
    np.testing.assert_array_equal(again.history["loss"], first.history["loss"])
    run = load_run(tmp_path)
    assert models.kind_of(run.model) == kind
    (name, ev), = evaluate_run(tmp_path, n_trials=20).items()
    assert name == "memory_report" and ev.correct.shape == (20,)
    rec = Recording.from_run(run, n_trials=10, seed=2)
    assert rec.data.shape[0] == 10 and rec.n_units == 6
    # noise off: the recording is the model's activity on noise-free trials
    batch = run.task.generate(10, seed=2, noise=False)
    with torch.no_grad():
        act = run.model(torch.tensor(batch.inputs), noise=False).activity.double().numpy()
    valid = np.arange(batch.n_steps) < batch.lengths[:, None]
    np.testing.assert_allclose(rec.data[valid], act[valid], rtol=1e-12)


def test_cli_trains_an_lstm(tmp_path):
    path = tmp_path / "lstm.yaml"
    path.write_text(yaml.safe_dump({"task": TASK, "model": {"type": "lstm", "n_hidden": 4},
                                    "training": TRAIN}))
    res = CliRunner().invoke(app, ["train", str(path), "--out", str(tmp_path / "run"), "--no-progress"])
    assert res.exit_code == 0, res.output
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["model"]["type"] == "lstm"
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["steps"] == 2


def test_ensembles_stay_rate_networks_only():
    sweep = parse_sweep({"base": {"task": TASK, "model": {"type": "lstm", "n_hidden": 4},
                                  "training": TRAIN}, "seeds": [0, 1, 2]})
    assert [len(g) for g in ensemble_groups(sweep)] == [1, 1, 1]  # trained one by one
    rate = parse_sweep({"base": {"task": TASK, "model": {"n_hidden": 4}, "training": TRAIN},
                        "seeds": [0, 1, 2]})
    assert [len(g) for g in ensemble_groups(rate)] == [3]
    state = parse_sweep({"base": {"task": TASK, "model": {"n_hidden": 4, "sigma_rec": 0.1,
                                                          "noise_convention": "on_state"},
                                  "training": TRAIN}, "seeds": [0, 1]})
    assert [len(g) for g in ensemble_groups(state)] == [1, 1]
    task = _config("lstm").task.build()
    lstm = models.make("lstm", task.n_inputs, 4, task.n_outputs, dt=task.dt)
    with pytest.raises(TypeError, match=r"train_ensemble trains RateRNN members; models\[0\] is a LSTM"):
        train_ensemble([lstm], task, seeds=[0], steps=1)
    noisy = models.make("rate", task.n_inputs, 4, task.n_outputs, dt=task.dt, tau=100.0,
                        sigma_rec=0.1, noise_convention="on_state")
    with pytest.raises(ValueError, match=r"models\[0\] uses 'on_state'\. Train them one by one"):
        train_ensemble([noisy], task, seeds=[0], steps=1)

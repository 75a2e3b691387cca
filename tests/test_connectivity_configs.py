"""Run configs can ask for Dale, sparse, low-rank and multi-area networks; old configs still work."""

import json

import pytest
import torch

from brainlike.experiments import ConfigError, build_model, dump_config, load_config, parse_config
from brainlike.models import Dale, LowRank, MultiArea, SparseMask

BASE = {
    "task": {"name": "perceptual_decision", "params": {"dt": 100.0}},
    "model": {"n_hidden": 20, "tau": 100.0, "seed": 1},
    "training": {"steps": 3, "batch_size": 4, "eval_every": 3, "eval_trials": 10},
}

AREAS = {
    "type": "multi_area",
    "areas": [{"name": "sensory", "n_units": 12}, {"name": "decision", "n_units": 8}],
    "projections": [
        {"source": "sensory", "target": "decision", "density": 0.3},
        {"source": "decision", "target": "sensory", "density": 0.1},
    ],
}


def _config(connectivity):
    data = json.loads(json.dumps(BASE))
    data["model"]["connectivity"] = connectivity
    return parse_config(data)


def test_config_without_connectivity_builds_the_plain_network():
    cfg = parse_config(BASE)
    model = build_model(cfg, cfg.task.build())
    assert model.connectivity is None and isinstance(model.w_rec, torch.nn.Parameter)


@pytest.mark.parametrize(
    ("spec", "cls"),
    [
        ({"type": "dale", "e_fraction": 0.75, "positive": "abs"}, Dale),
        ({"type": "sparse", "density": 0.3}, SparseMask),
        ({"type": "low_rank", "rank": 2}, LowRank),
        (AREAS, MultiArea),
    ],
)
def test_connectivity_configs_build_and_round_trip_through_yaml(tmp_path, spec, cls):
    cfg = _config(spec)
    path = tmp_path / "run.yaml"
    path.write_text(dump_config(cfg))
    again = load_config(path)
    assert again == cfg
    a = build_model(cfg, cfg.task.build())
    b = build_model(again, again.task.build())
    assert isinstance(a.connectivity, cls)
    # Same seed, same network: the connectivity seed defaults to the model's.
    torch.testing.assert_close(a.effective_weights().w_rec, b.effective_weights().w_rec, rtol=0, atol=0)


def test_dale_config_gives_the_requested_split():
    model = build_model(_config({"type": "dale", "e_fraction": 0.75}), parse_config(BASE).task.build())
    assert int((model.connectivity.cell_sign > 0).sum()) == 15


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"type": "dales_law"}, "connectivity 'type' must be one of"),
        ({"type": "dale", "e_fraction": 2.0}, "'e_fraction' parameter of Dale"),
        ({"type": "dale", "excitatory": 0.8}, "bad 'dale' connectivity arguments"),
        ({"type": "low_rank", "rank": 30}, "'rank' parameter of LowRank must be <= n_units=20"),
        ({**AREAS, "areas": [{"name": "a", "n_units": 5}]}, "areas must add up to n_hidden"),
        ({"type": "sparse", "density": 0.2, "n_units": 10}, "Expected 20, got 10"),
    ],
)
def test_bad_connectivity_configs_are_rejected_with_the_reason(spec, message):
    with pytest.raises(ConfigError, match=message):
        _config(spec)

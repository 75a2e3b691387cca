"""Bad input at the CLI and run-directory boundary: named errors with exit 2, never a traceback,
never a directory poisoned by a refused start; and a fuzz test over the run config."""

import json
import math
import random

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from brainlike.cli import app
from brainlike.experiments import (
    ConfigError,
    _run,
    evaluate_run,
    load_run,
    parse_config,
    run_training,
)
from brainlike.experiments._config import ALGORITHMS
from brainlike.training import RunDirectoryError
from brainlike.training._checkpoint import CHECKPOINT

BASE = {
    "task": {"name": "perceptual_decision", "params": {"dt": 100.0}},
    "model": {"n_hidden": 4, "tau": 100.0},
    "training": {"steps": 2, "batch_size": 2, "eval_every": 2, "eval_trials": 4},
}


def _cli(*args):
    res = CliRunner().invoke(app, [str(a) for a in args])
    return res.exit_code, res.output, res.exception


def _train_cli(config_text, out, *extra, where=None):
    path = (where or out.parent) / f"{out.name}.yaml"
    if isinstance(config_text, bytes):
        path.write_bytes(config_text)
    else:
        path.write_text(config_text)
    return _cli("train", path, "--out", out, "--no-progress", *extra)


def _refused(code, output, exception, match):
    assert code == 2, output
    assert isinstance(exception, SystemExit), exception  # typer.Exit, not a traceback
    assert output.startswith("error: "), output
    assert match in output, output


_BOMB = "\n".join(
    ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    + [f"a{k}: &a{k} [{', '.join([f'*a{k - 1}'] * 10)}]" for k in range(1, 9)]
    + ["task: {name: perceptual_decision, params: {dt: 100.0}}", "training: {steps: *a8}"]
)


def _yaml_with(**fields):
    data = json.loads(json.dumps(BASE))
    for dotted, value in fields.items():
        node = data
        *parents, leaf = dotted.split("__")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return yaml.safe_dump(data)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (_BOMB, "expands to more than 100000 YAML nodes (through aliases)"),
        (bytes(range(256)) * 4, "is not a text (UTF-8) file"),
        ("task: {name: perceptual_decision}\ntraining: {lr: 0.1, lr: 0.2}\n",
         "found the key 'lr' twice"),
        ("task: {name: perceptual_decision}\ntask: {name: yang19.go}\n", "found the key 'task' twice"),
        (_yaml_with(training__steps=True), "training.steps: Input should be a valid integer (got True)"),
        (_yaml_with(model__tau=math.inf), "model.tau: Input should be a finite number (got inf)"),
        (_yaml_with(training__lr=math.inf), "training.lr: Input should be a finite number"),
        (_yaml_with(model__sigma_rec=math.inf), "model.sigma_rec: Input should be a finite number"),
        (_yaml_with(model__w_rec_gain=math.inf), "model.w_rec_gain: Input should be a finite number"),
        (_yaml_with(training__weight_decay=math.inf), "training.weight_decay: Input should be a finite"),
        (_yaml_with(penalties__l2_rate=math.inf), "penalties.l2_rate: Input should be a finite number"),
        (_yaml_with(training__seed=2**64), "training.seed: must be an integer in [-2**63, 2**63)"),
        (_yaml_with(model__seed=2**63), "model.seed: Input should be less than or equal to 9223372036854775807"),
        (_yaml_with(model__n_hidden=10**30), "model.n_hidden: Input should be less than or equal to 1048576"),
        (_yaml_with(model__n_hidden=2**40), "model.n_hidden: Input should be less than or equal to 1048576"),
        (_yaml_with(training__batch_size=2**63), "training.batch_size: must be an integer in"),
        (_yaml_with(training__batch_size=2**62), "need 2.65e+12 GiB for inputs and targets alone"),
        (_yaml_with(threads=10**30), "threads: Input should be less than or equal to 1024"),
        (_yaml_with(threads=2**63), "threads: Input should be less than or equal to 1024"),
        (_yaml_with(model__n_hidden=2**63), "model.n_hidden: Input should be less than or equal to "
                                            "1048576"),
        (_yaml_with(training__batch_size=10**30), "training.batch_size: must be an integer in"),
        (_yaml_with(task__params={"dt": 1e-300}), "at dt=1e-300 ms its epoch 'fixation' lasts more "
                                                  "than 2**63 steps; raise dt"),
        (_yaml_with(training__lr=1e39), "training.lr: Input should be less than or equal to 3.4e+38"),
        (_yaml_with(training__algorithm="telepathy"),  # every registered algorithm is listed
         f"training.algorithm: must be one of {list(ALGORITHMS)} (got 'telepathy')"),
        (_yaml_with(task__name="ready_set_go", task__params={},
                    training__criterion_of_ceiling=0.9),
         "criterion_of_ceiling is set but task 'ready_set_go' has no known ceiling"),
    ],
)
def test_bad_configs_are_named_errors_and_write_nothing(tmp_path, text, match):
    out = tmp_path / "run"
    _refused(*_train_cli(text, out), match)
    assert not out.exists()


def test_a_refused_start_does_not_poison_the_directory(tmp_path, monkeypatch):
    """Item 6: nothing is written before the model is built and the run is known."""
    def broken(config, task):
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory")

    monkeypatch.setattr(_run, "build_model", broken)
    with pytest.raises(ConfigError, match=r"model: cannot build it \(RuntimeError: "
                                          r"DefaultCPUAllocator"):
        run_training(parse_config(BASE), tmp_path / "run")
    assert not (tmp_path / "run").exists()
    monkeypatch.undo()
    assert run_training(parse_config(BASE), tmp_path / "run").steps == 2  # not "another config"


def test_a_checkpoint_without_its_config_is_not_rewritten_as_another_run(tmp_path):
    """Item 4 at the run layer: config.yaml missing, a config with another model is refused."""
    run_training(parse_config(BASE), tmp_path)
    (tmp_path / "config.yaml").unlink()
    other = json.loads(json.dumps(BASE))
    other["model"]["activation"] = "tanh"
    with pytest.raises(ConfigError, match=r"holds a checkpoint but no config\.yaml"):
        run_training(parse_config(other), tmp_path)
    assert not (tmp_path / "config.yaml").exists()


def test_training_longer_from_the_cli_continues_the_run(tmp_path):
    """Item 9: only training.steps raised: the run continues (constant schedule)."""
    out = tmp_path / "run"
    code, output, _ = _train_cli(_yaml_with(training__steps=4), out)
    assert code == 0 and "max_steps after 4 steps" in output, output
    code, output, _ = _train_cli(_yaml_with(training__steps=6), out)
    assert code == 0 and "max_steps after 6 steps" in output, output
    assert json.loads((out / "summary.json").read_text())["steps"] == 6
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, 7))
    _refused(*_train_cli(_yaml_with(training__steps=6, training__lr=0.1), out),
             "holds a run with another config")


def test_evaluate_prints_the_scores_before_failing_to_save_them(tmp_path):
    """Item 8: the scores come first; then why evaluation.json could not be written."""
    run_training(parse_config(BASE), tmp_path)
    (tmp_path / "evaluation.json").mkdir()  # unwritable as a file, whoever runs the test
    code, output, _ = _cli("evaluate", tmp_path, "--trials", "20")
    assert code == 1
    assert output.index("perceptual_decision: accuracy") < output.index("error: the scores "
                                                                         "above were not saved")
    assert "could not write" in output and "Is a directory" in output


def test_damaged_run_directories_are_named_errors(tmp_path):
    run_training(parse_config(BASE), tmp_path)
    (tmp_path / "summary.json").write_text('{"status": "max_')  # torn
    with pytest.raises(RunDirectoryError, match=r"summary.json is damaged"):
        load_run(tmp_path)
    _refused(*_cli("evaluate", tmp_path), "summary.json is damaged")
    (tmp_path / CHECKPOINT).write_bytes(b"\x00" * 10)
    _refused(*_train_cli(yaml.safe_dump(BASE), tmp_path), "--restart")
    code, output, _ = _train_cli(yaml.safe_dump(BASE), tmp_path, "--restart")
    assert code == 0, output
    assert evaluate_run(tmp_path, n_trials=4)["perceptual_decision"].correct.shape == (4,)


def test_an_output_directory_that_cannot_be_created_is_a_named_error(tmp_path):
    (tmp_path / "file").write_text("")
    _refused(*_train_cli(yaml.safe_dump(BASE), tmp_path / "file" / "run", where=tmp_path),
             "cannot create run directory")


# -- the fuzz test ------------------------------------------------------------------------------

_ODD = [None, True, "x", "", [], {}, [1, 2], {"a": 1}, -1, 0, 1.5, -0.5, 10**30, 2**63,
        -(2**63) - 1, 1e308, 1e39, 1e-300, math.inf, -math.inf, math.nan, "1e3"]
# Valid replacements (a run with them trains), and keys whose default would train for minutes.
_BENIGN = {"lr": [1e-2, 1e-300], "tau": [200.0, 1e308], "n_hidden": [3], "seed": [7, 2**63 - 1],
           "dt": [50.0], "batch_size": [3], "activation": ["tanh"], "sigma_rec": [0.1],
           "weight_decay": [1e-4], "schedule": ["cosine"], "threads": [1]}
_BUDGET = {"training", "model", "steps", "batch_size", "eval_trials", "n_hidden"}


class _Dup(list):
    """A mapping written with a repeated key."""


def _to_json(node) -> str:
    if isinstance(node, _Dup):
        return "{" + ", ".join(f"{json.dumps(k)}: {_to_json(v)}" for k, v in node) + "}"
    if isinstance(node, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {_to_json(v)}" for k, v in node.items()) + "}"
    if isinstance(node, list):
        return "[" + ", ".join(_to_json(v) for v in node) + "]"
    if isinstance(node, float):
        if not math.isfinite(node):
            return {math.inf: ".inf", -math.inf: "-.inf"}.get(node, ".nan")
        mantissa, _, exponent = repr(node).partition("e")
        if exponent:  # YAML 1.1 reads 1e+39 as a string: it needs 1.0e+39
            return f"{mantissa if '.' in mantissa else mantissa + '.0'}e{exponent}"
    return json.dumps(node)


def _paths(node, prefix=()):
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    return out


def _mutate(rng: random.Random):
    """A mutated copy of BASE, and (section path, key, value) to write a second time."""
    data = json.loads(json.dumps(BASE))
    duplicate = None
    for _ in range(rng.randint(1, 2)):
        path = rng.choice([p for p in _paths(data) if p])
        parent = data
        for k in path[:-1]:
            parent = parent[k]
        kind = rng.choice(["value", "benign", "benign", "unknown", "delete", "nest", "duplicate"])
        leaf = path[-1]
        if kind == "value":
            parent[leaf] = rng.choice(_ODD)
        elif kind == "benign":
            key = rng.choice(sorted(_BENIGN))
            section = data["task"]["params"] if key == "dt" else data if key == "threads" else (
                data.get("model") if key in ("tau", "n_hidden", "activation", "sigma_rec")
                else data.get("training"))
            if isinstance(section, dict):
                section[key] = rng.choice(_BENIGN[key])
        elif kind == "unknown":
            parent[rng.choice(["colour", "lrr", "steps ", "Model"])] = rng.choice(_ODD)
        elif kind == "delete" and leaf not in _BUDGET:
            del parent[leaf]
        elif kind == "nest":
            parent[leaf] = {"a": {"b": [parent[leaf]]}}
        else:
            duplicate = (path[:-1], leaf, rng.choice(_ODD))
    return data, duplicate


def _render(data, duplicate) -> str:
    def convert(node, path):
        if isinstance(node, dict):
            items = [(k, convert(v, (*path, k))) for k, v in node.items()]
            if duplicate is not None and duplicate[0] == path:
                items.append(duplicate[1:])
                return _Dup(items)
            return dict(items)
        return node

    return _to_json(convert(data, ()))


def test_fuzzed_configs_train_or_are_refused_by_name(tmp_path):
    """Seeded mutations (types, ranges, unknown/duplicate keys, nesting, huge numbers) of a
    valid config: each one trains, or is refused with ``error:`` and exit 2 leaving no trace,
    or (a valid but extreme config, e.g. weights decayed by 1e30) stops with the named
    divergence error and exit 1. Never a traceback."""
    rng = random.Random(20250611)
    outcomes = {"trained": 0, "refused": 0, "diverged": 0}
    for k in range(60):
        text = _render(*_mutate(rng))
        out = tmp_path / f"run{k}"
        code, output, exc = _train_cli(text, out)
        context = f"mutation {k}: {text}\n{output}"
        assert isinstance(exc, (SystemExit, type(None))), f"{context}\n{exc!r}"
        if code == 0:
            assert "max_steps after" in output and (out / CHECKPOINT).exists(), context
            outcomes["trained"] += 1
        elif code == 2:
            assert output.startswith("error: ") and not out.exists(), context
            outcomes["refused"] += 1
        else:
            assert code == 1 and "became" in output, context
            outcomes["diverged"] += 1
    # The mutations reach both sides of the boundary.
    assert outcomes["trained"] >= 5 and outcomes["refused"] >= 30, outcomes


def test_parse_config_error_report_is_bounded_for_huge_inputs():
    """The formatter never builds the repr of a whole (alias-shared) structure."""
    big = ["x"] * 10
    for _ in range(7):
        big = [big] * 10  # 10**8 leaves, shared
    with pytest.raises(ConfigError) as info:
        parse_config({"task": {"name": "perceptual_decision"}, "training": {"steps": big}})
    assert len(str(info.value)) < 400


def test_loss_normalization_defaults_to_the_papers_for_the_yang19_multitask():
    multi = parse_config({"task": {"tasks": ["yang19.go", "yang19.anti"]}})
    assert multi.training.loss_normalization == "entries"
    single = parse_config({"task": {"name": "yang19.go"}})
    assert single.training.loss_normalization == "weights"
    chosen = parse_config({"task": {"tasks": ["yang19.go", "yang19.anti"]},
                           "training": {"loss_normalization": "weights"}})
    assert chosen.training.loss_normalization == "weights"
    assert np.isfinite(multi.training.lr)

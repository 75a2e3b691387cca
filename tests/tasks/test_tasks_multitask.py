"""MultiTask draws one task per batch, scores by the batch's task; Sequential orders blocks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from brainlike.tasks import MultiTask, Sequential, make, names

YANG = [n for n in names() if n.startswith("yang19.")]


def test_draw_frequencies_follow_probabilities():
    mt = MultiTask(["yang19.go", "yang19.dm1"], probabilities={"yang19.go": 1, "yang19.dm1": 3})
    rng = np.random.default_rng(0)
    drawn = [mt.generate(1, seed=rng).task for _ in range(800)]
    share = np.mean([d == "yang19.dm1" for d in drawn])
    # binomial SD at p = 0.75, n = 800 is 0.015; 5 SD
    assert abs(share - 0.75) < 0.08


def test_a_partial_mapping_weighs_the_tasks_it_leaves_out_1_as_the_paper():
    # Yang et al.'s rule_prob_map.get(rule, 1.): the paper model lists only ctxdm1/ctxdm2 (5x);
    # the 18 other tasks keep weight 1 (they were silently dropped when omitted meant 0).
    mt = MultiTask(YANG, probabilities={"yang19.ctxdm1": 5, "yang19.ctxdm2": 5})
    assert len(YANG) == 20
    assert mt.probabilities["yang19.go"] == pytest.approx(1 / 28, rel=1e-12)
    assert mt.probabilities["yang19.ctxdm1"] == pytest.approx(5 / 28, rel=1e-12)
    only = MultiTask(["yang19.go", "yang19.dm1"], probabilities={"yang19.go": 0})
    assert only.probabilities == {"yang19.go": 0.0, "yang19.dm1": 1.0}


def test_same_seed_same_task_and_batch():
    mt = MultiTask(YANG)
    b1, b2 = mt.generate(4, seed=11), mt.generate(4, seed=11)
    assert b1.task == b2.task
    np.testing.assert_array_equal(b1.inputs, b2.inputs)


def test_score_dispatches_on_batch_task():
    mt = MultiTask(YANG)
    for name in ("yang19.dms", "yang19.ctxdm2"):
        b = mt.generate(16, seed=0, task=name)
        assert b.task == name
        assert mt.score(b.targets, b).accuracy == 1.0
    other = make("perceptual_decision").generate(2, seed=0)
    with pytest.raises(ValueError, match=r"batch.task 'perceptual_decision' is not one of"):
        mt.score(np.zeros((2, other.n_steps, 33)), other)


def test_duck_typed_task_attributes_and_params_roundtrip():
    mt = MultiTask(["yang19.go", make("yang19.anti", sigma_x=0.0)], probabilities=[2, 1])
    assert (mt.n_inputs, mt.n_outputs, mt.dt, mt.target_kind) == (85, 33, 20.0, "value")
    assert mt.ceiling is None and mt.name == "yang19.go+yang19.anti"
    again = MultiTask.from_params(json.loads(json.dumps(mt.params)))
    assert again.params == mt.params
    assert again.tasks["yang19.anti"] == mt.tasks["yang19.anti"]


@pytest.mark.parametrize(
    ("args", "exc", "match"),
    [
        ((["yang19.go", "perceptual_decision"],), ValueError, r"tasks must share n_inputs"),
        ((["yang19.go", "yang19.go"],), ValueError, r"distinct names; 'yang19.go' appears twice"),
        ((["yang19.go"], [1, 2]), ValueError, r"one weight per task \(1\)"),
        ((["yang19.go"], [-1]), ValueError, r"must be finite, >= 0 and not all 0"),
        ((["yang19.go"], {"nope": 1}), ValueError, r"unknown task\(s\) \['nope'\]"),
        (("yang19.go",), TypeError, r"non-empty sequence"),
    ],
)
def test_bad_multitask_arguments(args, exc, match):
    with pytest.raises(exc, match=match):
        MultiTask(*args)


def test_conditions_need_a_named_task():
    mt = MultiTask(["yang19.go", "yang19.anti"])
    with pytest.raises(ValueError, match=r"conditions require task=<name>"):
        mt.generate(2, seed=0, conditions={"stim_mod": 1})
    b = mt.generate(2, seed=0, task="yang19.anti", conditions={"stim_mod": 2})
    assert (b.conditions["stim_mod"] == 2).all()


def test_sequential_blocks_in_order():
    plan = Sequential([("yang19.go", 10), (["yang19.dm1", "yang19.dm2"], 5), (MultiTask(["yang19.dms"]), 1)])
    assert plan.total_steps == 16
    assert [plan.block_at(s) for s in (0, 9, 10, 14, 15)] == [0, 0, 1, 1, 2]
    assert plan.task_at(12).name == "yang19.dm1+yang19.dm2"
    assert list(plan.tasks) == ["yang19.go", "yang19.dm1", "yang19.dm2", "yang19.dms"]
    with pytest.raises(ValueError, match=r"step must be < total_steps=16, got 16"):
        plan.block_at(16)
    with pytest.raises(ValueError, match=r"blocks\[0\] steps must be finite and > 0, got 0"):
        Sequential([("yang19.go", 0)])

"""Sequential schedules carry the task protocol; split-class tasks (task- and class-incremental);
data samples as tasks (brainlike.tasks.Sequential, ClassSubset, split_classes, Samples)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from brainlike.tasks import MultiTask, Samples, Sequential, make, split_classes
from brainlike.training._session import task_outputs


def test_a_sequential_schedule_has_the_attributes_of_its_tasks():
    plan = Sequential([("yang19.go", 5), (["yang19.dm1", "yang19.dm2"], 7), ("yang19.go", 2)])
    assert plan.name == "yang19.go > yang19.dm1+yang19.dm2 > yang19.go"
    assert (plan.n_inputs, plan.n_outputs, plan.dt, plan.target_kind) == (85, 33, 20.0, "value")
    assert plan.input_names[0] == "fixation" and plan.ceiling is None
    assert plan.ends == (5, 12, 14) and plan.total_steps == 14
    assert list(plan.tasks) == ["yang19.go", "yang19.dm1", "yang19.dm2"]  # go rehearsed
    params = json.loads(json.dumps(plan.params))
    assert [b["steps"] for b in params["blocks"]] == [5, 7, 2]
    assert list(params["blocks"][1]["tasks"]["tasks"]) == ["yang19.dm1", "yang19.dm2"]


def test_sequential_refuses_blocks_that_one_network_cannot_share():
    with pytest.raises(ValueError, match=r"the tasks of all blocks must share dt: 'yang19.go' has "
                                         r"20.0, 'yang19.anti' has 100.0"):
        Sequential([("yang19.go", 2), (make("yang19.anti", dt=100.0), 2)])
    with pytest.raises(ValueError, match=r"blocks\[1\] has a task named 'yang19.go' that differs "
                                         r"from the earlier task of that name"):
        Sequential([("yang19.go", 2), (make("yang19.go", sigma_x=0.0), 2)])


def test_class_subsets_draw_their_classes_and_read_their_head():
    digits = make("digits")
    tasks = split_classes(digits, 5)
    assert [t.classes for t in tasks] == [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9)]
    t = tasks[2]
    assert t.name == "digits[4,5]" and t.n_outputs == 10 and t.output_units == (4, 5)
    batch = t.generate(200, seed=0)
    assert set(np.unique(batch.targets)) == {4, 5} and batch.task == "digits[4,5]"
    assert torch.equal(torch.tensor(t.generate(200, seed=0).inputs), torch.tensor(batch.inputs))
    # Task-incremental: the decision is among the head's classes even when another logit wins.
    logits = np.zeros((200, 10))
    logits[:, 9] = 5.0
    logits[np.arange(200), batch.targets] = 1.0
    assert t.score(logits, batch).accuracy == 1.0
    masked = task_outputs(torch.tensor(logits), t, batch)
    assert torch.isinf(masked[:, [0, 1, 2, 3, 6, 7, 8, 9]]).all() and torch.isfinite(masked[:, 4:6]).all()
    # Class-incremental: every output counts, so the same logits are all wrong.
    t_cil = split_classes(digits, 5, heads=False)[2]
    assert t_cil.output_units is None and t_cil.score(logits, batch).accuracy == 0.0
    assert task_outputs(torch.tensor(logits), t_cil, batch) is not None
    # The held-out images of the same classes are what trainers score.
    held = t.evaluation_task
    assert held.base.split == "test" and held.classes == (4, 5)
    assert set(np.unique(held.generate(100, seed=1).targets)) == {4, 5}
    # In a multi-task the batch's task decides whose head is read.
    mt = MultiTask(tasks[:2])
    b = mt.generate(4, seed=3)
    heads = torch.isfinite(task_outputs(torch.zeros(4, 10), mt, b)[0]).nonzero().flatten()
    assert tuple(heads.tolist()) == mt.tasks[b.task].classes


def test_class_subset_refusals():
    digits = make("digits")
    with pytest.raises(ValueError, match=r"'classes' parameter of ClassSubset must hold labels in "
                                         r"\[0, 10\) of 'digits'. Got \[1, 12\] instead"):
        split_classes(digits, [[1, 12]])
    with pytest.raises(ValueError, match=r"'groups' parameter of split_classes must divide the 10 "
                                         r"classes of 'digits' into equal groups. Got 3 instead"):
        split_classes(digits, 3)
    with pytest.raises(ValueError, match=r"must not repeat a label. Got \[2, 2\]"):
        split_classes(digits, [[2, 2]])
    with pytest.raises(TypeError, match=r"'task' parameter of split_classes must be an image task \(e.g. "
                                        r"make\('digits'\)\); Yang19_go has no \['data'\]"):
        split_classes(make("yang19.go"), 2)
    with pytest.raises(ValueError, match=r"conditions\['label'\] must be among the classes \[0, 1\]"):
        split_classes(digits, 5)[0].generate(2, conditions={"label": 3})


def test_samples_are_a_task_whose_target_is_the_input():
    data = np.random.default_rng(0).standard_normal((50, 3)) + 10.0
    task = Samples(data, name="blobs", tolerance=0.05)
    assert task.data.shape == (40, 3) and task.evaluation_task.data.shape == (10, 3)
    assert np.abs(task.data.mean(0)).max() < 1e-5  # centred on the training rows
    batch = task.generate(6, seed=2)
    assert batch.inputs.shape == (6, 3) and np.array_equal(batch.inputs, batch.targets)
    np.testing.assert_array_equal(batch.inputs, task.data[batch.conditions["index"]])
    score = task.score(batch.targets * 1.1, batch)  # relative squared error 0.01
    np.testing.assert_allclose(score.error, 0.01, rtol=1e-5)
    assert score.accuracy == 1.0 and (score.decision == -1).all()
    assert task.score(batch.targets * 1.3, batch).accuracy == 0.0  # 0.09 > tolerance
    assert json.loads(json.dumps(task.params))["n_examples"] == 50
    assert Samples(data, center=False).data.mean() > 9.0
    with pytest.raises(ValueError, match=r"'tolerance' parameter of Samples must be a float in "
                                         r"the range \(0, inf\). Got 0 instead"):
        Samples(data, tolerance=0)
    with pytest.raises(ValueError, match=r"'blobs' has no task variables to condition on"):
        task.generate(2, conditions={"x": 1})

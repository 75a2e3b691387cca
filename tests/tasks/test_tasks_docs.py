"""The custom-task example in docs/tasks.md runs and behaves as the text says."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

DOC = Path(__file__).resolve().parents[2] / "docs" / "tasks.md"


def test_custom_task_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    (example,) = [b for b in blocks if "class GoNoGo" in b]
    namespace: dict = {}
    exec(compile(example, str(DOC), "exec"), namespace)  # asserts perfect accuracy inside
    task, batch = namespace["task"], namespace["batch"]
    go = batch.conditions["go"]
    # a no-go trial has no response target; always-fixate scores exactly the no-go share
    out = np.zeros((32, batch.n_steps, 2))
    out[..., 0] = 1.0
    assert task.score(out, batch).accuracy == float(np.mean(go == 0))
    again = type(task)(**task.params)
    assert again == task

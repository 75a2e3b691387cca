"""The documentation's examples run: the example config validates and the example script trains
and writes what it says. (Every page's ```python blocks run in tests/test_docs_in_order.py.)"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from brainlike.experiments import RunConfig, load_config

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"


def python_blocks(path: Path) -> list[str]:
    """The ```python fenced blocks of a Markdown file, in order."""
    return re.findall(r"^```python\n(.*?)^```", path.read_text(), flags=re.S | re.M)


def test_example_config_validates():
    config = load_config(EXAMPLES / "perceptual_decision.yaml")
    assert isinstance(config, RunConfig)
    assert config.task.name == "perceptual_decision"
    task = config.task.build()
    # The comment in the file promises a criterion of 95 % of the ideal observer's accuracy.
    assert config.criterion_for(task) == pytest.approx(0.95 * task.ceiling, rel=1e-12)


def test_example_script_runs_and_writes_its_outputs(tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "train_and_analyze.py"), "--steps", "3", "--out", str(out)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    for name in ("checkpoint.safetensors", "metrics.jsonl", "analysis.json",
                 "learning_curve.png", "psychometric.png", "pca.png"):
        assert (out / name).is_file(), f"{name} missing; stdout:\n{proc.stdout}"
    analysis = json.loads((out / "analysis.json").read_text())
    assert analysis["steps"] == 3  # 3 steps cannot reach a 90 %-of-ceiling criterion by design
    assert analysis["status"] == "max_steps"
    assert 0.0 <= analysis["evaluation_accuracy"] <= 1.0
    assert len(analysis["pca_explained_variance_ratio"]) == 3
    rows = (out / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(r)["step"] for r in rows] == [1, 2, 3]
    assert f"wrote {out / 'analysis.json'}" in proc.stdout

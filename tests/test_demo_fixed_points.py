"""The demo's fixed-point analysis and figure (fast path on an untrained network; the full demo
run is the slow test)."""

import json

import numpy as np
import pytest
import torch

from brainlike import viz
from brainlike.analysis import trajectory_pca
from brainlike.demo import fixed_point_analysis, run_demo
from brainlike.models import RateRNN
from brainlike.tasks import make


def test_fixed_point_analysis_summary_and_figure():
    task = make("perceptual_decision", dt=20.0)
    model = RateRNN(task.n_inputs, 16, task.n_outputs, seed=0)
    batch = task.generate(40, seed=0)
    with torch.no_grad():
        _, act, _ = model(torch.tensor(batch.inputs), noise=False)
    result, summary = fixed_point_analysis(model, act.numpy(), batch.lengths)
    assert summary["n_fixed_points"] == len(result.points) >= 1
    assert summary["max_q_fixed"] < 1e-12
    # Every returned point is a fixed point of the model's own step at the demo's input.
    u = torch.tensor(summary["input"], dtype=torch.float32).expand(len(result.points), -1)
    x = torch.tensor(result.points, dtype=torch.float32)
    torch.testing.assert_close(model.step(x, u), x, atol=1e-5, rtol=1e-5)
    pca = trajectory_pca(act.numpy(), batch.conditions["signed_coherence"],
                         lengths=batch.lengths, n_components=2)
    fig = viz.fixed_points(result, pca, values=list(pca.groups), value_label="signed coherence (%)")
    assert len(fig.axes) == 3  # state space, spectra, and the colour bar of the coherences
    json.dumps(summary)  # the summary goes into analysis.json


@pytest.mark.slow
def test_demo_writes_the_fixed_point_figure(tmp_path):
    res = run_demo(tmp_path, progress=False, echo=lambda s: None)
    png = tmp_path / "figures" / "fixed_points.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fp = json.loads((tmp_path / "analysis.json").read_text())["fixed_points"]
    assert fp == res.summary["fixed_points"]
    assert fp["n_fixed_points"] >= 1 and np.isfinite(fp["max_q_fixed"])
    assert (tmp_path / "report.html").is_file() and res.figures["report"] == tmp_path / "report.html"
    bias = json.loads((tmp_path / "analysis.json").read_text())["probe_accuracy_by_ground_truth"]
    assert set(bias) == {"choice_1", "choice_2"} and all(0 <= v <= 1 for v in bias.values())

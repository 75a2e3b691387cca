"""``brainlike report``: one self-contained HTML page per run or sweep, checked in a real browser.

The browser test opens the page in headless Chromium (Debian's ``chromium`` package, which the
README's test command and ``.ci/run`` install; driven through the ``playwright`` package), with
every network request refused and recorded, and checks that every figure decodes, that the page
logs no console error, and that its screenshot has the page's size and is not blank.
"""

from __future__ import annotations

import base64
import io
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import brainlike
from brainlike.cli import app
from brainlike.experiments import parse_config, parse_sweep, run_training
from brainlike.experiments.sweeps._spec import dump_sweep

CHROMIUM = "/usr/bin/chromium"
RUN = {
    "task": {"name": "perceptual_decision", "params": {"dt": 100.0}},
    "model": {"n_hidden": 16, "tau": 100.0, "sigma_rec": 0.05, "seed": 0},
    "training": {"steps": 40, "batch_size": 16, "lr": 0.01, "eval_every": 20, "eval_trials": 100,
                 "criterion_of_ceiling": 0.95},
}
RUN_SECTIONS = ("Summary", "Config", "Model", "Learning curve", "Accuracy by condition",
                "Psychometric curves", "Example trial", "Population trajectories", "Fixed points")


@pytest.fixture(scope="module")
def run_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    run_training(parse_config(RUN), out)
    return out, brainlike.report(out, n_trials=300, progress=False)


def _images(page: str) -> list[bytes]:
    return [base64.b64decode(b) for b in re.findall(r'<img src="data:image/png;base64,([^"]+)"', page)]


def test_run_report_is_self_contained_with_every_section(run_report):
    out, path = run_report
    assert path == out / "report.html"
    page = path.read_text()
    titles = re.findall(r"<h2>(.*?)</h2>", page)
    assert tuple(titles) == RUN_SECTIONS
    # No resource outside the file: every src is a data URI, no link leaves the page, no script.
    assert re.findall(r'src="(?!data:image/png;base64,)', page) == []
    assert re.findall(r'href="(?!#)', page) == [] and "<script" not in page
    images = _images(page)
    assert len(images) == 6  # weights, learning, psychometric, example trial, PCA, fixed points
    for png in images:
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
    # The numbers shown are the run's: its accuracy table names the ground truths by channel.
    assert "<td>choice_1</td>" in page and "<td>choice_2</td>" in page
    assert "perceptual_decision" in page and "RateRNN" in page


def test_report_cli_and_errors(run_report, tmp_path):
    out, _ = run_report
    target = tmp_path / "elsewhere.html"
    res = CliRunner().invoke(app, ["report", str(out), "--out", str(target), "--trials", "100",
                                   "--no-progress"])
    assert res.exit_code == 0, res.output
    assert res.output.strip() == f"wrote {target}" and target.read_text().startswith("<!DOCTYPE html>")
    res = CliRunner().invoke(app, ["report", str(tmp_path / "nothing")])
    assert res.exit_code == 2
    assert "is neither a run directory (no config.yaml) nor a sweep directory" in res.output
    with pytest.raises(ValueError, match=r"n_trials must be an int >= 10; got 3"):
        brainlike.report(out, n_trials=3)


def test_sweep_report_has_the_table_and_plots_across_runs(tmp_path):
    sweep = parse_sweep({"base": {**RUN, "training": {**RUN["training"], "steps": 10,
                                                        "eval_every": 5}},
                         "grid": {"training.lr": [0.003, 0.01]}, "seeds": [0]})
    (tmp_path / "sweep.yaml").write_text(dump_sweep(sweep))
    for run in sweep.runs[:1]:  # one run done; the other one is reported as pending
        run_training(run.config, tmp_path / "runs" / run.name)
    page = brainlike.report(tmp_path, progress=False).read_text()
    assert re.findall(r"<h2>(.*?)</h2>", page) == ["Sweep", "Results table", "Learning curves",
                                                   "Across networks"]
    assert "<td>done</td><td>1</td>" in page and "<td>pending</td><td>1</td>" in page
    assert sweep.runs[0].name in page and sweep.runs[1].name in page
    assert len(_images(page)) == 3  # learning curves; accuracy and steps against training.lr


def test_report_in_headless_chromium(run_report, tmp_path):
    """The page renders in a real browser with every figure loaded and no console error."""
    from PIL import Image
    from playwright.sync_api import sync_playwright

    assert shutil.which("chromium") and Path(CHROMIUM).is_file(), (
        "this test needs Debian's chromium package: apt-get install -y chromium "
        "(the README's test command and .ci/run install it)")
    _, path = run_report
    errors, requests = [], []
    shot = tmp_path / "report.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))

            def refuse(route):
                requests.append(route.request.url)
                route.abort()

            page.route(re.compile(r"^(?!file:|data:).*"), refuse)
            page.goto(path.as_uri(), wait_until="load")
            sizes = page.evaluate("Array.from(document.images).map(i => "
                                  "[i.complete, i.naturalWidth, i.naturalHeight, i.width])")
            height = page.evaluate("document.documentElement.scrollHeight")
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert errors == [] and requests == []
    decoded = [Image.open(io.BytesIO(png)).size for png in _images(path.read_text())]
    assert len(sizes) == len(decoded) == 6
    for (complete, w, h, shown), (pw, ph) in zip(sizes, decoded):
        assert complete and (w, h) == (pw, ph)  # the browser decoded each PNG at its own size
        assert 200 <= shown <= 1200 - 2 * 32  # and laid it out within the page's column
    img = Image.open(shot)
    assert img.size == (1200, height) and height > 4000  # nine sections, six figures
    gray = np.asarray(img.convert("L"), dtype=float)
    assert gray.std() > 20  # figures and text, not a blank or single-colour page
    dark_rows = (gray < 128).any(axis=1).mean()
    assert dark_rows > 0.3  # ink (text, axes, lines) on at least a third of the page's rows

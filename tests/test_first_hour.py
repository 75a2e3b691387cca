"""A newcomer's first hour: what a new user met, fixed (issue 18), each stated as a fact."""

from __future__ import annotations

import inspect
import json
import re
import warnings

import numpy as np
import pytest
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from typer.testing import CliRunner

from brainlike import __version__, viz
from brainlike.analysis import (
    DegenerateFitWarning,
    find_fixed_points,
    fit_psychometric,
    fit_psychometric_by_group,
    trajectory_pca,
)
from brainlike.cli import app
from brainlike.experiments import (
    dump_config,
    evaluate_run,
    load_config,
    load_run,
    parse_config,
    run_training,
)
from brainlike.models import RateRNN
from brainlike.recordings import Recording, load_netcdf
from brainlike.tasks import make
from brainlike.training import RatePenalty, evaluate, train, train_ensemble

SMALL = {"steps": 4, "batch_size": 8, "eval_every": 2, "eval_trials": 20}


def _pdm_model(n=8, seed=0):
    task = make("perceptual_decision", dt=100.0)
    return task, RateRNN(task.n_inputs, n, task.n_outputs, tau=100.0, dt=100.0, seed=seed)


# -- CLI --------------------------------------------------------------------------------------------


def test_version_and_plain_help_texts():
    runner = CliRunner()
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and res.output == f"brainlike {__version__}\n"
    for command in ([], ["demo"], ["train"], ["evaluate"], ["report"], ["tasks"], ["sweep"],
                    ["sweep", "run"], ["sweep", "status"]):
        res = runner.invoke(app, [*command, "--help"])
        assert res.exit_code == 0, (command, res.output)
        # typer's decorations: {config} for a required argument, <bool>/<path>/<int range> types
        assert not re.search(r"\{[a-z_]+\}|<(bool|path|str|int|float|int range)>", res.output), (
            command, res.output)
        assert "..." not in res.output.split("Commands:")[-1] or not command  # no cut-off lines
    usage = runner.invoke(app, ["train", "--help"], prog_name="brainlike").output.splitlines()[0]
    assert usage == "Usage: brainlike train [OPTIONS] CONFIG"


def test_a_mistyped_task_name_suggests_the_closest():
    with pytest.raises(ValueError, match=r"unknown task 'perceptual_decison' \(did you mean "
                                         r"'perceptual_decision'\?\); valid names are \["):
        make("perceptual_decison")
    res = CliRunner().invoke(app, ["tasks"])
    assert res.exit_code == 0
    with pytest.raises(ValueError, match=r"unknown task 'xyz'; valid names are"):
        make("xyz")  # nothing close: no suggestion


# -- results a scientist wants saved ----------------------------------------------------------------


def test_fit_psychometric_warns_on_degenerate_fits():
    x = np.repeat([-20.0, -10.0, 0.0, 10.0, 20.0], 100)
    rng = np.random.default_rng(0)
    with pytest.warns(DegenerateFitWarning, match=r"barely depend on the stimulus \(proportions "
                                                  r"0\.\d\d to 0\.\d\d.*not meaningful"):
        flat = fit_psychometric(x, rng.random(x.size) < 0.5)  # choices ignore the stimulus
    assert abs(flat.bias) > 40 or flat.scale > 400  # the fit ran away, as warned
    with pytest.warns(DegenerateFitWarning, match=r"perfect separation"):
        fit_psychometric(x, x > 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an ordinary curve: no warning
        fit_psychometric(x, rng.random(x.size) < 1 / (1 + np.exp(-x / 5)))


def test_evaluation_json_keeps_labelled_accuracy_by_condition(tmp_path):
    cfg = parse_config({"task": {"name": "context_decision"}, "model": {"n_hidden": 8},
                        "training": SMALL})
    run_training(cfg, tmp_path)
    (ev,) = evaluate_run(tmp_path, n_trials=200).values()
    report = json.loads((tmp_path / "evaluation.json").read_text())
    by = report["tasks"]["context_decision"]["by_condition"]
    assert list(by["context"]) == ["motion", "colour"]
    assert list(by["ground_truth"]) == ["choice_1", "choice_2"]
    ctx = np.asarray(ev.conditions["context"])
    assert by["context"]["colour"] == {"value": 1, "accuracy": float(ev.correct[ctx == 1].mean()),
                                      "n_trials": int((ctx == 1).sum())}
    res = CliRunner().invoke(app, ["evaluate", str(tmp_path), "--trials", "200"])
    assert "by context: motion=" in res.output and ", colour=" in res.output


# -- notebook use -----------------------------------------------------------------------------------


def test_reprs_are_short(tmp_path):
    task, model = _pdm_model()
    result = train(model, task, **SMALL, out=tmp_path, progress=False)
    for obj in (result, evaluate(model, task, n_trials=50), load_run(tmp_path)):
        text = repr(obj)
        assert "\n" not in text and len(text) < 300 and "array(" not in text, text
    assert repr(result).startswith("TrainResult(status='max_steps', steps=4, accuracy=")
    assert repr(load_run(tmp_path)).startswith(
        f"Run(directory={str(tmp_path)!r}, task='perceptual_decision', model=RateRNN(n_hidden=8), "
        "status='max_steps', steps=4")


def test_train_is_not_silent_by_default(capsys):
    task, model = _pdm_model()
    train(model, task, **SMALL)
    err = capsys.readouterr().err
    assert "train: " in err and "4/4" in err  # tqdm's bar on stderr


def test_python_run_directory_is_a_cli_run_directory(tmp_path):
    task, model = _pdm_model()
    train(model, task, **SMALL, lr=1e-2, penalties=[RatePenalty(l2=1e-4)],
          criterion=0.5, out=tmp_path / "py", progress=False)
    files = sorted(p.name for p in (tmp_path / "py").iterdir())
    assert files == [".lock", "checkpoint.safetensors", "config.yaml", "metrics.jsonl",
                     "summary.json"]
    # The config.yaml describes the run a `brainlike train` config describes: the same task,
    # training and penalties, and a model section that builds the same architecture (it writes
    # the resolved defaults, e.g. w_rec_gain 0.5 for `null`).
    same = parse_config({"task": {"name": "perceptual_decision", "params": task.params},
                         "model": {"n_hidden": 8, "tau": 100.0, "seed": 0},
                         "training": {**SMALL, "lr": 1e-2, "criterion": 0.5},
                         "penalties": {"l2_rate": 1e-4}})
    written = load_config(tmp_path / "py" / "config.yaml")
    for section in ("task", "training", "penalties", "threads"):
        assert getattr(written, section) == getattr(same, section), section
    assert written.model.build(task).config() == same.model.build(task).config() == model.config()
    run = load_run(tmp_path / "py")
    for a, b in zip(run.model.parameters(), model.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    rec = Recording.from_run(tmp_path / "py", n_trials=16)
    assert rec.data.shape[0] == 16 and rec.data.shape[2] == 8
    cli = run_training(same, tmp_path / "cli")  # the CLI path of the same run: the same result
    assert (tmp_path / "cli" / "config.yaml").read_text() == dump_config(same)  # the CLI's own
    py = json.loads((tmp_path / "py" / "summary.json").read_text())
    assert py["status"] == cli.status and py["accuracy"] == cli.accuracy
    # A run no config describes (a custom penalty) gets none, and loses a stale one.
    train(model, task, **SMALL, penalties=[lambda m, a: a.mean()], out=tmp_path / "py",
          resume=False, progress=False)
    assert not (tmp_path / "py" / "config.yaml").exists()
    with pytest.raises(FileNotFoundError, match=r"is not a run directory \(no config.yaml\)"):
        load_run(tmp_path / "py")


def test_netcdf_is_compressed_float32_by_default(tmp_path):
    task, model = _pdm_model(n=64)
    batch = task.generate(128, seed=0)
    with torch.no_grad():
        activity = model(torch.tensor(batch.inputs), noise=False).activity.numpy()
    rec = Recording(activity, conditions={"coherence": batch.conditions["coherence"]})
    small = load_netcdf(rec.save_netcdf(tmp_path / "a.nc"))
    exact = load_netcdf(rec.save_netcdf(tmp_path / "b.nc", dtype="float64", compression=0))
    np.testing.assert_array_equal(exact.data, rec.data)
    # float32 storage: each value within float32 rounding (2**-24 relative) of the original.
    np.testing.assert_allclose(small.data, rec.data, rtol=2.0**-24, atol=0)
    # float32 + gzip: 3.5x smaller than raw float64 for these rates (measured 0.416 vs 1.44 MB).
    assert (tmp_path / "a.nc").stat().st_size < (tmp_path / "b.nc").stat().st_size / 3
    with pytest.raises(ValueError, match=r"dtype must be 'float32' or 'float64'; got 'float16'"):
        rec.save_netcdf(tmp_path / "c.nc", dtype="float16")
    with pytest.raises(ValueError, match=r"compression must be an int from 0 to 9; got 10"):
        rec.save_netcdf(tmp_path / "c.nc", compression=10)


# -- progress bars ----------------------------------------------------------------------------------


def test_progress_bars_of_fixed_points_and_ensembles(monkeypatch, capsys):
    """Each shows a bar that ends full, with its own details (drawn on stderr)."""
    from brainlike._progress import tqdm
    from brainlike.analysis.dynamics import _fixed_points
    from brainlike.training import _ensemble

    bars = []

    class Recorded(tqdm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            bars.append(self)

    monkeypatch.setattr(_fixed_points, "tqdm", Recorded)
    monkeypatch.setattr(_ensemble, "tqdm", Recorded)
    task, _ = _pdm_model()
    find_fixed_points(lambda x: 0.5 * x, torch.randn(16, 3, dtype=torch.float64), progress=True)
    models = [_pdm_model(seed=s)[1] for s in range(2)]
    train_ensemble(models, task, seeds=[0, 1], **SMALL)
    (fixed, ensemble) = bars
    assert (fixed.desc, fixed.n, fixed.total) == ("fixed points", 16, 16)
    assert (ensemble.desc, ensemble.n, ensemble.total) == ("train_ensemble", 4, 4)
    assert "training=2/2" in ensemble.postfix and "acc=" in ensemble.postfix
    assert "fixed points" in capsys.readouterr().err


# -- figures ----------------------------------------------------------------------------------------


def test_every_viz_function_takes_ax():
    for name in viz.__all__:
        fn = getattr(viz, name)
        if name == "binomial_interval":
            continue  # a number, not a figure
        assert "ax" in inspect.signature(fn).parameters, name


def test_panels_of_several_functions_combine_in_one_figure():
    rng = np.random.default_rng(0)
    x = np.repeat([-20.0, -5.0, 0.0, 5.0, 20.0], 60)
    fit = fit_psychometric(x, rng.random(x.size) < 1 / (1 + np.exp(-x / 5)))
    h = {"step": np.arange(1, 4), "loss": np.array([1.0, 0.5, 0.4]),
         "accuracy": np.array([np.nan, np.nan, 0.8])}
    fig = Figure(figsize=(9, 3))
    a, b, c = fig.subplots(1, 3)
    assert viz.psychometric(fit, ax=a) is fig and viz.learning_curve(h, ax=[b, c]) is fig
    with pytest.raises(ValueError, match=r"ax must hold at least 2 Axes for this figure; got 1"):
        viz.learning_curve(h, ax=a)
    # Psychometric points carry 95 % Wilson intervals and the counts; the axis names the sides.
    assert a.get_xlabel().endswith("− toward choice 1   |   + toward choice 2")
    assert "60 trials per level" in a.get_legend().get_texts()[0].get_text()
    low, high = viz.binomial_interval(np.array([0.5, 0.0, 1.0]), np.array([100, 20, 20]))
    np.testing.assert_allclose(low, [0.40383, 0.0, 0.83887], atol=5e-5)  # Wilson 1927, z=1.96
    np.testing.assert_allclose(high, [0.59617, 0.16113, 1.0], atol=5e-5)


def _legend(ax: Axes) -> list[str]:
    leg = ax.get_legend()
    return [] if leg is None else [t.get_text() for t in leg.get_texts()]


def test_choice_is_a_legend_and_coherence_a_labelled_colour_bar():
    rng = np.random.default_rng(0)
    act = rng.normal(size=(40, 6, 5))
    choice = np.repeat([1, 2], 20)
    coh = np.tile([-10.0, -5.0, 0.0, 5.0, 10.0], 8)
    by_choice = trajectory_pca(act, choice, n_components=2)
    by_coh = trajectory_pca(act, coh, n_components=2)
    fig = viz.trajectories([by_coh, by_choice], ["coherence", "choice"],
                           [list(by_coh.groups), list(by_choice.groups)],
                           value_labels=["signed coherence (%)", "choice"],
                           labels=[None, ["choice 1", "choice 2"]])
    ax_coh, ax_choice, colorbar = fig.axes
    assert colorbar.get_ylabel() == "signed coherence (%)"
    assert _legend(ax_coh) == ["end of trial"]
    assert _legend(ax_choice) == ["choice 1", "choice 2", "end of trial"]


def test_fixed_point_figure_legend_colours_and_far_points():
    rng = np.random.default_rng(1)
    act = rng.normal(size=(30, 8, 4))
    pca = trajectory_pca(act, np.repeat([0, 1, 2], 10), n_components=2)
    # A map with two unstable fixed points along PC1's direction d, at z = x.d = 0 and 1000:
    # z -> z + z (z - 1000), the rest of x halved (Jacobian eigenvalues -999 or 1001, and 0.5).
    d = torch.tensor(pca.components[0], dtype=torch.float64)

    def step(x):
        z = x @ d
        return (z + z * (z - 1e3))[:, None] * d + 0.5 * (x - z[:, None] * d)

    result = find_fixed_points(step, torch.stack([0 * d, 1e3 * d]), outlier_distance=None)
    assert len(result.points) == 2 and not result.is_stable.any()
    fig = viz.fixed_points(result, pca, values=[0, 1, 2], labels=["a", "b", "c"])
    ax, ax_ev = fig.axes[:2]
    legend = _legend(ax)
    assert "stable fixed point" not in legend and "unstable fixed point" in legend
    assert legend[:3] == ["a", "b", "c"]
    # The view is set by the trajectories, not squashed by the far point.
    span = np.ptp(pca.projections[..., 0])
    assert np.ptp(ax.get_xlim()) < 2 * span
    markers = [line.get_marker() for line in ax.get_lines()]
    assert ">" in markers or "<" in markers  # the far point on the border, pointing out
    assert any("outside the view" in t for t in legend)
    # Each point's eigenvalues in the colour of its marker.
    spectra = [line for line in ax_ev.get_lines() if line.get_marker() == "o"]
    assert len({line.get_color() for line in spectra}) == len(result.points)


def test_new_plots_rdm_tdr_and_per_context_psychometric():
    rng = np.random.default_rng(0)
    fig = viz.rdm(rng.random((3, 3)) + rng.random((3, 3)).T, labels=["a", "b", "c"])
    assert fig.axes[1].get_ylabel() == "dissimilarity"
    with pytest.raises(ValueError, match=r"must be an RDM or a square \(D, D\) array; got \(2, 3\)"):
        viz.rdm(np.zeros((2, 3)))
    x = np.tile(np.repeat([-20.0, -5.0, 0.0, 5.0, 20.0], 80), 2)
    ctx = np.repeat([0, 1], x.size // 2)
    chose = rng.random(x.size) < 1 / (1 + np.exp(-(x - 6 * (ctx - 0.5)) / 5))
    fig = viz.psychometric_by_group(fit_psychometric_by_group(x, chose, ctx),
                                    labels={0: "motion", 1: "colour"})
    assert [t.split(" (")[0] for t in _legend(fig.axes[0])] == ["motion", "colour"]

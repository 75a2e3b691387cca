"""Recording: construction, xarray/NetCDF/npz/NWB round trips, condition averages, runs."""

import datetime

import numpy as np
import pytest
import torch

from brainlike.analysis import rdm
from brainlike.experiments import load_run, parse_config, run_training
from brainlike.recordings import Recording, align, load_netcdf, load_npz, load_nwb


@pytest.fixture
def rec():
    rng = np.random.default_rng(0)
    return Recording(
        rng.normal(size=(6, 4, 3)), time=[0, 10, 20, 30],
        conditions={"stim": [1, 2, 1, 2, 3, 3], "choice": ["L", "R", "L", "L", "R", "R"]},
        units=np.array(["a", "b", "c"]), epochs={"stimulus": np.tile([0, 2], (6, 1))},
    )


def _same(a, b):
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(a.time, b.time)
    np.testing.assert_array_equal(a.units, b.units)
    assert a.conditions.keys() == b.conditions.keys() and a.epochs.keys() == b.epochs.keys()
    for k in a.conditions:
        np.testing.assert_array_equal(a.conditions[k], b.conditions[k])
    for k in a.epochs:
        np.testing.assert_array_equal(a.epochs[k], b.epochs[k])


def test_round_trips(rec, tmp_path):
    ds = rec.to_xarray()
    da = ds["activity"]
    assert da.dims == ("trial", "time", "unit") and list(da["stim"].values) == [1, 2, 1, 2, 3, 3]
    _same(Recording.from_xarray(ds), rec)
    assert Recording.from_xarray(da).epochs == {}  # a bare DataArray carries no epochs
    _same(load_netcdf(rec.save_netcdf(tmp_path / "r.nc", dtype="float64")), rec)
    _same(load_npz(rec.save_npz(tmp_path / "r.npz")), rec)
    assert load_npz(tmp_path / "r.npz").source.endswith("r.npz")


def test_recording_is_read_only(rec):
    with pytest.raises(ValueError, match="read-only"):
        rec.data[0, 0, 0] = 1.0


def test_average_and_responses(rec):
    avg = rec.average(["stim"])
    np.testing.assert_array_equal(avg.conditions["stim"], [1, 2, 3])
    np.testing.assert_array_equal(avg.conditions["n_trials"], [2, 2, 2])
    np.testing.assert_allclose(avg.data[0], rec.data[[0, 2]].mean(axis=0), rtol=1e-12)
    keys, X = rec.responses(["stim", "choice"], window=(10, 30))
    assert keys == [(1, "L"), (2, "L"), (2, "R"), (3, "R")]
    np.testing.assert_allclose(X[3], rec.data[[4, 5]][:, 1:3].mean(axis=(0, 1)), rtol=1e-12)


def test_average_skips_ended_trials():
    data = np.ones((2, 3, 1))
    data[1, 2] = np.nan  # trial 1 ended after 2 steps
    data[1, :2] = 3.0
    avg = Recording(data, conditions={"c": [0, 0]}).average(["c"])
    np.testing.assert_allclose(avg.data[0, :, 0], [2.0, 2.0, 1.0])


def test_align_matches_conditions(rec):
    other = Recording(np.arange(3 * 4 * 2, dtype=float).reshape(3, 4, 2), time=[0, 10, 20, 30],
                      conditions={"stim": [3, 2, 9]})
    keys, Xa, Xb = align(rec, other, ["stim"])
    assert keys == [(2,), (3,)]
    np.testing.assert_allclose(Xa[1], rec.data[[4, 5]].mean(axis=(0, 1)), rtol=1e-12)
    np.testing.assert_allclose(Xb[0], other.data[1].mean(axis=0), rtol=1e-12)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Recording(np.ones((2, 3))), r"data must have shape \(n_trials, n_time, n_units\)"),
        (lambda: Recording(np.ones((2, 3, 1)), time=[0, 1]), r"time must have shape \(n_time,\) = \(3,\)"),
        (lambda: Recording(np.ones((2, 3, 1)), conditions={"c": [1]}), r"conditions\['c'\] must have shape"),
        (lambda: Recording(np.ones((2, 3, 1)), epochs={"e": [1, 2]}), r"epochs\['e'\] must have shape"),
        (lambda: Recording(np.ones((2, 3, 1)), conditions={"c": [1, 2]}).average(["x"]), "must name conditions"),
        (lambda: Recording(np.ones((2, 3, 1)), conditions={"c": [1, 2]}).responses(["c"], (50, 60)), "holds no time bin"),
        (lambda: align(Recording(np.ones((1, 1, 1)), conditions={"c": [1]}),
                       Recording(np.ones((1, 1, 1)), conditions={"c": [2]}), ["c"]), "share no combination"),
    ],
)
def test_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_from_run_is_the_models_activity(tmp_path):
    cfg = parse_config({
        "task": {"name": "perceptual_decision", "params": {"dt": 100.0}},
        "model": {"n_hidden": 8, "tau": 100.0, "seed": 1},
        "training": {"steps": 2, "batch_size": 4, "eval_every": 2, "eval_trials": 8},
    })
    run_training(cfg, tmp_path)
    rec = Recording.from_run(tmp_path, n_trials=12, seed=3)
    assert rec.data.shape[0] == 12 and rec.n_units == 8 and rec.source == str(tmp_path)
    run = load_run(tmp_path)
    # noise=False (the default) turns off the task's input noise too, not only the recurrent noise
    batch = run.task.generate(12, seed=3, noise=False)
    with torch.no_grad():
        act = run.model(torch.tensor(batch.inputs), noise=False)[1].double().numpy()
    valid = np.arange(batch.n_steps) < batch.lengths[:, None]
    np.testing.assert_allclose(rec.data[valid], act[valid], rtol=1e-12)
    assert np.isnan(rec.data[~valid]).all()
    np.testing.assert_allclose(rec.time, np.arange(batch.n_steps) * 100.0)
    for k, v in batch.conditions.items():
        np.testing.assert_array_equal(rec.conditions[k], v)
    _same(Recording.from_run(run, n_trials=12, seed=3), rec)  # Run object or directory alike
    # a model's condition-averaged activity goes straight into an RDM
    by = [next(iter(batch.conditions))]
    _, X = rec.responses(by)
    assert rdm(X, "correlation").n_conditions == len(np.unique(batch.conditions[by[0]]))


def _write_nwb(path, spikes, trials):
    pynwb = pytest.importorskip("pynwb")
    nwb = pynwb.NWBFile(
        session_description="test", identifier="brainlike-test",
        session_start_time=datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc),
    )
    nwb.add_trial_column(name="stimulus", description="stimulus id")
    for start, stim in trials:
        nwb.add_trial(start_time=start, stop_time=start + 1.0, stimulus=stim)
    for s in spikes:
        nwb.add_unit(spike_times=s)
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)


def test_load_nwb_bins_spikes_by_trial(tmp_path):
    path = tmp_path / "session.nwb"
    spikes = [[0.05, 0.06, 0.31, 2.11, 2.12, 2.13], [1.5, 2.45]]
    _write_nwb(path, spikes, trials=[(0.0, 7), (2.0, 9)])
    rec = load_nwb(path, window=(0.0, 500.0), bin_ms=100.0)
    assert rec.data.shape == (2, 5, 2)
    np.testing.assert_array_equal(rec.conditions["stimulus"], [7, 9])
    np.testing.assert_allclose(rec.time, [0, 100, 200, 300, 400])
    # unit 0: trial 0 has 2 spikes in bin 0 and 1 in bin 3; trial 1 has 3 in bin 1 -> 10 Hz per spike
    np.testing.assert_allclose(rec.data[0, :, 0], [20, 0, 0, 10, 0])
    np.testing.assert_allclose(rec.data[1, :, 0], [0, 30, 0, 0, 0])
    np.testing.assert_allclose(rec.data[:, :, 1], [[0] * 5, [0, 0, 0, 0, 10]])
    with pytest.raises(ValueError, match="align_to='onset' is not a trials column"):
        load_nwb(path, align_to="onset")
    with pytest.raises(ValueError, match="whole number of bins"):
        load_nwb(path, window=(0, 250), bin_ms=100)


def test_load_nwb_refuses_bad_windows_missing_spikes_and_nan_trial_times(tmp_path):
    pynwb = pytest.importorskip("pynwb")
    path = tmp_path / "session.nwb"
    _write_nwb(path, [[0.05, 0.3]], trials=[(0.0, 7), (2.0, 9)])
    with pytest.raises(ValueError, match=r"bin_ms must be a finite number > 0; got 0\.0"):
        load_nwb(path, bin_ms=0)
    with pytest.raises(ValueError, match=r"window must be finite \(start_ms, stop_ms\) with "
                                         r"stop > start; got \(0\.0, nan\)"):
        load_nwb(path, window=(0.0, float("nan")))
    with pytest.raises(ValueError, match=r"window must be finite"):
        load_nwb(path, window=(0.0, float("inf")))
    # A trial whose alignment time is NaN would bin to all-zero rates: refused by name.
    nwb = pynwb.NWBFile(session_description="t", identifier="nan-onset",
                        session_start_time=datetime.datetime(2020, 1, 1,
                                                             tzinfo=datetime.timezone.utc))
    nwb.add_trial_column(name="onset", description="stimulus onset (s)")
    nwb.add_trial(start_time=0.0, stop_time=1.0, onset=0.1)
    nwb.add_trial(start_time=2.0, stop_time=3.0, onset=float("nan"))
    nwb.add_unit(spike_times=[0.2, 2.2])
    with pynwb.NWBHDF5IO(str(tmp_path / "nan.nwb"), "w") as io:
        io.write(nwb)
    with pytest.raises(ValueError, match=r"trials \[1\] have no finite 'onset'"):
        load_nwb(tmp_path / "nan.nwb", align_to="onset", window=(0.0, 500.0), bin_ms=100.0)
    # A units table without spike times.
    nwb = pynwb.NWBFile(session_description="t", identifier="no-spikes",
                        session_start_time=datetime.datetime(2020, 1, 1,
                                                             tzinfo=datetime.timezone.utc))
    nwb.add_trial(start_time=0.0, stop_time=1.0)
    nwb.add_unit_column(name="quality", description="isolation quality")
    nwb.add_unit(quality=0.9)
    with pynwb.NWBHDF5IO(str(tmp_path / "nospikes.nwb"), "w") as io:
        io.write(nwb)
    with pytest.raises(ValueError, match=r"units table has no 'spike_times' column"):
        load_nwb(tmp_path / "nospikes.nwb", window=(0.0, 500.0), bin_ms=100.0)


def test_a_recording_refuses_complex_data():
    with pytest.raises(TypeError, match=r"data must be real .* got complex128 values"):
        Recording(np.ones((2, 3, 4)) * 1j)
    with pytest.raises(TypeError, match=r"data must be numbers; got an array of dtype <U1"):
        Recording(np.full((2, 3, 4), "a"))

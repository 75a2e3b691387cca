"""Spike statistics against processes whose statistics are known, and their figures."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from brainlike.analysis import (
    fano_factor,
    isi_cv,
    population_rates,
    psth,
    spike_statistics,
    unit_rates,
)
from brainlike.viz import psth_figure, raster, spike_statistics_figure


def _bernoulli(p, shape, seed=0):
    """Independent spikes with probability p per step: ISIs geometric (CV sqrt(1 - p)), counts
    binomial (Fano factor 1 - p)."""
    return (np.random.default_rng(seed).random(shape) < p).astype(float)


def test_psth_recovers_the_rate_of_each_condition():
    dt, b, t = 5.0, 400, 50
    s = np.concatenate([_bernoulli(0.05, (b, t, 3)), _bernoulli(0.2, (b, t, 3), seed=1)])
    keys = np.repeat(["low", "high"], b)
    res = psth(s, dt, keys)
    assert res.groups == ("high", "low")
    assert res.rates.shape == (2, t, 3) and res.times[0] == 5.0 and res.times[-1] == 250.0
    # 0.2 and 0.05 spikes per 5-ms step: 40 and 10 Hz; per-step binomial error sqrt(p(1-p)/b).
    for g, p in ((0, 0.2), (1, 0.05)):
        se = np.sqrt(p * (1 - p) / b) * 1000 / dt
        assert np.abs(res.rates[g].mean() - p * 200) < 4 * se / np.sqrt(t * 3)
        assert np.abs(res.rates[g] - p * 200).max() < 5 * se


def test_psth_smoothing_keeps_a_constant_rate_and_ignores_padding():
    s = np.zeros((8, 40, 1))
    for k in range(8):
        s[k, k % 4::4] = 1.0  # every 4th step, phases staggered: the average is 50 Hz (dt = 5 ms)
    lengths = np.array([40] * 4 + [20] * 4)
    s[4:, 20:] = 1.0  # padding full of spikes must not count
    res = psth(s, 5.0, lengths=lengths, smooth_ms=20.0)
    # constant 50 Hz, also at the ends (the smoothing is normalized where data stop)
    np.testing.assert_allclose(res.rates[0, :, 0], 50.0, rtol=1e-12)
    with pytest.raises(ValueError, match=r"smooth_ms must be >= 0; got -1"):
        psth(s, 5.0, smooth_ms=-1)


def test_rates_per_unit_and_population():
    s = np.zeros((2, 100, 4))
    s[:, ::10, :2] = 1.0   # units 0, 1: 10 spikes in 100 steps of 1 ms: 100 Hz
    s[:, ::50, 2:] = 1.0   # units 2, 3: 20 Hz
    np.testing.assert_allclose(unit_rates(s, 1.0), [100, 100, 20, 20])
    sign = np.array([1, 1, -1, -1])
    assert population_rates(s, 1.0, {"E": sign > 0, "I": sign < 0}) == {"E": 100.0, "I": 20.0}
    assert population_rates(s, 1.0, {"area": slice(1, 3)}) == {"area": 60.0}
    assert population_rates(s, 1.0) == {"all": 60.0}
    with pytest.raises(ValueError, match=r"population 'E' has no units"):
        population_rates(s, 1.0, {"E": np.zeros(4, bool)})
    with pytest.raises(ValueError, match=r"population 'X': unit indices must lie in \[0, 4\); got min 0, max 4"):
        population_rates(s, 1.0, {"X": [0, 4]})
    with pytest.raises(ValueError, match=r"spikes must hold only 0 and 1"):
        unit_rates(s * 2, 1.0)
    with pytest.raises(ValueError, match=r"spikes must have shape \(B, T, N\); got \(100, 4\)"):
        unit_rates(s[0], 1.0)


@pytest.mark.parametrize("p", [0.05, 0.3])
def test_isi_cv_of_independent_spikes_is_sqrt_1_minus_p(p):
    cv = isi_cv(_bernoulli(p, (20, 4000, 2)), 1.0)  # trials long against the ISI: no truncation
    np.testing.assert_allclose(cv, np.sqrt(1 - p), atol=0.03)


def test_isi_cv_never_spans_trials_or_padding():
    s = np.zeros((2, 10, 1))
    s[0, [2, 9]] = 1.0       # interval 7 within trial 0
    s[1, [0, 3, 8]] = 1.0    # intervals 3 within trial 1; the spike at 8 is padding
    cv = isi_cv(s, 2.0, lengths=[10, 5])
    # intervals 14 and 6 ms (not 9 -> 0 across trials, not 3 -> 8 into padding)
    assert cv[0] == pytest.approx(np.std([14.0, 6.0], ddof=1) / 10.0)
    assert np.isnan(isi_cv(s, 2.0, lengths=[10, 5], min_intervals=3)[0])


def test_fano_factor_of_binomial_counts_and_per_condition():
    p = 0.1
    ff = fano_factor(_bernoulli(p, (2000, 50, 2)), 1.0)
    np.testing.assert_allclose(ff, 1 - p, atol=0.07)  # sampling error of a variance ratio
    # Two conditions with different but deterministic counts: 0 within each, not the pooled value.
    s = np.zeros((4, 10, 1))
    s[:2, :6] = 1.0
    s[2:, :2] = 1.0
    assert fano_factor(s, 1.0, keys=[0, 0, 1, 1])[0] == 0.0
    assert fano_factor(s, 1.0)[0] > 1.0
    assert fano_factor(s, 1.0, window=(8, 10))[0] != fano_factor(s, 1.0, window=(8, 10))[0]  # NaN: silent
    with pytest.raises(ValueError, match=r"window must satisfy 0 <= start < stop <= T=10; got \(5, 11\)"):
        fano_factor(s, 1.0, window=(5, 11))
    with pytest.raises(ValueError, match=r"every trial must last at least until the window's end \(step 10\); the shortest lasts 8 steps"):
        fano_factor(s, 1.0, lengths=[10, 10, 10, 8])
    with pytest.raises(ValueError, match=r"the Fano factor needs at least two trials of one condition"):
        fano_factor(s, 1.0, keys=[0, 1, 2, 3])


def test_spike_statistics_and_figures():
    s = _bernoulli(0.02, (20, 300, 10))
    stats = spike_statistics(s, 1.0, populations={"E": np.arange(8), "I": np.arange(8, 10)})
    assert stats.mean_rate_hz == pytest.approx(20.0, rel=0.1)
    assert set(stats.population_rates_hz) == {"E", "I"}
    np.testing.assert_array_equal(stats.isi_cv, isi_cv(s, 1.0))
    np.testing.assert_array_equal(stats.fano, fano_factor(s, 1.0))
    assert stats.mean_isi_cv == pytest.approx(np.nanmean(isi_cv(s, 1.0)))
    assert stats.mean_fano == pytest.approx(0.98, abs=0.15)
    fig = raster(s[0], dt=1.0, populations={"E": np.arange(8), "I": np.arange(8, 10)},
                 epochs={"stimulus": (100, 200)})
    assert isinstance(fig, Figure)
    dots = sum(len(c.get_offsets()) for c in fig.axes[0].collections)
    assert dots == int(s[0].sum())
    assert isinstance(psth_figure(psth(s, 1.0, smooth_ms=10), units=[0, 1]), Figure)
    assert isinstance(spike_statistics_figure(stats), Figure)
    with pytest.raises(ValueError, match=r"spikes must be one trial, shape \(T, N\); got \(20, 300, 10\)"):
        raster(s, dt=1.0)

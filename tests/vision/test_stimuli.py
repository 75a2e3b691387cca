"""Generated stimuli follow their stated conventions."""

from __future__ import annotations

import numpy as np
import pytest

from brainlike.tasks import gabor, grating, grating_set, pink_noise, white_noise


def test_grating_orientation_convention_and_contrast():
    vertical = grating(16, orientation=0.0, spatial_frequency=0.25)
    horizontal = grating(16, orientation=90.0, spatial_frequency=0.25)
    assert np.allclose(vertical, vertical[:1])  # constant down each column: vertical bars
    assert np.allclose(horizontal, horizontal[:, :1])
    np.testing.assert_allclose(horizontal, vertical.T, atol=1e-6)
    g = grating(64, orientation=30.0, spatial_frequency=1 / 8, contrast=0.5, mean=0.4)
    lmax, lmin = g.max(), g.min()
    np.testing.assert_allclose((lmax - lmin) / (lmax + lmin), 0.5, atol=0.01)  # Michelson contrast
    np.testing.assert_allclose(g.mean(), 0.4, atol=0.01)
    # orientation theta + 180 with phase phi is orientation theta with phase -phi
    np.testing.assert_allclose(
        grating(16, orientation=200.0, phase=30.0), grating(16, orientation=20.0, phase=-30.0), atol=1e-5
    )


def test_grating_frequency_is_cycles_per_pixel():
    g = grating((1, 64), orientation=0.0, spatial_frequency=0.125)[0] - 0.5
    spectrum = np.abs(np.fft.rfft(g))
    assert np.argmax(spectrum) == 64 * 0.125


def test_gabor_envelope_and_broadcasting():
    g = gabor(33, orientation=0.0, spatial_frequency=0.0, phase=0.0, sigma=4.0, contrast=1.0, mean=0.5)
    # zero frequency: mean * (1 + envelope); the envelope's std is sigma
    env = g / 0.5 - 1
    np.testing.assert_allclose(env[16, 16], 1.0, atol=1e-6)
    np.testing.assert_allclose(env[16, 16 + 4], np.exp(-0.5), atol=1e-6)
    stack = gabor(9, orientation=[0.0, 45.0, 90.0], sigma=2.0)
    assert stack.shape == (3, 9, 9) and stack.dtype == np.float32


def test_noise_ensembles():
    w = white_noise(4000, 8, seed=0)
    assert w.shape == (4000, 1, 8, 8)
    c = np.cov(w.reshape(4000, -1), rowvar=False)
    assert np.abs(c - np.eye(64)).max() < 0.1  # white: identity covariance up to 4000-sample noise
    b = white_noise(10, 4, seed=0, binary=True, std=2.0)
    assert set(np.unique(b)) == {-2.0, 2.0}
    p = pink_noise(64, 64, seed=0, exponent=1.0)
    power = (np.abs(np.fft.fft2(p[:, 0])) ** 2).mean(0)
    f = np.sqrt(np.fft.fftfreq(64)[:, None] ** 2 + np.fft.fftfreq(64)[None, :] ** 2)
    sel = (f > 0.02) & (f < 0.45)
    slope = np.polyfit(np.log(f[sel]), np.log(power[sel]), 1)[0]
    np.testing.assert_allclose(slope, -2.0, atol=0.1)  # amplitude 1/f -> power 1/f^2
    np.testing.assert_array_equal(white_noise(3, 4, seed=5), white_noise(3, 4, seed=5))


def test_grating_set_table():
    s = grating_set(8, orientations=[0, 45, 90], phases=[0, 90], spatial_frequencies=[0.1, 0.2])
    assert len(s) == 12 and s.images.shape == (12, 1, 8, 8)
    assert s.conditions["orientation"].tolist()[:4] == [0.0, 0.0, 0.0, 0.0]
    k = 5
    np.testing.assert_allclose(
        s.images[k, 0],
        grating(
            8,
            orientation=s.conditions["orientation"][k],
            phase=s.conditions["phase"][k],
            spatial_frequency=s.conditions["spatial_frequency"][k],
        ),
    )
    assert grating_set(8, envelope=1.0).images[0, 0, 0, 0] == pytest.approx(0.5, abs=1e-3)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda: grating(0),
            r"The 'size' parameter of grating must be an int >= 1 or a pair \(height, width\)",
        ),
        (
            lambda: grating(8, contrast=2.0),
            r"The 'contrast' parameter of grating must be finite and in \[0.0, 1.0\]. Got 2.0",
        ),
        (
            lambda: gabor(8, sigma=0.0),
            r"The 'sigma' parameter of gabor must be finite and in \(0.0, inf\]",
        ),
        (lambda: white_noise(0, 8), r"The 'n' parameter of white_noise must be an int >= 1. Got 0"),
        (
            lambda: pink_noise(2, 8, exponent=-1),
            r"The 'exponent' parameter of pink_noise must be finite and in \[0.0, inf\]",
        ),
        (
            lambda: grating_set(8, orientations=[]),
            r"The 'orientations' parameter of grating_set must be a non-empty sequence",
        ),
    ],
)
def test_bad_stimulus_parameters(call, match):
    with pytest.raises(ValueError, match=match):
        call()

"""Generated visual stimuli: gratings, Gabor patches, white and pink (1/f) noise.

NumPy only. Images are ``(H, W)`` float32 arrays (or ``(N, 1, H, W)`` stacks, ready for a
ConvNet), with a pixel grid centred on the image: ``x`` grows to the right, ``y`` upwards.

Conventions
-----------
* ``orientation`` (degrees) is the direction of the grating's wave vector, counterclockwise from
  the x axis: 0° gives vertical bars (luminance varies along x), 90° horizontal bars.
  Orientation θ + 180° with phase φ is the grating of θ with phase −φ (180°-periodic at
  phases 0° and 180°).
* ``spatial_frequency`` is in cycles per pixel (Nyquist = 0.5).
* ``phase`` (degrees) shifts the sinusoid: luminance ∝ cos(2π f (x cos θ + y sin θ) + φ), so
  phase 0 puts a bright bar on the centre.
* ``contrast`` is Michelson contrast around ``mean``: luminance = mean · (1 + contrast · wave),
  so mean 0.5 and contrast 1 span [0, 1].
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

__all__ = ["StimulusSet", "gabor", "grating", "grating_set", "pink_noise", "white_noise"]


def _size(size: Any, owner: str) -> tuple[int, int]:
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        size = (int(size), int(size))
    try:
        h, w = (int(s) for s in size)
        ok = all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in size)
    except (TypeError, ValueError):
        ok = False
    if not ok or h < 1 or w < 1:
        raise ValueError(
            f"The 'size' parameter of {owner} must be an int >= 1 or a pair (height, width) of "
            f"them. Got {size!r} instead."
        )
    return h, w


def _real(
    name: str,
    value: Any,
    owner: str,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
) -> np.ndarray:
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        a = None
    bad = a is None or not np.isfinite(a).all()
    if not bad:
        bad = bool((a <= low).any() if low_open else (a < low).any()) or bool((a > high).any())
    if bad:
        lo = "(" if low_open else "["
        raise ValueError(
            f"The '{name}' parameter of {owner} must be finite and in {lo}{low}, {high}]. "
            f"Got {value!r} instead."
        )
    return a


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates relative to the image centre; y points up."""
    x = np.arange(w) - (w - 1) / 2.0
    y = (h - 1) / 2.0 - np.arange(h)
    return np.meshgrid(x, y)  # each (h, w)


def _pattern(
    owner,
    size,
    orientation,
    spatial_frequency,
    phase,
    contrast,
    mean,
    *,
    sigma=None,
    center=(0.0, 0.0),
    square=False,
) -> np.ndarray:
    """mean · (1 + contrast · envelope · wave), broadcast over the parameters, float32."""
    h, w = _size(size, owner)
    theta = np.deg2rad(_real("orientation", orientation, owner))
    freq = _real("spatial_frequency", spatial_frequency, owner, low=0.0)
    phi = np.deg2rad(_real("phase", phase, owner))
    c = _real("contrast", contrast, owner, low=0.0, high=1.0)
    m = float(_real("mean", mean, owner))
    theta, freq, phi, c = np.broadcast_arrays(theta, freq, phi, c)
    t, f, p, cc = (a.reshape(*theta.shape, 1, 1) for a in (theta, freq, phi, c))
    try:
        cx, cy = (float(v) for v in center)
    except (TypeError, ValueError):
        raise ValueError(
            f"The 'center' parameter of {owner} must be a pair (x, y). Got {center!r} instead."
        ) from None
    x, y = _grid(h, w)
    x, y = x - cx, y - cy
    wave = np.cos(2.0 * np.pi * f * (x * np.cos(t) + y * np.sin(t)) + p)
    if square:
        wave = np.sign(wave)
    if sigma is not None:
        s = float(_real("sigma", sigma, owner, low=0.0, low_open=True))
        wave = wave * np.exp(-(x**2 + y**2) / (2.0 * s**2))
    return (m * (1.0 + cc * wave)).astype(np.float32)


def grating(
    size: int | tuple[int, int],
    *,
    orientation: float | Sequence[float] = 0.0,
    spatial_frequency: float | Sequence[float] = 0.125,
    phase: float | Sequence[float] = 0.0,
    contrast: float | Sequence[float] = 1.0,
    mean: float = 0.5,
    square: bool = False,
) -> np.ndarray:
    """A full-field sinusoidal (or square-wave) grating.

    ``L(x, y) = mean · (1 + contrast · cos(2π f (x cos θ + y sin θ) + φ))``; see the module
    docstring for the conventions.

    Parameters
    ----------
    size : int or (height, width)
    orientation : float or array, degrees
    spatial_frequency : float or array, cycles per pixel (>= 0)
    phase : float or array, degrees
    contrast : float or array, Michelson contrast in [0, 1]
    mean : float
        Mean luminance.
    square : bool
        Square wave (sign of the cosine) instead of a sinusoid.

    Returns
    -------
    ndarray, float32
        ``(H, W)`` for scalar parameters; ``(*broadcast_shape, H, W)`` for arrays.

    Examples
    --------
    >>> g = grating(8, orientation=0.0, spatial_frequency=0.25)
    >>> g.shape, float(g.max()) <= 1.0, bool(np.allclose(g[0], g[-1]))  # vertical bars
    ((8, 8), True, True)
    """
    return _pattern(
        "grating", size, orientation, spatial_frequency, phase, contrast, mean, square=square
    )


def gabor(
    size: int | tuple[int, int],
    *,
    orientation: float | Sequence[float] = 0.0,
    spatial_frequency: float | Sequence[float] = 0.125,
    phase: float | Sequence[float] = 0.0,
    contrast: float | Sequence[float] = 1.0,
    sigma: float = 2.0,
    center: tuple[float, float] = (0.0, 0.0),
    mean: float = 0.5,
) -> np.ndarray:
    """A Gabor patch: a grating under a circular Gaussian envelope of std ``sigma`` pixels.

    ``L = mean · (1 + contrast · exp(-r² / 2σ²) · cos(2π f (x' cos θ + y' sin θ) + φ))`` with
    ``(x', y')`` relative to ``center`` (pixels from the image centre, y up).

    Returns
    -------
    ndarray, float32, ``(H, W)`` or ``(*broadcast_shape, H, W)``

    Examples
    --------
    >>> g = gabor(16, orientation=45.0, sigma=2.0)
    >>> g.shape, round(float(g[0, 0]), 3)  # the envelope has decayed to the mean at a corner
    ((16, 16), 0.5)
    """
    return _pattern(
        "gabor", size, orientation, spatial_frequency, phase, contrast, mean, sigma=sigma, center=center
    )


def white_noise(
    n: int,
    size: int | tuple[int, int],
    *,
    seed: Any = None,
    std: float = 1.0,
    mean: float = 0.0,
    binary: bool = False,
) -> np.ndarray:
    """``n`` images of i.i.d. pixel noise: Gaussian, or ±std binary (``binary=True``).

    Returns
    -------
    ndarray, float32, shape (n, 1, H, W)
        The stimulus ensemble of reverse correlation (white: flat power spectrum).

    Examples
    --------
    >>> white_noise(3, 4, seed=0).shape
    (3, 1, 4, 4)
    """
    owner = "white_noise"
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"The 'n' parameter of {owner} must be an int >= 1. Got {n!r} instead.")
    h, w = _size(size, owner)
    sd = float(_real("std", std, owner, low=0.0))
    rng = np.random.default_rng(seed)
    if binary:
        z = np.where(rng.random((int(n), 1, h, w)) < 0.5, -1.0, 1.0)
    else:
        z = rng.standard_normal((int(n), 1, h, w))
    return (float(_real("mean", mean, owner)) + sd * z).astype(np.float32)


def pink_noise(
    n: int,
    size: int | tuple[int, int],
    *,
    seed: Any = None,
    exponent: float = 1.0,
    std: float = 1.0,
    mean: float = 0.0,
) -> np.ndarray:
    """``n`` images of Gaussian noise with amplitude spectrum ∝ 1/f^exponent.

    ``exponent = 1`` (the default) gives the 1/f amplitude (1/f² power) spectrum of natural
    images (Field 1987); ``exponent = 0`` is white noise. Built by shaping the spectrum of white
    Gaussian noise (the DC component is set to 0) and scaling each image to ``std`` around
    ``mean``.

    Returns
    -------
    ndarray, float32, shape (n, 1, H, W)

    Examples
    --------
    >>> x = pink_noise(2, 16, seed=0)
    >>> x.shape, bool(np.allclose(x.std(axis=(1, 2, 3)), 1.0, atol=1e-5))
    ((2, 1, 16, 16), True)
    """
    owner = "pink_noise"
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"The 'n' parameter of {owner} must be an int >= 1. Got {n!r} instead.")
    h, w = _size(size, owner)
    if h * w < 2:
        raise ValueError(
            f"The 'size' parameter of {owner} must hold at least 2 pixels. Got {size!r} instead."
        )
    alpha = float(_real("exponent", exponent, owner, low=0.0))
    sd = float(_real("std", std, owner, low=0.0))
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft2(rng.standard_normal((int(n), h, w)))
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    f = np.sqrt(fx**2 + fy**2)
    scale = np.zeros_like(f)
    scale[f > 0] = f[f > 0] ** -alpha
    img = np.fft.irfft2(spectrum * scale, s=(h, w))
    img -= img.mean(axis=(1, 2), keepdims=True)
    img /= img.std(axis=(1, 2), keepdims=True)
    return (float(_real("mean", mean, owner)) + sd * img[:, None]).astype(np.float32)


# --------------------------------------------------------------------------- stimulus sets
@dataclass(frozen=True, eq=False, repr=False)
class StimulusSet:
    """Images with the parameters that made them (the stimulus table).

    Attributes
    ----------
    images : ndarray, float32, shape (N, 1, H, W)
    conditions : Mapping[str, ndarray]
        One (N,) array per stimulus parameter, e.g. ``orientation``, ``spatial_frequency``,
        ``phase``, ``contrast``; pass it as the ``conditions`` of
        :meth:`brainlike.recordings.Recording.from_layers`.
    """

    images: np.ndarray
    conditions: Mapping[str, np.ndarray]

    def __post_init__(self) -> None:
        x = np.ascontiguousarray(self.images, dtype=np.float32)
        if x.ndim != 4:
            raise ValueError(f"images must be (N, C, H, W), got shape {x.shape}")
        x.setflags(write=False)
        conds = {}
        for k, v in self.conditions.items():
            v = np.array(v)
            if v.shape != (x.shape[0],):
                raise ValueError(f"conditions[{k!r}] must have shape ({x.shape[0]},), got {v.shape}")
            v.setflags(write=False)
            conds[k] = v
        object.__setattr__(self, "images", x)
        object.__setattr__(self, "conditions", MappingProxyType(conds))

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __repr__(self) -> str:
        shape, names = self.images.shape[1:], list(self.conditions)
        return f"StimulusSet(n={len(self)}, image_shape={shape}, conditions={names})"


def grating_set(
    size: int | tuple[int, int],
    *,
    orientations: Sequence[float] = tuple(np.arange(0.0, 180.0, 15.0)),
    spatial_frequencies: Sequence[float] = (0.125,),
    phases: Sequence[float] = (0.0, 90.0, 180.0, 270.0),
    contrasts: Sequence[float] = (1.0,),
    envelope: float | None = None,
    mean: float = 0.5,
) -> StimulusSet:
    """Every combination of the given parameters, as gratings (or Gabors with ``envelope``).

    Parameters
    ----------
    size : int or (height, width)
    orientations, spatial_frequencies, phases, contrasts : sequences
        Units as in :func:`grating`. Averaging responses over ``phases`` gives phase-invariant
        tuning curves.
    envelope : float, optional
        Gaussian envelope std in pixels (Gabor patches); None for full-field gratings.

    Returns
    -------
    StimulusSet
        ``len = product of the sequence lengths``, ordered with the last parameter varying
        fastest (orientation, spatial_frequency, phase, contrast).

    Examples
    --------
    >>> s = grating_set(8, orientations=[0, 90], phases=[0, 180])
    >>> s.images.shape, s.conditions["orientation"].tolist()
    ((4, 1, 8, 8), [0.0, 0.0, 90.0, 90.0])
    """
    grid = {
        "orientation": orientations,
        "spatial_frequency": spatial_frequencies,
        "phase": phases,
        "contrast": contrasts,
    }
    values = {}
    for k, v in grid.items():
        a = np.atleast_1d(np.asarray(v, dtype=np.float64))
        if a.ndim != 1 or a.size == 0:
            raise ValueError(
                f"The '{k}s' parameter of grating_set must be a non-empty sequence. Got {v!r} instead."
            )
        values[k] = a
    combos = np.array(list(itertools.product(*values.values())), dtype=np.float64)
    table: Mapping[str, np.ndarray] = {k: combos[:, j] for j, k in enumerate(values)}
    kwargs = {k: table[k] for k in table}
    if envelope is None:
        images = grating(size, mean=mean, **kwargs)
    else:
        images = gabor(size, sigma=envelope, mean=mean, **kwargs)
    return StimulusSet(images[:, None], table)

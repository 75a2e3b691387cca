"""Activation maximization (Yang & Wang 2020, Eq. 31; Erhan et al. 2009; Olah et al. 2017)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ... import _checks
from ...models._hooks import _forward, eval_mode, resolve_layers

__all__ = ["FeatureVisualization", "activation_maximization", "fourier_image", "objective_values"]

_KINDS = ("unit", "channel", "layer")
_PARAMS = ("fourier", "pixel")


@dataclass(frozen=True)
class FeatureVisualization:
    """Images that maximize a layer's units, channels or whole activation.

    Attributes
    ----------
    images : ndarray, float32, shape (K, C, H, W)
        One optimized image per target, within ``value_range``.
    activation : ndarray, shape (K,)
        The objective on the final images, untransformed (no jitter): the unit's activation,
        the channel's spatial mean, or the layer's mean squared activation.
    history : ndarray, shape (n_steps, K)
        The objective at each step, on the transformed images the optimizer saw.
    layer : str
    kind : {"unit", "channel", "layer"}
    targets : ndarray, shape (K,)
        Unit indices (into the flattened layer, C·H·W order) or channels; -1 for ``"layer"``.
    """

    images: np.ndarray
    activation: np.ndarray
    history: np.ndarray
    layer: str
    kind: str
    targets: np.ndarray


def _freqs(h: int, w: int) -> Tensor:
    fy = torch.fft.fftfreq(h)[:, None]
    fx = torch.fft.rfftfreq(w)[None, :]
    return torch.sqrt(fx * fx + fy * fy)


def fourier_image(spectrum: Tensor, shape: tuple[int, int]) -> Tensor:
    """Decorrelated image from a Fourier parameterization (Olah et al. 2017; Lucid/Lucent).

    ``spectrum (K, C, H, W//2 + 1, 2)`` holds real and imaginary parts; each frequency ``f``
    is scaled by ``1 / max(f, 1/max(H, W))`` (so the optimizer's steps have a natural-image,
    1/f spectrum) and inverted with an orthonormal real inverse FFT, divided by 4 as in Lucid.
    Works for any number of channels, including 1, and any image size.
    """
    h, w = shape
    scale = 1.0 / torch.clamp(_freqs(h, w), min=1.0 / max(h, w))
    spec = torch.view_as_complex(spectrum.contiguous()) * scale.to(spectrum.dtype)
    return torch.fft.irfft2(spec, s=(h, w), norm="ortho") / 4.0


def _check_targets(kind: str, targets: Any, n_units: int, n_channels: int | None) -> np.ndarray:
    if kind == "layer":
        return np.full(1 if targets is None else len(np.atleast_1d(targets)), -1, dtype=np.int64)
    if targets is None:
        raise ValueError(f"targets must list the {kind}s to maximize (ints)")
    t = np.atleast_1d(np.asarray(targets))
    if t.ndim != 1 or t.size == 0 or not np.issubdtype(t.dtype, np.integer):
        raise ValueError(f"targets must be an int or a non-empty sequence of ints; got {targets!r}")
    limit = n_units if kind == "unit" else n_channels
    if limit is None:
        raise ValueError("kind='channel' needs a layer with a channel axis (B, C, ...)")
    if t.min() < 0 or t.max() >= limit:
        raise ValueError(f"targets must lie in [0, {limit}) for kind={kind!r}; got {t.min()}..{t.max()}")
    return t.astype(np.int64)


def objective_values(act: Tensor, kind: str, targets: np.ndarray) -> Tensor:
    """The objective of image ``k`` for target ``k``: ``act (K, ...)`` -> ``(K,)``."""
    k = act.shape[0]
    rows = torch.arange(k)
    if kind == "unit":
        return act.reshape(k, -1)[rows, torch.as_tensor(targets)]
    if kind == "channel":
        return act[rows, torch.as_tensor(targets)].reshape(k, -1).mean(-1)
    return act.reshape(k, -1).square().mean(-1)


def _blur(x: Tensor, sigma: float) -> Tensor:
    radius = max(1, math.ceil(2 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype)
    k1 = torch.exp(-(t * t) / (2 * sigma * sigma))
    k1 = k1 / k1.sum()
    c = x.shape[1]
    xp = nn.functional.pad(x, (radius, radius, radius, radius), mode="replicate")
    xp = nn.functional.conv2d(xp, k1.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return nn.functional.conv2d(xp, k1.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def _jitter(x: Tensor, jitter: int, fill: float, gen: torch.Generator) -> Tensor:
    """Shift each image by up to ``jitter`` pixels in x and y (independently), filling with ``fill``.

    The image keeps its size (pad by ``jitter``, crop a random window of the original size), so
    it works for networks with a fixed input size."""
    if jitter == 0:
        return x
    k, c, h, w = x.shape
    xp = nn.functional.pad(x, (jitter, jitter, jitter, jitter), value=fill)
    dy = torch.randint(0, 2 * jitter + 1, (k,), generator=gen)
    dx = torch.randint(0, 2 * jitter + 1, (k,), generator=gen)
    iy = dy[:, None] + torch.arange(h)[None, :]  # (K, H)
    ix = dx[:, None] + torch.arange(w)[None, :]  # (K, W)
    rows = xp[torch.arange(k)[:, None], :, iy].permute(0, 2, 1, 3)  # (K, C, H, W + 2 jitter)
    return torch.gather(rows, 3, ix[:, None, None, :].expand(k, c, h, w))


def activation_maximization(
    model: nn.Module,
    layer: str,
    targets: int | Sequence[int] | None = None,
    *,
    kind: str = "unit",
    shape: Sequence[int] | None = None,
    n_steps: int = 512,
    lr: float = 0.05,
    param: str = "fourier",
    value_range: tuple[float, float] = (0.0, 1.0),
    l2: float = 0.0,
    tv: float = 0.0,
    blur: float = 0.0,
    blur_sigma: float = 0.5,
    jitter: int = 0,
    seed: int = 0,
) -> FeatureVisualization:
    r"""Find inputs that maximize units, channels or a whole layer by gradient ascent (Eq. 31).

    ``x ← x + η ∂r/∂x`` (Adam on the image parameters), maximizing for each target

    .. math::

        r(x) - \lambda_{2}\,\overline{(x - \bar v)^2} - \lambda_{TV}\,\overline{|\nabla x|}
             - \lambda_{blur}\,\overline{(x - \mathrm{blur}(x))^2}

    where ``r`` is the unit's activation, the channel's spatial mean or the layer's mean
    squared activation (``kind``), ``v̄`` the middle of ``value_range``, and each step sees the
    images shifted by up to ``jitter`` pixels (transformation robustness).
    All targets are optimized together, one image each, in a single batch, and each forward
    pass stops at ``layer``.

    Parameters
    ----------
    model : nn.Module
        Any module taking images ``(B, C, H, W)`` (run in eval mode; its parameters get no
        gradient and are not modified).
    layer : str
        Submodule name (e.g. ``"conv1"``, ``"fc2"``, ``"readout"`` of a ConvNet).
    targets : int or sequence of int
        Units (flattened index, C·H·W order) or channels; ignored for ``kind="layer"``.
    kind : {"unit", "channel", "layer"}
    shape : (C, H, W), optional
        Image shape; default ``model.input_shape``. 1-channel and tiny (8×8) images work.
    n_steps : int
    lr : float
        Adam's learning rate on the image parameters.
    param : {"fourier", "pixel"}
        ``"fourier"``: the decorrelated (1/f-scaled) Fourier parameterization of
        :func:`fourier_image`; ``"pixel"``: one parameter per pixel. Either passes through a
        sigmoid onto ``value_range``.
    value_range : (low, high)
        Pixel range of the images (the data's: [0, 1] for brainlike's image tasks).
    l2, tv, blur : float
        Weights of the L2, total-variation and blur penalties (0: off).
    blur_sigma : float
        Std (pixels) of the Gaussian blur the blur penalty compares with.
    jitter : int
        Transformation robustness: each step sees the images shifted by up to ``jitter``
        pixels (filled with the mid value). Off by default: on 8×8 digits a 1-pixel jitter is an
        eighth of the image and lowers the activation reached on the unshifted image (measured:
        the ten class units of a trained ConvNet reach 0.9-1.5× the best digit image with jitter
        1, 1.2-1.6× without, 500 steps).
    seed : int
        Seeds the initial parameters and the jitter: the same seed gives the same images.

    Returns
    -------
    FeatureVisualization

    Examples
    --------
    >>> from brainlike.models import ConvNet
    >>> net = ConvNet((1, 8, 8), 10, seed=0)
    >>> vis = activation_maximization(net, "conv1", [0, 1], kind="channel", n_steps=20)
    >>> vis.images.shape, vis.activation.shape
    ((2, 1, 8, 8), (2,))

    References
    ----------
    Erhan, D., Bengio, Y., Courville, A. & Vincent, P. (2009). Visualizing higher-layer features
    of a deep network. Olah, C., Mordvintsev, A. & Schubert, L. (2017). Feature visualization.
    Distill. Yang & Wang (2020), Eq. 31.
    """
    owner = "activation_maximization"
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    (layer,) = resolve_layers(model, [layer])
    _checks.one_of("kind", kind, owner, _KINDS)
    _checks.one_of("param", param, owner, _PARAMS)
    n_steps = _checks.positive_int("n_steps", n_steps, owner)
    lr = _checks.in_range("lr", lr, owner, 0.0, math.inf)
    for name, value in (("l2", l2), ("tv", tv), ("blur", blur)):
        _checks.in_range(name, value, owner, 0.0, math.inf, low_open=False)
    blur_sigma = _checks.in_range("blur_sigma", blur_sigma, owner, 0.0, math.inf)
    if isinstance(jitter, bool) or not isinstance(jitter, int) or jitter < 0:
        raise ValueError(
            f"The 'jitter' parameter of {owner} must be an int >= 0. Got {jitter!r} instead."
        )
    lo, hi = (float(v) for v in value_range)
    if not hi > lo:
        raise ValueError(
            f"The 'value_range' parameter of {owner} must be (low, high) with high > low. "
            f"Got {value_range!r} instead."
        )
    if shape is None:
        shape = getattr(model, "input_shape", None)
        if shape is None:
            raise ValueError(f"shape must be given: {type(model).__name__} has no input_shape")
    try:
        c, h, w = (int(s) for s in shape)
    except (TypeError, ValueError):
        raise ValueError(
            f"The 'shape' parameter of {owner} must be (C, H, W). Got {shape!r} instead."
        ) from None

    with eval_mode(model):
        with torch.no_grad():
            probe = _forward(model, torch.full((1, c, h, w), (lo + hi) / 2), [layer], stop=True)[layer]
        n_channels = probe.shape[1] if probe.ndim >= 2 else None
        tgt = _check_targets(kind, targets, probe[0].numel(), n_channels)
        k = tgt.size
        gen = torch.Generator().manual_seed(int(seed))
        if param == "fourier":
            z = (0.01 * torch.randn(k, c, h, w // 2 + 1, 2, generator=gen)).requires_grad_(True)
        else:
            z = (0.01 * torch.randn(k, c, h, w, generator=gen)).requires_grad_(True)
        opt = torch.optim.Adam([z], lr=lr)
        mid = (lo + hi) / 2

        def image() -> Tensor:
            raw = fourier_image(z, (h, w)) if param == "fourier" else z
            return lo + (hi - lo) * torch.sigmoid(raw)

        history = np.empty((n_steps, k))
        for step in range(n_steps):
            x = image()
            seen = _jitter(x, jitter, mid, gen)
            act = _forward(model, seen, [layer], stop=True)[layer]
            obj = objective_values(act, kind, tgt)
            loss = -obj.sum()
            if l2:
                loss = loss + l2 * (x - mid).square().mean(dim=(1, 2, 3)).sum()
            if tv:
                dx = (x[..., :, 1:] - x[..., :, :-1]).abs().mean(dim=(1, 2, 3))
                dy = (x[..., 1:, :] - x[..., :-1, :]).abs().mean(dim=(1, 2, 3))
                loss = loss + tv * (dx + dy).sum()
            if blur:
                loss = (
                    loss + blur * (x - _blur(x, blur_sigma).detach()).square().mean(dim=(1, 2, 3)).sum()
                )
            (grad,) = torch.autograd.grad(loss, [z])
            z.grad = grad
            opt.step()
            history[step] = obj.detach().numpy()
        with torch.no_grad():
            final = image()
            act = _forward(model, final, [layer], stop=True)[layer]
            values = objective_values(act, kind, tgt).numpy().astype(np.float64)
    return FeatureVisualization(
        final.detach().numpy().astype(np.float32), values, history, layer, kind, tgt
    )

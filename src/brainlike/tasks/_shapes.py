"""A generative model of shapes with separately controlled shape, texture and nuisance factors.

The overview seed's central study (Daube et al. 2021, Patterns 2, 100348) generated faces from a
3D model whose *shape* and *texture* coefficients were controlled separately, defined identities
as points in that factor space, and asked which of the factors people and networks rely on. This
module is a miniature of that design for small images (NumPy only):

* **shape** factors ``shape_1 .. shape_m``: the outline of a closed contour, a radial-frequency
  pattern (Wilkinson, Wilson & Habak 1998) ``r(θ) = R exp(g_s Σ_k s_k cos((k + 1) θ))``: factor
  ``k`` sets the amplitude of radial frequency ``k + 1`` (2: elongation, 3: triangularity, ...);
* **texture** factors ``texture_1 .. texture_n``: the surface pattern inside the contour,
  ``L = 0.7 + 0.3 tanh(g_t Σ_j t_j cos(2π f (u cos o_j + v sin o_j) + ψ_j))``: factor
  ``texture_{j+1}`` (``j = 0 .. n - 1``) is the amplitude of a grating at orientation
  ``o_j = 180° j / n`` and phase ``ψ_j = 90° j``, at ``f = 0.25`` cycles per pixel, in the
  shape's own coordinates ``(u, v)`` (it moves with it);
* **nuisance** factors: position ``x``, ``y`` (pixels, the contour's centre relative to the image
  centre, ``y`` up), ``contrast`` (the figure's luminance scale on a black background) and
  ``noise`` (standard deviation of additive Gaussian pixel noise).

An image is ``contrast · mask(r(θ) − ρ) · L + noise · ε``, with a soft (logistic, half a pixel)
edge so that every factor changes the image continuously. A texture factor never moves the
outline and a shape factor never changes the pattern inside it (tested), and every factor has a
name, so similarity between two stimuli can be judged in shape alone, texture alone or both.

Identities are points in factor space: ``n_identities`` prototypes whose shape and texture
coefficients are drawn (seeded) from the prior ``N(0, 1)`` of each factor. The classification task
``make("generated_shapes", labels=...)`` defines its classes by the prototypes' shapes (texture
drawn from the prior, so it carries no label information), their textures (shape from the prior),
or both; within a class each factor varies around the prototype with standard deviation
``spread``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
from scipy.special import expit

from ._core import TaskScore
from ._images import ImageBatch, ImageTask, allowed_labels
from ._stimuli import StimulusSet, _grid

__all__ = [
    "GeneratedShapes",
    "ShapeTextureGenerator",
    "SimilarityTrials",
]

LABELS = ("shape", "texture", "both")
NUISANCE = ("x", "y", "contrast", "noise")


def _count(name: str, value: Any, owner: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(
            f"The '{name}' parameter of {owner} must be an int >= {low}. Got {value!r} instead."
        )
    return int(value)


def _nonneg(name: str, value: Any, owner: str, high: float = math.inf) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or not 0.0 <= value <= high:
        raise ValueError(
            f"The '{name}' parameter of {owner} must be a float in [0, {high}]. Got {value!r} instead."
        )
    return float(value)


def _seed(value: Any, owner: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 0 <= value < 2**63:
        raise ValueError(
            f"The 'seed' parameter of {owner} must be an int in [0, 2**63). Got {value!r} instead."
        )
    return int(value)


@dataclass(frozen=True, eq=False, repr=False)
class SimilarityTrials:
    """Similarity judgements: which of two stimuli is closer to a reference?

    Attributes
    ----------
    reference, first, second : StimulusSet
        ``n_trials`` images each, with their full factor tables as conditions.
    closer : Mapping[str, ndarray of int64, shape (n_trials,)]
        The correct answer judged in ``"shape"`` factors alone, ``"texture"`` factors alone or
        ``"both"`` (Euclidean distance over shape and texture factors): 0 when ``first`` is
        closer, 1 when ``second`` is. The shape and texture answers are independent by design
        (they agree on about half the trials).
    distance : Mapping[str, ndarray, shape (n_trials, 2)]
        The distances of ``first`` and ``second`` from the reference in each space.
    """

    reference: StimulusSet
    first: StimulusSet
    second: StimulusSet
    closer: Mapping[str, np.ndarray]
    distance: Mapping[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.reference)

    def __repr__(self) -> str:
        return f"SimilarityTrials(n_trials={len(self)}, spaces={list(self.closer)})"


class ShapeTextureGenerator:
    """Images from a table of named shape, texture and nuisance factors (see the module notes).

    Parameters
    ----------
    size : int
        Image height and width in pixels (>= 8); the contour's mean radius is ``size / 4``.
    n_shape : int
        Shape factors ``shape_1 .. shape_{n_shape}`` (radial frequencies 2 .. n_shape + 1).
    n_texture : int
        Texture factors ``texture_1 .. texture_{n_texture}`` (grating amplitudes).
    n_identities : int
        Identity prototypes in factor space (>= 2).
    spread : float
        Standard deviation of each shape and texture factor around an identity's prototype in
        :meth:`sample` and the stimulus sets.
    position : float
        Nuisance position: ``x`` and ``y`` are drawn uniformly from ``[-position, position]``
        pixels.
    min_contrast : float
        Nuisance contrast: drawn uniformly from ``[min_contrast, 1]``.
    max_noise : float
        Nuisance noise: each image's pixel-noise standard deviation is drawn uniformly from
        ``[0, max_noise]``.
    seed : int
        Seed of the identity prototypes (the "world"); each draw of stimuli has its own seed.

    Attributes
    ----------
    factor_names : tuple of str
        ``shape_1 ..``, ``texture_1 ..``, ``x``, ``y``, ``contrast``, ``noise``.
    groups : Mapping[str, tuple of str]
        ``"shape"``, ``"texture"`` and ``"nuisance"`` factor names.
    defaults : Mapping[str, float]
        The value :meth:`render` uses for a factor a table leaves out: 0 for shape, texture and
        position, contrast 1, noise 0 (the average stimulus, centred, noise-free).
    identities : Mapping[str, ndarray]
        ``"shape"`` ``(n_identities, n_shape)`` and ``"texture"`` ``(n_identities, n_texture)``
        prototype coefficients (read-only).

    Examples
    --------
    >>> gen = ShapeTextureGenerator(16, seed=0)
    >>> images = gen.render({"shape_1": [0.0, 1.5], "texture_2": [1.0, 1.0]})
    >>> images.shape, images.dtype
    ((2, 1, 16, 16), dtype('float32'))
    >>> gen.groups["nuisance"]
    ('x', 'y', 'contrast', 'noise')
    """

    #: Mean radius as a fraction of the image size; log-radius per unit of a shape factor.
    RADIUS: ClassVar[float] = 0.25
    SHAPE_GAIN: ClassVar[float] = 0.12
    #: Texture gain (inside the tanh) and grating frequency (cycles per pixel).
    TEXTURE_GAIN: ClassVar[float] = 0.8
    TEXTURE_FREQUENCY: ClassVar[float] = 0.25
    #: Mean luminance of the figure (the texture modulates it within [2 L - 1, 1]).
    LUMINANCE: ClassVar[float] = 0.7
    #: Width of the contour's logistic edge, pixels.
    EDGE: ClassVar[float] = 0.5

    def __init__(
        self,
        size: int = 16,
        *,
        n_shape: int = 4,
        n_texture: int = 4,
        n_identities: int = 4,
        spread: float = 0.35,
        position: float = 1.5,
        min_contrast: float = 0.5,
        max_noise: float = 0.05,
        seed: int = 0,
    ):
        owner = "ShapeTextureGenerator"
        self.size = _count("size", size, owner, 8)
        self.n_shape = _count("n_shape", n_shape, owner, 1)
        self.n_texture = _count("n_texture", n_texture, owner, 1)
        self.n_identities = _count("n_identities", n_identities, owner, 2)
        self.spread = _nonneg("spread", spread, owner)
        self.position = _nonneg("position", position, owner, self.size / 4)
        self.min_contrast = _nonneg("min_contrast", min_contrast, owner, 1.0)
        self.max_noise = _nonneg("max_noise", max_noise, owner)
        self.seed = _seed(seed, owner)
        shape = tuple(f"shape_{k + 1}" for k in range(self.n_shape))
        texture = tuple(f"texture_{k + 1}" for k in range(self.n_texture))
        self.groups: Mapping[str, tuple[str, ...]] = MappingProxyType(
            {"shape": shape, "texture": texture, "nuisance": NUISANCE}
        )
        self.factor_names = (*shape, *texture, *NUISANCE)
        self.defaults: Mapping[str, float] = MappingProxyType(
            {**{k: 0.0 for k in (*shape, *texture, "x", "y", "noise")}, "contrast": 1.0}
        )
        rng = np.random.default_rng([self.seed, 1])
        protos = {
            "shape": rng.standard_normal((self.n_identities, self.n_shape)),
            "texture": rng.standard_normal((self.n_identities, self.n_texture)),
        }
        for a in protos.values():
            a.setflags(write=False)
        self.identities: Mapping[str, np.ndarray] = MappingProxyType(protos)

    def __repr__(self) -> str:
        return (
            f"ShapeTextureGenerator(size={self.size}, n_shape={self.n_shape}, "
            f"n_texture={self.n_texture}, n_identities={self.n_identities}, seed={self.seed})"
        )

    @property
    def params(self) -> dict[str, Any]:
        """Constructor arguments (JSON-able): ``ShapeTextureGenerator(**params)`` rebuilds it."""
        return {
            "size": self.size, "n_shape": self.n_shape, "n_texture": self.n_texture,
            "n_identities": self.n_identities, "spread": self.spread,
            "position": self.position, "min_contrast": self.min_contrast,
            "max_noise": self.max_noise, "seed": self.seed,
        }

    # ------------------------------------------------------------------ tables
    def complete(self, table: Any) -> dict[str, np.ndarray]:
        """A factor table with every factor: ``table``'s columns, the :attr:`defaults` for the rest.

        ``table`` is a mapping of factor name to values ``(n,)`` (or a pandas DataFrame); every
        column must have the same length, be finite, and name a factor; ``contrast`` and
        ``noise`` must be >= 0.
        """
        if hasattr(table, "columns") and hasattr(table, "to_numpy"):  # a DataFrame
            table = {str(c): table[c].to_numpy() for c in table.columns}
        if not isinstance(table, Mapping) or not table:
            raise ValueError(
                "a factor table must be a non-empty mapping (or DataFrame) of factor name to "
                f"values (n,); got {type(table).__name__}"
            )
        unknown = sorted(set(map(str, table)) - set(self.factor_names))
        if unknown:
            raise ValueError(
                f"unknown factor(s) {unknown} in the table; the factors are {list(self.factor_names)}"
            )
        cols: dict[str, np.ndarray] = {}
        n = None
        for key, values in table.items():
            try:
                a = np.asarray(values, dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"factor {key!r} must hold numbers; got {values!r:.60}") from None
            a = np.atleast_1d(a)
            if a.ndim != 1 or (n is not None and a.shape[0] != n):
                raise ValueError(
                    f"factor {key!r} must have shape (n,) like the other columns (n = {n}); "
                    f"got {a.shape}"
                )
            n = a.shape[0]
            if not np.isfinite(a).all():
                raise ValueError(f"factor {key!r} must be finite")
            if key in ("contrast", "noise") and (a < 0).any():
                raise ValueError(f"factor {key!r} must be >= 0; got min {a.min()}")
            cols[str(key)] = a
        return {k: cols[k] if k in cols else np.full(n, self.defaults[k]) for k in self.factor_names}

    def render(self, table: Any, *, seed: Any = None) -> np.ndarray:
        """Images ``(n, 1, size, size)`` float32 of the factor table (see :meth:`complete`).

        ``seed`` seeds the pixel noise (only drawn where ``noise > 0``).
        """
        t = self.complete(table)
        n = t["x"].shape[0]
        gx, gy = _grid(self.size, self.size)
        u = gx[None] - t["x"][:, None, None]
        v = gy[None] - t["y"][:, None, None]
        rho, theta = np.hypot(u, v), np.arctan2(v, u)
        log_r = np.full_like(rho, math.log(self.RADIUS * self.size))
        for k, name in enumerate(self.groups["shape"]):
            log_r += self.SHAPE_GAIN * t[name][:, None, None] * np.cos((k + 2) * theta)
        mask = expit((np.exp(log_r) - rho) / self.EDGE)
        pattern = np.zeros_like(rho)
        for j, name in enumerate(self.groups["texture"]):
            o = math.pi * j / self.n_texture
            phase = 2 * math.pi * self.TEXTURE_FREQUENCY * (u * math.cos(o) + v * math.sin(o))
            pattern += t[name][:, None, None] * np.cos(phase + math.pi / 2 * j)
        lum = self.LUMINANCE + (1.0 - self.LUMINANCE) * np.tanh(self.TEXTURE_GAIN * pattern)
        img = t["contrast"][:, None, None] * mask * lum
        if (t["noise"] > 0).any():
            eps = np.random.default_rng(seed).standard_normal(img.shape)
            img = img + t["noise"][:, None, None] * eps
        return img[:, None].astype(np.float32).reshape(n, 1, self.size, self.size)

    def stimuli(self, table: Any, *, seed: Any = None, **extra: Any) -> StimulusSet:
        """A :class:`StimulusSet`: the rendered images with the complete factor table (plus any
        ``extra`` per-image columns, e.g. labels) as its conditions."""
        t = self.complete(table)
        return StimulusSet(self.render(t, seed=seed), {**t, **extra})

    def identity(self, k: int) -> dict[str, float]:
        """The shape and texture factors of identity ``k``'s prototype."""
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 0 <= k < self.n_identities:
            raise ValueError(
                f"identity must be an int in [0, {self.n_identities}); got {k!r}"
            )
        out = {}
        for group in ("shape", "texture"):
            out.update(zip(self.groups[group], self.identities[group][k].tolist()))
        return out

    # ------------------------------------------------------------------ sampling
    def _nuisance(self, rng: np.random.Generator, n: int, vary: bool) -> dict[str, np.ndarray]:
        if not vary:
            return {k: np.full(n, self.defaults[k]) for k in NUISANCE}
        return {
            "x": rng.uniform(-self.position, self.position, n),
            "y": rng.uniform(-self.position, self.position, n),
            "contrast": rng.uniform(self.min_contrast, 1.0, n),
            "noise": rng.uniform(0.0, self.max_noise, n),
        }

    def _around(
        self, rng: np.random.Generator, group: str, ids: np.ndarray | None, n: int
    ) -> np.ndarray:
        """Coefficients of ``group``: prototype ``ids`` plus ``spread`` noise, or the prior."""
        width = self.n_shape if group == "shape" else self.n_texture
        z = rng.standard_normal((n, width))
        if ids is None:
            return z
        return self.identities[group][ids] + self.spread * z

    def _table(self, shape: np.ndarray, texture: np.ndarray, nuisance: Mapping) -> dict:
        out = dict(zip(self.groups["shape"], shape.T))
        out.update(zip(self.groups["texture"], texture.T))
        out.update(nuisance)
        return out

    def sample(
        self,
        n: int,
        *,
        labels: str = "both",
        seed: Any = None,
        classes: Any = None,
        nuisance: bool = True,
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Draw a factor table of ``n`` labelled stimuli and their labels ``(n,)`` int64.

        Parameters
        ----------
        labels : {"shape", "texture", "both"}
            What defines a class: the identity's shape (texture from the prior), its texture
            (shape from the prior) or both.
        seed : anything ``numpy.random.default_rng`` accepts
        classes : int or sequence of int, optional
            Draw only these classes (default: all, uniformly).
        nuisance : bool
            Draw the nuisance factors (default) or fix them at the :attr:`defaults`.
        """
        owner = "ShapeTextureGenerator.sample"
        n = _count("n", n, owner, 1)
        _one_of_labels(labels, owner)
        rng = np.random.default_rng(seed)
        allowed = np.arange(self.n_identities) if classes is None else np.atleast_1d(classes)
        bad = np.setdiff1d(allowed, np.arange(self.n_identities))
        if bad.size or allowed.size == 0 or not np.issubdtype(allowed.dtype, np.integer):
            got = np.asarray(classes).tolist()
            raise ValueError(f"classes must be identities in [0, {self.n_identities}); got {got}")
        ids = allowed[rng.integers(0, allowed.size, n)].astype(np.int64)
        shape = self._around(rng, "shape", ids if labels in ("shape", "both") else None, n)
        texture = self._around(rng, "texture", ids if labels in ("texture", "both") else None, n)
        return self._table(shape, texture, self._nuisance(rng, n, nuisance)), ids

    # ------------------------------------------------------------------ stimulus sets
    def identification_set(
        self, n_per_pair: int = 4, *, seed: Any = None, nuisance: bool = True
    ) -> StimulusSet:
        """Identification with cue conflict: every (shape identity, texture identity) pair.

        Each stimulus has the shape of prototype ``i`` and the texture of prototype ``j`` (each
        with ``spread`` around the prototype), ``n_per_pair`` times for every ``i, j``;
        conditions ``shape_identity``, ``texture_identity`` and ``congruent`` (``i == j``) join
        the factor table. Which identity an observer names on incongruent trials measures its
        shape bias (Geirhos et al. 2019).
        """
        owner = "ShapeTextureGenerator.identification_set"
        n_per_pair = _count("n_per_pair", n_per_pair, owner, 1)
        rng = np.random.default_rng(seed)
        k = self.n_identities
        si, ti = (a.ravel() for a in np.meshgrid(np.arange(k), np.arange(k), indexing="ij"))
        si, ti = np.repeat(si, n_per_pair), np.repeat(ti, n_per_pair)
        n = si.size
        table = self._table(
            self._around(rng, "shape", si, n), self._around(rng, "texture", ti, n),
            self._nuisance(rng, n, nuisance),
        )
        return self.stimuli(table, seed=rng, shape_identity=si, texture_identity=ti,
                            congruent=si == ti)

    def similarity_set(
        self,
        n_trials: int,
        *,
        seed: Any = None,
        max_distance: float = 2.0,
        nuisance: bool = True,
    ) -> SimilarityTrials:
        """Which of two stimuli is closer to a reference, in shape, in texture, or both?

        The reference of each trial is a random identity's prototype plus ``spread``; each
        option moves away from it by a random distance, drawn uniformly from
        ``[0.1, max_distance]`` independently in shape space and in texture space, along a random
        direction. The answers in shape and in texture are therefore independent: an observer's
        agreement with each tells which space it judges in.
        """
        owner = "ShapeTextureGenerator.similarity_set"
        n = _count("n_trials", n_trials, owner, 1)
        top = _nonneg("max_distance", max_distance, owner)
        if top <= 0.1:
            raise ValueError(
                f"The 'max_distance' parameter of {owner} must be > 0.1. Got {max_distance!r} instead."
            )
        rng = np.random.default_rng(seed)
        ids = rng.integers(0, self.n_identities, n)
        ref = {g: self._around(rng, g, ids, n) for g in ("shape", "texture")}
        sets, dist = [self.stimuli(self._table(ref["shape"], ref["texture"],
                                               self._nuisance(rng, n, nuisance)), seed=rng)], {}
        for _ in range(2):
            moved = {}
            for g in ("shape", "texture"):
                d = rng.uniform(0.1, top, n)
                direction = rng.standard_normal(ref[g].shape)
                direction /= np.linalg.norm(direction, axis=1, keepdims=True)
                moved[g] = ref[g] + d[:, None] * direction
                dist.setdefault(g, []).append(d)
            sets.append(self.stimuli(self._table(moved["shape"], moved["texture"],
                                                 self._nuisance(rng, n, nuisance)), seed=rng))
        d = {g: np.stack(v, axis=1) for g, v in dist.items()}
        d["both"] = np.hypot(d["shape"], d["texture"])
        closer = {g: np.argmin(v, axis=1).astype(np.int64) for g, v in d.items()}
        for a in (*closer.values(), *d.values()):
            a.setflags(write=False)
        return SimilarityTrials(*sets, MappingProxyType(closer), MappingProxyType(d))

    def reverse_correlation_set(
        self,
        n_trials: int,
        *,
        reference: int | Mapping[str, float] | None = None,
        sigma: float = 1.0,
        groups: tuple[str, ...] = ("shape", "texture"),
        seed: Any = None,
        nuisance: bool = True,
    ) -> StimulusSet:
        """Random factor perturbations around a reference (the reverse-correlation paradigm).

        Every factor of ``groups`` is the reference's value plus ``N(0, sigma²)``, independently
        per trial and factor, so each factor's correlation with an observer's responses is its
        kernel (:func:`brainlike.analysis.feature_use`).

        Parameters
        ----------
        reference : int, mapping or None
            An identity's prototype, a mapping of factor values (others at their defaults), or
            None: the average stimulus (all shape and texture factors 0), as in Daube et al.'s
            random faces around the average face.
        sigma : float
            Standard deviation of the perturbations (1: the prior of the identities).
        groups : tuple of str
            Factor groups to perturb (``"shape"``, ``"texture"``).
        nuisance : bool
            Draw the nuisance factors as in training (default) or fix them at the defaults.
        """
        owner = "ShapeTextureGenerator.reverse_correlation_set"
        n = _count("n_trials", n_trials, owner, 1)
        sigma = _nonneg("sigma", sigma, owner)
        groups = tuple(groups)
        if not groups or not set(groups) <= {"shape", "texture"}:
            raise ValueError(
                f"The 'groups' parameter of {owner} must name 'shape' and/or 'texture'. "
                f"Got {groups!r} instead."
            )
        if reference is None:
            ref: dict[str, float] = {}
        elif isinstance(reference, Mapping):
            ref = {k: float(v) for k, v in self.complete({k: [v] for k, v in reference.items()}).items()}
        else:
            ref = self.identity(reference)
        rng = np.random.default_rng(seed)
        base = {k: np.full(n, ref.get(k, self.defaults[k])) for k in self.factor_names}
        for g in groups:
            for k in self.groups[g]:
                base[k] = base[k] + sigma * rng.standard_normal(n)
        if nuisance:
            base.update(self._nuisance(rng, n, True))
        return self.stimuli(base, seed=rng)


def _one_of_labels(labels: Any, owner: str) -> str:
    if labels not in LABELS:
        raise ValueError(
            f"The 'labels' parameter of {owner} must be one of {list(LABELS)}. Got {labels!r} instead."
        )
    return labels


class GeneratedShapes:
    """Classify generated shapes by identity, defined by their shape, their texture, or both.

    An image task (``kind == "image"``) with the trainer's task protocol: ``generate(B, seed=...)``
    draws a fresh factor table from :meth:`ShapeTextureGenerator.sample` and renders it, so every
    batch is new (as with trial tasks; evaluations draw fresh stimuli and ``evaluation_task`` is
    the task itself). Batches are :class:`ImageBatch`\\ es whose conditions are the factor table
    plus ``label``.

    Parameters
    ----------
    labels : {"shape", "texture", "both"}
        What defines the classes (see :meth:`ShapeTextureGenerator.sample`).
    size, n_shape, n_texture, n_identities, spread, position, min_contrast, max_noise, seed
        The generator's (:class:`ShapeTextureGenerator`); ``seed`` fixes the identity prototypes,
        so tasks with the same seed and different ``labels`` share their identities.

    Attributes
    ----------
    generator : ShapeTextureGenerator
    n_inputs : int
        1 (gray images).
    n_outputs : int
        ``n_identities``.
    image_shape : (1, size, size)

    Examples
    --------
    >>> from brainlike.tasks import make
    >>> task = make("generated_shapes", labels="shape", size=16)
    >>> batch = task.generate(8, seed=0)
    >>> batch.inputs.shape, task.n_outputs, "shape_1" in batch.conditions
    ((8, 1, 16, 16), 4, True)
    """

    kind: ClassVar[str] = "image"
    name: ClassVar[str] = "generated_shapes"
    description: ClassVar[str] = (
        "Classify generated shapes whose identity is set by shape, texture or both factors"
    )
    citation: ClassVar[str] = "after Daube et al. (2021), Patterns 2, 100348 (shape vs texture)"
    target_kind: ClassVar[str] = "class"

    def __init__(
        self,
        *,
        labels: str = "both",
        size: int = 16,
        n_shape: int = 4,
        n_texture: int = 4,
        n_identities: int = 4,
        spread: float = 0.35,
        position: float = 1.5,
        min_contrast: float = 0.5,
        max_noise: float = 0.05,
        seed: int = 0,
    ):
        self.labels = _one_of_labels(labels, "make('generated_shapes')")
        self.generator = ShapeTextureGenerator(
            size, n_shape=n_shape, n_texture=n_texture, n_identities=n_identities,
            spread=spread, position=position, min_contrast=min_contrast, max_noise=max_noise,
            seed=seed,
        )

    @property
    def params(self) -> dict[str, Any]:
        """Constructor parameters (JSON-able): ``make(name, **params)`` rebuilds."""
        return {"labels": self.labels, **self.generator.params}

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (1, self.generator.size, self.generator.size)

    @property
    def n_inputs(self) -> int:
        return 1

    @property
    def n_outputs(self) -> int:
        return self.generator.n_identities

    @property
    def input_names(self) -> tuple[str, ...]:
        return ("gray",)

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(f"identity_{k}" for k in range(self.n_outputs))

    @property
    def condition_names(self) -> tuple[str, ...]:
        return (*self.generator.factor_names, "label")

    @property
    def ceiling(self) -> float | None:
        return None

    @property
    def evaluation_task(self) -> GeneratedShapes:
        """The task itself: every batch is freshly generated, so none is held out."""
        return self

    def __repr__(self) -> str:
        return f"make({self.name!r}, " + ", ".join(f"{k}={v!r}" for k, v in self.params.items()) + ")"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GeneratedShapes):
            return NotImplemented
        return self.params == other.params

    def __hash__(self) -> int:
        return hash(repr(self))

    def generate(
        self,
        batch_size: int,
        *,
        seed: Any = None,
        conditions: Mapping[str, Any] | None = None,
        noise: bool = True,
    ) -> ImageBatch:
        """Draw and render ``batch_size`` labelled stimuli.

        Parameters
        ----------
        batch_size : int
        seed : anything ``numpy.random.default_rng`` accepts
            The same seed gives a bitwise identical batch.
        conditions : mapping, optional
            ``{"label": c}`` (a class or a sequence of allowed classes).
        noise : bool
            Draw the nuisance factors (position, contrast, pixel noise; default), or render
            every image centred, at full contrast and noise-free.
        """
        classes = allowed_labels(self, batch_size, conditions)
        rng = np.random.default_rng(seed)
        table, labels = self.generator.sample(
            int(batch_size), labels=self.labels, seed=rng, classes=classes, nuisance=noise
        )
        images = self.generator.render(table, seed=rng)
        return ImageBatch(
            inputs=images,
            targets=labels,
            mask=np.ones(labels.size, dtype=np.float32),
            conditions={**table, "label": labels},
            input_names=self.input_names,
            output_names=self.output_names,
            task=self.name,
        )

    def score(self, outputs: Any, batch: ImageBatch) -> TaskScore:
        """Decision = argmax of the logits ``(B, n_classes)``; correct if it equals the label."""
        return ImageTask.score(self, outputs, batch)  # type: ignore[arg-type]

"""Stimulus search in a generative model's latent space (Ponce et al. 2019, XDream).

A small variational autoencoder trained on scikit-learn's 8×8 digits ships with brainlike as
the generator (:func:`load_digits_vae`; weights in ``digits_vae.safetensors`` beside this
module, made by :func:`train_digits_vae` with its defaults). :func:`genetic_search` optimizes
a *black-box* score of generated images — a CNN unit, a recorded neuron, a spiking unit: no
gradient is needed — and :func:`latent_gradient_search` the same for a differentiable unit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ... import _checks

__all__ = [
    "DigitsVAE",
    "LatentSearch",
    "genetic_search",
    "latent_gradient_search",
    "load_digits_vae",
    "train_digits_vae",
]

WEIGHTS = Path(__file__).with_name("digits_vae.safetensors")


class DigitsVAE(nn.Module):
    """Variational autoencoder for 8×8 images in [0, 1] (Kingma & Welling 2014).

    Encoder ``64 → hidden → (μ, log σ²)`` of ``n_latent`` dims, decoder
    ``n_latent → hidden → 64`` with a sigmoid (Bernoulli likelihood), ReLU hidden layers.

    Parameters
    ----------
    n_latent : int
    n_hidden : int
    seed : int, optional
        Seed of the initialization.
    """

    def __init__(self, n_latent: int = 8, n_hidden: int = 128, *, seed: int | None = None):
        super().__init__()
        self.n_latent = _checks.positive_int("n_latent", n_latent, "DigitsVAE")
        self.n_hidden = _checks.positive_int("n_hidden", n_hidden, "DigitsVAE")
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(int(seed))
            self.encoder = nn.Sequential(
                nn.Linear(64, n_hidden), nn.ReLU(), nn.Linear(n_hidden, 2 * n_latent)
            )
            self.decoder = nn.Sequential(
                nn.Linear(n_latent, n_hidden), nn.ReLU(), nn.Linear(n_hidden, 64)
            )

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (1, 8, 8)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Images ``(B, 1, 8, 8)`` -> posterior mean and log variance, each ``(B, n_latent)``."""
        mu, logvar = self.encoder(x.reshape(x.shape[0], 64)).chunk(2, dim=-1)
        return mu, logvar

    def decode(self, z: Tensor) -> Tensor:
        """Codes ``(B, n_latent)`` -> images ``(B, 1, 8, 8)`` in (0, 1)."""
        z = torch.as_tensor(z, dtype=torch.float32)
        if z.ndim != 2 or z.shape[1] != self.n_latent:
            raise ValueError(f"codes must have shape (batch, {self.n_latent}); got {tuple(z.shape)}")
        return torch.sigmoid(self.decoder(z)).reshape(-1, 1, 8, 8)

    def forward(
        self, x: Tensor, *, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Reconstruction ``(B, 1, 8, 8)``, ``μ`` and ``log σ²`` (one reparameterized sample)."""
        mu, logvar = self.encode(x)
        eps = torch.randn(mu.shape, generator=generator)
        return self.decode(mu + eps * (0.5 * logvar).exp()), mu, logvar


def _elbo_loss(model: DigitsVAE, x: Tensor, gen: torch.Generator) -> Tensor:
    recon, mu, logvar = model(x, generator=gen)
    bce = nn.functional.binary_cross_entropy(recon, x, reduction="sum") / x.shape[0]
    kl = -0.5 * (1 + logvar - mu.square() - logvar.exp()).sum() / x.shape[0]
    return bce + kl


def train_digits_vae(
    *,
    n_latent: int = 8,
    n_hidden: int = 128,
    steps: int = 6000,
    batch_size: int = 128,
    lr: float = 2e-3,
    seed: int = 0,
) -> DigitsVAE:
    """Train :class:`DigitsVAE` on the training split of ``make("digits")`` (negative ELBO).

    The shipped weights are this function's result with its defaults (a minute on one CPU
    core); call it to rebuild them or to train a variant.
    """
    from brainlike.tasks import make

    data = torch.tensor(make("digits").data.images)
    model = DigitsVAE(n_latent, n_hidden, seed=seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(int(seed))
    for _ in range(_checks.positive_int("steps", steps, "train_digits_vae")):
        idx = torch.randint(0, data.shape[0], (batch_size,), generator=gen)
        loss = _elbo_loss(model, data[idx], gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def load_digits_vae() -> DigitsVAE:
    """The shipped generator: a :class:`DigitsVAE` (8 latent dims) trained on the digits."""
    from safetensors.torch import load_file

    state = load_file(str(WEIGHTS))
    n_latent = state["decoder.0.weight"].shape[1]
    n_hidden = state["decoder.0.weight"].shape[0]
    model = DigitsVAE(n_latent, n_hidden)
    model.load_state_dict(state)
    return model.eval()


@dataclass(frozen=True)
class LatentSearch:
    """Result of a latent-space search.

    Attributes
    ----------
    code : ndarray, shape (n_latent,)
        The best code found.
    image : ndarray, float32, shape (C, H, W)
        Its image.
    score : float
        Its score.
    history : ndarray, shape (n_generations, population)
        Score of every candidate of every generation (gradient search: one per step).
    best : ndarray, shape (n_generations,)
        Best score so far after each generation.
    """

    code: np.ndarray
    image: np.ndarray
    score: float
    history: np.ndarray
    best: np.ndarray


def _decode(generator: Any, codes: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return np.asarray(generator.decode(torch.as_tensor(codes, dtype=torch.float32)))


def genetic_search(
    score: Callable[[np.ndarray], Any],
    generator: Any = None,
    *,
    n_generations: int = 100,
    population: int = 20,
    mutation_rate: float = 0.5,
    mutation_size: float = 0.5,
    selectivity: float = 2.0,
    heritability: float = 0.5,
    n_conserve: int = 1,
    init_std: float = 1.0,
    seed: int = 0,
) -> LatentSearch:
    """Gradient-free search of a generator's latent space for the images a unit prefers.

    XDream's genetic algorithm (Ponce et al. 2019; Xiao & Kreiman 2020): each generation's
    codes are decoded to images and scored; fitness ``exp((s − max s) / kT)`` with
    ``kT = std(s) / selectivity``; the ``n_conserve`` best codes survive unchanged, the others
    are children of two parents drawn in proportion to fitness, each gene taken from the first
    parent with probability ``heritability``, then mutated with probability ``mutation_rate``
    by ``N(0, mutation_size²)``. The score is only ever *evaluated*, so it can be a recorded
    neuron, a spiking unit or any non-differentiable function.

    Parameters
    ----------
    score : callable
        ``score(images (P, C, H, W) ndarray) -> (P,)`` responses to maximize.
    generator : object with ``decode(codes (P, n_latent)) -> images`` and ``n_latent``
        Default: the shipped digits VAE (:func:`load_digits_vae`).
    n_generations, population : int
    mutation_rate, mutation_size, selectivity, heritability : float
        XDream's defaults (0.5, 0.5, 2, 0.5).
    n_conserve : int
        Elite codes kept unchanged each generation (XDream's default is 0; 1 makes the best
        score monotone).
    init_std : float
        Initial codes ``~ N(0, init_std²)`` (the VAE's prior for 1).
    seed : int

    Returns
    -------
    LatentSearch

    Examples
    --------
    >>> import numpy as np
    >>> res = genetic_search(lambda imgs: imgs[:, 0, 3:5, 3:5].mean(axis=(1, 2)), n_generations=10)
    >>> res.image.shape, bool(res.best[-1] >= res.best[0])
    ((1, 8, 8), True)
    """
    owner = "genetic_search"
    n_generations = _checks.positive_int("n_generations", n_generations, owner)
    population = _checks.positive_int("population", population, owner)
    if population < 2:
        raise ValueError(
            f"The 'population' parameter of {owner} must be an int >= 2. Got {population!r} instead."
        )
    for name, v in (("mutation_rate", mutation_rate), ("heritability", heritability)):
        _checks.in_range(name, v, owner, 0.0, 1.0, low_open=False, high_open=False)
    for name, v in (
        ("mutation_size", mutation_size),
        ("selectivity", selectivity),
        ("init_std", init_std),
    ):
        _checks.in_range(name, v, owner, 0.0, math.inf)
    if (
        isinstance(n_conserve, bool)
        or not isinstance(n_conserve, int)
        or not 0 <= n_conserve < population
    ):
        raise ValueError(
            f"The 'n_conserve' parameter of {owner} must be an int in [0, population). "
            f"Got {n_conserve!r} instead."
        )
    gen_model = load_digits_vae() if generator is None else generator
    d = int(gen_model.n_latent)
    rng = np.random.default_rng(seed)
    codes = init_std * rng.standard_normal((population, d))
    history = np.empty((n_generations, population))
    best_code, best_score = codes[0], -math.inf
    best = np.empty(n_generations)
    for g in range(n_generations):
        s = np.asarray(score(_decode(gen_model, codes)), dtype=np.float64).reshape(-1)
        if s.shape != (population,) or not np.isfinite(s).all():
            raise ValueError(
                f"score must return {population} finite values, one per image; got {s.shape}"
            )
        history[g] = s
        top = int(np.argmax(s))
        if s[top] > best_score:
            best_score, best_code = float(s[top]), codes[top].copy()
        best[g] = best_score
        if g == n_generations - 1:
            break
        spread = s.std()
        fitness = np.exp((s - s.max()) / (spread / selectivity)) if spread > 0 else np.ones(population)
        prob = fitness / fitness.sum()
        order = np.argsort(-s)
        elite = codes[order[:n_conserve]]
        n_child = population - n_conserve
        parents = rng.choice(population, size=(n_child, 2), p=prob)
        take_first = rng.random((n_child, d)) < heritability
        children = np.where(take_first, codes[parents[:, 0]], codes[parents[:, 1]])
        mutate = rng.random((n_child, d)) < mutation_rate
        children = children + mutate * mutation_size * rng.standard_normal((n_child, d))
        codes = np.concatenate([elite, children])
    image = _decode(gen_model, best_code[None])[0]
    return LatentSearch(best_code, image.astype(np.float32), best_score, history, best)


def latent_gradient_search(
    model: nn.Module,
    layer: str,
    unit: int,
    generator: Any = None,
    *,
    n_steps: int = 200,
    lr: float = 0.05,
    n_starts: int = 8,
    prior: float = 0.0,
    seed: int = 0,
) -> LatentSearch:
    """Gradient ascent on a unit's activation in the generator's latent space.

    Maximizes ``r(decode(z)) − prior · ||z||² / 2`` from ``n_starts`` codes ``~ N(0, I)`` at
    once (Adam) and returns the best: the differentiable counterpart of :func:`genetic_search`
    (Nguyen et al. 2016's deep generator network prior).

    Parameters
    ----------
    model : nn.Module
    layer : str
    unit : int
        Index into the flattened layer output.
    generator : default the shipped digits VAE
    prior : float
        Weight of the Gaussian prior on the code, which keeps images digit-like.
    """
    from ...models._hooks import _forward, eval_mode, resolve_layers

    owner = "latent_gradient_search"
    (layer,) = resolve_layers(model, [layer])
    n_steps = _checks.positive_int("n_steps", n_steps, owner)
    n_starts = _checks.positive_int("n_starts", n_starts, owner)
    _checks.in_range("lr", lr, owner, 0.0, math.inf)
    _checks.in_range("prior", prior, owner, 0.0, math.inf, low_open=False)
    gen_model = load_digits_vae() if generator is None else generator
    gen = torch.Generator().manual_seed(int(seed))
    z = torch.randn(n_starts, int(gen_model.n_latent), generator=gen).requires_grad_(True)
    opt = torch.optim.Adam([z], lr=lr)
    history = np.empty((n_steps, n_starts))
    with eval_mode(model):
        for step in range(n_steps):
            act = _forward(model, gen_model.decode(z), [layer], stop=True)[layer].reshape(n_starts, -1)
            if not 0 <= int(unit) < act.shape[1]:
                raise ValueError(f"unit must lie in [0, {act.shape[1]}); got {unit!r}")
            r = act[:, int(unit)]
            loss = -(r - 0.5 * prior * z.square().sum(-1)).sum()
            (grad,) = torch.autograd.grad(loss, [z])
            z.grad = grad
            opt.step()
            history[step] = r.detach().numpy()
        with torch.no_grad():
            images = gen_model.decode(z)
            r = _forward(model, images, [layer], stop=True)[layer].reshape(n_starts, -1)[:, int(unit)]
    k = int(torch.argmax(r))
    return LatentSearch(
        z[k].detach().numpy().copy(),
        images[k].numpy().astype(np.float32),
        float(r[k]),
        history,
        np.maximum.accumulate(history.max(axis=1)),
    )

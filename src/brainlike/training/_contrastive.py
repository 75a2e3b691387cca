"""Self-supervised contrastive learning of image representations (SimCLR; Chen et al. 2020).

Each step draws a batch of images, makes two augmented views of every image, passes both through
the encoder (the model's ``activity``, e.g. a ConvNet's last hidden layer) and a projection head
``g``, and minimizes NT-Xent: each view must pick out the other view of its own image among the
``2B - 1`` other views. No label reaches the encoder. An optional *online linear probe* trains
the model's own ``readout`` on the detached representation with the labels, so that the run's
evaluations (accuracy on the task's held-out images) measure how linearly decodable the
classes are from what the encoder learned without them (the linear-evaluation protocol of
SimCLR, run alongside instead of afterwards).

The run machinery (directory, lock, resume, checkpoints, NaN guard, evaluations) is
:class:`._session.Session`; the projection head's weights are the algorithm's own checkpointed
state.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import _checks
from ._loop import _describe, check_model_fits_task
from ._session import TRAIN_NOISE, TRAIN_TRIALS, Session, StepInfo, TrainResult, generator

__all__ = ["augment", "nt_xent", "train_contrastive"]


def nt_xent(z1: Tensor, z2: Tensor, temperature: float = 0.5) -> Tensor:
    """The normalized temperature-scaled cross-entropy loss of SimCLR (Chen et al. 2020, Eq. 1).

    With ``z = [z1; z2]`` (``2B`` projections, rows L2-normalized) and ``s_ij = z_i · z_j / τ``,

    ``L = 1/(2B) Σ_i −log( exp(s_{i,p(i)}) / Σ_{k≠i} exp(s_ik) )``

    where ``p(i)`` is the other view of image ``i`` (``i ± B``).

    Parameters
    ----------
    z1, z2 : Tensor, shape (B, d)
        Projections of the two views of the same ``B`` images (row ``i`` of each is image
        ``i``); ``B >= 2``.
    temperature : float
        ``τ > 0``.

    Returns
    -------
    Tensor
        The scalar loss.

    Examples
    --------
    >>> import torch
    >>> z = torch.eye(4)
    >>> float(nt_xent(z, z, temperature=0.1)) < 1e-3      # each view finds its pair
    True
    """
    if z1.ndim != 2 or z1.shape != z2.shape or z1.shape[0] < 2:
        raise ValueError(
            f"z1 and z2 must have the same shape (B, d) with B >= 2; got {tuple(z1.shape)} and "
            f"{tuple(z2.shape)}"
        )
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0; got {temperature!r}")
    b = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    sim = (z @ z.T) / temperature
    sim = sim.masked_fill(torch.eye(2 * b, dtype=torch.bool, device=z.device), -math.inf)
    pair = torch.cat([torch.arange(b, 2 * b), torch.arange(b)]).to(z.device)
    return F.cross_entropy(sim, pair)


def augment(
    images: Tensor,
    generator: torch.Generator | None = None,
    *,
    translate: float = 0.125,
    scale: float = 0.15,
    rotate: float = 15.0,
    contrast: float = 0.3,
    noise: float = 0.1,
) -> Tensor:
    """Random views of images ``(B, C, H, W)`` for contrastive learning (SimCLR-style).

    Each image gets its own random affine transform — a shift of up to ``translate`` of the
    image's width and height, a zoom by a factor in ``[1 − scale, 1 + scale]`` (a crop when
    zooming in) and a rotation by up to ``rotate`` degrees, resampled bilinearly with zeros
    outside (the background of the bundled digits) — then its contrast is scaled by a factor in
    ``[1 − contrast, 1 + contrast]`` and Gaussian pixel noise of standard deviation ``noise`` is
    added. All draws come from ``generator``, so a seeded generator gives the same views.
    """
    if images.ndim != 4:
        raise ValueError(f"images must be (B, C, H, W); got {tuple(images.shape)}")
    b = images.shape[0]
    kw = {"generator": generator, "dtype": images.dtype}

    def uniform(low: float, high: float) -> Tensor:
        return low + (high - low) * torch.rand(b, **kw)

    angle = torch.deg2rad(uniform(-rotate, rotate))
    zoom = uniform(1.0 - scale, 1.0 + scale)
    shift = 2.0 * translate * (2.0 * torch.rand(b, 2, **kw) - 1.0)  # grid units span 2
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    )
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    out = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    out = out * uniform(1.0 - contrast, 1.0 + contrast)[:, None, None, None]
    return out + noise * torch.randn(out.shape, **kw)


class _Head(nn.Module):
    """SimCLR's projection head ``g``: Linear, ReLU, Linear."""

    def __init__(self, n_in: int, hidden: int, out: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, out))

    def forward(self, h: Tensor) -> Tensor:
        return self.net(h)


def train_contrastive(
    model: nn.Module,
    task: Any,
    *,
    steps: int = 2000,
    batch_size: int = 128,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    temperature: float = 0.5,
    projection_dim: int = 32,
    projection_hidden: int = 128,
    probe: bool = True,
    translate: float = 0.125,
    scale: float = 0.15,
    rotate: float = 15.0,
    contrast: float = 0.3,
    noise: float = 0.1,
    grad_clip: float | None = None,
    penalties: Sequence[Callable[..., Tensor]] = (),
    eval_every: int = 100,
    eval_trials: int = 500,
    criterion: float | None = None,
    seed: int = 0,
    callbacks: Sequence[Callable[[StepInfo], bool | None]] = (),
    out: str | Path | None = None,
    resume: bool = True,
    progress: bool = False,
) -> TrainResult:
    """Train an image model's representation without labels, by contrasting augmented views.

    SimCLR (Chen et al. 2020): two views of every image of a batch (:func:`augment`) go
    through the model (its ``activity``, the representation) and a projection head (Linear
    ``N → projection_hidden``, ReLU, Linear ``→ projection_dim``), and :func:`nt_xent` makes
    the two views of each image agree. With ``probe=True`` the model's ``readout`` is trained
    at the same time, with cross-entropy on the labels but on the *detached* representation
    (an online linear probe): the encoder never sees a label, and the run's evaluations score
    the probe on the task's held-out images (``task.evaluation_task``).

    Parameters
    ----------
    model : nn.Module
        An image model returning ``(outputs, activity)`` and having a ``readout`` layer from
        ``activity`` to ``outputs``: :class:`brainlike.models.ConvNet`,
        :class:`brainlike.models.VisionTransformer`.
    task : an image task
        ``generate(B, seed=...)`` gives images and labels (the labels reach only the probe).
    steps, batch_size, lr, weight_decay
        Adam updates, images per update (each gives two views), learning rate, L2 weight decay.
    temperature : float
        NT-Xent's ``τ``.
    projection_dim, projection_hidden : int
        Sizes of the projection head.
    probe : bool
        Train the readout as an online linear probe.
    translate, scale, rotate, contrast, noise : float
        The augmentation's strengths (:func:`augment`).
    grad_clip : float, optional
        Clip the global gradient norm.
    penalties : sequence of callables
        ``penalty(model, activity) -> scalar`` added to the loss (as in :func:`train`).
    eval_every, eval_trials, criterion, seed, callbacks, out, resume, progress
        As in :func:`brainlike.training.train` (the criterion applies to the probe's accuracy).

    Returns
    -------
    TrainResult
        ``history`` holds ``loss`` (contrastive + probe), ``contrastive_loss``,
        ``probe_loss``, ``lr`` and ``grad_norm``; ``accuracy`` is the probe's.

    Examples
    --------
    >>> from brainlike.models import ConvNet
    >>> from brainlike.tasks import make
    >>> task = make("digits")
    >>> net = ConvNet(task.image_shape, task.n_outputs, layers="small", seed=0)
    >>> res = train_contrastive(net, task, steps=2, batch_size=16, eval_every=2, eval_trials=50)
    >>> res.steps, sorted(k for k in res.history if k.endswith("_loss"))
    (2, ['contrastive_loss', 'eval_loss', 'probe_loss', 'task_loss'])
    """
    owner = "train_contrastive"
    top = _checks.FLOAT32_MAX
    steps = _checks.positive_int("steps", steps, owner)
    batch_size = _checks.positive_int("batch_size", batch_size, owner)
    if batch_size < 2:
        raise ValueError(
            f"The 'batch_size' parameter of {owner} must be an int >= 2 (each image's other "
            f"view is contrasted with the rest of the batch). Got {batch_size!r} instead."
        )
    eval_every = _checks.positive_int("eval_every", eval_every, owner)
    eval_trials = _checks.positive_int("eval_trials", eval_trials, owner)
    lr = _checks.in_range("lr", lr, owner, 0.0, top)
    weight_decay = _checks.in_range("weight_decay", weight_decay, owner, 0.0, top, low_open=False)
    temperature = _checks.in_range("temperature", temperature, owner, 0.0, top)
    projection_dim = _checks.positive_int("projection_dim", projection_dim, owner)
    projection_hidden = _checks.positive_int("projection_hidden", projection_hidden, owner)
    aug = {
        "translate": _checks.in_range("translate", translate, owner, 0.0, 1.0, low_open=False,
                                      high_open=False),
        "scale": _checks.in_range("scale", scale, owner, 0.0, 1.0, low_open=False),
        "rotate": _checks.in_range("rotate", rotate, owner, 0.0, 180.0, low_open=False,
                                   high_open=False),
        "contrast": _checks.in_range("contrast", contrast, owner, 0.0, 1.0, low_open=False),
        "noise": _checks.in_range("noise", noise, owner, 0.0, top, low_open=False),
    }
    if grad_clip is not None:
        grad_clip = _checks.in_range("grad_clip", grad_clip, owner, 0.0, top)
    if criterion is not None:
        criterion = _checks.in_range("criterion", criterion, owner, 0.0, 1.0, high_open=False)
    if not isinstance(probe, bool):
        raise ValueError(f"The 'probe' parameter of {owner} must be a bool. Got {probe!r} instead.")
    seed = _checks.seed("seed", seed, owner)
    check_model_fits_task(model, task)
    readout = getattr(model, "readout", None)
    if not isinstance(readout, nn.Linear):
        raise ValueError(
            f"{owner} needs a model with a linear 'readout' from its activity to its outputs "
            f"(ConvNet, VisionTransformer); {type(model).__name__} has none"
        )
    penalties = list(penalties)

    readout_ids = {id(p) for p in readout.parameters()}
    encoder = [p for p in model.parameters() if p.requires_grad and id(p) not in readout_ids]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        head = _Head(readout.in_features, projection_hidden, projection_dim)
    groups = [{"params": encoder + list(head.parameters())}]
    if probe:
        groups.append({"params": list(readout.parameters())})
    params = [p for g in groups for p in g["params"]]
    opt = torch.optim.Adam(groups, lr=lr, weight_decay=weight_decay, foreach=True)
    max_norm = grad_clip if grad_clip is not None else math.inf
    settings = {
        "batch_size": batch_size, "lr": lr, "weight_decay": weight_decay,
        "temperature": temperature, "projection_dim": projection_dim,
        "projection_hidden": projection_hidden, "probe": probe, "grad_clip": grad_clip,
        **aug, "penalties": [_describe(p) for p in penalties],
    }
    session = Session(
        out, algorithm="contrastive", settings=settings, model=model, task=task, steps=steps,
        seed=seed, eval_every=eval_every, eval_trials=eval_trials, criterion=criterion,
        callbacks=callbacks, optimizer=opt, resume=resume, progress=progress, owner=owner,
        state=lambda: {f"head/{k}": v for k, v in head.state_dict().items()},
    )
    model.train()
    with session as run:
        saved = {k.removeprefix("head/"): v for k, v in run.state.items() if k.startswith("head/")}
        if saved:
            head.load_state_dict(saved)
        for step in run:
            batch = task.generate(batch_size, seed=[seed, TRAIN_TRIALS, step])
            images = torch.tensor(batch.inputs, dtype=torch.float32)
            g = generator(seed, TRAIN_NOISE, step)
            views = torch.cat([augment(images, g, **aug), augment(images, g, **aug)])
            act = model(views).activity
            h = act.reshape(act.shape[0], -1)
            z = head(h)
            contrastive = nt_xent(z[:batch_size], z[batch_size:], temperature)
            penalty = contrastive.new_zeros(())
            for p in penalties:
                penalty = penalty + p(model, act)
            probe_loss = contrastive.new_zeros(())
            if probe:
                labels = torch.tensor(batch.targets, dtype=torch.long).repeat(2)
                probe_loss = F.cross_entropy(readout(h.detach()), labels)
            loss = contrastive + penalty + probe_loss
            run.check_loss(loss)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = float(torch.nn.utils.clip_grad_norm_(params, max_norm))
            run.check_gradient(grad_norm)
            opt.step()
            run.check_parameters([*model.named_parameters(), *head.named_parameters("head")])
            run.record({
                "loss": loss.item(), "task_loss": contrastive.item(), "penalty": penalty.item(),
                "contrastive_loss": contrastive.item(), "probe_loss": probe_loss.item(),
                "lr": lr, "grad_norm": grad_norm,
            })
    return run.result()

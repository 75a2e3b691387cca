"""Vectorized ensembles: E networks of one architecture trained as one batched computation.

Every tensor of the E members is stacked along a leading ensemble axis, and the leaky loop runs
one batched product per step for all members (instead of E ``addmm``), with a hand-written backward
in the style of :mod:`brainlike.models._bptt` (``bmm`` + ``add``: torch's CPU ``baddbmm`` runs one
``addmm`` per member):

    forward   z_t = u_t + r_{t-1} W^T,  r_t = lerp(r_{t-1}, f(z_t), alpha)     (bmm+add, f, lerp)
    backward  g_t = dL/dr_t + carry,  dz_t = g_t alpha f'(z_t),
              carry = (1 - alpha) g_t + dz_t W                                  (bmm+add)
              dL/dW = sum_t dz_t^T r_{t-1}                                        (one bmm)

Each member keeps everything :func:`brainlike.training.train` would give it alone: its own seed
(hence its own trial batches and noise, drawn from the same ``(seed, stream, step)`` streams), its
own loss, its own gradient clipping and its own optimizer state (Adam, AdamW and SGD act
elementwise, so one optimizer over stacked parameters is E independent optimizers). A member is
the same network trained alone up to float rounding (the batched matrix products sum in another
order); its run directory (checkpoint, metrics) has exactly the format ``train`` writes, so
``train(..., out=..., resume=True)`` can continue it alone.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from .. import _checks
from .._progress import tqdm
from ..models import ACTIVATIONS, RateRNN
from ..models._activations import Activation
from ..tasks._stacked import generate_stacked
from ._loop import (
    _make_optimizer,
    _make_schedule,
    bptt_settings,
    check_hyperparameters,
    check_model_fits_task,
)
from ._regularizers import RatePenalty, WeightPenalty
from ._session import (
    TRAIN_NOISE,
    TRAIN_TRIALS,
    Session,
    TrainingDivergedError,
    TrainResult,
    generator,
    model_device,
)

# -- the batched kernel -------------------------------------------------------------------------


class _EnsembleLoop(torch.autograd.Function):
    # Ensemble-major layout (E, T, B, N): each step reads and writes (E, B, N) slices whose
    # matrices are contiguous, and dL/dW needs no copy of the states.
    @staticmethod
    def forward(  # type: ignore[override]
        u: Tensor, w_rec: Tensor, r0: Tensor, alpha: float, activation: Activation
    ) -> tuple[Tensor, Tensor]:
        z = torch.empty_like(u)
        r = torch.empty_like(u)
        w_t = w_rec.transpose(1, 2)
        prev = r0
        fn, fn_out = activation.fn, activation.fn_out
        # alpha = 1 (dt = tau): r_t = f(z_t), written straight into the buffer (what lerp with
        # weight 1 gives, bit for bit).
        direct = alpha == 1.0 and fn_out is not None
        for t in range(u.shape[1]):
            # bmm then add: torch's CPU baddbmm loops over the batch with one addmm per member.
            zt = torch.bmm(prev, w_t, out=z[:, t]).add_(u[:, t])
            if direct:
                fn_out(zt, r[:, t])
            else:
                torch.lerp(prev, fn(zt), alpha, out=r[:, t])
            prev = r[:, t]
        return r, z

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: tuple) -> None:
        _, w_rec, r0, alpha, activation = inputs
        r, z = output
        ctx.save_for_backward(w_rec, r0, r, z)
        ctx.alpha = alpha
        ctx.activation = activation
        ctx.mark_non_differentiable(z)
        # No (E, T, B, N) zeros for the gradient of z, which nothing uses.
        ctx.set_materialize_grads(False)

    @staticmethod
    def backward(ctx: Any, grad_r: Tensor, _grad_z: Tensor) -> tuple:  # type: ignore[override]
        w_rec, r0, r, z = ctx.saved_tensors
        if grad_r is None:
            return None, None, None, None, None
        alpha = ctx.alpha
        act = ctx.activation
        dz = torch.empty_like(z)
        carry = torch.zeros_like(r0)
        g = torch.empty_like(r0)
        leak = 1.0 - alpha
        for t in range(r.shape[1] - 1, -1, -1):
            # alpha f'(z_t) step by step: the (E, B, N) slice stays in cache, where the whole
            # (E, T, B, N) tensor at once would not. At alpha = 1 the scaling by 1 and the
            # leak term 0 * g_t are left out (they change no finite value).
            torch.add(grad_r[:, t], carry, out=g)
            torch.mul(g, act.gain(z[:, t]), out=dz[:, t])
            if leak != 0.0:
                dz[:, t].mul_(alpha)
                carry = torch.bmm(dz[:, t], w_rec).add_(g, alpha=leak)
            else:
                carry = torch.bmm(dz[:, t], w_rec)
        grad_w = grad_r0 = None
        if ctx.needs_input_grad[1]:
            e, n_steps, b, n = r.shape
            # sum_t dz_t^T r_{t-1}: the first step against r0, the rest as one batched product
            # over (E, N, (T-1)*B) x (E, (T-1)*B, N) views (no copies).
            grad_w = torch.bmm(
                dz[:, 1:].reshape(e, (n_steps - 1) * b, n).transpose(1, 2),
                r[:, :-1].reshape(e, (n_steps - 1) * b, n),
            ).add_(torch.bmm(dz[:, 0].transpose(1, 2), r0))
        if ctx.needs_input_grad[2]:
            grad_r0 = carry
        return dz, grad_w, grad_r0, None, None


def ensemble_leaky_loop(
    u: Tensor, w_rec: Tensor, r0: Tensor, alpha: float, activation: Activation
) -> Tensor:
    """Run E independent leaky recurrences at once (differentiable, hand-written backward).

    Parameters
    ----------
    u : Tensor, shape (E, T, B, N)
        External drive of each member, time-major within a member.
    w_rec : Tensor, shape (E, N, N)
        Each member's effective recurrent weights; ``z_t = u_t + W r_{t-1}``.
    r0 : Tensor, shape (E, B, N)
        States before the first step.
    alpha : float
        ``dt / tau`` in (0, 1], shared by the members.
    activation : Activation
        The rate nonlinearity, shared by the members.

    Returns
    -------
    Tensor, shape (E, T, B, N)
        States ``r_1 ... r_T`` of every member.

    Examples
    --------
    >>> import torch
    >>> from brainlike.models import ACTIVATIONS
    >>> r = ensemble_leaky_loop(torch.ones(2, 5, 3, 4), torch.zeros(2, 4, 4), torch.zeros(2, 3, 4),
    ...                         0.5, ACTIVATIONS["relu"])
    >>> tuple(r.shape), round(float(r[0, -1, 0, 0]), 4)   # 1 - 0.5**5
    ((2, 5, 3, 4), 0.9688)
    """
    r, _ = _EnsembleLoop.apply(u, w_rec, r0, alpha, activation)
    return r


# -- stacked members ----------------------------------------------------------------------------


def _check_members(models: Sequence[nn.Module]) -> list[RateRNN]:
    if len(models) == 0:
        raise ValueError("train_ensemble needs at least one model; got an empty sequence")
    for k, m in enumerate(models):
        if not isinstance(m, RateRNN):
            raise TypeError(
                f"train_ensemble trains RateRNN members; models[{k}] is a {type(m).__name__}"
            )
        if m.connectivity is not None:
            raise ValueError(
                f"train_ensemble does not stack networks with a connectivity; models[{k}] has "
                f"{type(m.connectivity).__name__}. Train them one by one with train()"
            )
        if m.sigma_rec > 0 and m.noise_convention != "inside_f":
            raise ValueError(
                f"train_ensemble adds recurrent noise inside f (noise_convention='inside_f'); "
                f"models[{k}] uses {m.noise_convention!r}. Train them one by one with train()"
            )
    ref = models[0].config()
    for k, m in enumerate(models[1:], start=1):
        if m.config() != ref:
            diff = sorted(key for key in ref if m.config()[key] != ref[key])
            raise ValueError(
                f"ensemble members must share one architecture; models[{k}] differs from "
                f"models[0] in {diff}"
            )
    return list(models)


class _Stack:
    """The E members' parameters stacked as ``(E, *shape)`` leaves, in ``named_parameters`` order."""

    def __init__(self, members: list[RateRNN]) -> None:
        self.members = members
        self.names = [n for n, p in members[0].named_parameters() if p.requires_grad]
        self.params = {
            n: nn.Parameter(torch.stack([dict(m.named_parameters())[n].detach() for m in members]))
            for n in self.names
        }
        ref = members[0]
        self.alpha = ref.alpha
        self.act = ACTIVATIONS[ref.activation]
        self.sigma_rec = ref.sigma_rec
        self.r0_fixed = None
        if "r0" not in self.params:
            self.r0_fixed = torch.stack([m.r0.detach() for m in members])

    def leaves(self) -> list[Tensor]:
        return [self.params[n] for n in self.names]

    def forward(
        self,
        inputs: Tensor,
        generators: Sequence[torch.Generator] | None,
        lengths: Sequence[int] | None = None,
    ) -> tuple:
        """``inputs (E, B, T, I)`` -> ``outputs (E, B, T, O)``, ``rates (E, T, B, N)``.

        ``lengths``: each member's own number of steps (the rest is padding); its noise is drawn
        for those steps only, exactly as :class:`RateRNN` draws it alone.
        """
        p = self.params
        e, b = inputs.shape[:2]
        n_steps = inputs.shape[2]
        x = inputs.transpose(1, 2).reshape(e, n_steps * b, -1)  # time-major within a member
        u = torch.bmm(x, p["w_in"].transpose(1, 2)) + p["b_rec"][:, None]
        u = u.view(e, n_steps, b, -1)
        if generators is not None and self.sigma_rec > 0:
            scale = math.sqrt(2.0 / self.alpha) * self.sigma_rec
            lengths = list(lengths) if lengths is not None else [n_steps] * e
            xi = torch.zeros_like(u)
            for k, g in enumerate(generators):
                # (T_k, B, N): the draw RateRNN makes for member k alone.
                xi[k, : lengths[k]] = torch.randn(
                    (lengths[k], b, u.shape[3]), generator=g, dtype=u.dtype
                )
            u = u + scale * xi
        r0 = p["r0"] if "r0" in p else self.r0_fixed
        r0 = r0.unsqueeze(1).expand(e, b, r0.shape[-1]).contiguous()
        rates = ensemble_leaky_loop(u, p["w_rec"], r0, self.alpha, self.act)
        n = rates.shape[-1]
        outputs = torch.bmm(rates.view(e, n_steps * b, n), p["w_out"].transpose(1, 2))
        outputs = outputs + p["b_out"][:, None]
        return outputs.view(e, n_steps, b, -1).transpose(1, 2), rates

    def sync(self, k: int) -> RateRNN:
        """Copy member ``k``'s current weights into its own RateRNN and return it."""
        model = self.members[k]
        with torch.no_grad():
            named = dict(model.named_parameters())
            for n in self.names:
                named[n].copy_(self.params[n][k])
        return model


def _ensemble_loss(
    outputs: Tensor, targets: Tensor, mask: Tensor, kind: str, lengths: Tensor, normalization: str
) -> Tensor:
    """Per-member masked task loss, shape (E,); the same formula as :func:`task_loss`.

    ``lengths (E, B)``: each trial's valid steps (for ``normalization="entries"``)."""
    e, b, t, c = outputs.shape
    if kind == "class":
        per_step = F.cross_entropy(
            outputs.reshape(e * b * t, c), targets.reshape(-1), reduction="none"
        ).reshape(e, b * t)
        m = mask.reshape(e, b * t)
        total = (per_step * m).sum(1)
        if normalization == "entries":
            return total / lengths.sum(1).to(total.dtype).clamp_min(1.0)
        return total / m.sum(1).clamp_min(1e-12)
    if kind == "value":
        # masked_mse: sum(w (y - target)^2) / sum(w), w of shape (B, T) or (B, T, O).
        w = mask.unsqueeze(-1).expand_as(outputs) if mask.ndim == 3 else mask
        total = (w * (outputs - targets).square()).reshape(e, -1).sum(1)
        if normalization == "entries":
            return total / (lengths.sum(1).to(total.dtype) * c).clamp_min(1.0)
        return total / w.reshape(e, -1).sum(1).clamp_min(1e-12)
    raise ValueError(f"target_kind must be 'class' or 'value'; got {kind!r}")


def _ensemble_penalty(penalty: Any, stack: _Stack, rates: Tensor, valid: Tensor) -> Tensor:
    """Per-member penalty, shape (E,), for the penalties that have a batched form.

    ``rates (E, T, B, N)``; ``valid (E, T, B)``, the steps before each trial ended: a
    :class:`RatePenalty` averages over those, exactly as ``train`` gives it the mask."""
    e = rates.shape[0]
    total = rates.new_zeros(e)
    if isinstance(penalty, WeightPenalty):
        missing = [n for n in penalty.params if n not in stack.params]
        if missing:
            raise ValueError(
                f"WeightPenalty params {missing} are not parameters of RateRNN; "
                f"available: {sorted(stack.params)}"
            )
        for n in penalty.params:
            w = stack.params[n].reshape(e, -1)
            if penalty.l1:
                total = total + penalty.l1 * w.abs().mean(1)
            if penalty.l2:
                total = total + penalty.l2 * w.square().mean(1)
        return total
    if isinstance(penalty, RatePenalty):
        w = valid.to(rates.dtype).unsqueeze(-1)
        count = (w.reshape(e, -1).sum(1) * rates.shape[-1]).clamp_min(1.0)
        if penalty.l1:
            total = total + penalty.l1 * (rates.abs() * w).reshape(e, -1).sum(1) / count
        if penalty.l2:
            total = total + penalty.l2 * (rates.square() * w).reshape(e, -1).sum(1) / count
        return total
    raise TypeError(
        "train_ensemble supports the penalties WeightPenalty and RatePenalty; "
        f"got {type(penalty).__name__}. Train such networks one by one with train()"
    )


def _pad_time(arrays: list[np.ndarray], n_steps: int) -> np.ndarray:
    """Stack ``(B, T_e, ...)`` arrays, padding each with zeros to ``n_steps`` steps."""
    out = np.zeros((len(arrays), arrays[0].shape[0], n_steps, *arrays[0].shape[2:]),
                   dtype=arrays[0].dtype)
    for k, a in enumerate(arrays):
        out[k, :, : a.shape[1]] = a
    return out


def _to_stacked_tensors(
    batches: list, device: Any = None
) -> tuple[Tensor, Tensor, Tensor, list[int], Tensor]:
    """Each member's batch, as :func:`train` makes it, stacked as ``(E, B, T, ...)``.

    Trials of different members may last different numbers of steps: shorter batches are padded
    at the end with zero inputs, zero mask and zero loss weights. The padding comes after every
    step that counts, so (the recurrence being causal) it changes neither loss nor gradients.
    Returns the members' own numbers of steps and the trials' lengths ``(E, B)`` too, all on
    ``device`` (default the CPU).
    """
    steps = [b.inputs.shape[1] for b in batches]
    n_steps = max(steps)
    inputs = torch.tensor(_pad_time([b.inputs for b in batches], n_steps), dtype=torch.float32,
                          device=device)
    dtype = torch.long if batches[0].target_kind == "class" else torch.float32
    targets = torch.tensor(_pad_time([np.asarray(b.targets) for b in batches], n_steps),
                           dtype=dtype, device=device)
    # As train(): per-output weights, where a task gives them, replace the per-step mask.
    masks = [b.mask if getattr(b, "output_mask", None) is None else b.output_mask for b in batches]
    mask = torch.tensor(_pad_time([np.asarray(m) for m in masks], n_steps), dtype=torch.float32,
                        device=device)
    lengths = torch.tensor(np.stack([np.asarray(b.lengths) for b in batches]), dtype=torch.int64,
                           device=device)
    return inputs, targets, mask, steps, lengths


def _member_batches(task: Any, batch_size: int, seeds: list, device: Any = None) -> tuple:
    """The members' batches (``task.generate(batch_size, seed=s)`` for each seed) as stacked
    tensors (see :func:`_to_stacked_tensors`) and the target kind: one batch of E x B trials
    where the task allows it (:func:`brainlike.tasks._stacked.generate_stacked`, the same
    arrays bit for bit), else member by member. Tensors on ``device`` (default the CPU)."""
    big = generate_stacked(task, batch_size, seeds)
    if big is None:
        batches = [task.generate(batch_size, seed=s) for s in seeds]
        return (*_to_stacked_tensors(batches, device), batches[0].target_kind)
    e, n_steps = len(seeds), big.n_steps

    def stacked(a: np.ndarray, dtype: torch.dtype) -> Tensor:
        return torch.tensor(a, dtype=dtype, device=device).view(e, batch_size, *a.shape[1:])

    mask = big.mask if big.output_mask is None else big.output_mask
    return (stacked(big.inputs, torch.float32),
            stacked(big.targets, torch.long if big.target_kind == "class" else torch.float32),
            stacked(mask, torch.float32), [n_steps] * e,
            stacked(big.lengths, torch.int64), big.target_kind)


# -- the training loop --------------------------------------------------------------------------


def train_ensemble(
    models: Sequence[RateRNN],
    task: Any,
    *,
    seeds: Sequence[int],
    steps: int = 5000,
    batch_size: int = 64,
    optimizer: str = "adam",
    lr: float = 3e-3,
    weight_decay: float = 0.0,
    momentum: float = 0.9,
    grad_clip: float | None = 1.0,
    schedule: str = "constant",
    penalties: Sequence[WeightPenalty | RatePenalty] = (),
    eval_every: int = 50,
    eval_trials: int = 500,
    criterion: float | None = None,
    outs: Sequence[str | Path] | None = None,
    resume: bool = True,
    loss_normalization: str = "weights",
    progress: bool = True,
    device: str | torch.device | None = None,
) -> tuple[TrainResult, ...]:
    """Train E RateRNNs of one architecture on one task as a single batched computation.

    Member ``k`` is trained exactly as ``train(models[k], task, seed=seeds[k], out=outs[k],
    ...)`` would train it (the same trial batches, noise, loss, gradient clipping, optimizer
    state, evaluations, criterion and checkpoints), up to float rounding: the batched matrix
    products add in a different order. A member that reaches ``criterion`` stops there (it is
    taken out of the stack); the others go on. Each member's run directory is handled by the
    shared run machinery (:class:`brainlike.training._session.Session`): locked, resumed,
    checkpointed, guarded, as ``train`` does.

    Parameters
    ----------
    models : sequence of RateRNN
        The members (without a connectivity), all of one architecture (``config()`` equal);
        their initializations may differ. They are updated in place.
    task : Task
        A single task (not a multi-task).
    seeds : sequence of int
        Each member's seed of its trial and noise streams (``train``'s ``seed``).
    steps, batch_size, optimizer, lr, weight_decay, momentum, grad_clip, schedule, eval_every,
    eval_trials, criterion, loss_normalization
        As in :func:`brainlike.training.train`, shared by all members.
    penalties : sequence of WeightPenalty or RatePenalty
        Applied to every member separately.
    outs : sequence of paths, optional
        Each member's run directory: checkpoints and ``metrics.jsonl`` in the format of
        ``train``.
    resume : bool
        Continue members whose directory holds a checkpoint of the same settings; members
        already finished are returned as they are.
    loss_normalization : {"weights", "entries"}
        As in :func:`train`.
    progress : bool
        Show one progress bar (on stderr) for the ensemble: steps, members still training, and
        the range of their last evaluation accuracies.
    device : str or torch.device, optional
        Where to train, as in :func:`train`: every member is moved there (``model.to(device)``)
        and every batch is sent there. Default: the device the members are on (all on one).
        Trials and recurrent noise are drawn on the CPU from the same streams on every device.

    Returns
    -------
    tuple of TrainResult
        One per member, in order. ``train_seconds`` is the ensemble's wall time divided evenly
        among the members trained together; ``eval_seconds`` each member's own evaluations.

    Raises
    ------
    TrainingDivergedError
        When any member's loss, gradient norm or updated parameters are not finite (the message
        names it); no checkpoint is written with them.

    Examples
    --------
    >>> from brainlike.models import RateRNN
    >>> from brainlike.tasks import make
    >>> task = make("perceptual_decision", dt=100.0)
    >>> models = [RateRNN(3, 16, 3, dt=100.0, tau=100.0, seed=s) for s in range(4)]
    >>> results = train_ensemble(models, task, seeds=range(4), steps=3, batch_size=8,
    ...                          eval_every=3, eval_trials=20)
    >>> [r.steps for r in results]
    [3, 3, 3, 3]
    """
    owner = "train_ensemble"
    members = _check_members(models)
    seeds = list(seeds)
    if len(seeds) != len(members):
        raise ValueError(
            f"train_ensemble needs one seed per model: got {len(seeds)} seeds for "
            f"{len(members)} models"
        )
    seeds = [_checks.seed("seeds", s, owner) for s in seeds]
    hp = check_hyperparameters(
        owner, steps=steps, batch_size=batch_size, eval_every=eval_every,
        eval_trials=eval_trials, optimizer=optimizer, schedule=schedule, lr=lr,
        weight_decay=weight_decay, momentum=momentum, grad_clip=grad_clip, criterion=criterion,
        loss_normalization=loss_normalization,
    )
    if getattr(task, "tasks", None) is not None:
        raise ValueError("train_ensemble trains on a single task; train multi-tasks with train()")
    check_model_fits_task(members[0], task, name="models[0]")
    if device is not None:
        dev = _checks.device("device", device, owner)
        for m in members:
            m.to(dev)
    devices = [str(model_device(m)) for m in members]
    if len(set(devices)) > 1:
        raise ValueError(
            f"train_ensemble trains members on one device; the models are on {devices}. "
            "Pass device= to move them all"
        )
    penalties = list(penalties)
    for p in penalties:
        if not isinstance(p, (WeightPenalty, RatePenalty)):
            raise TypeError(
                "train_ensemble supports the penalties WeightPenalty and RatePenalty; "
                f"got {type(p).__name__}. Train such networks one by one with train()"
            )
    dirs = [None] * len(members) if outs is None else [Path(o) for o in outs]
    if len(dirs) != len(members):
        raise ValueError(f"train_ensemble needs one out directory per model; got {len(dirs)}")

    # Exactly the settings train() records, so that either can resume the other's run.
    settings = bptt_settings(hp, penalties)
    tied = None if hp["schedule"] == "constant" else f"schedule {hp['schedule']!r}"
    sessions = [
        Session(d, algorithm="bptt", settings=settings, model=m, task=task, steps=hp["steps"],
                seed=s, eval_every=hp["eval_every"], eval_trials=hp["eval_trials"],
                criterion=hp["criterion"], resume=resume, steps_tied_to=tied,
                loss_normalization=hp["loss_normalization"], owner=owner)
        for d, m, s in zip(dirs, members, seeds)
    ]
    with contextlib.ExitStack() as opened:
        for s in sessions:
            opened.enter_context(s)
            s.write_config(penalties)
        bar = opened.enter_context(tqdm(
            total=hp["steps"], initial=min(s.step for s in sessions), desc=owner,
            disable=not progress, leave=False))
        # Members resumed at different steps (a crash between two members' checkpoints) train
        # as separate stacks, each in lockstep.
        for start in sorted({s.step for s in sessions if not s.done}):
            group = [k for k, s in enumerate(sessions) if not s.done and s.step == start]
            _train_group(group, sessions, members, task, seeds, penalties, hp, bar)
        for s in sessions:
            s.write_summary()
    return tuple(s.result() for s in sessions)


def _diverged(
    what: str, step: int, members: list[int], seeds: list[int], *, updated: bool
) -> TrainingDivergedError:
    after = ("no checkpoint was written with them" if updated
             else "the weights were not updated")
    return TrainingDivergedError(
        f"{what} at step {step + 1} for ensemble member(s) {members} "
        f"(seeds {[seeds[k] for k in members]}); {after}"
    )


def _train_group(
    group: list[int], sessions: list[Session], members: list[RateRNN], task: Any,
    seeds: list[int], penalties: list, hp: dict, bar: Any = None,
) -> None:
    steps, grad_clip, norm = hp["steps"], hp["grad_clip"], hp["loss_normalization"]
    device = model_device(members[group[0]])

    def make_opt(params: list[Tensor]) -> torch.optim.Optimizer:
        return _make_optimizer(hp["optimizer"], params, hp["lr"], hp["weight_decay"],
                               hp["momentum"])

    def build(active: list[int], prev: tuple | None) -> tuple:
        """Stack, optimizer and scheduler for ``active``; state from ``prev`` or from disk."""
        stack = _Stack([members[k] for k in active])
        opt = make_opt(stack.leaves())
        sched = _make_schedule(hp["schedule"], opt, steps)
        if prev is not None:
            old_active, old_opt, old_sched = prev
            pos = torch.tensor([old_active.index(k) for k in active])
            old = old_opt.state_dict()
            state = {
                i: {key: (v[pos] if isinstance(v, Tensor) and v.ndim > 0 else v)
                    for key, v in s.items()}
                for i, s in old["state"].items()
            }
            opt.load_state_dict({"state": state, "param_groups": old["param_groups"]})
            if sched is not None:
                sched.load_state_dict(old_sched.state_dict())
            return stack, opt, sched
        resumed = [sessions[k].optimizer_state(
            [p for p in members[k].parameters() if p.requires_grad]) for k in active]
        if resumed[0] is not None:
            state = {}
            for i, s in resumed[0]["state"].items():
                state[i] = {}
                for key, v in s.items():
                    if isinstance(v, Tensor) and v.ndim > 0:
                        state[i][key] = torch.stack([r["state"][i][key] for r in resumed])
                    else:
                        state[i][key] = v
            opt.load_state_dict({"state": state, "param_groups": resumed[0]["param_groups"]})
            first = sessions[active[0]].checkpoint
            if sched is not None and first is not None and first.meta["scheduler"] is not None:
                sched.load_state_dict(first.meta["scheduler"])
        return stack, opt, sched

    def member_state(k: int, j: int, opt: Any, sched: Any) -> tuple:
        """Member ``k``'s slice ``j`` of the stacked optimizer, as its own optimizer (to save)."""
        model = members[k]
        member_opt = make_opt([p for p in model.parameters() if p.requires_grad])
        full = opt.state_dict()
        state = {
            i: {key: (v[j] if isinstance(v, Tensor) and v.ndim > 0 else v)
                for key, v in s.items()}
            for i, s in full["state"].items()
        }
        member_opt.load_state_dict({"state": state, "param_groups": full["param_groups"]})
        return member_opt, sched

    active = list(group)
    stack, opt, sched = build(active, None)
    step = sessions[active[0]].step
    while active and step < steps:
        t0 = time.perf_counter()
        inputs, targets, mask, n_steps, lengths, target_kind = _member_batches(
            task, hp["batch_size"], [[seeds[k], TRAIN_TRIALS, step] for k in active], device)
        gens = [generator(seeds[k], TRAIN_NOISE, step) for k in active]
        outputs, rates = stack.forward(inputs, gens, n_steps)
        main = _ensemble_loss(outputs, targets, mask, target_kind, lengths, norm)
        penalty = main.new_zeros(len(active))
        if penalties:
            t = rates.shape[1]
            valid = (torch.arange(t, device=device)[None, :, None] < lengths[:, None, :])  # (E, T, B)
            for p in penalties:
                penalty = penalty + _ensemble_penalty(p, stack, rates, valid)
        loss = main + penalty
        bad = [active[j] for j in torch.nonzero(~torch.isfinite(loss)).flatten().tolist()]
        if bad:
            raise _diverged("loss became non-finite", step, bad, seeds, updated=False)
        opt.zero_grad(set_to_none=True)
        loss.sum().backward()
        leaves = stack.leaves()
        sq = sum(p.grad.reshape(len(active), -1).square().sum(1) for p in leaves)
        norms = sq.sqrt()
        bad = [active[j] for j in torch.nonzero(~torch.isfinite(norms)).flatten().tolist()]
        if bad:
            raise _diverged("gradient norm became non-finite", step, bad, seeds, updated=False)
        if grad_clip is not None:
            # clip_grad_norm_'s rule, per member: scale by max_norm / (norm + 1e-6) if below 1.
            coef = torch.clamp(grad_clip / (norms + 1e-6), max=1.0)
            for p in leaves:
                p.grad.mul_(coef.view(-1, *([1] * (p.ndim - 1))))
        lr_now = opt.param_groups[0]["lr"]
        opt.step()
        if sched is not None:
            sched.step()
        finite = torch.ones(len(active), dtype=torch.bool, device=device)
        for p in leaves:
            finite &= torch.isfinite(p.detach().reshape(len(active), -1)).all(1)
        bad = [active[j] for j in torch.nonzero(~finite).flatten().tolist()]
        if bad:
            raise _diverged("parameters became NaN or infinite in the update", step, bad, seeds,
                            updated=True)
        step += 1
        share = (time.perf_counter() - t0) / len(active)
        if sessions[active[0]].evaluates_at(step):
            for j in range(len(active)):  # evaluations and checkpoints read the members
                stack.sync(j)
        losses, mains, pens, gnorms = loss.tolist(), main.tolist(), penalty.tolist(), norms.tolist()
        done: list[int] = []
        for j, k in enumerate(active):
            sessions[k].record(
                {"loss": losses[j], "task_loss": mains[j], "penalty": pens[j], "lr": lr_now,
                 "grad_norm": gnorms[j]},
                seconds=share,
                checkpoint_state=lambda j=j, a=active, o=opt, sc=sched: member_state(a[j], j, o, sc),
            )
            if sessions[k].status == "criterion":
                done.append(k)
        if bar is not None:
            bar.update(max(0, step - bar.n))
            accs = [s.rows[-1].get("accuracy") for s in sessions if s.rows]
            accs = [a for a in accs if a is not None]
            bar.set_postfix(training=f"{len(active) - len(done)}/{len(sessions)}",
                            acc=f"{min(accs):.3f}-{max(accs):.3f}" if accs else "-", refresh=False)
        if done:
            for j in range(len(active)):
                stack.sync(j)
            remaining = [k for k in active if k not in done]
            if remaining:
                stack, opt, sched = build(remaining, (active, opt, sched))
            active = remaining
    for j in range(len(active)):
        stack.sync(j)


__all__ = ["ensemble_leaky_loop", "train_ensemble"]

"""Local on-line learning with eligibility traces: RFLO (Murray 2019) and e-prop (Bellec et al.
2020) for a rate network.

For :class:`~brainlike.models.RateRNN` (``z_t = W_in x_t + W r_{t-1} + b``, ``r_t = (1 - a)
r_{t-1} + a f(z_t)``, ``y_t = W_out r_t + b_out``) the gradient of the loss ``L = sum_t L_t``
with respect to a weight ``W_ij`` into unit ``i`` from presynaptic quantity ``j`` factorizes
into a learning signal and an eligibility trace, both available at time ``t``:

    dL/dW_ij  ~=  sum_t  s_{t,i}  e_{t,ij},
    s_t = (dL_t/dy_t) B                          (learning signal; B = W_out: symmetric),
    e_{t,ij} = (1 - a) e_{t-1,ij} + a f'(z_{t,i}) p_{t,j}     (eligibility trace),

with ``p_t = (x_t, r_{t-1}, 1)`` for ``W_in``, ``W`` and ``b``. The trace is the derivative of
``r_{t,i}`` with respect to ``W_ij`` through unit ``i``'s own past only; what it leaves out is
every path through another unit, ``W_ki dr_{t-1,i}/dW_..``, so with symmetric feedback the
approximation is exact where those paths vanish: when ``W = 0``, and in general it is the
gradient of a network in which ``r_{t-1}`` enters ``W r_{t-1}`` as a constant (a stop-gradient;
Bellec et al. 2020, Methods; Murray 2019, Eq. 14). RFLO and e-prop are this rule for a rate
network; RFLO's learning signal uses a fixed random ``B`` (Murray 2019), e-prop's ``W_out``
(symmetric e-prop) or a random one (random e-prop).

``trace="full"`` switches the approximation off: the traces become the full influence tensor
``M_t = dr_t/dtheta`` of real-time recurrent learning (Williams & Zipser 1989),

    M_t = (1 - a) M_{t-1} + a f'(z_t) (W M_{t-1} + dz_t/dtheta |local),

and with symmetric feedback the sum ``sum_t (dL_t/dr_t) M_t`` is backpropagation through time's
gradient exactly, for any ``W`` -- at ``B N^2 (N + n_input + 1)`` numbers of state and ``N^4``
work per step: for checking small networks, not for training.

Everything is computed forward in time, one step after another: the network's trajectory is
never stored (memory ``B N (N + n_input + 1)`` for the traces), and the readout's gradient
``sum_t (dL_t/dy_t)^T r_t`` is accumulated on the way.

A :class:`~brainlike.models.SpikingRNN` has e-prop's trace for leaky integrate-and-fire units
with current synapses: the pseudo-derivative times the synaptic and membrane filters of the
presynaptic quantities, filtered again by the readout (``brainlike.training._eprop_spiking``,
where it is exact).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from .. import _checks
from ._eprop_spiking import spiking_eligibility_gradients
from ._gradient_rule import GradientRule, feedback_generator
from ._loop import check_model_fits_task
from ._session import TRAIN_NOISE, TRAIN_TRIALS, StepInfo, TrainResult, generator, to_tensors

__all__ = ["eligibility_gradients", "train_eprop", "train_rflo"]

FEEDBACKS = ("symmetric", "random")
TRACES = ("local", "full")
_FEEDBACK_STREAM = 8  # seed stream of the random feedback
MAX_FULL_TRACE = 2**26  # numbers in the RTRL influence tensor before trace="full" is refused


def _output_error(y: Tensor, target: Tensor, weight: Tensor, kind: str, scale: float) -> Tensor:
    """``dL_t/dy_t`` of the task loss (:func:`task_loss`) at one step: ``(B, O)``.

    ``weight`` is the step's mask ``(B,)`` (or ``(B, O)`` per-output weights of a value task),
    ``scale`` the loss's normalizer (``1 / sum(weights)`` or ``1 / entries``).
    """
    if kind == "class":
        p = torch.softmax(y, dim=-1)
        p[torch.arange(y.shape[0]), target] -= 1.0
        return p * (weight * scale)[:, None]
    w = weight if weight.ndim == 2 else weight[:, None]
    return 2.0 * (y - target) * w * scale


def _step_loss(y: Tensor, target: Tensor, weight: Tensor, kind: str, scale: float) -> Tensor:
    if kind == "class":
        ce = nn.functional.cross_entropy(y, target, reduction="none")
        return (ce * weight).sum() * scale
    w = weight if weight.ndim == 2 else weight[:, None]
    return ((y - target).square() * w).sum() * scale


def _normalizer(mask: Tensor, lengths: Any, kind: str, n_out: int, normalization: str) -> float:
    """``1 / Z`` of :func:`task_loss`: the sum of the weights, or the number of entries."""
    if normalization == "entries":
        steps = float(np.asarray(lengths, dtype=np.int64).sum())
        return 1.0 / max(steps * (1 if kind == "class" else n_out), 1.0)
    total = float(mask.sum()) * (n_out if kind == "value" and mask.ndim == 2 else 1)
    return 1.0 / max(total, 1e-12)


class _RateDynamics:
    """One step of a :class:`~brainlike.models.RateRNN`, with what the traces need.

    Reproduces ``model.forward`` (same noise from the same generator, same conventions).
    """

    def __init__(self, model: nn.Module, batch: int, steps: int, gen: torch.Generator | None,
                 like: Tensor) -> None:
        self.model = model
        self.w = model.effective_weights()
        self.a = model.alpha
        self.act = model._act
        self.inside = self.on_state = None
        if model.sigma_rec > 0:
            xi = model._noise((steps, batch, model.n_hidden), gen, like)
            if model.noise_convention == "inside_f":
                self.inside = math.sqrt(2.0 / self.a) * model.sigma_rec * xi
            else:
                self.on_state = math.sqrt(2.0 * self.a) * model.sigma_rec * xi

    def step(self, t: int, r: Tensor, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``(r_t, z_t, a f'(z_t))`` from ``r_{t-1}`` and the input ``x_t``."""
        w = self.w
        z = torch.addmm(self.model.b_rec.detach(), x, w.w_in.detach().t())
        if self.inside is not None:
            z = z + self.inside[t]
        z = torch.addmm(z, r, w.w_rec.detach().t())
        fz = self.act.fn(z)
        r_new = torch.lerp(r, fz, self.a)
        if self.on_state is not None:
            r_new = r_new + self.on_state[t]
        return r_new, z, self.act.derivative(z, fz).mul_(self.a)


def eligibility_gradients(
    model: nn.Module, inputs: Tensor, targets: Tensor, mask: Tensor, target_kind: str, *,
    feedback: str | Tensor = "symmetric", trace: str = "local",
    generator: torch.Generator | None = None, loss_normalization: str = "weights",
    lengths: Any = None,
) -> tuple[Tensor, dict[str, Tensor]]:
    """The loss and the e-prop/RFLO update of every parameter of a RateRNN (or the e-prop update
    of a SpikingRNN), forward in time.

    Parameters
    ----------
    model : RateRNN or SpikingRNN
        A RateRNN with ``train_initial_state=False`` (the traces give no update of ``r0``); a
        SpikingRNN takes ``trace="local"`` only (``brainlike.training._eprop_spiking``).
    inputs : Tensor, shape (B, T, n_input)
    targets, mask
        As :func:`brainlike.training.task_loss` takes them.
    target_kind : {"class", "value"}
    feedback : "symmetric" or Tensor of shape (n_output, N)
        The matrix ``B`` of the learning signal ``s_t = (dL_t/dy_t) B``: ``W_out``
        (``"symmetric"``) or a fixed one.
    trace : {"local", "full"}
        The eligibility traces of e-prop/RFLO, or the full influence tensor of real-time
        recurrent learning (exact; small networks only).
    generator : torch.Generator, optional
        The recurrent noise, drawn as ``model.forward`` draws it.
    loss_normalization, lengths
        As in :func:`brainlike.training.task_loss`.

    Returns
    -------
    loss : Tensor, scalar
        The task loss of the simulated batch.
    grads : dict of str to Tensor
        The update of each trainable parameter, by name, taken through the model's
        connectivity by autograd.
    """
    from ..models import SpikingRNN

    if isinstance(model, SpikingRNN):
        if trace != "local":
            raise ValueError(f"trace={trace!r} is for a RateRNN; a SpikingRNN has e-prop's local "
                             "traces only (trace='local')")
        return spiking_eligibility_gradients(
            model, inputs, targets, mask, target_kind, feedback=feedback, generator=generator,
            loss_normalization=loss_normalization, lengths=lengths)
    b, steps, n_in = inputs.shape
    n, n_out = model.n_hidden, model.n_output
    dyn = _RateDynamics(model, b, steps, generator, inputs)
    w = dyn.w
    n_pre = n_in + n + 1
    full = trace == "full"
    w_rec = w.w_rec.detach()
    w_out = w.w_out.detach()
    back = w_out if isinstance(feedback, str) else feedback
    scale = _normalizer(mask, lengths, target_kind, n_out, loss_normalization)
    r = model.initial_state(b)
    if full:
        e = inputs.new_zeros(b, n, n, n_pre)  # M[b, k, i, j] = dr_k / dW_ij
        eye = torch.eye(n, dtype=inputs.dtype, device=inputs.device)
    else:
        e = inputs.new_zeros(n, b, n_pre)  # e[i, b, j], unit-major: one bmm per step below
    grad = inputs.new_zeros(n, n_pre)
    grad_out = inputs.new_zeros(n_out, n)
    grad_b_out = inputs.new_zeros(n_out)
    loss = inputs.new_zeros(())
    ones = inputs.new_ones(b, 1)
    with torch.no_grad():
        for t in range(steps):
            pre = torch.cat((inputs[:, t], r, ones), dim=1)  # (B, P): x_t, r_{t-1}, 1
            r, _, gain = dyn.step(t, r, inputs[:, t])
            if full:
                through = torch.einsum("kl,blij->bkij", w_rec, e)
                through += eye[None, :, :, None] * pre[:, None, None, :]
                e = e.mul_(1.0 - dyn.a).add_(gain[:, :, None, None] * through)
            else:
                e.mul_(1.0 - dyn.a).addcmul_(gain.t()[:, :, None], pre[None])
            y = torch.addmm(model.b_out.detach(), r, w_out.t())
            target = targets[:, t]
            weight = mask[:, t]
            err = _output_error(y, target, weight, target_kind, scale)  # (B, O)
            loss = loss + _step_loss(y, target, weight, target_kind, scale)
            signal = err @ back  # (B, N): dL_t/dr_t through B
            if full:
                grad += torch.einsum("bk,bkij->ij", signal, e)
            else:  # grad[i, j] += sum_b signal[b, i] e[i, b, j]
                grad += torch.bmm(signal.t()[:, None, :], e)[:, 0]
            grad_out += err.t() @ r
            grad_b_out += err.sum(0)
    return loss.detach(), parameter_updates(model, w, grad, grad_out, grad_b_out)


def parameter_updates(model: nn.Module, w: Any, grad: Tensor, grad_out: Tensor,
                      grad_b_out: Tensor) -> dict[str, Tensor]:
    """The updates of the effective weights ``w`` taken to the model's parameters by autograd
    (through its connectivity: Dale's law, masks, low rank), by parameter name.

    ``grad`` is ``(N, n_input + N + 1)``: the columns of ``W_in``, ``W`` and ``b``.
    """
    n = grad.shape[0]
    n_in = grad.shape[1] - n - 1
    sources = [w.w_in, w.w_rec, w.w_out, model.b_rec, model.b_out]
    updates = [grad[:, :n_in], grad[:, n_in:n_in + n], grad_out, grad[:, -1], grad_b_out]
    names = {id(p): k for k, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = None
    torch.autograd.backward(sources, updates)
    return {names[id(p)]: p.grad for p in model.parameters() if p.grad is not None}


def _check_model(model: nn.Module, owner: str, trace: str, batch_size: int, n_input: int) -> None:
    from ..models import RateRNN, SpikingRNN

    if owner == "train_eprop" and isinstance(model, SpikingRNN):
        if trace != "local":
            raise ValueError(f"train_eprop(trace={trace!r}) is for a RateRNN; a SpikingRNN "
                             "trains with e-prop's local traces only (trace='local')")
        return
    if not isinstance(model, RateRNN):
        spiking = ("; for a SpikingRNN use train_eprop (feedback='random' is random e-prop)"
                   if isinstance(model, SpikingRNN) else "")
        supported = "RateRNN and SpikingRNN" if owner == "train_eprop" else "RateRNN"
        raise TypeError(
            f"{owner} supports {supported} (the models with an eligibility trace in "
            f"brainlike.training); got {type(model).__name__}{spiking}"
        )
    if model.train_initial_state:
        raise ValueError(
            f"{owner} gives no update of the initial state: build the RateRNN with "
            "train_initial_state=False (got True)"
        )
    n = model.n_hidden
    size = batch_size * n * n * (n + n_input + 1)
    if trace == "full" and size > MAX_FULL_TRACE:
        raise ValueError(
            f"{owner}(trace='full') keeps the influence tensor of real-time recurrent learning, "
            f"batch_size * N^2 * (N + n_input + 1) = {size} numbers here (limit "
            f"{MAX_FULL_TRACE}); use trace='local', or a smaller network or batch"
        )


_OWN = ("feedback", "trace", "callbacks", "out", "resume", "progress")


def _train_eligibility(
    algorithm: str, model: nn.Module, task: Any, *, feedback: str, trace: str,
    callbacks: Sequence[Callable[[StepInfo], bool | None]], out: str | Path | None,
    resume: bool, progress: bool, options: dict[str, Any],
) -> TrainResult:
    owner = f"train_{algorithm}"
    feedback = _checks.one_of("feedback", feedback, owner, FEEDBACKS)
    trace = _checks.one_of("trace", trace, owner, TRACES)
    rule = GradientRule(owner, model, options, own=_OWN)
    seed, norm = rule.seed, rule.hp["loss_normalization"]
    _check_model(model, owner, trace, rule.hp["batch_size"], task.n_inputs)
    check_model_fits_task(model, task)
    state: dict[str, torch.Tensor] = {}
    if feedback == "random":  # fixed B ~ N(0, 1 / n_output) (Murray 2019), kept in the checkpoint
        b = torch.randn(model.n_output, model.n_hidden, dtype=torch.float64,
                        generator=feedback_generator(seed, _FEEDBACK_STREAM))
        state["B"] = (b / math.sqrt(model.n_output)).to(rule.params[0].dtype)
    session = rule.session(out, algorithm=algorithm, task=task,
                           settings={"feedback": feedback, "trace": trace},
                           callbacks=callbacks, resume=resume, progress=progress,
                           state=lambda: state)
    model.train()
    with session as run:
        state.update(run.state)
        for step in run:
            batch = task.generate(rule.hp["batch_size"], seed=[seed, TRAIN_TRIALS, step])
            inputs, targets, mask = to_tensors(batch)
            loss, grads = eligibility_gradients(
                model, inputs, targets, mask, batch.target_kind,
                feedback=state.get("B", "symmetric"), trace=trace,
                generator=generator(seed, TRAIN_NOISE, step), loss_normalization=norm,
                lengths=batch.lengths)
            run.record(rule.step(run, loss, grads))
    return run.result()


_COMMON_DOC = """
    Each step simulates a batch of trials forward in time, updating the eligibility traces and
    accumulating ``sum_t s_t e_t`` as it goes (the trajectory is never stored), then applies the
    summed update with the optimizer. Evaluations, checkpoints (the random feedback ``B`` is
    kept in them) and resuming are those of :func:`brainlike.training.train`.

    Parameters
    ----------
    model : RateRNN (or SpikingRNN for e-prop)
        A RateRNN with ``train_initial_state=False``. :func:`train_eprop` also takes a
        SpikingRNN (its own trace; ``trace="local"`` only); other models are refused by name.
    task : Task
        A trial task (or anything :func:`train` takes).
    feedback : {"symmetric", "random"}
        The learning signal's ``B``: the readout ``W_out`` (as it is at each step), or a fixed
        random matrix ``N(0, 1/n_output)`` drawn from ``seed``.
    trace : {"local", "full"}
        The eligibility traces (e-prop/RFLO), or the full influence tensor of real-time
        recurrent learning, which makes the symmetric update BPTT's gradient exactly (small
        networks only; refused beyond 2**26 numbers).
    callbacks, out, resume, progress
        As in :func:`brainlike.training.train`.
    **options
        ``steps``, ``batch_size``, ``optimizer``, ``lr``, ``weight_decay``, ``momentum``,
        ``grad_clip``, ``schedule``, ``eval_every``, ``eval_trials``, ``criterion``, ``seed``,
        ``loss_normalization``: as in :func:`brainlike.training.train`, with its defaults.

    Returns
    -------
    TrainResult
"""


def train_rflo(
    model: nn.Module, task: Any, *, feedback: str = "random", trace: str = "local",
    callbacks: Sequence[Callable[[StepInfo], bool | None]] = (), out: str | Path | None = None,
    resume: bool = True, progress: bool = False, **options: Any,
) -> TrainResult:
    return _train_eligibility("rflo", model, task, feedback=feedback, trace=trace,
                              callbacks=callbacks, out=out, resume=resume, progress=progress,
                              options=options)


def train_eprop(
    model: nn.Module, task: Any, *, feedback: str = "symmetric", trace: str = "local",
    callbacks: Sequence[Callable[[StepInfo], bool | None]] = (), out: str | Path | None = None,
    resume: bool = True, progress: bool = False, **options: Any,
) -> TrainResult:
    return _train_eligibility("eprop", model, task, feedback=feedback, trace=trace,
                              callbacks=callbacks, out=out, resume=resume, progress=progress,
                              options=options)


train_rflo.__doc__ = """Train a RateRNN with random-feedback local online learning (RFLO, Murray
    2019).

    ``W_in``, ``W`` and ``b`` learn from the learning signal ``s_t = (dL_t/dy_t) B`` through a
    fixed random ``B`` times each synapse's eligibility trace ``e_t = (1 - a) e_{t-1} +
    a f'(z_t) p_t`` (the module docstring); ``W_out`` and ``b_out`` learn from the output error
    (their gradient is local). Murray trains with plain SGD (``optimizer="sgd"``); the default
    here is the optimizer of :func:`train`, so that learning curves compare the updates alone.
""" + _COMMON_DOC + """
    Examples
    --------
    >>> from brainlike.models import RateRNN
    >>> from brainlike.tasks import make
    >>> from brainlike.training import train_rflo
    >>> task = make("perceptual_decision", dt=100.0)
    >>> model = RateRNN(task.n_inputs, 16, task.n_outputs, dt=100.0, tau=100.0, seed=0)
    >>> train_rflo(model, task, steps=2, batch_size=8, eval_every=2, eval_trials=20).steps
    2

    References
    ----------
    Murray, J. M. (2019). Local online learning in recurrent networks with random feedback.
    eLife 8, e43299.
"""

train_eprop.__doc__ = """Train a RateRNN or a SpikingRNN with e-prop (Bellec et al. 2020).

    The update ``sum_t s_t e_t`` of the module docstring with the learning signal through the
    readout, ``s_t = (dL_t/dy_t) W_out`` (symmetric e-prop; ``feedback="random"``: random
    e-prop). For a rate network the eligibility trace is RFLO's, so :func:`train_rflo` is this
    function with random feedback. For a :class:`~brainlike.models.SpikingRNN` (leaky
    integrate-and-fire units with current synapses) the trace is the model's surrogate
    pseudo-derivative ``psi_t`` times the eligibility vector ``eps_t = dP_t/dW`` through the
    unit's own synaptic and membrane filters, low-pass filtered by the readout's filter
    (Bellec et al. 2020, Methods; ``brainlike.training._eprop_spiking`` has the equations):
    with symmetric feedback it is exactly the gradient of the network whose recurrent input
    ``W s_{t-1}`` takes the spikes as constants, and BPTT's gradient when ``W = 0``.
""" + _COMMON_DOC + """
    Examples
    --------
    >>> from brainlike.models import RateRNN
    >>> from brainlike.tasks import make
    >>> from brainlike.training import train_eprop
    >>> task = make("perceptual_decision", dt=100.0)
    >>> model = RateRNN(task.n_inputs, 16, task.n_outputs, dt=100.0, tau=100.0, seed=0)
    >>> train_eprop(model, task, steps=2, batch_size=8, eval_every=2, eval_trials=20).steps
    2
    >>> from brainlike.models import SpikingRNN
    >>> snn = SpikingRNN(3, 8, 3, dt=100.0, seed=0)
    >>> train_eprop(snn, task, steps=1, batch_size=4, eval_every=1, eval_trials=10).steps
    1

    References
    ----------
    Bellec, G., Scherr, F., Subramoney, A., Hajek, E., Salaj, D., Legenstein, R. & Maass, W.
    (2020). A solution to the learning dilemma for recurrent networks of spiking neurons.
    Nat. Commun. 11, 3625.
"""

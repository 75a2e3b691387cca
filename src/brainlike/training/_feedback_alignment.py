"""Feedback alignment (Lillicrap et al. 2016) and direct feedback alignment (Nøkland 2016).

The backward pass of backpropagation sends the error back through the transposes of the forward
weights. Feedback alignment sends it back through fixed random matrices ``B`` instead; the forward
weights then come to align with ``B``, so that the updates point within 90 degrees of the
gradient. For an MLP with layers ``a_l = W_l h_{l-1} + b_l``, ``h_l = f(a_l)`` and the output
error ``e = dL/da_L``:

====================  =================================================
backprop              ``delta_l = (delta_{l+1} W_{l+1}) * f'(a_l)``
feedback alignment    ``delta_l = (delta_{l+1} B_{l+1}) * f'(a_l)``
direct FA             ``delta_l = (e D_l) * f'(a_l)``
====================  =================================================

with ``dW_l = delta_l^T h_{l-1}`` in all three. For a :class:`~brainlike.models.RateRNN`
(``z_t = W_in x_t + W r_{t-1} + b``, ``r_t = (1 - a) r_{t-1} + a f(z_t)``, ``y_t = W_out r_t``),
backpropagation through time carries ``g_t = dL/dr_t`` backward as

    g_t = e_t W_out + (1 - a) g_{t+1} + (g_{t+1} * a f'(z_{t+1})) W,

and feedback alignment replaces ``W_out`` and ``W`` by fixed random ``B_out`` and ``B``; direct
feedback alignment keeps only ``e_t B_out`` and the unit's own leak ``(1 - a) g_{t+1}`` (no
error crosses a recurrent synapse). That last gradient is the one RFLO computes forward in time
with eligibility traces (:func:`train_rflo`), here computed backward from the stored trajectory.
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
from ._gradient_rule import GradientRule, feedback_generator
from ._loop import check_model_fits_task
from ._losses import task_loss
from ._session import (
    TRAIN_NOISE,
    TRAIN_TRIALS,
    StepInfo,
    TrainResult,
    generator,
    json_number,
    to_tensors,
)

__all__ = ["angle", "mlp_gradients", "rate_rnn_gradients", "train_feedback_alignment"]

MODES = ("fa", "dfa", "backprop")
_FEEDBACK_STREAM = 7  # the seed stream of the random feedback matrices


def angle(a: Sequence[Tensor], b: Sequence[Tensor]) -> float:
    """The angle in degrees between two updates, each a list of tensors taken as one vector."""
    va = torch.cat([t.reshape(-1) for t in a]).double()
    vb = torch.cat([t.reshape(-1) for t in b]).double()
    denom = float(va.norm() * vb.norm())
    if denom == 0.0:
        return math.nan
    return math.degrees(math.acos(max(-1.0, min(1.0, float(va @ vb) / denom))))


# -- MLP ------------------------------------------------------------------------------------------


def _mlp_feedback(model: nn.Module, mode: str, gen: torch.Generator) -> dict[str, Tensor]:
    """Fixed random feedback: ``B_l`` shaped like ``W_l`` (FA) or ``D_l (n_out, n_l)`` (DFA),
    uniform in ``+-1/sqrt(fan_in)`` like the forward weights' initialization."""
    out: dict[str, Tensor] = {}
    sizes, like = model.sizes, model.layers[0].weight
    for l in range(1, len(sizes) - 1):  # noqa: E741 - a layer index, as in the equations
        rows, cols = (sizes[l + 1], sizes[l]) if mode == "fa" else (sizes[-1], sizes[l])
        bound = 1.0 / math.sqrt(cols if mode == "fa" else rows)
        b = (torch.rand(rows, cols, generator=gen, dtype=torch.float64) * 2 - 1) * bound
        out[f"B{l}"] = b.to(like.dtype)
    return out


def mlp_gradients(model: nn.Module, x: Tensor, labels: Tensor, mode: str,
                  feedback: dict[str, Tensor] | None = None) -> tuple[Tensor, list[Tensor]]:
    """The loss and the update of every parameter of an :class:`~brainlike.models.MLP`.

    Parameters
    ----------
    model : MLP
    x : Tensor, shape (B, sizes[0])
    labels : Tensor, shape (B,)
        Class labels; the loss is the mean cross-entropy of the output logits.
    mode : {"backprop", "fa", "dfa"}
    feedback : dict of str to Tensor
        ``B{l}`` for each hidden layer ``l = 1 .. L-1`` (see the module docstring); unused for
        ``"backprop"``.

    Returns
    -------
    loss : Tensor, scalar
    grads : list of Tensor
        In the order of ``model.parameters()`` (weight, bias of each layer).
    """
    act = model._act
    hs, pre = [x], []
    with torch.no_grad():
        for k, layer in enumerate(model.layers):
            a = hs[-1] @ layer.weight.t() + layer.bias
            pre.append(a)
            if k < len(model.layers) - 1:
                hs.append(act.fn(a))
    logits = pre[-1].detach().requires_grad_(True)
    loss = nn.functional.cross_entropy(logits, labels)
    (e,) = torch.autograd.grad(loss, logits)
    deltas = [e]
    for l in range(len(model.layers) - 1, 0, -1):  # noqa: E741
        if mode == "backprop":
            back = deltas[0] @ model.layers[l].weight.detach()
        elif mode == "fa":
            back = deltas[0] @ feedback[f"B{l}"]
        else:
            back = e @ feedback[f"B{l}"]
        deltas.insert(0, back * act.derivative(pre[l - 1], hs[l]))
    grads: list[Tensor] = []
    for h, d in zip(hs, deltas):
        grads += [d.t() @ h, d.sum(0)]
    return loss.detach(), grads


# -- RateRNN --------------------------------------------------------------------------------------


def _rnn_feedback(model: nn.Module, mode: str, gen: torch.Generator) -> dict[str, Tensor]:
    """``B_out (n_output, N)`` and, for FA, ``B (N, N)``, scaled like ``W_out`` and ``W``."""
    n, o, like = model.n_hidden, model.n_output, model.w_in
    b_out = (torch.rand(o, n, generator=gen, dtype=torch.float64) * 2 - 1) / math.sqrt(n)
    out = {"B_out": b_out.to(like.dtype)}
    if mode == "fa":
        w = model.effective_weights().w_rec.detach()
        b = torch.randn(n, n, generator=gen, dtype=torch.float64) / math.sqrt(n)
        out["B"] = (b * float(torch.linalg.matrix_norm(w.double(), 2))).to(like.dtype)
    return out


def rate_rnn_gradients(
    model: nn.Module, inputs: Tensor, targets: Tensor, mask: Tensor, target_kind: str, *,
    mode: str, feedback: dict[str, Tensor] | None = None, generator: torch.Generator | None = None,
    loss_normalization: str = "weights", lengths: Any = None,
) -> tuple[Tensor, dict[str, Tensor]]:
    """The task loss and the update of every parameter of a :class:`~brainlike.models.RateRNN`.

    The trajectory is simulated once (``model.traced``, recurrent noise from ``generator``),
    the error is carried backward through time by the rule of ``mode`` (the module docstring),
    and the updates of the effective weights (``w_in``, ``w_rec``, ``w_out``, and ``b_rec``,
    ``b_out``, a trained ``r0``) are handed to autograd, which takes them through the model's
    connectivity to its parameters. With ``mode="backprop"`` this is exactly BPTT's gradient.

    Parameters
    ----------
    model : RateRNN
    inputs : Tensor, shape (B, T, n_input)
    targets, mask
        As :func:`brainlike.training.task_loss` takes them.
    target_kind : {"class", "value"}
    mode : {"backprop", "fa", "dfa"}
    feedback : dict of str to Tensor
        ``B_out (n_output, N)`` and, for ``"fa"``, ``B (N, N)``.

    Returns
    -------
    loss : Tensor, scalar
    grads : dict of str to Tensor
        The update of each trainable parameter, by name (``model.named_parameters()``).
    """
    w = model.effective_weights()
    with torch.no_grad():
        run = model.traced(inputs, generator=generator)
    rates, z = run.output.activity, run.traces["pre_activation"]  # (B, T, N)
    outputs = run.output.outputs.detach().requires_grad_(True)
    loss = task_loss(outputs, targets, mask, target_kind, normalization=loss_normalization,
                     lengths=lengths)
    (e,) = torch.autograd.grad(loss, outputs)  # (B, T, O)
    a = model.alpha
    gain = model._act.derivative(z, model._act.fn(z)).mul_(a)
    w_out_back = w.w_out.detach() if mode == "backprop" else feedback["B_out"]
    w_back = {"backprop": w.w_rec.detach(), "fa": None if mode != "fa" else feedback["B"]}.get(mode)
    from_output = e @ w_out_back  # (B, T, N)
    dz = torch.empty_like(z)
    carry = torch.zeros_like(rates[:, 0])
    for t in range(z.shape[1] - 1, -1, -1):
        g = from_output[:, t] + carry
        torch.mul(g, gain[:, t], out=dz[:, t])
        carry = g * (1.0 - a)
        if w_back is not None:
            carry = carry + dz[:, t] @ w_back
    r0 = model.initial_state(inputs.shape[0])
    r_prev = torch.cat((r0[:, None], rates[:, :-1]), dim=1)
    n = rates.shape[-1]
    flat = dz.reshape(-1, n)
    sources = [w.w_in, w.w_rec, w.w_out, model.b_rec, model.b_out]
    updates = [flat.t() @ inputs.reshape(-1, inputs.shape[-1]), flat.t() @ r_prev.reshape(-1, n),
               e.reshape(-1, e.shape[-1]).t() @ rates.reshape(-1, n), flat.sum(0),
               e.sum((0, 1))]
    if model.r0.requires_grad:
        sources.append(model.r0)
        updates.append(carry.sum(0))
    names = {id(p): k for k, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = None
    torch.autograd.backward(sources, updates)
    return loss.detach(), {names[id(p)]: p.grad for p in model.parameters() if p.grad is not None}


# -- the training function ------------------------------------------------------------------------


def _kind(model: nn.Module) -> str:
    from ..models import MLP, RateRNN

    if isinstance(model, MLP):
        return "mlp"
    if isinstance(model, RateRNN):
        return "rnn"
    raise TypeError(
        "train_feedback_alignment supports MLP (on an image task such as 'digits') and RateRNN "
        f"(on a trial task); got {type(model).__name__}"
    )


def _check_mlp_task(model: nn.Module, task: Any) -> None:
    shape = getattr(task, "image_shape", None)
    if shape is None:
        raise ValueError(
            "train_feedback_alignment trains an MLP on an image task (e.g. make('digits')); got "
            f"task {getattr(task, 'name', type(task).__name__)!r}"
        )
    n_pixels = int(np.prod(shape))
    if model.sizes[0] != n_pixels or model.sizes[-1] != task.n_outputs:
        raise ValueError(
            f"the MLP's sizes must start with the {n_pixels} pixels of an image {tuple(shape)} "
            f"and end with the {task.n_outputs} classes of task {task.name!r}; got sizes "
            f"{model.sizes}"
        )


def _image_evaluation(model: nn.Module, task: Any) -> Callable[[int], dict[str, Any]]:
    """Score an MLP on every image of the task's held-out split (the same images each time,
    so the evaluation's seed is not used)."""
    held_out = getattr(task, "evaluation_task", task)
    batch = held_out.batch()
    x = torch.tensor(batch.inputs.reshape(batch.batch_size, -1))
    labels = torch.tensor(batch.targets)

    def evaluate(seed: int) -> dict[str, Any]:
        with torch.no_grad():
            logits = model(x.to(model.layers[0].weight.dtype)).outputs
        loss = float(nn.functional.cross_entropy(logits, labels))
        return {"accuracy": float(held_out.score(logits.numpy(), batch).accuracy),
                "eval_loss": json_number(loss)}

    return evaluate


def train_feedback_alignment(
    model: nn.Module,
    task: Any,
    *,
    mode: str = "fa",
    callbacks: Sequence[Callable[[StepInfo], bool | None]] = (),
    out: str | Path | None = None,
    resume: bool = True,
    progress: bool = False,
    **options: Any,
) -> TrainResult:
    """Train with feedback alignment: fixed random matrices carry the error backward.

    Every step computes the update of ``mode`` (the module docstring) and, for ``"fa"`` and
    ``"dfa"``, also backpropagation's gradient on the same batch, and logs the angle between the
    two (``angle``, degrees, over every parameter whose update differs: all but the last layer of
    an MLP, all but the readout of an RNN). The optimizer then takes the step of ``mode``. The
    feedback matrices are drawn once from ``seed`` and kept in the checkpoint.

    Parameters
    ----------
    model : MLP or RateRNN
        An :class:`~brainlike.models.MLP` trains on an image task (``make("digits")``), its
        images flattened, and is scored on every image of the task's held-out split
        (``task.evaluation_task``). A :class:`~brainlike.models.RateRNN` trains on a trial task
        like :func:`train` and is scored the same way. Other models are refused.
    task : Task
    mode : {"fa", "dfa", "backprop"}
        Feedback alignment (Lillicrap et al. 2016), direct feedback alignment (Nøkland 2016),
        or the exact gradient through the same code (the reference to compare with).
    callbacks, out, resume, progress
        As in :func:`brainlike.training.train`.
    **options
        ``steps``, ``batch_size``, ``optimizer``, ``lr``, ``weight_decay``, ``momentum``,
        ``grad_clip``, ``schedule``, ``eval_every``, ``eval_trials``, ``criterion``, ``seed``,
        ``loss_normalization``: as in :func:`brainlike.training.train`, with its defaults
        (``eval_trials`` and ``loss_normalization`` apply to the RNN).

    Returns
    -------
    TrainResult
        ``history`` also holds ``angle`` (NaN for ``"backprop"``).

    Examples
    --------
    >>> from brainlike.models import MLP
    >>> from brainlike.tasks import make
    >>> from brainlike.training import train_feedback_alignment
    >>> digits = make("digits")
    >>> net = MLP([64, 32, 10], activation="tanh", seed=0)
    >>> result = train_feedback_alignment(net, digits, mode="fa", steps=20, eval_every=20)
    >>> result.history["angle"].shape, 0.0 <= result.accuracy <= 1.0
    ((20,), True)

    References
    ----------
    Lillicrap, T. P., Cownden, D., Tweed, D. B. & Akerman, C. J. (2016). Random synaptic
    feedback weights support error backpropagation for deep learning. Nat. Commun. 7, 13276.
    Nøkland, A. (2016). Direct feedback alignment provides learning in deep neural networks.
    NeurIPS 29.
    """
    owner = "train_feedback_alignment"
    mode = _checks.one_of("mode", mode, owner, MODES)
    kind = _kind(model)
    rule = GradientRule(owner, model, options,
                        own=("mode", "callbacks", "out", "resume", "progress"))
    seed, norm = rule.seed, rule.hp["loss_normalization"]
    if kind == "mlp":
        _check_mlp_task(model, task)
        evaluation = _image_evaluation(model, task)
        architecture = {"sizes": list(model.sizes), "activation": model.activation}
    else:
        check_model_fits_task(model, task)
        evaluation, architecture = None, None
    feedback: dict[str, Tensor] = {}
    if mode != "backprop":
        gen = feedback_generator(seed, _FEEDBACK_STREAM)
        feedback = (_mlp_feedback if kind == "mlp" else _rnn_feedback)(model, mode, gen)
    session = rule.session(out, algorithm="feedback_alignment", task=task,
                           settings={"mode": mode, "architecture": architecture},
                           callbacks=callbacks, resume=resume, progress=progress,
                           state=lambda: feedback, evaluation=evaluation)
    # The parameters whose update differs from backprop's: all but the readout.
    hidden = [k for k in rule.names if not k.startswith(
        f"layers.{len(model.layers) - 1}." if kind == "mlp" else ("w_out", "b_out"))]
    model.train()
    with session as run:
        feedback.update(run.state)
        for step in run:
            batch = task.generate(rule.hp["batch_size"], seed=[seed, TRAIN_TRIALS, step])
            if kind == "mlp":
                x = torch.tensor(batch.inputs.reshape(batch.batch_size, -1))
                x, labels = x.to(rule.params[0].dtype), torch.tensor(batch.targets)

                def update(how: str, x=x, labels=labels) -> tuple[Tensor, dict[str, Tensor]]:
                    loss, grads = mlp_gradients(model, x, labels, how, feedback)
                    return loss, dict(zip(rule.names, grads))
            else:
                inputs, targets, mask = to_tensors(batch)

                def update(how: str, step=step, inputs=inputs, targets=targets, mask=mask,
                           batch=batch) -> tuple[Tensor, dict[str, Tensor]]:
                    return rate_rnn_gradients(
                        model, inputs, targets, mask, batch.target_kind, mode=how,
                        feedback=feedback, generator=generator(seed, TRAIN_NOISE, step),
                        loss_normalization=norm, lengths=batch.lengths)

            loss, grads = update(mode)
            theta = math.nan
            if mode != "backprop":
                exact = update("backprop")[1]
                theta = angle([grads[k] for k in hidden], [exact[k] for k in hidden])
            row = rule.step(run, loss, grads)
            run.record({**row, "angle": json_number(theta)})
    return run.result()

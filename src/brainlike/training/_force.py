"""FORCE learning: recursive least squares on a chaotic network's readout (Sussillo & Abbott 2009).

The network (:class:`brainlike.models.FeedbackRNN`) runs on-line through one long stretch of the
target signal; every ``learn_every`` steps the readout ``W_out`` takes a recursive-least-squares
step that cancels most of the present error, so the output fed back stays close to the target
from the start (first-order reduced and controlled error):

    e = W_out r - f(t),     k = P r,     c = 1 / (1 + r^T k),
    P <- P - c k k^T,       W_out <- W_out - c e k^T,        P(0) = I / alpha.

In the ``internal`` variant the network has no feedback loop, and the recurrent weights take the
change the loop would have made: ``J <- J - c (W_fb e) k^T``, so that ``J`` follows ``J_0 + W_fb
W_out`` exactly as the effective weights of the readout variant do.

Speed: ``P`` is updated lazily. The ``m`` most recent rank-one terms are kept as columns ``K`` and
``c`` (``P = P_0 - K diag(c) K^T``), so ``P r`` costs one matrix-vector product plus two thin ones,
and every ``m`` updates (and at the end of each window) the terms are folded into ``P_0`` with one
matrix product -- the same arithmetic as the update above, reordered. ``J r`` and ``P r`` are one
product of the stacked ``[J; P_0]`` with ``r``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from .. import _checks
from ._session import TRAIN_TRIALS, Session, StepInfo, TrainResult, json_number, to_tensors

__all__ = ["train_force"]

VARIANTS = ("readout", "internal")
_BUFFER = 16  # rank-one terms of P kept before they are folded in


def _check_model(model: nn.Module, variant: str) -> None:
    from ..models import FeedbackRNN

    if not isinstance(model, FeedbackRNN):
        raise TypeError(
            "train_force supports FeedbackRNN (brainlike.models.make('feedback', ...)), whose "
            "linear readout is fed back into a chaotic network; got "
            f"{type(model).__name__}"
        )
    if variant == "internal" and model.feedback:
        raise ValueError(
            "train_force(variant='internal') changes the recurrent weights in place of a "
            "feedback loop: build the FeedbackRNN with feedback=False (got feedback=True)"
        )


def _check_task(task: Any, model: nn.Module) -> None:
    names = getattr(task, "condition_names", ())
    if getattr(task, "target_kind", None) != "value" or "start" not in names:
        raise ValueError(
            "train_force needs a task whose trials are windows of one signal (value targets and "
            "a 'start' condition in ms), such as 'sum_of_sines' or 'triangle_wave'; got "
            f"{getattr(task, 'name', type(task).__name__)!r}"
        )
    for attr, want in (("n_input", task.n_inputs), ("n_output", task.n_outputs)):
        if getattr(model, attr) != want:
            kind = "n_inputs" if attr == "n_input" else "n_outputs"
            raise ValueError(f"model.{attr} ({getattr(model, attr)}) must equal task.{kind} "
                             f"({want}) of task {task.name!r}")
    if not math.isclose(model.dt, task.dt, rel_tol=1e-9):
        raise ValueError(f"model.dt ({model.dt} ms) must equal task.dt ({task.dt} ms) of task "
                         f"{task.name!r}")


class _RLS:
    """The on-line state of a FORCE run: ``[J; P_0]`` stacked, the pending rank-one terms."""

    def __init__(self, model: nn.Module, P: Tensor, variant: str) -> None:
        n = model.n_hidden
        like = model.w_rec
        self.model, self.variant = model, variant
        self.stack = torch.empty(2 * n, n, dtype=like.dtype, device=like.device)
        self.stack[:n] = model.w_rec.detach()
        self.stack[n:] = P
        self.J, self.P = self.stack[:n], self.stack[n:]
        self.K = like.new_zeros(n, _BUFFER)
        self.c = like.new_zeros(_BUFFER)
        self.E = like.new_zeros(_BUFFER, model.n_output)  # internal: the errors of the terms
        self.m = 0

    def flush(self) -> None:
        """Fold the pending terms into ``P_0`` (and ``J``): ``P_0 -= K diag(c) K^T``."""
        m = self.m
        if m == 0:
            return
        k, kc = self.K[:, :m], self.K[:, :m] * self.c[:m]
        self.P.addmm_(kc, k.t(), alpha=-1.0)
        if self.variant == "internal":
            # J -= sum_j c_j (W_fb e_j) k_j^T = W_fb (E^T diag(c)) K^T
            self.J.addmm_(self.model.w_fb @ (self.E[:m].t() * self.c[:m]), k.t(), alpha=-1.0)
        self.m = 0

    @torch.no_grad()
    def run(self, x: Tensor, drive: Tensor, target: Tensor, first: int, learn_every: int
            ) -> tuple[Tensor, float, float, float, int]:
        """Simulate one window of ``T`` steps from currents ``x (N,)`` with learning on.

        ``drive (T, N)`` is ``W_in u_t``, ``target (T, O)`` the signal; ``first`` the global index
        of the window's first step (updates happen when ``(index + 1) % learn_every == 0``).
        Returns the final currents, the window's sum of squared and of absolute errors of the
        output (before each update), the sum of the update norms ``|dW_out|`` and the number
        of updates.
        """
        model, a = self.model, self.model.alpha
        w_out, w_fb = model.w_out, model.w_fb
        feedback = model.feedback
        internal = self.variant == "internal"
        r = torch.tanh(x)
        jr = self._recurrent(r, learn=False)[0]
        sq = ab = dw = 0.0
        n_updates = 0
        for t in range(target.shape[0]):
            drive_t = jr + drive[t]
            if feedback:
                drive_t = drive_t + w_fb @ (w_out @ r)
            x = torch.lerp(x, drive_t, a)
            r = torch.tanh(x)
            z = w_out @ r
            e = z - target[t]
            sq += float(e.square().sum())
            ab += float(e.abs().sum())
            learn = (first + t + 1) % learn_every == 0
            jr, k, kr = self._recurrent(r, learn)
            if not learn:
                continue
            c = 1.0 / (1.0 + float(r @ k))
            w_out.addr_(e, k, alpha=-c)
            dw += c * float(e.norm()) * float(k.norm())
            n_updates += 1
            if internal:  # the change of J along W_fb e, applied to the J r just computed
                jr.sub_(w_fb @ e, alpha=c * float(kr))
                self.E[self.m] = e
            self.K[:, self.m] = k
            self.c[self.m] = c
            self.m += 1
            if self.m == _BUFFER:
                self.flush()
        return x, sq, ab, dw, n_updates

    def _recurrent(self, r: Tensor, learn: bool) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """``J r`` and, when learning, ``k = P r`` and ``k^T r`` (with the pending terms)."""
        n, m = self.model.n_hidden, self.m
        internal = self.variant == "internal"
        if learn:
            both = self.stack @ r
            jr, k = both[:n], both[n:]
        else:
            jr, k = self.J @ r, None
        if m and (learn or internal):
            coef = self.c[:m] * (self.K[:, :m].t() @ r)  # c_j k_j^T r
            if internal:
                jr = jr - self.model.w_fb @ (self.E[:m].t() @ coef)
            if learn:
                k = k - self.K[:, :m] @ coef
        return jr, k, (r @ k if learn else None)


def train_force(
    model: nn.Module,
    task: Any,
    *,
    steps: int = 36,
    variant: str = "readout",
    alpha: float = 1.0,
    learn_every: int = 2,
    eval_every: int = 4,
    criterion: float | None = None,
    seed: int = 0,
    callbacks: Sequence[Callable[[StepInfo], bool | None]] = (),
    out: str | Path | None = None,
    resume: bool = True,
    progress: bool = False,
) -> TrainResult:
    """Train a :class:`~brainlike.models.FeedbackRNN` with FORCE (Sussillo & Abbott 2009).

    The network runs on-line through consecutive windows of the task's signal -- window ``k`` is
    the trial starting at ``start = k * duration`` -- carrying its state from one to the next
    (no trials, no backpropagation). Every ``learn_every`` time steps the readout takes a
    recursive-least-squares step (the module docstring has the equations; ``P(0) = I / alpha``).
    The feedback reads the readout as it is after each update (Sussillo & Abbott's ``e_+``).

    At the end of every window the network's currents are written to ``model.x0``, its
    initial state: after training, ``model(inputs)`` continues the learned pattern where training
    stopped, with the feedback running and learning off (the test of Sussillo & Abbott). Each
    evaluation does exactly that for the next window: ``accuracy`` is the task's score of that
    continuation (1 when its mean absolute error is below the task's ``tolerance``),
    ``eval_loss`` its mean squared error and ``eval_mae`` its mean absolute error.

    Parameters
    ----------
    model : FeedbackRNN
        Trained in place (``w_out``; in the ``internal`` variant also ``w_rec``; ``x0``).
        Sussillo & Abbott start from ``W_out = 0`` (``readout_scale=0``).
    task : Task
        Trials that are windows of one signal, with value targets and a ``start`` condition in
        ms, of a fixed length: ``sum_of_sines`` or ``triangle_wave``.
    steps : int
        Windows to train on (in total, counting those before a resume). The default, 36 windows
        of ``sum_of_sines`` (1200 ms each), is three times the 1440 tau of Sussillo's demo.
    variant : {"readout", "internal"}
        ``"readout"``: RLS on ``W_out`` of a network with feedback (Sussillo & Abbott's Fig. 1A).
        ``"internal"``: a network without feedback (``feedback=False``) whose recurrent weights
        take the change the loop would make, ``J <- J - c (W_fb e) k^T``, with ``W_out``
        trained as in the readout variant; from ``W_out = 0`` it runs exactly the trajectory of
        the readout variant (the construction that relates Fig. 1A to learning inside the
        network, Fig. 1C; theirs trains a sparse subset of synapses, ours all of ``J``).
    alpha : float
        ``P(0) = I / alpha``; Sussillo & Abbott use 1 and report 1-100 to work.
    learn_every : int
        Time steps between updates (Sussillo's demo: 2).
    eval_every : int
        Windows between evaluations (and checkpoints).
    criterion : float, optional
        Stop when the evaluation accuracy reaches it (1.0: the continuation is within the
        task's ``tolerance``).
    seed : int
        Seed of the windows' random draws (the signal tasks draw none).
    callbacks, out, resume, progress
        As in :func:`brainlike.training.train`. The checkpoint holds the model (its state in
        ``x0``) and ``P``, so a resumed run continues bitwise.

    Returns
    -------
    TrainResult
        ``history`` per window: ``loss`` (mean squared error of the output while learning, before
        each update), ``mae``, ``dw`` (mean norm of the readout's updates ``|dW_out|``),
        ``updates``; and ``accuracy``, ``eval_loss``, ``eval_mae`` at evaluations.

    Raises
    ------
    TypeError
        A model other than a FeedbackRNN.
    ValueError
        A task that is not a signal (no ``start`` condition), windows of varying length, or
        ``variant="internal"`` with a feedback loop.

    Examples
    --------
    >>> from brainlike.models import FeedbackRNN
    >>> from brainlike.tasks import make
    >>> from brainlike.training import train_force
    >>> task = make("sum_of_sines", timing={"generate": 100.0})
    >>> net = FeedbackRNN(0, 100, 1, readout_scale=0.0, seed=0)
    >>> result = train_force(net, task, steps=3, eval_every=3)
    >>> result.steps, sorted(k for k in result.history if k.startswith("eval"))
    (3, ['eval_loss', 'eval_mae'])

    References
    ----------
    Sussillo, D. & Abbott, L. F. (2009). Generating coherent patterns of activity from chaotic
    neural networks. Neuron 63, 544-557.
    """
    owner = "train_force"
    variant = _checks.one_of("variant", variant, owner, VARIANTS)
    _check_model(model, variant)
    _check_task(task, model)
    steps = _checks.positive_int("steps", steps, owner)
    eval_every = _checks.positive_int("eval_every", eval_every, owner)
    learn_every = _checks.positive_int("learn_every", learn_every, owner)
    alpha = _checks.in_range("alpha", alpha, owner, 0.0, _checks.FLOAT32_MAX)
    if criterion is not None:
        criterion = _checks.in_range("criterion", criterion, owner, 0.0, 1.0, high_open=False)
    seed = _checks.seed("seed", seed, owner)

    dtype = model.w_rec.dtype
    first = task.generate(1, seed=[seed, TRAIN_TRIALS, 0], conditions={"start": 0.0})
    length = int(first.lengths[0])
    window = length * task.dt

    def trial(k: int, stream: int) -> tuple[Any, Tensor, Tensor]:
        batch = task.generate(1, seed=[seed, stream, k], conditions={"start": k * window})
        if int(batch.lengths[0]) != length:
            raise ValueError(
                f"train_force needs windows of a fixed length; task {task.name!r} gave "
                f"{int(batch.lengths[0])} steps at window {k} after {length}"
            )
        inputs, targets, _ = to_tensors(batch)
        return batch, inputs.to(dtype), targets.to(dtype)

    def evaluation(seed: int) -> dict[str, Any]:
        # The window training would take next: the session has counted the update just made.
        batch, inputs, targets = trial(session.step, 1)
        with torch.no_grad():
            outputs = model(inputs).outputs
        err = outputs - targets
        return {"accuracy": float(task.score(outputs.numpy(), batch).accuracy),
                "eval_loss": json_number(float(err.square().mean())),
                "eval_mae": json_number(float(err.abs().mean()))}

    n = model.n_hidden
    P = torch.eye(n, dtype=dtype) / alpha
    rls: _RLS | None = None
    session = Session(
        out, algorithm="force",
        settings={"variant": variant, "alpha": alpha, "learn_every": learn_every},
        model=model, task=task, steps=steps, seed=seed, eval_every=eval_every, eval_trials=1,
        criterion=criterion, callbacks=callbacks, resume=resume, progress=progress,
        owner=owner, evaluation=evaluation, state=lambda: {"P": rls.P},
    )
    with session as run:
        rls = _RLS(model, run.state.get("P", P), variant)
        for step in run:
            _, inputs, targets = trial(step, 0)
            drive = inputs[0] @ model.w_in.detach().t()
            x, sq, ab, dw, updates = rls.run(model.x0.clone(), drive, targets[0],
                                              step * length, learn_every)
            rls.flush()
            with torch.no_grad():
                model.x0.copy_(x)
                if variant == "internal":
                    model.w_rec.copy_(rls.J)
            count = targets[0].numel()
            # The updates happen inside the window: check what they made, then the error.
            run.check_parameters([("w_out", model.w_out), ("w_rec", model.w_rec),
                                  ("x0", model.x0), ("P", rls.P)])
            run.check_loss(sq)
            run.record({"loss": sq / count, "mae": ab / count,
                        "dw": dw / updates if updates else 0.0, "updates": updates})
    return run.result()


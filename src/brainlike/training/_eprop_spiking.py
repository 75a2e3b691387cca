"""e-prop (Bellec et al. 2020) for the leaky integrate-and-fire network with current synapses.

:class:`~brainlike.models.SpikingRNN` (``_lif_loop`` states the step) has, per unit ``j``, a
two-dimensional hidden state ``h_t = (I_t, V_t)``; each parameter ``theta_jq`` into unit ``j``
has the presynaptic quantity ``p_{t,q}`` of the vector ``p_t = (x_t, s_{t-1}, 1)`` (encoded
input, the previous step's spikes, bias) and enters

* the synaptic current: ``I_t = alpha I_{t-1} + W s_{t-1} (+ (1 - alpha)(W_x x_t + b))``, and/or
* the membrane: ``P_t = beta V_{t-1} + (1 - beta)(I_t (+ W_x x_t + b))``

(the input into the synapse with ``input_synapse=True``, into the membrane otherwise; with a list
of channels, those channels into the synapse and the rest and ``b`` into the membrane). e-prop's
eligibility vector is the derivative of the unit's own hidden state with respect to its
incoming weight through that unit's own past only (Bellec et al. 2020, Methods): the synaptic
and membrane filters of ``p``::

    eps^I_t = alpha eps^I_{t-1} + c^I p_t                      (B, P): the same for every unit
    eps^P_t = beta eps^V_{t-1} + (1 - beta)(eps^I_t + c^P p_t)   (dP_t/dtheta; held: eps^V_{t-1})
    eps^V_t = eps^P_t (1 - s_t)   (reset "zero")     eps^V_t = eps^P_t   (reset "subtract")

with ``c^I`` 1 for the recurrent columns and ``1 - alpha`` for the input and bias columns
through the synapse, ``c^P`` 1 for the input and bias columns into the membrane (and 0
otherwise). The eligibility trace is the pseudo-derivative times the eligibility vector,
``e_t = psi_t eps^P_t`` (Bellec et al. 2020, Methods, LIF neurons), with ``psi_t =
surrogate'(P_t)`` -- the model's own ``surrogate`` and ``surrogate_scale``, the function its BPTT
uses -- and ``psi_t = 0`` during the refractory period, where the model cannot spike (as Bellec
et al. do). The spike enters the reset as a constant, as in the model's own
backward pass (and Bellec et al.'s implementation): hence ``dV_t/dP_t = 1 - s_t`` (zero reset) or
1 (subtraction); a refractory unit's potential is held (``P_t = V_{t-1}``), so its eligibility
vector is too.

The readout is a low-pass filter of the spikes, ``rho_t = gamma rho_{t-1} + s_t``,
``y_t = W_out rho_t + b_out``: a spike at ``t`` changes every later output, so the loss's
derivative with respect to ``s_t`` looks into the future. Exchanging the two sums moves the filter
onto the trace (Bellec et al. 2020's low-pass filtered eligibility traces), and the update is
on-line and exact for that path::

    ebar_t = gamma ebar_{t-1} + e_t,     L_t = (dL_t/dy_t) B,     dtheta_jq = sum_t L_{t,j} ebar_{t,jq}

with ``B = W_out`` (symmetric e-prop) or a fixed random matrix (random e-prop). What e-prop
leaves out is only the path of a spike into other units through ``W s_{t-1}``. Hence, exactly
(the tests check these in float64): the update is the gradient of the same network in which the
recurrent input ``W s_{t-1}`` receives the spikes as constants (a stop-gradient; the readout still
sees them), for any ``W``; and it is the model's BPTT gradient (``train``'s, through its own
surrogate) when ``W = 0``. The readout's gradient ``sum_t (dL_t/dy_t)^T rho_t`` is exact.

Memory: the traces ``eps^V`` and ``ebar`` and the update per trial, ``3 B N (n_input + N + 1)``
numbers, whatever the trial's length; the trajectory is never stored.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ..models._lif_loop import lif_step


def spiking_eligibility_gradients(
    model: nn.Module, inputs: Tensor, targets: Tensor, mask: Tensor, target_kind: str, *,
    feedback: str | Tensor = "symmetric", generator: torch.Generator | None = None,
    loss_normalization: str = "weights", lengths: Any = None,
) -> tuple[Tensor, dict[str, Tensor]]:
    """The loss and the e-prop update of every parameter of a SpikingRNN, forward in time.

    Arguments and returns as :func:`brainlike.training._eligibility.eligibility_gradients`
    (``trace="local"``); the input encoding and the membrane noise are drawn from
    ``generator`` as ``model.forward`` draws them.
    """
    from ._eligibility import _normalizer, _output_error, _step_loss, parameter_updates

    b, steps, n_in = inputs.shape
    n, n_out = model.n_hidden, model.n_output
    k = model.constants()
    w = model.effective_weights()
    w_in, w_rec, w_out = w.w_in.detach(), w.w_rec.detach(), w.w_out.detach()
    b_out = model.b_out.detach()
    back = w_out if isinstance(feedback, str) else feedback
    scale = _normalizer(mask, lengths, target_kind, n_out, loss_normalization)
    with torch.no_grad():
        x = model.encode(inputs.transpose(0, 1), noise=True, generator=generator)  # (T, B, I)
        xi = None
        if model.sigma_rec > 0:
            xi = model._membrane_noise((steps, b, n), generator, x)
        s, v, i, c, r = model.split_state(model.initial_state(b)).values()
        rho = r + s
        p_cols = n_in + n + 1
        # per presynaptic column (inputs, recurrent spikes, bias): the share that enters the
        # synaptic current (times 1 - alpha) and the share that enters the membrane directly
        split = model._synaptic_channels  # (synaptic, membrane) input channels, or None
        through_synapse = 1.0 - k.alpha if k.input_synapse else 0.0
        c_syn = inputs.new_full((p_cols,), through_synapse)
        c_mem = inputs.new_full((p_cols,), 0.0 if k.input_synapse else 1.0)
        if split is not None:  # the listed channels through the synapse; the rest and b not
            c_syn[list(split[0])], c_mem[list(split[0])] = 1.0 - k.alpha, 0.0
        c_syn[n_in:n_in + n] = 1.0
        c_mem[n_in:n_in + n] = 0.0
        eps_i = inputs.new_zeros(b, p_cols)
        eps_v = inputs.new_zeros(n, b, p_cols)  # unit-major
        ebar = inputs.new_zeros(n, b, p_cols)
        grad = inputs.new_zeros(n, b, p_cols)  # per trial; summed over trials at the end
        grad_out = inputs.new_zeros(n_out, n)
        grad_b_out = inputs.new_zeros(n_out)
        loss = inputs.new_zeros(())
        ones = inputs.new_ones(b, 1)
        for t in range(steps):
            pre = torch.cat((x[t], s, ones), dim=1)  # (B, P): x_t, s_{t-1}, 1
            drive, synaptic = model._project(x[t], w_in)  # step by step: nothing of T stored
            held = c >= 0.5 if k.n_ref else None
            s, v, i, rho, c, p = lif_step(drive, w_rec, s, v, i, rho, c, k,
                                          None if xi is None else xi[t], surrogate=False,
                                          synaptic=synaptic)
            psi = k.surrogate.derivative(p, k.threshold, k.scale)
            eps_i.mul_(k.alpha).addcmul_(c_syn, pre)
            drive_trace = eps_i + c_mem * pre  # (B, P)
            if held is None:
                eps_v.lerp_(drive_trace[None], 1.0 - k.beta)  # now eps^P_t
            else:
                free = (~held).to(p.dtype)
                psi = psi * free
                eps_v.lerp_(drive_trace[None], ((1.0 - k.beta) * free).t()[:, :, None])
            ebar.mul_(k.gamma).addcmul_(psi.t()[:, :, None], eps_v)
            if k.reset == "zero":  # eps^V_t: zero where the unit spiked
                fired_b, fired_j = torch.nonzero(s, as_tuple=True)
                eps_v[fired_j, fired_b] = 0.0
            y = torch.addmm(b_out, rho, w_out.t())
            err = _output_error(y, targets[:, t], mask[:, t], target_kind, scale)  # (B, O)
            loss = loss + _step_loss(y, targets[:, t], mask[:, t], target_kind, scale)
            signal = err @ back  # (B, N)
            grad.addcmul_(signal.t()[:, :, None], ebar)  # one pass; a bmm took 4x longer
            grad_out += err.t() @ rho
            grad_b_out += err.sum(0)
        grad = grad.sum(1)
    return loss.detach(), parameter_updates(model, w, grad, grad_out, grad_b_out)

"""Rate-to-spiking transfer (Kim, Li & Sejnowski 2019): a trained RateRNN as a LIF network."""

from __future__ import annotations

from typing import Any

import torch

from ._rate_rnn import RateRNN
from ._spiking import SpikingRNN

__all__ = ["rate_to_spiking"]

_NONNEGATIVE = ("relu", "softplus", "sigmoid", "retanh")


def rate_to_spiking(
    rnn: RateRNN, scale: float, *, dt: float = 1.0, tau_mem: float = 10.0,
    refractory: float = 2.0, threshold: float = 1.0, bias_shift: float | None = None,
    **kwargs: Any,
) -> SpikingRNN:
    """A :class:`SpikingRNN` with the weights of a trained :class:`RateRNN` (one-to-one).

    Kim, Li & Sejnowski (2019) map a rate network onto LIF neurons unit by unit: the synaptic
    decay of the spiking network is the rate network's time constant, the recurrent and readout
    weights are divided by a scale ``lambda`` (their ``scaling_factor``, chosen by a grid
    search on the task) and the input weights are kept. Here, with
    ``tau_syn = tau_out = rnn.tau``, the spiking unit's filtered rate ``h = f tau_syn``
    (spikes per time constant) stands for ``lambda`` times the rate unit's ``r``::

        W_spk = W / lambda,   W_y,spk = W_y / lambda,   W_x,spk = W_x,   b_spk = b + bias_shift

    so that the total input ``W_spk h + W_x x + b`` is the rate network's pre-activation, and
    ``bias_shift`` (default ``threshold``: a unit with zero pre-activation sits at the
    rheobase, Kim et al.'s ``BIAS = vpeak``) lines the LIF f-I curve up with ``f``. The network
    uses the zero reset and a refractory period (Kim et al.: 2 ms, ``tau_mem`` 10 ms), and is
    meant to be simulated at a finer ``dt`` than the rate network was trained at (inputs held
    for ``rnn.dt / dt`` steps). A connectivity's effective matrices are copied as plain weights
    (their signs, hence Dale's law, are kept).

    Parameters
    ----------
    rnn : RateRNN
        With a non-negative rate function (``relu``, ``softplus``, ``sigmoid``, ``retanh``):
        spike rates cannot be negative.
    scale : float
        ``lambda > 0``.
    dt, tau_mem, refractory, threshold : float
        Of the spiking network (ms; ``threshold`` in its voltage units).
    bias_shift : float, optional
    **kwargs
        Other :class:`SpikingRNN` arguments (``surrogate``, ``sigma_rec``...).

    Returns
    -------
    SpikingRNN

    Examples
    --------
    >>> from brainlike.models import RateRNN, rate_to_spiking
    >>> rnn = RateRNN(3, 16, 2, tau=100.0, dt=20.0, seed=0)
    >>> snn = rate_to_spiking(rnn, scale=10.0)
    >>> snn.tau_syn, snn.dt, bool(torch.allclose(snn.w_rec * 10.0, rnn.w_rec))
    (100.0, 1.0, True)

    References
    ----------
    Kim, R., Li, Y. & Sejnowski, T. J. (2019). Simple framework for constructing functional
    spiking recurrent neural networks. PNAS 116, 22811-22820.
    """
    if not isinstance(rnn, RateRNN):
        raise TypeError(f"rate_to_spiking converts a RateRNN; got {type(rnn).__name__}")
    if rnn.activation not in _NONNEGATIVE:
        raise ValueError(f"rate_to_spiking needs a non-negative rate function {list(_NONNEGATIVE)} "
                         f"(spike rates cannot be negative); this RateRNN has {rnn.activation!r}")
    if not (isinstance(scale, (int, float)) and scale > 0):
        raise ValueError(f"The 'scale' parameter of rate_to_spiking must be a float > 0. "
                         f"Got {scale!r} instead.")
    shift = float(threshold if bias_shift is None else bias_shift)
    snn = SpikingRNN(rnn.n_input, rnn.n_hidden, rnn.n_output, dt=dt, tau_mem=tau_mem,
                     tau_syn=rnn.tau, tau_out=rnn.tau, threshold=threshold, reset="zero",
                     refractory=refractory, input_synapse=False, seed=0, **kwargs)
    with torch.no_grad():
        w = rnn.effective_weights()
        snn.w_in.copy_(w.w_in)
        snn.w_rec.copy_(w.w_rec / scale)
        snn.b_rec.copy_(rnn.b_rec + shift)
        snn.w_out.copy_(w.w_out / scale)
        snn.b_out.copy_(rnn.b_out)
    return snn.to(dtype=rnn.w_in.dtype, device=rnn.w_in.device)

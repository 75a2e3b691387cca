"""Network architectures: continuous-time rate RNNs and feedforward networks.

All recurrent models take inputs ``(batch, time, feature)`` and return
``(outputs, activity, final_state)``; ``dt`` and ``tau`` are in ms.
"""

from ._activations import ACTIVATIONS
from ._mlp import MLP, MLPOutput
from ._rate_rnn import RateRNN, RNNOutput

__all__ = ["ACTIVATIONS", "MLP", "MLPOutput", "RNNOutput", "RateRNN"]

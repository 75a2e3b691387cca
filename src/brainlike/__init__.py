"""brainlike: build, train and dissect brain-like artificial neural networks.

The library follows the three ingredients of Yang & Wang (2020, Neuron), "Artificial neural
networks for neuroscientists: A Primer": learning problems (:mod:`brainlike.tasks`),
architectures (:mod:`brainlike.models`) and learning algorithms (:mod:`brainlike.training`), plus
the analyses that open the black box (:mod:`brainlike.analysis`). Axis order is
``(batch, time, feature)`` everywhere and ``dt`` is in ms.
"""

__version__ = "0.1.0"

from ._report import report

__all__ = ["__version__", "report"]

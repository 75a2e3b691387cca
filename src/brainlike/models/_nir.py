"""Export a :class:`SpikingRNN` to NIR, the Neuromorphic Intermediate Representation, and back.

NIR (Pedersen et al. 2024; the ``nir`` package, an optional extra: ``pip install
brainlike[nir]``) describes a network as a graph of continuous-time nodes, which simulators and
neuromorphic hardware read. A :class:`SpikingRNN` becomes::

    input -> w_in (Affine: W_x, b) -> lif (CubaLIF) -> w_out (Linear: W_y) -> readout (LI) -> output
                                       lif -> w_rec (Linear: tau_syn W) -> lif

with times in seconds. NIR's ``CubaLIF`` is ``tau_syn dI/dt = -I + input``, ``tau_mem dv/dt =
(v_leak - v) + r I``, a spike at ``v > v_threshold`` resetting ``v`` to ``v_reset``: the
network's equations with ``r = 1``, ``v_leak = v_reset = 0``, the input current ``W_x x + b``
and spikes as Dirac deltas, so that a spike making the current jump by ``W`` enters as a weight
``tau_syn W``. The readout filter ``tau_out dr/dt = -r + tau_out S``, ``y = W_y r + b_y`` is the
leaky integrator ``LI`` with ``tau = r = tau_out`` and ``v_leak = b_y``. Reading the graph back
(:func:`from_nir`) simulates it with the exact step of :class:`SpikingRNN` at a chosen ``dt``.

What NIR cannot express is refused by name: the reset by subtraction (``CubaLIF`` resets to
``v_reset``), a refractory period, Poisson input encoding and an input current that bypasses
the synapse (``CubaLIF`` filters every input: export networks built with
``input_synapse=True``). Membrane noise (``sigma_rec``) is not exported (NIR graphs are
deterministic), and a connectivity is exported as the dense effective matrices it produces, so
the network read back has plain weights.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ._spiking import SpikingRNN

__all__ = ["from_nir", "load_nir", "save_nir", "to_nir"]

_MS = 1e-3  # NIR times are in seconds


def _nir() -> Any:
    try:
        return importlib.import_module("nir")
    except ImportError:
        raise ImportError("NIR export needs the optional package 'nir': pip install 'brainlike[nir]' "
                          "(or pip install nir)") from None


def to_nir(model: SpikingRNN) -> Any:
    """The network as a ``nir.NIRGraph`` (module docstring).

    Raises
    ------
    TypeError
        ``model`` is not a :class:`SpikingRNN`.
    ValueError
        The model uses what NIR cannot express (``reset="subtract"``, a refractory period,
        Poisson inputs).

    Examples
    --------
    >>> from brainlike.models import SpikingRNN, to_nir
    >>> graph = to_nir(SpikingRNN(3, 8, 2, dt=1.0, input_synapse=True, seed=0))
    >>> sorted(graph.nodes)
    ['input', 'lif', 'output', 'readout', 'w_in', 'w_out', 'w_rec']
    """
    if not isinstance(model, SpikingRNN):
        raise TypeError(f"to_nir exports a SpikingRNN; got {type(model).__name__}")
    refused = {"reset": (model.reset, "zero"), "refractory_steps": (model.refractory_steps, 0),
               "input_encoding": (model.input_encoding, "current"),
               "input_synapse": (model.input_synapse, True)}
    for name, (value, allowed) in refused.items():
        if value != allowed:
            raise ValueError(f"NIR's CubaLIF cannot express {name}={value!r} (only {allowed!r}): "
                             "it resets to v_reset, has no refractory period, takes currents and "
                             "passes them through its synapse")
    nir = _nir()
    with torch.no_grad():
        w = model.effective_weights()
        w_in, w_rec, w_out = (m.detach().cpu().double().numpy() for m in (w.w_in, w.w_rec, w.w_out))
        b_rec = model.b_rec.detach().cpu().double().numpy()
        b_out = model.b_out.detach().cpu().double().numpy()
    n, o = model.n_hidden, model.n_output
    ones = np.ones(n)
    tau_syn, tau_mem, tau_out = (t * _MS for t in (model.tau_syn, model.tau_mem, model.tau_out))
    nodes = {
        "input": nir.Input(input_type=np.array([model.n_input])),
        "w_in": nir.Affine(weight=w_in, bias=b_rec),
        "lif": nir.CubaLIF(tau_syn=tau_syn * ones, tau_mem=tau_mem * ones, r=ones.copy(),
                           v_leak=np.zeros(n), v_threshold=model.threshold * ones,
                           v_reset=np.zeros(n)),
        "w_rec": nir.Linear(weight=tau_syn * w_rec),
        "w_out": nir.Linear(weight=w_out),
        "readout": nir.LI(tau=tau_out * np.ones(o), r=tau_out * np.ones(o), v_leak=b_out.copy()),
        "output": nir.Output(output_type=np.array([o])),
    }
    edges = [("input", "w_in"), ("w_in", "lif"), ("lif", "w_rec"), ("w_rec", "lif"),
             ("lif", "w_out"), ("w_out", "readout"), ("readout", "output")]
    meta = {"brainlike": json.dumps({"kind": "spiking", "dt_ms": model.dt,
                                     "surrogate": model.surrogate,
                                     "surrogate_scale": model.surrogate_scale})}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta)


def _uniform(node_name: str, field: str, values: Any, want: float | None = None) -> float:
    v = np.asarray(values, dtype=float).reshape(-1)
    if v.size == 0 or not np.all(v == v[0]):
        raise ValueError(f"from_nir needs one value of {node_name}.{field} for every neuron; got "
                         f"{v.size} values from {v.min() if v.size else None} to "
                         f"{v.max() if v.size else None}")
    if want is not None and not np.isclose(v[0], want, rtol=1e-12, atol=1e-12):
        raise ValueError(f"from_nir needs {node_name}.{field} = {want}; got {v[0]!r}")
    return float(v[0])


def from_nir(graph: Any, *, dt: float | None = None) -> SpikingRNN:
    """A :class:`SpikingRNN` from a NIR graph of the shape :func:`to_nir` writes.

    Parameters
    ----------
    graph : nir.NIRGraph
        Nodes ``input, w_in, lif, w_rec, w_out, readout, output`` with the edges of
        :func:`to_nir`.
    dt : float, optional
        Simulation step in ms; default the one stored by :func:`to_nir` in the graph's metadata
        (NIR itself is continuous in time).

    Raises
    ------
    ValueError
        A graph of another shape, per-neuron parameters that differ between neurons, or
        parameters outside the model (``r``, ``v_leak``, ``v_reset`` of the neurons).
    """
    nodes = getattr(graph, "nodes", None)
    want = {"input", "w_in", "lif", "w_rec", "w_out", "readout", "output"}
    if not isinstance(nodes, dict) or set(nodes) != want:
        got = sorted(nodes) if isinstance(nodes, dict) else type(graph).__name__
        raise ValueError(f"from_nir reads graphs with the nodes {sorted(want)} (as to_nir writes "
                         f"them); got {got}")
    edges = {tuple(e) for e in graph.edges}
    expected = {("input", "w_in"), ("w_in", "lif"), ("lif", "w_rec"), ("w_rec", "lif"),
                ("lif", "w_out"), ("w_out", "readout"), ("readout", "output")}
    if edges != expected:
        raise ValueError(f"from_nir needs the edges {sorted(expected)}; got {sorted(edges)}")
    meta = json.loads(graph.metadata.get("brainlike", "{}")) if isinstance(graph.metadata, dict) else {}
    if dt is None:
        if "dt_ms" not in meta:
            raise ValueError("from_nir needs dt (ms): the graph does not store one")
        dt = float(meta["dt_ms"])
    lif, readout = nodes["lif"], nodes["readout"]
    tau_syn = _uniform("lif", "tau_syn", lif.tau_syn)
    tau_mem = _uniform("lif", "tau_mem", lif.tau_mem)
    threshold = _uniform("lif", "v_threshold", lif.v_threshold)
    _uniform("lif", "r", lif.r, 1.0)
    _uniform("lif", "v_leak", lif.v_leak, 0.0)
    _uniform("lif", "v_reset", lif.v_reset, 0.0)
    _uniform("lif", "w_in", lif.w_in, 1.0)
    tau_out = _uniform("readout", "tau", readout.tau)
    _uniform("readout", "r", readout.r, tau_out)
    w_in = np.asarray(nodes["w_in"].weight, dtype=float)
    n, i = w_in.shape
    w_out = np.asarray(nodes["w_out"].weight, dtype=float)
    kwargs = {k: meta[k] for k in ("surrogate", "surrogate_scale") if k in meta}
    model = SpikingRNN(i, n, w_out.shape[0], tau_syn=tau_syn / _MS, tau_mem=tau_mem / _MS,
                       tau_out=tau_out / _MS, dt=float(dt), threshold=threshold, reset="zero",
                       input_synapse=True, seed=0, **kwargs)
    with torch.no_grad():
        for param, value in ((model.w_in, w_in), (model.b_rec, nodes["w_in"].bias),
                             (model.w_rec, np.asarray(nodes["w_rec"].weight) / tau_syn),
                             (model.w_out, w_out), (model.b_out, readout.v_leak)):
            param.copy_(torch.as_tensor(np.asarray(value, dtype=float).reshape(param.shape)))
    return model


def save_nir(model: SpikingRNN, path: str | Path) -> None:
    """Write :func:`to_nir` of the model to a NIR file (HDF5)."""
    _nir().write(Path(path), to_nir(model))


def load_nir(path: str | Path, *, dt: float | None = None) -> SpikingRNN:
    """:func:`from_nir` of a NIR file."""
    return from_nir(_nir().read(Path(path)), dt=dt)

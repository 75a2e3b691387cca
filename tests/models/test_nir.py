"""NIR export and import: a network written to a NIR file and read back spikes the same."""

import sys

import nir
import numpy as np
import pytest
import torch

from brainlike.models import SpikingRNN, from_nir, load_nir, save_nir, to_nir


def _x(seed=0):
    return torch.rand(6, 120, 3, generator=torch.Generator().manual_seed(seed)) * 2


@pytest.mark.parametrize("connectivity", [None, {"type": "dale", "e_fraction": 0.8}])
def test_file_round_trip_gives_the_same_spikes(tmp_path, connectivity):
    model = SpikingRNN(3, 24, 2, dt=1.0, tau_syn=5.0, tau_mem=10.0, tau_out=30.0, threshold=0.8,
                       w_in_gain=5.0, surrogate="arctan", input_synapse=True, connectivity=connectivity,
                       seed=1)
    with torch.no_grad():
        model.b_rec.uniform_(-0.2, 0.2, generator=torch.Generator().manual_seed(0))
        model.b_out.fill_(0.3)
    save_nir(model, tmp_path / "net.nir")
    back = load_nir(tmp_path / "net.nir")  # dt from the graph's metadata
    assert back.connectivity is None  # the effective matrices, as plain weights
    assert (back.dt, back.tau_syn, back.tau_mem, back.tau_out, back.threshold, back.surrogate) == (
        1.0, 5.0, 10.0, 30.0, 0.8, "arctan")
    x = _x()
    a, b = model(x, noise=False), back(x, noise=False)
    assert a.activity.sum() > 100
    assert torch.equal(a.activity, b.activity)
    torch.testing.assert_close(a.outputs, b.outputs, rtol=0, atol=1e-6)
    # The graph holds what NIR specifies: times in seconds, recurrent weight tau_syn W.
    graph = nir.read(tmp_path / "net.nir")
    np.testing.assert_allclose(graph.nodes["lif"].tau_mem, 0.010)
    w_rec = model.effective_weights().w_rec.detach().double().numpy()
    np.testing.assert_allclose(graph.nodes["w_rec"].weight, 0.005 * w_rec, rtol=1e-12)
    # Simulated at another dt, the graph gives another (finer) discretization of the same ODE.
    assert load_nir(tmp_path / "net.nir", dt=0.5).dt == 0.5


def test_what_nir_cannot_express_is_refused():
    for kw, text in (({"reset": "subtract"}, r"reset='subtract' \(only 'zero'\)"),
                     ({"refractory": 2.0}, r"refractory_steps=2 \(only 0\)"),
                     ({"input_encoding": "poisson"}, r"input_encoding='poisson' \(only 'current'\)"),
                     ({"input_synapse": False}, r"input_synapse=False \(only True\)")):
        with pytest.raises(ValueError, match=rf"NIR's CubaLIF cannot express {text}"):
            to_nir(SpikingRNN(2, 4, 1, dt=1.0, seed=0, **{"input_synapse": True, **kw}))
    with pytest.raises(TypeError, match=r"to_nir exports a SpikingRNN; got Linear"):
        to_nir(torch.nn.Linear(2, 2))


def test_graphs_of_another_shape_are_refused():
    graph = to_nir(SpikingRNN(2, 4, 1, dt=1.0, input_synapse=True, seed=0))
    graph.nodes["lif"].tau_mem[0] = 0.5
    with pytest.raises(ValueError, match=r"from_nir needs one value of lif\.tau_mem for every neuron; got 4 values from 0\.02 to 0\.5"):
        from_nir(graph)
    graph = to_nir(SpikingRNN(2, 4, 1, dt=1.0, input_synapse=True, seed=0))
    graph.nodes["lif"].v_leak[:] = 0.1
    with pytest.raises(ValueError, match=r"from_nir needs lif\.v_leak = 0\.0; got"):
        from_nir(graph)
    simple = nir.NIRGraph.from_list(nir.Input(input_type=np.array([2])), nir.Linear(weight=np.eye(2)),
                                    nir.Output(output_type=np.array([2])))
    with pytest.raises(ValueError, match=r"from_nir reads graphs with the nodes \['input', 'lif', 'output'"):
        from_nir(simple)
    graph = to_nir(SpikingRNN(2, 4, 1, dt=1.0, input_synapse=True, seed=0))
    graph.metadata = {}
    with pytest.raises(ValueError, match=r"from_nir needs dt \(ms\): the graph does not store one"):
        from_nir(graph)


def test_missing_package_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "nir", None)
    with pytest.raises(ImportError, match=r"NIR export needs the optional package 'nir': pip install 'brainlike\[nir\]'"):
        to_nir(SpikingRNN(2, 4, 1, dt=1.0, input_synapse=True, seed=0))

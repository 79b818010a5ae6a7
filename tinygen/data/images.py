"""Image datasets as arrays: float32 images (N, 1, H, W) in [0, 1] and int64 labels (N,).

    images, labels = load_dataset("mnist", split="train")       # (60000, 1, 28, 28), (60000,)

``digits``: the 8x8 handwritten digits that scikit-learn ships (1797 images, no download);
    a fixed split: the first 1500 are "train", the last 297 "test" ("all": every one).
``mnist``, ``fashion-mnist``: the standard IDX files in ``<root>/<name>/`` (see download.py for
    where root is), downloaded with an MD5 check when missing; a file on disk is checked against
    the published MD5 the first time it is read (download.verify).
"""

import importlib.util
from pathlib import Path

from .. import backend
from .download import SOURCES, fetch, verify
from .idx import IDXError, read_idx

DIGITS_TRAIN = 1500

FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

_PREFIX = {"train": "train", "test": "t10k"}
_ALIASES = {"fashion_mnist": "fashion-mnist", "fashionmnist": "fashion-mnist"}


def _digits_table():
    """The (1797, 65) table of scikit-learn's digits: 64 pixels (0..16) and the label per row.

    Read straight from the CSV that scikit-learn ships: importing sklearn.datasets takes seconds.
    """
    spec = importlib.util.find_spec("sklearn")  # finds the package without importing it
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz" if spec and spec.origin else None
    if path is not None and path.is_file():
        return backend.xp_for("cpu").loadtxt(path, delimiter=",")
    from sklearn.datasets import load_digits  # the file moved: ask scikit-learn the slow way

    bunch = load_digits()
    return backend.xp_for("cpu").column_stack([bunch.data, bunch.target])


def digits(split="train"):
    """scikit-learn's 8x8 digits: (N, 1, 8, 8) float32 in [0, 1], int64 labels."""
    table = _digits_table()
    images = (table[:, :64] / 16.0).astype(backend.float32).reshape(-1, 1, 8, 8)  # pixel values are 0..16
    labels = table[:, 64].astype(backend.int64)
    pick = {"train": slice(0, DIGITS_TRAIN), "test": slice(DIGITS_TRAIN, None), "all": slice(None)}
    if split not in pick:
        raise ValueError(f"digits: unknown split {split!r}; expected 'train', 'test' or 'all'")
    return images[pick[split]], labels[pick[split]]


def read_idx_pair(images_path, labels_path, num_classes=10):
    """Read and cross-check an images file (N, H, W) uint8 and its labels file (N,) uint8."""
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.dtype != backend.uint8:
        raise IDXError(f"{images_path}: expected (N, H, W) uint8 images, got shape {images.shape} {images.dtype}")
    if labels.ndim != 1 or labels.dtype != backend.uint8:
        raise IDXError(f"{labels_path}: expected (N,) uint8 labels, got shape {labels.shape} {labels.dtype}")
    if len(images) != len(labels):
        raise IDXError(f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels")
    if len(labels) and labels.max() >= num_classes:
        raise IDXError(f"{labels_path}: labels must be in 0..{num_classes - 1}, found {labels.max()}")
    return images, labels


def idx_dataset(name, split="train", root=None, download=True, quiet=None):
    """MNIST-style dataset ``name`` from its IDX files: (N, 1, H, W) float32 in [0, 1], int64 labels."""
    if split not in _PREFIX:
        raise ValueError(f"{name}: unknown split {split!r}; expected 'train' or 'test'")
    folder = fetch(name, root=root, download=download, quiet=quiet)
    prefix = _PREFIX[split]
    paths = [folder / f"{prefix}-images-idx3-ubyte.gz", folder / f"{prefix}-labels-idx1-ubyte.gz"]
    for path in paths:  # the published MD5, checked on the first read of each file
        verify(path, SOURCES[name]["md5"].get(path.name))
    images, labels = read_idx_pair(*paths)
    pixels = images[:, None].astype(backend.float32)
    pixels /= 255.0  # in place: a second 190 MB array for MNIST costs more than the division
    return pixels, labels.astype(backend.int64)


def mnist(split="train", root=None, download=True, quiet=None):
    """MNIST digits: images (N, 1, 28, 28) float32 in [0, 1], labels (N,) int64; N = 60000 train, 10000 test."""
    return idx_dataset("mnist", split, root, download, quiet)


def fashion_mnist(split="train", root=None, download=True, quiet=None):
    """Fashion-MNIST clothes, shaped like MNIST: (N, 1, 28, 28) float32, int64 labels (names: FASHION_CLASSES)."""
    return idx_dataset("fashion-mnist", split, root, download, quiet)


IMAGE_DATASETS = ("digits", "mnist", "fashion-mnist")


def load_dataset(name, split="train", root=None, download=True, quiet=None):
    """(images, labels) of ``name`` (one of IMAGE_DATASETS): float32 (N, 1, H, W) in [0, 1], int64 (N,)."""
    key = _ALIASES.get(name.lower(), name.lower())
    if key == "digits":
        return digits(split)
    if key in ("mnist", "fashion-mnist"):
        return idx_dataset(key, split, root, download, quiet)
    raise ValueError(f"load_dataset: unknown dataset {name!r}; expected one of {IMAGE_DATASETS}")

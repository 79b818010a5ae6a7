"""DataLoader and TensorDataset: every sample once per epoch, reproducible shuffles, Tensors out."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygen as tg
from tinygen.data import DataLoader, TensorDataset


def _dataset(n):
    images = np.arange(n * 6, dtype=np.float32).reshape(n, 1, 2, 3)
    labels = np.arange(n, dtype=np.int64)  # label i marks sample i: lets us follow the order
    return images, labels


@given(n=st.integers(1, 40), batch_size=st.integers(1, 12), shuffle=st.booleans(), drop_last=st.booleans())
def test_each_sample_once_per_epoch(n, batch_size, shuffle, drop_last):
    images, labels = _dataset(n)
    loader = DataLoader(TensorDataset(images, labels), batch_size, shuffle=shuffle, drop_last=drop_last, seed=3)
    batches = list(loader)
    assert len(batches) == len(loader) == (n // batch_size if drop_last else -(-n // batch_size))
    seen = np.concatenate([y.numpy() for _, y in batches]) if batches else np.zeros(0, np.int64)
    assert all(len(y) == batch_size for _, y in batches[:-1])
    if drop_last:
        assert all(len(y) == batch_size for _, y in batches)
    assert len(np.unique(seen)) == len(seen) == (len(batches) * batch_size if drop_last else n)
    for x, y in batches:  # images stay aligned with their labels
        np.testing.assert_array_equal(x.numpy(), images[y.numpy()])
    if not shuffle:
        np.testing.assert_array_equal(seen, np.arange(len(seen)))


def test_yields_tensors_with_the_arrays_dtypes():
    images, labels = _dataset(10)
    x, y = next(iter(DataLoader((images, labels), batch_size=4)))
    assert isinstance(x, tg.Tensor) and isinstance(y, tg.Tensor)
    assert x.dtype == tg.float32 and y.dtype == tg.int64
    assert x.shape == (4, 1, 2, 3) and not x.requires_grad and x.device == tg.get_default_device()


def test_a_single_array_yields_single_tensors():
    batches = list(DataLoader(np.arange(7.0, dtype=np.float32), batch_size=3))
    assert [b.tolist() for b in batches] == [[0, 1, 2], [3, 4, 5], [6]]


def test_tensors_are_accepted_as_data():
    data = tg.arange(6.0).reshape(6, 1)
    (first,) = next(iter(DataLoader((data,), batch_size=6)))
    np.testing.assert_array_equal(first.numpy(), data.numpy())


def test_batches_are_copies():
    images, labels = _dataset(4)
    x, _ = next(iter(DataLoader((images, labels), batch_size=2)))
    x.array[...] = -1.0
    assert images.min() == 0.0


def _epochs(loader, count):
    return [np.concatenate([y.numpy() for _, y in loader]) for _ in range(count)]


def test_shuffle_is_reproducible_and_changes_each_epoch():
    data = _dataset(50)
    a = _epochs(DataLoader(data, 8, shuffle=True, seed=7), 3)
    b = _epochs(DataLoader(data, 8, shuffle=True, seed=7), 3)
    for ea, eb in zip(a, b):
        np.testing.assert_array_equal(ea, eb)
    assert not np.array_equal(a[0], a[1]) and not np.array_equal(a[1], a[2])
    c = _epochs(DataLoader(data, 8, shuffle=True, seed=8), 1)
    assert not np.array_equal(a[0], c[0])


def test_shuffle_ignores_the_models_random_numbers():
    data = _dataset(50)
    tg.manual_seed(0)
    plain = _epochs(DataLoader(data, 8, shuffle=True, seed=1), 1)[0]
    loader = DataLoader(data, 8, shuffle=True, seed=1)
    order = []
    for _, y in loader:
        tg.randn(100)  # the model draws random numbers between batches
        order.append(y.numpy())
    np.testing.assert_array_equal(np.concatenate(order), plain)


def test_default_seed_follows_manual_seed():
    data = _dataset(30)
    tg.manual_seed(5)
    a = _epochs(DataLoader(data, 30, shuffle=True), 1)[0]
    tg.manual_seed(5)
    b = _epochs(DataLoader(data, 30, shuffle=True), 1)[0]
    tg.manual_seed(6)
    c = _epochs(DataLoader(data, 30, shuffle=True), 1)[0]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_set_epoch_resumes_the_same_order():
    data = _dataset(20)
    run = _epochs(DataLoader(data, 5, shuffle=True, seed=2), 3)
    resumed = DataLoader(data, 5, shuffle=True, seed=2)
    resumed.set_epoch(2)
    np.testing.assert_array_equal(_epochs(resumed, 1)[0], run[2])


def test_mismatched_lengths_name_both():
    with pytest.raises(ValueError, match="array 0 has 5 rows and array 1 has 4"):
        TensorDataset(np.zeros(5), np.zeros(4))
    with pytest.raises(ValueError, match="array 0 has 3 rows and array 1 has 2"):
        DataLoader((np.zeros((3, 2)), np.zeros(2)), batch_size=1)


def test_bad_arguments():
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        DataLoader(np.zeros(3), batch_size=0)
    with pytest.raises(ValueError, match="at least one array"):
        TensorDataset()
    with pytest.raises(ValueError, match="0-d"):
        TensorDataset(np.float32(1.0))


def test_dataset_indexing():
    images, labels = _dataset(5)
    x, y = TensorDataset(images, labels)[3]
    np.testing.assert_array_equal(x, images[3])
    assert y == 3 and len(TensorDataset(images, labels)) == 5


@pytest.mark.gpu
def test_batches_on_the_gpu_match_the_cpu():
    data = _dataset(20)
    cpu = list(DataLoader(data, 6, shuffle=True, seed=4))
    gpu = list(DataLoader(data, 6, shuffle=True, seed=4, device="cuda"))
    for (xc, yc), (xg, yg) in zip(cpu, gpu):
        assert xg.device == "cuda" and yg.device == "cuda"
        np.testing.assert_array_equal(xg.numpy(), xc.numpy())
        np.testing.assert_array_equal(yg.numpy(), yc.numpy())

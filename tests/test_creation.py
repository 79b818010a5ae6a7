"""PyTorch's call forms of the random constructors."""

import numpy as np

import tinygen as tg


def test_randint_forms_match_torch():
    a = tg.randint(10, (1000,))  # randint(high, size)
    b = tg.randint(3, 7, (1000,))  # randint(low, high, size)
    c = tg.randint(4, size=(2, 500))
    assert a.shape == (1000,) and a.dtype == tg.int64 and set(a.numpy()) == set(range(10))
    assert set(b.numpy()) == {3, 4, 5, 6}
    assert c.shape == (2, 500) and set(c.numpy().ravel()) == {0, 1, 2, 3}


def test_randperm_is_a_permutation_and_seeded():
    tg.manual_seed(3)
    p = tg.randperm(50).numpy()
    tg.manual_seed(3)
    q = tg.randperm(50).numpy()
    assert sorted(p) == list(range(50)) and p.dtype == np.int64
    np.testing.assert_array_equal(p, q)

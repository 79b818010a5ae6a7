"""Checks for exercise 7 (the coupling layer): python -m pytest exercises/ex7_coupling_test.py"""

import numpy as np
import pytest

import tinygen as tg
from tinygen.models.flow import AffineCoupling

MASKS = [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0, 0.0, 1.0, 1.0]]


@pytest.fixture(scope="module")
def coupling(solution):
    forward = solution("ex7_coupling", "coupling_forward", reference=AffineCoupling.forward)
    inverse = solution("ex7_coupling", "coupling_inverse", reference=AffineCoupling.inverse)
    return forward, inverse


def trained_looking(mask, seed):
    """A float64 coupling layer with random weights (a new one is the identity: too easy)."""
    layer = AffineCoupling(mask, hidden=8).double()
    rng = np.random.default_rng(seed)
    with tg.no_grad():
        for p in layer.parameters():
            p.copy_(tg.tensor(rng.normal(scale=0.6, size=p.shape)))
    return layer


def points(dim, seed, n=4):
    return tg.tensor(np.random.default_rng(seed + 50).normal(size=(n, dim)))


@pytest.mark.parametrize("mask", MASKS)
def test_matches_tinygen(coupling, mask):
    forward, _ = coupling
    layer, x = trained_looking(mask, 1), points(len(mask), 1)
    y, logdet = forward(layer, x)
    expected_y, expected_logdet = layer(x)
    assert logdet.shape == (4,), f"one log-determinant per example: shape (4,), got {logdet.shape}"
    np.testing.assert_allclose(y.detach().numpy(), expected_y.detach().numpy(), rtol=1e-12, err_msg="y")
    np.testing.assert_allclose(logdet.detach().numpy(), expected_logdet.detach().numpy(), rtol=1e-12,
                               err_msg="log det")


@pytest.mark.parametrize("mask", MASKS)
def test_log_det_is_the_brute_force_determinant(coupling, mask):
    # the full D x D Jacobian by central differences, then its determinant: what the sum of s saves
    forward, _ = coupling
    layer, x = trained_looking(mask, 2), points(len(mask), 2).numpy()
    d, eps = len(mask), 1e-6
    with tg.no_grad():
        jac = np.stack([(forward(layer, tg.tensor(x + eps * np.eye(d)[j]))[0].numpy()
                         - forward(layer, tg.tensor(x - eps * np.eye(d)[j]))[0].numpy()) / (2 * eps)
                        for j in range(d)], axis=2)  # (B, D, D): column j is dy / dx_j
        _, logdet = forward(layer, tg.tensor(x))
    np.testing.assert_allclose(logdet.numpy(), np.linalg.slogdet(jac)[1], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("mask", MASKS)
def test_inverse_undoes_forward(coupling, mask):
    forward, inverse = coupling
    layer, x = trained_looking(mask, 3), points(len(mask), 3)
    with tg.no_grad():
        y, _ = forward(layer, x)
        np.testing.assert_allclose(inverse(layer, y).numpy(), x.numpy(), rtol=1e-10, atol=1e-12)
        z = points(len(mask), 4)
        np.testing.assert_allclose(forward(layer, inverse(layer, z))[0].numpy(), z.numpy(), rtol=1e-10, atol=1e-12)


def test_kept_features_pass_through(coupling):
    forward, _ = coupling
    layer, x = trained_looking([1.0, 0.0, 1.0], 5), points(3, 5)
    y, _ = forward(layer, x)
    np.testing.assert_array_equal(y.detach().numpy()[:, [0, 2]], x.numpy()[:, [0, 2]])


def test_gradcheck(coupling):
    forward, _ = coupling
    layer = trained_looking([0.0, 1.0], 6)
    x = tg.tensor(points(2, 6).numpy(), requires_grad=True)
    assert tg.gradcheck(lambda x: forward(layer, x)[1], (x,))
    assert tg.gradcheck(lambda x: forward(layer, x)[0], (x,))


def test_float32_stays_float32(coupling):
    forward, inverse = coupling
    layer = AffineCoupling([1.0, 0.0], hidden=4)
    y, logdet = forward(layer, tg.randn(3, 2))
    assert (y.dtype, logdet.dtype, inverse(layer, y).dtype) == (tg.float32,) * 3

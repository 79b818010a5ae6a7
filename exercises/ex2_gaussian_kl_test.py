"""Checks for exercise 2 (gaussian_kl): python -m pytest exercises/ex2_gaussian_kl_test.py"""

import numpy as np
import pytest

import tinygen as tg
from tinygen.distributions import kl_standard_normal

SHAPES = [(4,), (3, 2), (2, 3, 2)]


@pytest.fixture(scope="module")
def gaussian_kl(solution):
    return solution("ex2_gaussian_kl", "gaussian_kl", reference=kl_standard_normal)


def random_pair(shape, seed):
    rng = np.random.default_rng(seed)
    return rng.normal(size=shape), rng.uniform(-2.0, 2.0, shape)  # mu, logvar


def test_values_by_hand_zero_at_the_prior(gaussian_kl):
    mu, logvar = tg.tensor([0.0, 1.0, 0.0, -2.0]), tg.tensor([0.0, 0.0, 1.0, -1.0])
    kl = gaussian_kl(mu, logvar)
    assert kl.shape == mu.shape, f"expected one KL per dimension, of shape {mu.shape}; got {kl.shape}"
    # 0.5 * (mu^2 + e^logvar - logvar - 1), worked by hand
    np.testing.assert_allclose(kl.numpy(), [0.0, 0.5, 0.5 * (np.e - 2.0), 0.5 * (4.0 + np.exp(-1.0))], rtol=1e-6)


@pytest.mark.parametrize("shape", SHAPES)
def test_matches_tinygen(gaussian_kl, shape):
    mu, logvar = (tg.tensor(a) for a in random_pair(shape, seed=len(shape)))
    np.testing.assert_allclose(gaussian_kl(mu, logvar).numpy(), kl_standard_normal(mu, logvar).numpy(), rtol=1e-12)


def test_agrees_with_sampling(gaussian_kl):
    # KL(q || p) = E_q[log q(z) - log p(z)]: average it over many z ~ q
    mu, logvar = 0.7, -0.4
    z = mu + np.exp(0.5 * logvar) * np.random.default_rng(0).standard_normal(400_000)
    log_q = -0.5 * (np.log(2 * np.pi) + logvar + (z - mu) ** 2 / np.exp(logvar))
    log_p = -0.5 * (np.log(2 * np.pi) + z**2)
    estimate = np.mean(log_q - log_p)  # its standard error here is about 0.001
    kl = gaussian_kl(tg.tensor([mu], dtype=tg.float64), tg.tensor([logvar], dtype=tg.float64))
    assert abs(kl.numpy()[0] - estimate) < 0.005


def test_gradients_by_hand(gaussian_kl):
    mu = tg.tensor([0.5, -1.0], dtype=tg.float64, requires_grad=True)
    logvar = tg.tensor([0.3, -2.0], dtype=tg.float64, requires_grad=True)
    gaussian_kl(mu, logvar).sum().backward()
    np.testing.assert_allclose(mu.grad.numpy(), [0.5, -1.0], rtol=1e-12)  # d/dmu = mu
    np.testing.assert_allclose(logvar.grad.numpy(), 0.5 * (np.exp([0.3, -2.0]) - 1.0), rtol=1e-12)  # 0.5 (e^lv - 1)


@pytest.mark.parametrize("shape", SHAPES)
def test_gradcheck(gaussian_kl, shape):
    mu, logvar = (tg.tensor(a, requires_grad=True) for a in random_pair(shape, seed=10 + len(shape)))
    assert tg.gradcheck(gaussian_kl, (mu, logvar))
    assert tg.gradgradcheck(gaussian_kl, (mu, logvar))


def test_float32_stays_float32_and_finite(gaussian_kl):
    # e^-120 underflows to 0 in float32: log(sigma^2) computed from it would be -inf
    mu, logvar = tg.tensor([0.0, 1.0]), tg.tensor([-120.0, 2.0])
    kl = gaussian_kl(mu, logvar)
    assert kl.dtype == tg.float32, f"float32 inputs must give a float32 KL, got {kl.dtype}"
    np.testing.assert_allclose(kl.numpy(), [0.5 * 119.0, 0.5 * (1.0 + np.exp(2.0) - 3.0)], rtol=1e-5,
                               err_msg="use logvar for log sigma^2 rather than the log of exp(logvar)")

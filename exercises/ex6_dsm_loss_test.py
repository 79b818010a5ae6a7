"""Checks for exercise 6 (the DSM loss): python -m pytest exercises/ex6_dsm_loss_test.py"""

import numpy as np
import pytest

import tinygen as tg
from tinygen.models.denoisers import MLPDenoiser
from tinygen.models.score import NoiseConditionalScore

NCS = NoiseConditionalScore(sigma_max=3.0, sigma_min=0.05, levels=6, dtype="float64")


@pytest.fixture(scope="module")
def dsm_loss(solution):
    return solution("ex6_dsm_loss", "dsm_loss", reference=NoiseConditionalScore.dsm_loss)


class KnownScore:
    """A stand-in network whose score is s(x~, sigma) = w * x~ (any level): eps = -sigma * w * x~."""

    def __init__(self, ncs, w):
        self.ncs, self.w = ncs, w

    def __call__(self, x_in, i):
        sigma = self.ncs.sigmas[i.array].reshape((-1,) + (1,) * (x_in.ndim - 1))
        return -(x_in * (sigma * sigma + 1.0).sqrt()) * self.w * sigma  # undo the input scaling c_in


def batch(seed, shape=(5, 2)):
    rng = np.random.default_rng(seed)
    x, z = tg.tensor(rng.normal(size=shape)), tg.tensor(rng.normal(size=shape))
    i = tg.tensor(rng.integers(0, NCS.levels, size=shape[0]))
    return x, i, z


def test_worked_by_hand(dsm_loss):
    # s(x~) = 0: the loss is 0.5 * sigma^2 * |z / sigma|^2 = 0.5 * |z|^2, whatever the level
    x, i, z = batch(0)
    loss = dsm_loss(NCS, KnownScore(NCS, 0.0), x, i, z)
    assert loss.shape == (), f"the loss is one number (a 0-d Tensor), got shape {loss.shape}"
    np.testing.assert_allclose(float(loss), 0.5 * (z.numpy() ** 2).sum(1).mean(), rtol=1e-12)


def test_matches_tinygen(dsm_loss):
    model = MLPDenoiser(dim=2, hidden=16, depth=1).double()
    for seed in range(3):
        x, i, z = batch(seed, (8, 2))
        np.testing.assert_allclose(float(dsm_loss(NCS, model, x, i, z)), float(NCS.dsm_loss(model, x, i, z)),
                                   rtol=1e-12)


def test_images_sum_over_every_pixel(dsm_loss):
    # a linear score w x~: the error sigma s + z / sigma, checked by hand on (B, C, H, W) images
    x, i, z = batch(4, (3, 1, 2, 2))
    w = 0.7
    sigma = NCS.sigmas.numpy()[i.numpy()].reshape(3, 1, 1, 1)
    x_noisy = x.numpy() + sigma * z.numpy()
    expected = 0.5 * (sigma**2 * (w * x_noisy + z.numpy() / sigma) ** 2).reshape(3, -1).sum(1).mean()
    np.testing.assert_allclose(float(dsm_loss(NCS, KnownScore(NCS, w), x, i, z)), expected, rtol=1e-12)


def test_it_is_ddpms_epsilon_loss(dsm_loss):
    model = MLPDenoiser(dim=2, hidden=16, depth=1).double()
    x, i, z = batch(7, (6, 2))
    sigma = NCS.sigmas[i.array].reshape(6, 1)
    eps = model((x + sigma * z) / (sigma * sigma + 1.0).sqrt(), i)
    np.testing.assert_allclose(float(dsm_loss(NCS, model, x, i, z)), 0.5 * float(((eps - z) ** 2).sum(1).mean()),
                               rtol=1e-12)


def test_gradient_reaches_the_network(dsm_loss):
    model = MLPDenoiser(dim=2, hidden=8, depth=1).double()
    x, i, z = batch(9, (4, 2))
    dsm_loss(NCS, model, x, i, z).backward()
    mine = [p.grad.numpy().copy() for p in model.parameters()]
    model.zero_grad()
    NCS.dsm_loss(model, x, i, z).backward()
    for a, p in zip(mine, model.parameters()):
        np.testing.assert_allclose(a, p.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_float32_stays_float32(dsm_loss):
    ncs = NoiseConditionalScore(3.0, 0.05, 6)
    model = MLPDenoiser(dim=2, hidden=8, depth=1)
    x, z, i = tg.randn(4, 2), tg.randn(4, 2), tg.tensor([0, 1, 2, 5])
    loss = dsm_loss(ncs, model, x, i, z)
    assert loss.dtype == tg.float32, f"float32 data and levels must give a float32 loss, got {loss.dtype}"

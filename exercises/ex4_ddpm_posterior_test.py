"""Checks for exercise 4 (the DDPM posterior): python -m pytest exercises/ex4_ddpm_posterior_test.py"""

import numpy as np
import pytest

import tinygen as tg
from tinygen.models.ddpm import GaussianDiffusion

DIFFUSIONS = {name: GaussianDiffusion(timesteps=50, schedule=name, dtype="float64") for name in ["linear", "cosine"]}
STEPS = [0, 1, 17, 49]


@pytest.fixture(scope="module")
def q_posterior(solution):
    return solution("ex4_ddpm_posterior", "q_posterior", reference=GaussianDiffusion.q_posterior)


def images(seed, requires_grad=False):
    rng = np.random.default_rng(seed)
    return [tg.tensor(rng.normal(size=(2, 1, 3, 3)), requires_grad=requires_grad) for _ in range(2)]  # x0, xt


@pytest.mark.parametrize("schedule", DIFFUSIONS)
@pytest.mark.parametrize("t", STEPS)
def test_matches_tinygen_ddpm(q_posterior, schedule, t):
    diffusion = DIFFUSIONS[schedule]
    x0, xt = images(seed=t)
    mean, variance = q_posterior(diffusion, x0, xt, t)
    expected_mean, expected_variance = diffusion.q_posterior(x0, xt, t)
    assert mean.shape == x0.shape, f"the mean has one value per pixel, shape {x0.shape}; got {mean.shape}"
    np.testing.assert_allclose(mean.numpy(), expected_mean.numpy(), rtol=1e-10, atol=1e-12, err_msg="the mean")
    np.testing.assert_allclose(np.broadcast_to(variance.numpy(), expected_variance.shape), expected_variance.numpy(),
                               rtol=1e-10, atol=1e-14, err_msg="the variance")


def test_first_step_returns_the_data(q_posterior):
    # at t = 0, x_{-1} is x_0 itself: the posterior is a point mass there (abar_{-1} = 1)
    x0, xt = images(seed=5)
    mean, variance = q_posterior(DIFFUSIONS["linear"], x0, xt, 0)
    np.testing.assert_allclose(mean.numpy(), x0.numpy(), rtol=1e-12, atol=1e-12)
    assert abs(float(variance.numpy().max())) < 1e-15


@pytest.mark.parametrize("t", STEPS[1:])
def test_is_bayes_rule(q_posterior, t):
    # Completing the square in q(x_t | x_{t-1}) q(x_{t-1} | x_0), as functions of x_{t-1}:
    #   1 / variance   = alpha_t / beta_t + 1 / (1 - abar_{t-1})
    #   mean / variance = sqrt(alpha_t) / beta_t x_t + sqrt(abar_{t-1}) / (1 - abar_{t-1}) x_0
    diffusion = DIFFUSIONS["cosine"]
    beta, abar_prev = diffusion.betas.numpy()[t], diffusion.alphas_cumprod.numpy()[t - 1]
    x0, xt = images(seed=10 + t)
    mean, variance = q_posterior(diffusion, x0, xt, t)
    precision = (1 - beta) / beta + 1 / (1 - abar_prev)
    np.testing.assert_allclose(np.broadcast_to(variance.numpy(), (1,)), 1 / precision, rtol=1e-10)
    expected = (np.sqrt(1 - beta) / beta * xt.numpy() + np.sqrt(abar_prev) / (1 - abar_prev) * x0.numpy()) / precision
    np.testing.assert_allclose(mean.numpy(), expected, rtol=1e-10, atol=1e-12)


def test_gradcheck(q_posterior):
    x0, xt = images(seed=20, requires_grad=True)
    assert tg.gradcheck(lambda x0, xt: q_posterior(DIFFUSIONS["linear"], x0, xt, 30)[0], (x0, xt))


def test_float32_stays_float32(q_posterior):
    diffusion = GaussianDiffusion(timesteps=20, dtype="float32")
    x0, xt = (t.float() for t in images(seed=21))
    mean, variance = q_posterior(diffusion, x0, xt, 7)
    assert (mean.dtype, variance.dtype) == (tg.float32, tg.float32), (
        f"a float32 schedule and images must give float32 results, got {mean.dtype} and {variance.dtype}")

"""Score matching: the DSM target is the noising kernel's score, DSM equals explicit score matching up
to a constant, the loss is DDPM's epsilon loss, annealed Langevin with the exact score draws the
data, and a short training run lowers the held-out loss."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygen as tg
from tinygen import metrics, optim
from tinygen.data import get_toy2d
from tinygen.models.denoisers import MLPDenoiser
from tinygen.models.score import NoiseConditionalScore, geometric_sigmas


class LinearScore:
    """A stand-in network whose score is linear: s(x~, sigma) = a x~ + b, whatever the level.

    The NCSN calls the network on x~ * c_in and takes s = -eps / sigma, so eps = -sigma (a x~ + b).
    """

    def __init__(self, ncs, a, b):
        self.ncs, self.a, self.b = ncs, a, b

    def __call__(self, x_in, i):
        sigma = self.ncs.sigmas[i.array].reshape(-1, 1)
        x = x_in * (sigma * sigma + 1.0).sqrt()  # undo c_in
        return -(x * self.a + self.b) * sigma


class GaussianScore:
    """The exact noise prediction for data N(mean, std^2 I): the blurred density is
    N(mean, (std^2 + sigma^2) I), whose score is -(x~ - mean) / (std^2 + sigma^2)."""

    def __init__(self, ncs, mean, std):
        self.ncs, self.mean, self.std = ncs, mean, std

    def __call__(self, x_in, i):
        sigma = self.ncs.sigmas[i.array].reshape((-1,) + (1,) * (x_in.ndim - 1))
        x = x_in * (sigma * sigma + 1.0).sqrt()
        score = -(x - self.mean) / (sigma * sigma + self.std**2)
        return -score * sigma


def test_geometric_sigmas():
    s = geometric_sigmas(5.0, 0.01, 10)
    assert s.dtype == np.float64 and s[0] == pytest.approx(5.0) and s[-1] == pytest.approx(0.01)
    ratios = s[:-1] / s[1:]
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-12)
    with pytest.raises(ValueError):
        geometric_sigmas(0.01, 5.0, 10)


def test_dsm_target_is_the_gradient_of_the_noising_kernels_log_density():
    ncs = NoiseConditionalScore(2.0, 0.1, 4, dtype="float64")
    x = tg.randn(5, 3, dtype=tg.float64)
    x_noisy = tg.randn(5, 3, dtype=tg.float64, requires_grad=True)
    for i in range(4):
        sigma = ncs.sigma_values[i]
        log_q = (-((x_noisy - x) ** 2) / (2 * sigma**2)).sum()  # log N(x~; x, sigma^2 I) + const
        (grad,) = tg.grad(log_q, [x_noisy])
        np.testing.assert_allclose(ncs.dsm_target(x_noisy, x, i).detach().numpy(), grad.numpy(), rtol=1e-12)


def test_dsm_loss_is_ddpms_epsilon_loss():
    # with s = -eps / sigma:  0.5 sigma^2 || s + z / sigma ||^2 = 0.5 || z - eps ||^2
    ncs = NoiseConditionalScore(3.0, 0.05, 6, dtype="float64")
    model = MLPDenoiser(dim=2, hidden=16, depth=1).double()
    x, noise = tg.randn(32, 2, dtype=tg.float64), tg.randn(32, 2, dtype=tg.float64)
    i = tg.randint(0, 6, (32,))
    sigma = ncs.sigmas[i.array].reshape(32, 1)
    c_in = (sigma * sigma + 1.0).sqrt().reciprocal()
    eps = model((x + sigma * noise) * c_in, i)
    expected = float((((noise - eps) ** 2).sum(1)).mean()) * 0.5
    assert float(ncs.dsm_loss(model, x, i, noise)) == pytest.approx(expected, rel=1e-12)


def test_dsm_equals_explicit_score_matching_up_to_a_constant():
    # Data N(0, s^2 I): the blurred density at level sigma is N(0, (s^2 + sigma^2) I), so the
    # explicit loss 0.5 sigma^2 E || s_theta(x~) - grad log p_sigma(x~) ||^2 can be computed. For
    # several models s_theta (linear scores), DSM - ESM is the same number: the constant
    # 0.5 sigma^2 (E||target_dsm||^2 - E||grad log p_sigma||^2), which no model can change.
    ncs = NoiseConditionalScore(1.0, 0.3, 2, dtype="float64")
    std, n, level = 0.8, 400_000, 1
    sigma = ncs.sigma_values[level]
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.normal(size=(n, 2)) * std)
    z = tg.tensor(rng.normal(size=(n, 2)))
    i = tg.full((n,), level, dtype=tg.int64)
    x_noisy = x + z * sigma
    true_score = -x_noisy / (std**2 + sigma**2)
    gaps = []
    for a, b in [(0.0, 0.0), (-1.0, 0.5), (-2.0, -0.3), (0.5, 1.0)]:
        model = LinearScore(ncs, a, b)
        dsm = float(ncs.dsm_loss(model, x, i, z))
        esm = float((((ncs.score(model, x_noisy, i) - true_score) ** 2).sum(1)).mean()) * 0.5 * sigma**2
        gaps.append(dsm - esm)
    constant = 0.5 * sigma**2 * 2 * (1 / sigma**2 - 1 / (std**2 + sigma**2))  # per-dimension variances, 2 dims
    np.testing.assert_allclose(gaps, constant, atol=0.01)


def test_score_is_minus_eps_over_sigma():
    ncs = NoiseConditionalScore(4.0, 0.02, 5)
    x = tg.randn(3, 2)
    ones = lambda x_in, i: tg.ones(*x_in.shape)  # noqa: E731 (a network that always predicts eps = 1)
    for i in (0, 4):
        np.testing.assert_allclose(ncs.score(ones, x, i).numpy(), -1.0 / ncs.sigma_values[i], rtol=1e-6)


def predicted_std(ncs, std, steps, step_ratio):
    """The std annealed Langevin + Tweedie gives for data N(m, std^2) with the exact score: per step
    x - m <- (1 - alpha / (2 v)) (x - m) + sqrt(alpha) z, v = std^2 + sigma^2, so the variance
    follows V <- (1 - alpha / (2 v))^2 V + alpha from V = sigma_1^2; the last step scales by std^2 / v_L."""
    V = ncs.sigma_max**2
    for sigma in ncs.sigma_values:
        alpha, v = step_ratio * sigma**2, std**2 + sigma**2
        for _ in range(steps):
            V = (1 - alpha / (2 * v)) ** 2 * V + alpha
    return math.sqrt(V) * std**2 / (std**2 + ncs.sigma_min**2)


def test_annealed_langevin_with_the_exact_score_draws_the_data():
    mean, std = tg.tensor([1.5, -0.5]), 0.3
    ncs = NoiseConditionalScore(5.0, 0.01, 10)
    samples = ncs.annealed_langevin(GaussianScore(ncs, mean, std), (4000, 2), steps=100, step_ratio=0.1).numpy()
    np.testing.assert_allclose(samples.mean(0), mean.numpy(), atol=0.03)
    expected = predicted_std(ncs, std, 100, 0.1)
    np.testing.assert_allclose(samples.std(0), expected, rtol=0.04)
    assert expected == pytest.approx(std, rel=0.1)  # near the data's: each level's chain relaxes


def test_too_few_langevin_steps_leave_the_blur_of_a_larger_level():
    # below sigma ~ std each step moves x by a fraction ~sigma of the data's spread: 10 steps a level
    # cannot take out the extra variance of the levels above, and the samples stay too wide
    ncs = NoiseConditionalScore(5.0, 0.01, 10)
    samples = ncs.annealed_langevin(GaussianScore(ncs, tg.zeros(2), 0.3), (4000, 2), steps=10, step_ratio=0.1).numpy()
    expected = predicted_std(ncs, 0.3, 10, 0.1)
    assert expected > 1.3 * 0.3
    np.testing.assert_allclose(samples.std(0), expected, rtol=0.04)


def test_annealed_langevin_keeps_frames_and_clips():
    ncs = NoiseConditionalScore(3.0, 0.1, 4, clip=(-1.0, 1.0))
    model = GaussianScore(ncs, tg.zeros(2), 2.0)
    x, frames = ncs.annealed_langevin(model, (50, 2), steps=3, keep=(0, 3))
    assert sorted(frames) == [0, 3] and x.shape == (50, 2) and frames[3].shape == (50, 2)
    assert x.numpy().min() >= -1.0 and x.numpy().max() <= 1.0
    assert x.dtype == tg.float32 and frames[0].dtype == tg.float32  # float32 stays float32


def test_denoise_is_tweedies_formula():
    # one Gaussian: E[x | x~] = mean + std^2 / (std^2 + sigma^2) (x~ - mean)
    ncs = NoiseConditionalScore(2.0, 0.5, 3, dtype="float64")
    mean, std = 0.7, 1.2
    x_noisy = tg.randn(6, 2, dtype=tg.float64)
    expected = mean + std**2 / (std**2 + 0.25) * (x_noisy.numpy() - mean)
    np.testing.assert_allclose(ncs.denoise(GaussianScore(ncs, mean, std), x_noisy).numpy(), expected, rtol=1e-12)


def test_a_short_training_run_lowers_the_held_out_loss_and_the_swd():
    toy = get_toy2d("moons")
    ncs = NoiseConditionalScore(3.0, 0.02, 8)
    model = MLPDenoiser(dim=2, hidden=64, depth=2)
    optimizer = optim.Adam(model.parameters(), lr=2e-3)
    held_out = toy.sample(2000, seed=3) / 0.7
    i, noise = tg.randint(0, 8, (2000,)), tg.randn(2000, 2)

    def judge():
        with tg.no_grad():
            loss = float(ncs.dsm_loss(model, held_out, i, noise))
        tg.manual_seed(1)
        samples = ncs.annealed_langevin(model, (500, 2), steps=10, step_ratio=0.2).numpy() * 0.7
        return loss, metrics.sliced_wasserstein_with_floor(samples, toy, n=500)["ratio"]

    loss_before, ratio_before = judge()
    for step in range(250):
        loss = ncs.dsm_loss(model, toy.sample(256, seed=step) / 0.7)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    loss_after, ratio_after = judge()
    assert loss_after < 0.8 * loss_before, (loss_before, loss_after)
    assert ratio_after < 0.5 * ratio_before, (ratio_before, ratio_after)
    assert math.isfinite(loss_after)


@settings(max_examples=10)
@given(seed=st.integers(0, 1000), levels=st.integers(2, 5))
def test_the_dsm_loss_gradients_match_finite_differences(seed, levels):
    # with respect to the data and every weight of the network, in float64
    tg.manual_seed(seed)
    ncs = NoiseConditionalScore(3.0, 0.05, levels, dtype="float64")
    model = MLPDenoiser(dim=2, hidden=4, depth=1).double()
    x = tg.randn(3, 2, dtype=tg.float64, requires_grad=True)
    i, noise = tg.randint(0, levels, (3,)), tg.randn(3, 2, dtype=tg.float64)
    assert tg.gradcheck(lambda x, *weights: ncs.dsm_loss(model, x, i, noise), (x, *model.parameters()))

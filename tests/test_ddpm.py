"""The diffusion process: schedules, q_sample, the posterior, p_losses, both samplers, guidance."""

import math

import numpy as np
import pytest

import tinygen as tg
from tinygen import optim
from tinygen.models.ddpm import (
    GaussianDiffusion,
    cosine_alphas_cumprod,
    cosine_beta_schedule,
    linear_beta_schedule,
    timestep_embedding,
)
from tinygen.models.denoisers import MLPDenoiser


def host(t):
    return t.detach().numpy()


# ---------------------------------------------------------------- schedules
def test_linear_schedule_is_ho_et_al_at_1000_steps_and_rescaled_otherwise():
    b = linear_beta_schedule(1000)
    assert b.dtype == np.float64 and b[0] == pytest.approx(1e-4) and b[-1] == pytest.approx(0.02)
    b100 = linear_beta_schedule(100)
    assert b100[0] == pytest.approx(1e-3) and b100[-1] == pytest.approx(0.2)
    assert b100.sum() == pytest.approx(b.sum(), rel=0.02)  # about the same total noise


def test_cosine_alphabar_matches_its_formula():
    T, s = 200, 0.008
    d = GaussianDiffusion(T, "cosine", dtype="float64")
    t = np.arange(1, T + 1)
    f = lambda t: np.cos((t / T + s) / (1 + s) * np.pi / 2) ** 2  # noqa: E731
    expected = f(t) / f(0)
    unclipped = cosine_beta_schedule(T) < 0.999  # the clip changes only the very last steps
    assert unclipped[: T - 2].all()
    got = host(d.alphas_cumprod)
    np.testing.assert_allclose(got[: T - 2], expected[: T - 2], rtol=1e-12)
    np.testing.assert_allclose(cosine_alphas_cumprod(T)[1:][: T - 2], expected[: T - 2], rtol=1e-12)
    assert cosine_beta_schedule(T).max() <= 0.999


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_tables_are_stored_in_the_working_dtype(dtype):
    d = GaussianDiffusion(50, "linear", dtype=dtype)
    for name in ("betas", "alphas_cumprod", "posterior_variance", "posterior_mean_coef0", "sqrt_recipm1_alphas_cumprod"):
        assert getattr(d, name).dtype == np.dtype(dtype)
        assert getattr(d, name).shape == (50,)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="schedule"):
        GaussianDiffusion(10, "quadratic")
    with pytest.raises(ValueError, match="timesteps"):
        GaussianDiffusion(1)
    with pytest.raises(ValueError, match="ddim_sample"):
        GaussianDiffusion(10).ddim_timesteps(11)


# ---------------------------------------------------------------- forward process
@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_q_sample_marginals_match_the_closed_form(schedule):
    d = GaussianDiffusion(100, schedule, dtype="float64")
    n = 20000
    x0 = tg.tensor(np.array([-1.5, 0.0, 2.0]), dtype=tg.float64).reshape(1, 3).expand(n, 3)
    for t in (0, 10, 50, 99):
        xt = host(d.q_sample(x0, tg.full((n,), t, dtype=tg.int64)))
        abar = host(d.alphas_cumprod)[t]
        sd = math.sqrt(1 - abar)
        # the sample mean is within 5 standard errors of sqrt(abar) x0, the variance near 1 - abar
        np.testing.assert_allclose(xt.mean(0), math.sqrt(abar) * np.array([-1.5, 0.0, 2.0]), atol=5 * sd / math.sqrt(n))
        np.testing.assert_allclose(xt.var(0), 1 - abar, rtol=0.05)


def test_q_sample_with_given_noise_is_the_formula():
    d = GaussianDiffusion(30, dtype="float64")
    x0, noise, t = tg.randn(4, 2, dtype=tg.float64), tg.randn(4, 2, dtype=tg.float64), tg.tensor([0, 5, 17, 29])
    ab = host(d.alphas_cumprod)[t.numpy()][:, None]
    expected = np.sqrt(ab) * host(x0) + np.sqrt(1 - ab) * host(noise)
    np.testing.assert_allclose(host(d.q_sample(x0, t, noise)), expected, rtol=1e-12)
    np.testing.assert_allclose(host(d.predict_x0(d.q_sample(x0, t, noise), t, noise)), host(x0), atol=1e-12)


def test_posterior_mean_and_variance_match_bayes_rule():
    # q(x_{t-1} | x_0) = N(sqrt(abar_{t-1}) x0, 1 - abar_{t-1}),  q(x_t | x_{t-1}) = N(sqrt(a_t) x_{t-1}, b_t):
    # the posterior's precision adds, its mean is the precision-weighted combination
    T = 40
    d = GaussianDiffusion(T, "cosine", dtype="float64")
    betas = cosine_beta_schedule(T)
    alphas = 1 - betas
    abar = np.cumprod(alphas)
    x0, xt = tg.randn(T, 3, dtype=tg.float64), tg.randn(T, 3, dtype=tg.float64)
    t = tg.arange(T)
    mean, var = d.q_posterior(x0, xt, t)
    for k in range(1, T):
        precision = 1 / (1 - abar[k - 1]) + alphas[k] / betas[k]
        v = 1 / precision
        m = v * (np.sqrt(abar[k - 1]) * host(x0)[k] / (1 - abar[k - 1]) + np.sqrt(alphas[k]) * host(xt)[k] / betas[k])
        assert host(var)[k, 0] == pytest.approx(v, rel=1e-10)
        np.testing.assert_allclose(host(mean)[k], m, rtol=1e-9, atol=1e-12)
    # at t = 0 the posterior is the point x_0 itself
    assert host(var)[0, 0] == 0.0
    np.testing.assert_allclose(host(mean)[0], host(x0)[0], atol=1e-12)


# ---------------------------------------------------------------- samplers with the exact denoiser
class GaussianOracle:
    """The exact eps(x_t, t) = E[eps | x_t] when the data is N(m, s^2) in every coordinate."""

    def __init__(self, diffusion, m, s):
        self.abar, self.m, self.s = diffusion.alphas_cumprod, m, s

    def __call__(self, x, t, y=None):
        ab = self.abar[t.array].reshape(-1, 1)
        # x_t ~ N(sqrt(ab) m, ab s^2 + 1 - ab);  E[eps | x_t] = sqrt(1 - ab) (x_t - sqrt(ab) m) / (ab s^2 + 1 - ab)
        return (1.0 - ab).sqrt() * (x - ab.sqrt() * self.m) / (ab * self.s**2 + 1.0 - ab)


@pytest.mark.parametrize("variance", ["posterior", "beta"])
def test_ancestral_sampling_with_the_exact_denoiser_recovers_the_data_distribution(variance):
    d = GaussianDiffusion(1000, dtype="float64")
    oracle = GaussianOracle(d, m=1.5, s=0.3)
    x = host(d.p_sample_loop(oracle, (4000, 2), variance=variance))
    assert x.mean() == pytest.approx(1.5, abs=0.02)
    assert x.std() == pytest.approx(0.3, rel=0.04)


def test_with_few_steps_the_posterior_variance_under_disperses_and_beta_over_disperses():
    # the true reverse step also carries the uncertainty of x_0 given x_t: beta~_t leaves it out
    # (exact for a point mass), beta_t overshoots it (exact for N(0, I) data); both errors shrink with T
    d = GaussianDiffusion(100, dtype="float64")
    oracle = GaussianOracle(d, m=0.0, s=0.3)
    start = tg.randn(4000, 2, dtype=tg.float64)
    small = host(d.p_sample_loop(oracle, (4000, 2), variance="posterior", noise=start)).std()
    large = host(d.p_sample_loop(oracle, (4000, 2), variance="beta", noise=start)).std()
    assert small < 0.3 < large


def test_ddim_with_the_exact_denoiser_maps_noise_to_the_data_distribution():
    d = GaussianDiffusion(1000, dtype="float64")
    oracle = GaussianOracle(d, m=-1.0, s=0.5)
    start = tg.randn(4000, 2, dtype=tg.float64)
    stds = {}
    for steps in (10, 50, 200):
        x = host(d.ddim_sample(oracle, (4000, 2), steps=steps, noise=start))
        assert x.mean() == pytest.approx(-1.0, abs=0.03)
        stds[steps] = x.std()
    # a discretised ODE: the spread converges to the data's as the steps get finer
    assert stds[10] < stds[50] < stds[200]
    assert stds[200] == pytest.approx(0.5, rel=0.04)


def test_ddim_with_eta_zero_is_deterministic_for_a_fixed_start():
    d = GaussianDiffusion(50)
    model = MLPDenoiser(hidden=16, depth=1, time_dim=8)
    start = tg.randn(16, 2)
    a = d.ddim_sample(model, (16, 2), steps=10, noise=start)
    tg.manual_seed(123)  # a different global random state changes nothing
    b = d.ddim_sample(model, (16, 2), steps=10, noise=start)
    np.testing.assert_array_equal(host(a), host(b))
    c = d.ddim_sample(model, (16, 2), steps=10, noise=start + 0.5)
    assert not np.allclose(host(a), host(c))
    e1 = d.ddim_sample(model, (16, 2), steps=10, eta=1.0, noise=start)  # eta > 0 adds fresh noise
    e2 = d.ddim_sample(model, (16, 2), steps=10, eta=1.0, noise=start)
    assert not np.allclose(host(e1), host(e2))


def test_ddim_with_eta_one_on_every_step_is_the_ancestral_sampler():
    # sigma at eta = 1 is the posterior's beta~ and the mean is the posterior mean, written in
    # x0 and eps: on the full chain the two samplers agree draw for draw (same noise order), and
    # on a shorter chain DDIM with eta = 1 is ancestral sampling on that subsequence
    d = GaussianDiffusion(30, dtype="float64", clip=(-1.0, 1.0))
    model = MLPDenoiser(hidden=16, depth=1, time_dim=8).to(dtype=tg.float64)
    start = tg.randn(64, 2, dtype=tg.float64)
    tg.manual_seed(7)
    ancestral = d.p_sample_loop(model, (64, 2), noise=start, variance="posterior")
    tg.manual_seed(7)
    ddim = d.ddim_sample(model, (64, 2), steps=30, eta=1.0, noise=start)
    np.testing.assert_allclose(host(ddim), host(ancestral), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("eta", [-0.5, 1.5])
def test_ddim_refuses_eta_outside_zero_to_one(eta):
    d = GaussianDiffusion(20)
    with pytest.raises(ValueError, match=r"ddim_sample: expected 0 <= eta <= 1"):
        d.ddim_sample(MLPDenoiser(hidden=16, depth=1, time_dim=8), (4, 2), steps=5, eta=eta)


def test_samplers_keep_the_requested_levels():
    d = GaussianDiffusion(20)
    model = MLPDenoiser(hidden=16, depth=1, time_dim=8)
    start = tg.randn(5, 2)
    x, frames = d.p_sample_loop(model, (5, 2), noise=start, keep=(19, 7, 0))
    assert sorted(frames) == [0, 7, 19] and x.shape == (5, 2)
    np.testing.assert_array_equal(host(frames[19]), host(start))  # x_{T-1} is the starting noise
    x, frames = d.ddim_sample(model, (5, 2), steps=5, noise=start, keep=tuple(d.ddim_timesteps(5)))
    assert sorted(frames) == sorted(d.ddim_timesteps(5))


def test_clip_keeps_predicted_images_in_range():
    d = GaussianDiffusion(20, clip=(-1.0, 1.0))
    wild = lambda x, t, y=None: x * 0.0 - 50.0  # noqa: E731  predicts absurd noise
    x = host(d.ddim_sample(wild, (4, 1, 2, 2), steps=5))
    assert x.min() >= -1.0 and x.max() <= 1.0


# ---------------------------------------------------------------- training
def test_one_training_step_reduces_the_loss_on_a_fixed_batch():
    d = GaussianDiffusion(100)
    model = MLPDenoiser(hidden=32, depth=2, time_dim=16)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    x0, t, noise = tg.randn(256, 2) * 0.5 + 1.0, tg.randint(0, 100, (256,)), tg.randn(256, 2)
    before = d.p_losses(model, x0, t=t, noise=noise)
    assert before.dtype == tg.float32 and before.shape == ()
    opt.zero_grad()
    before.backward()
    assert all(p.grad.dtype == tg.float32 for p in model.parameters())  # float32 end to end
    opt.step()
    after = d.p_losses(model, x0, t=t, noise=noise)
    assert float(after) < float(before) - 1e-3


class LabelSpy:
    """A fake network that remembers the labels it saw and answers eps = label (per row)."""

    def __call__(self, x, t, y=None):
        self.seen = y.numpy().copy()
        return x * 0.0 + y.reshape(-1, 1).to(x.dtype)


def test_label_dropout_replaces_labels_with_the_null_class():
    d, spy = GaussianDiffusion(10), LabelSpy()
    x0, y = tg.randn(2000, 2), tg.randint(0, 10, (2000,))
    d.p_losses(spy, x0, y, p_uncond=0.0)
    np.testing.assert_array_equal(spy.seen, y.numpy())
    d.p_losses(spy, x0, y, p_uncond=0.25, num_classes=10)
    dropped = spy.seen == 10
    assert 0.2 < dropped.mean() < 0.3
    np.testing.assert_array_equal(spy.seen[~dropped], y.numpy()[~dropped])
    with pytest.raises(ValueError, match="num_classes"):
        d.p_losses(spy, x0, y, p_uncond=0.1)


@pytest.mark.parametrize("w", [0.0, 1.0, 3.0])
def test_classifier_free_guidance_extrapolates_from_unconditional_to_conditional(w):
    d, spy = GaussianDiffusion(10), LabelSpy()
    y = tg.tensor([2, 5])
    eps = d.predict_eps(spy, tg.zeros(2, 2), 4, y=y, guidance=w, num_classes=10)
    # eps(y) = y and eps(null) = 10: guided = 10 + w (y - 10)
    np.testing.assert_allclose(host(eps)[:, 0], 10 + w * (np.array([2, 5]) - 10))


def test_timestep_embedding_is_sin_cos_of_scaled_steps():
    e = host(timestep_embedding(tg.tensor([0, 7]), 8))
    assert e.shape == (2, 8) and e.dtype == np.float32
    np.testing.assert_allclose(e[0], [0, 0, 0, 0, 1, 1, 1, 1])
    w = 10000.0 ** (-np.arange(4) / 4)
    np.testing.assert_allclose(e[1], np.concatenate([np.sin(7 * w), np.cos(7 * w)]), rtol=1e-6, atol=1e-6)

"""Normal, Bernoulli, Categorical: closed forms against Monte Carlo, gradients by finite differences."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygen as tg
from tinygen.distributions import Bernoulli, Categorical, Normal, kl_standard_normal, one_hot


def f64(values, requires_grad=False):
    return tg.tensor(np.asarray(values, dtype="float64"), requires_grad=requires_grad)


def test_kl_formula_matches_a_monte_carlo_estimate():
    mu, logvar = f64([0.0, 1.5, -0.7, 0.3]), f64([0.0, -1.0, 0.8, -2.5])
    q = Normal(mu, logvar=logvar)
    z = q.sample(200_000)                                             # (S, 4)
    log_ratio = (q.log_prob(z) - Normal.standard(4, dtype=tg.float64).log_prob(z)).numpy()
    mc, stderr = log_ratio.mean(0), log_ratio.std(0) / math.sqrt(len(log_ratio))
    exact = kl_standard_normal(mu, logvar).numpy()
    np.testing.assert_allclose(exact, 0.5 * (mu.numpy() ** 2 + np.exp(logvar.numpy()) - logvar.numpy() - 1.0))
    assert exact[0] == 0.0  # N(0, 1) against itself
    assert np.all(np.abs(mc - exact) < 5 * stderr + 1e-12), (mc, exact, stderr)


def test_reparameterized_sample_has_the_right_mean_and_variance():
    mu, logvar = f64([2.0, -1.0, 0.0]), f64([0.5, -1.5, 1.0])
    z = Normal(mu, logvar=logvar).rsample(100_000).numpy()
    n = len(z)
    assert np.all(np.abs(z.mean(0) - mu.numpy()) < 5 * np.sqrt(np.exp(logvar.numpy()) / n))
    np.testing.assert_allclose(z.var(0), np.exp(logvar.numpy()), rtol=0.02)


def test_rsample_is_differentiable_in_mu_and_logvar():
    mu, logvar = f64([0.3, -0.2], True), f64([0.1, -0.4], True)
    tg.manual_seed(3)
    z = Normal(mu, logvar=logvar).rsample()
    z.sum().backward()
    tg.manual_seed(3)
    eps = tg.randn(2, dtype=tg.float64).numpy()
    np.testing.assert_allclose(mu.grad.numpy(), [1.0, 1.0])  # dz/dmu = 1
    np.testing.assert_allclose(logvar.grad.numpy(), 0.5 * np.exp(0.5 * logvar.detach().numpy()) * eps)


def test_kl_gradient_and_second_derivative_by_finite_differences():
    mu = tg.randn(3, 2, dtype=tg.float64, requires_grad=True)
    logvar = tg.randn(3, 2, dtype=tg.float64, requires_grad=True)
    assert tg.gradcheck(kl_standard_normal, (mu, logvar))
    assert tg.gradgradcheck(kl_standard_normal, (mu, logvar))


def test_kl_is_smallest_at_unit_variance():
    logvar = f64(np.linspace(-3, 3, 61), True)
    kl = kl_standard_normal(tg.zeros(61, dtype=tg.float64), logvar)
    assert np.argmin(kl.detach().numpy()) == 30  # logvar = 0
    kl.sum().backward()
    np.testing.assert_allclose(logvar.grad.numpy(), 0.5 * (np.exp(logvar.detach().numpy()) - 1.0))


def test_normal_log_prob_gradcheck_and_value():
    loc, logvar = tg.randn(4, dtype=tg.float64, requires_grad=True), tg.randn(4, dtype=tg.float64, requires_grad=True)
    x = tg.randn(4, dtype=tg.float64, requires_grad=True)
    assert tg.gradcheck(lambda a, b, c: Normal(a, logvar=b).log_prob(c), (loc, logvar, x))
    s = np.exp(0.5 * logvar.detach().numpy())
    expected = -0.5 * np.log(2 * np.pi * s**2) - (x.detach().numpy() - loc.detach().numpy()) ** 2 / (2 * s**2)
    np.testing.assert_allclose(Normal(loc, logvar=logvar).log_prob(x).detach().numpy(), expected)
    scale_form = Normal(loc.detach(), scale=tg.tensor(s)).log_prob(x.detach()).numpy()
    np.testing.assert_allclose(scale_form, expected)


def test_normal_needs_exactly_one_of_scale_and_logvar():
    with pytest.raises(ValueError, match="exactly one"):
        Normal(tg.zeros(2))


@given(st.floats(-60, 60), st.sampled_from([0.0, 1.0, 0.3]))
def test_bernoulli_log_prob_is_finite_and_correct(logit, x):
    lp = float(Bernoulli(f64([logit])).log_prob(f64([x])).numpy()[0])
    log_p, log_1mp = -math.log1p(math.exp(-logit)), -math.log1p(math.exp(logit))  # exact for |logit| <= 60
    expected = x * log_p + (1 - x) * log_1mp
    assert math.isfinite(lp)
    assert lp == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_bernoulli_log_prob_broadcasts_values_and_names_shapes_that_do_not():
    d = Bernoulli(f64([[0.0, 2.0], [-1.0, 3.0]]))
    np.testing.assert_allclose(d.log_prob(1.0).numpy(), d.log_prob(f64([[1.0, 1.0], [1.0, 1.0]])).numpy())
    np.testing.assert_allclose(d.log_prob(f64([0.0, 1.0])).numpy()[1], d.log_prob(f64([[0.0, 1.0]] * 2)).numpy()[1])
    with pytest.raises(ValueError, match=r"Bernoulli.log_prob: shapes \(2, 2\) and \(3,\)"):
        d.log_prob(f64([0.0, 1.0, 1.0]))


def test_bernoulli_samples_have_the_right_frequency():
    d = Bernoulli(f64([-1.0, 0.0, 2.0]))
    freq = d.sample(50_000).numpy().mean(0)
    np.testing.assert_allclose(freq, d.probs.numpy(), atol=0.01)


def test_categorical_log_prob_kl_and_gumbel_max_sampling():
    logits = f64([[1.0, 0.0, -1.0, 0.5]])
    c = Categorical(logits)
    p = np.exp(logits.numpy()) / np.exp(logits.numpy()).sum()
    np.testing.assert_allclose(c.log_prob(tg.tensor([2])).numpy(), np.log(p[:, 2]))
    np.testing.assert_allclose(c.kl_uniform().numpy(), (p * np.log(4 * p)).sum(-1))
    np.testing.assert_allclose(c.entropy().numpy(), -(p * np.log(p)).sum(-1))
    draws = c.sample(40_000).numpy()[:, 0]
    np.testing.assert_allclose(np.bincount(draws, minlength=4) / len(draws), p[0], atol=0.01)


def test_one_hot_rows():
    np.testing.assert_array_equal(one_hot(tg.tensor([2, 0]), 3).numpy(), [[0, 0, 1], [1, 0, 0]])


def test_float32_stays_float32():
    mu, logvar = tg.randn(5, 3), tg.randn(5, 3)
    q = Normal(mu, logvar=logvar)
    z = q.rsample()
    for t in (z, q.log_prob(z), q.kl_standard_normal(), Bernoulli(z).log_prob(z.sigmoid()), Categorical(z).kl_uniform()):
        assert t.dtype == tg.float32


def test_against_torch_distributions():
    torch = pytest.importorskip("torch")
    mu, logvar, x = np.random.default_rng(0).standard_normal((3, 6))
    q = Normal(f64(mu), logvar=f64(logvar))
    tq = torch.distributions.Normal(torch.tensor(mu), torch.tensor(np.exp(0.5 * logvar)))
    np.testing.assert_allclose(q.log_prob(f64(x)).numpy(), tq.log_prob(torch.tensor(x)).numpy(), rtol=1e-10)
    prior = torch.distributions.Normal(torch.zeros(6, dtype=torch.float64), torch.ones(6, dtype=torch.float64))
    np.testing.assert_allclose(q.kl_standard_normal().numpy(), torch.distributions.kl_divergence(tq, prior).numpy(),
                               rtol=1e-10)
    tb = torch.distributions.Bernoulli(logits=torch.tensor(mu))
    target = (x > 0).astype("float64")
    np.testing.assert_allclose(Bernoulli(f64(mu)).log_prob(f64(target)).numpy(),
                               tb.log_prob(torch.tensor(target)).numpy(), rtol=1e-10)

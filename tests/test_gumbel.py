"""Gumbel-Softmax: tends to one-hot as the temperature falls; straight-through; the categorical VAE."""

import numpy as np
import pytest

import tinygen as tg
from tinygen.data import load_dataset
from tinygen.distributions import RelaxedOneHotCategorical, gumbel_softmax
from tinygen.models import GumbelVAE
from tinygen.models.gumbel import temperature


def test_samples_tend_to_one_hot_as_the_temperature_falls():
    logits = tg.tensor(np.log([[0.1, 0.2, 0.3, 0.4]] * 2000))
    largest = []
    for tau in (5.0, 1.0, 0.3, 0.05):
        y = gumbel_softmax(logits, tau).numpy()
        np.testing.assert_allclose(y.sum(-1), 1.0, rtol=1e-5)
        largest.append(y.max(-1).mean())
    assert all(a < b for a, b in zip(largest, largest[1:])), largest
    assert largest[-1] > 0.97 and largest[0] < 0.5


def test_argmax_of_the_relaxed_sample_is_an_exact_categorical_draw():
    p = np.array([0.1, 0.2, 0.3, 0.4])
    y = RelaxedOneHotCategorical(0.7, tg.tensor(np.log(np.tile(p, (40_000, 1))))).rsample().numpy()
    freq = np.bincount(y.argmax(-1), minlength=4) / len(y)
    np.testing.assert_allclose(freq, p, atol=0.01)  # Gumbel-max: any tau keeps the argmax distribution


def test_straight_through_is_one_hot_forward_with_the_soft_gradient():
    logits = tg.randn(5, 3, dtype=tg.float64, requires_grad=True)
    weights = tg.randn(5, 3, dtype=tg.float64)
    tg.manual_seed(7)
    hard = gumbel_softmax(logits, 0.5, hard=True)
    (hard * weights).sum().backward()
    hard_grad = logits.grad.numpy().copy()
    logits.grad = None
    tg.manual_seed(7)
    soft = gumbel_softmax(logits, 0.5)
    (soft * weights).sum().backward()
    h = hard.detach().numpy()
    np.testing.assert_array_equal(h.sum(-1), 1.0)
    np.testing.assert_array_equal(h.max(-1), 1.0)
    np.testing.assert_array_equal(h.argmax(-1), soft.detach().numpy().argmax(-1))
    np.testing.assert_allclose(hard_grad, logits.grad.numpy())


def test_gradcheck_with_fixed_noise():
    logits = tg.randn(2, 4, dtype=tg.float64, requires_grad=True)

    def relaxed(l):
        tg.manual_seed(1)  # the same Gumbel noise on every call
        return gumbel_softmax(l, 0.8)

    assert tg.gradcheck(relaxed, (logits,))


def test_temperature_schedule_anneals_to_its_floor():
    taus = [temperature(s, tau0=1.0, tau_min=0.5, rate=1e-3) for s in range(0, 3000, 100)]
    assert taus[0] == 1.0 and taus[-1] == 0.5
    assert all(a >= b for a, b in zip(taus, taus[1:]))


@pytest.mark.parametrize("hard", [False, True])
def test_categorical_vae_learns(hard):
    images = load_dataset("digits", "train")[0][:64]
    x = tg.tensor(images)
    model = GumbelVAE.mlp((1, 8, 8), num_vars=4, num_classes=5, hidden=(32,), hard=hard)
    opt = tg.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for step in range(60):
        parts = model.neg_elbo(x, tau=temperature(step, rate=1e-2))
        opt.zero_grad()
        parts.loss.backward()
        opt.step()
        losses.append(float(parts.loss))
    assert np.mean(losses[-5:]) < losses[0] - 5.0
    assert float(parts.loss) == pytest.approx(float(parts.recon) + float(parts.kl), rel=1e-5)
    assert 0.0 <= float(parts.kl) <= 4 * np.log(5) + 1e-5  # KL to uniform is at most N log K
    s = model.sample(6).numpy()
    assert s.shape == (6, 1, 8, 8) and s.min() >= 0.0 and s.max() <= 1.0

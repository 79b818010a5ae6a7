"""VAE and CVAE: the ELBO's parts, the importance-weighted bound, conditioning, dtypes."""

import math

import numpy as np
import pytest

import tinygen as tg
from tinygen.data import load_dataset
from tinygen.models import CVAE, VAE, ConvDecoder, ConvEncoder
from tinygen.models.vae import ELBO


@pytest.fixture(scope="module")
def digits():
    x, y = load_dataset("digits", "train")
    return x[:256], y[:256]


@pytest.fixture(scope="module")
def trained(digits):
    """A small VAE trained for a few hundred steps on 256 digits (shared by the IWAE tests)."""
    tg.manual_seed(0)
    x = tg.tensor(digits[0])
    model = VAE.mlp((1, 8, 8), latent_dim=4, hidden=(64,))
    opt = tg.optim.Adam(model.parameters(), lr=3e-3)
    for step in range(300):
        batch = x[(step * 64) % 256 : (step * 64) % 256 + 64]
        loss = model.neg_elbo(batch).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    return model


def test_neg_elbo_is_reconstruction_plus_beta_kl(digits):
    x = tg.tensor(digits[0][:16])
    model = VAE.mlp((1, 8, 8), latent_dim=3, hidden=(16,), beta=0.5)
    tg.manual_seed(1)
    parts = model.neg_elbo(x)
    assert isinstance(parts, ELBO)
    assert float(parts.loss) == pytest.approx(float(parts.recon) + 0.5 * float(parts.kl), rel=1e-6)
    q = model.encode(x)
    mu, logvar = q.mean.detach().numpy(), q.logvar.detach().numpy()
    expected_kl = (0.5 * (mu**2 + np.exp(logvar) - logvar - 1.0)).sum(1).mean()
    assert float(parts.kl) == pytest.approx(expected_kl, rel=1e-5)
    # the reconstruction is the Bernoulli NLL in nats, summed over the 64 pixels, averaged over images
    tg.manual_seed(1)
    z = model.encode(x).rsample()
    logits = model.decoder(z).detach().numpy().reshape(16, -1)
    target = digits[0][:16].reshape(16, -1)
    nll = (np.logaddexp(0, logits) - target * logits).sum(1).mean()
    assert float(parts.recon) == pytest.approx(nll, rel=1e-5)


def test_iwae_at_k1_is_the_single_sample_elbo(digits):
    """With one sample the bound is log p(x|z) + log p(z) - log q(z|x): an unbiased ELBO estimate."""
    x = tg.tensor(digits[0][:8], dtype=tg.float64)
    model = VAE.mlp((1, 8, 8), latent_dim=3, hidden=(16,)).double()
    tg.manual_seed(5)
    bound = model.iwae_bound(x, k=1).numpy()
    tg.manual_seed(5)
    q = model.encode(x)
    z = q.rsample(1)[0]
    mu, logvar, zz = q.mean.detach().numpy(), q.logvar.detach().numpy(), z.detach().numpy()
    log_q = (-0.5 * (np.log(2 * np.pi) + logvar + (zz - mu) ** 2 / np.exp(logvar))).sum(1)
    log_prior = (-0.5 * (np.log(2 * np.pi) + zz**2)).sum(1)
    log_px = model.log_likelihood(x, z).detach().numpy()
    np.testing.assert_allclose(bound, log_px + log_prior - log_q, rtol=1e-10)
    # and its average over many draws is the ELBO, whose KL part is exact (closed form)
    for i in range(3):
        many = x[i : i + 1].expand(4000, 1, 8, 8)
        draws = model.iwae_bound(many, k=1).numpy()
        recon_draws = -model.log_likelihood(many, model.encode(many).rsample()).detach().numpy()
        elbo = -(recon_draws.mean() + float(model.encode(x[i : i + 1]).kl_standard_normal().sum()))
        stderr = math.sqrt(draws.var() / len(draws) + recon_draws.var() / len(recon_draws))
        assert abs(draws.mean() - elbo) < 5 * stderr, (draws.mean(), elbo, stderr)


def test_iwae_bound_rises_with_k_on_a_trained_model(trained, digits):
    x = tg.tensor(digits[0][:128])
    bounds = [float(trained.iwae_bound(x, k=k).mean()) for k in (1, 10, 100)]
    assert bounds[0] < bounds[1] < bounds[2], bounds
    assert bounds[2] - bounds[0] > 0.1  # a real gap: 0.2-0.4 here, its Monte Carlo noise about 0.02-0.05


def test_iwae_chunks_give_the_same_bound_as_one_batch(trained, digits):
    x = tg.tensor(digits[0][:32])
    tg.manual_seed(2)
    whole = trained.iwae_bound(x, k=200, chunk=200).numpy()
    tg.manual_seed(2)
    chunked = trained.iwae_bound(x, k=200, chunk=64).numpy()
    # equal on the CPU (one generator, drawn in order); on a GPU each chunk draws anew: equal up to noise
    np.testing.assert_allclose(whole, chunked, atol=0.5)
    assert abs(whole.mean() - chunked.mean()) < 0.05
    assert whole.shape == (32,) and np.all(np.isfinite(whole))


def test_the_gradient_of_the_loss_by_finite_differences():
    """The whole chain (encoder, reparameterization, KL, decoder) with the noise held fixed."""
    model = VAE.mlp((1, 2, 2), latent_dim=2, hidden=(3,)).double()
    x = tg.rand(3, 1, 2, 2, dtype=tg.float64, requires_grad=True)

    def loss(x):
        tg.manual_seed(4)
        return model.neg_elbo(x).loss

    assert tg.gradcheck(loss, (x,))


def test_training_step_stays_float32(digits):
    model = VAE.mlp((1, 8, 8), latent_dim=2, hidden=(16,))
    parts = model.neg_elbo(tg.tensor(digits[0][:8]))
    parts.loss.backward()
    assert all(p.dtype == tg.float32 for p in parts)
    assert all(p.grad.dtype == tg.float32 for p in model.parameters())


def test_gaussian_likelihood_learns_its_noise_level(digits):
    model = VAE(ConvEncoder((1, 8, 8), 8, width=8, hidden=32), ConvDecoder(4, (1, 8, 8), width=8, hidden=32),
                latent_dim=4, likelihood="gaussian")
    x = tg.tensor(digits[0][:32])
    opt = tg.optim.Adam(model.parameters(), lr=1e-2)
    first = float(model.neg_elbo(x).loss)
    for _ in range(30):
        loss = model.neg_elbo(x).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss) < first - 20.0
    assert float(model.log_sigma) < -1.0  # the noise std shrinks as the reconstructions improve


def test_cvae_needs_labels_and_samples_the_digit_asked_for(digits):
    x, y = tg.tensor(digits[0][:16]), tg.tensor(digits[1][:16])
    model = CVAE.mlp((1, 8, 8), latent_dim=2, hidden=(16,))
    with pytest.raises(ValueError, match="conditional"):
        model.neg_elbo(x)
    parts = model.neg_elbo(x, y)
    assert np.isfinite(float(parts.loss))
    assert model.iwae_bound(x, y, k=5).shape == (16,)
    # the label changes the decoded image for the same code
    z = tg.zeros(2, 2)
    images = model.decode(z, tg.tensor([0, 1])).detach().numpy()
    assert images.shape == (2, 1, 8, 8) and not np.allclose(images[0], images[1])
    assert model.sample(3, tg.tensor([4, 4, 4])).shape == (3, 1, 8, 8)

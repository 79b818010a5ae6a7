"""VQ-VAE: the nearest-code lookup, the straight-through gradient and the two stop-gradient losses
(property tests in float64), codebook usage, the two priors over the codes, and a short training run."""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygen as tg
from tinygen.data import load_dataset
from tinygen.models import VQVAE
from tinygen.models.vqvae import CategoricalPrior, CodePrior, code_usage, nearest_code, vector_quantize

# (B, N, D, K) and a seed: small problems, random normal points (ties have probability zero)
sizes = st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), st.integers(1, 6), st.integers(0, 10**6))


def case(b, n, d, k, seed, grad=(True, True)):
    rng = np.random.default_rng(seed)
    z = tg.tensor(rng.normal(size=(b, n, d)), requires_grad=grad[0])
    codebook = tg.tensor(rng.normal(size=(k, d)), requires_grad=grad[1])
    return z, codebook


def brute_force_codes(z, codebook):
    d2 = ((z.detach().numpy()[:, :, None, :] - codebook.detach().numpy()[None, None]) ** 2).sum(-1)
    return d2.argmin(-1)  # (B, N)


def zero_or_none(t):
    return t.grad is None or not np.any(t.grad.numpy())


# ---------------------------------------------------------------- the quantiser
@given(sizes)
def test_nearest_code_is_the_brute_force_argmin(size):
    z, codebook = case(*size, grad=(False, False))
    np.testing.assert_array_equal(nearest_code(z, codebook).numpy(), brute_force_codes(z, codebook))


@given(sizes)
def test_quantized_values_are_the_chosen_rows(size):
    z, codebook = case(*size)
    q = vector_quantize(z, codebook)
    codes = brute_force_codes(z, codebook)
    np.testing.assert_array_equal(q.codes.numpy(), codes)
    np.testing.assert_allclose(q.z_q.detach().numpy(), codebook.detach().numpy()[codes], rtol=1e-12, atol=1e-12)
    expected = ((z.detach().numpy() - codebook.detach().numpy()[codes]) ** 2).sum(axis=(1, 2)).mean()
    np.testing.assert_allclose(q.codebook_loss.detach().numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(q.commitment_loss.detach().numpy(), expected, rtol=1e-12)


@given(sizes)
def test_straight_through_gradient_is_the_identity_and_skips_the_codebook(size):
    z, codebook = case(*size)
    upstream = tg.tensor(np.random.default_rng(size[-1] + 1).normal(size=z.shape))
    (vector_quantize(z, codebook).z_q * upstream).sum().backward()
    np.testing.assert_array_equal(z.grad.numpy(), upstream.numpy())
    assert zero_or_none(codebook)


@given(sizes)
def test_gradcheck_each_loss_in_the_variable_it_trains(size):
    # the codebook loss is a true function of the codebook (z held fixed), the commitment loss of z
    z, codebook = case(*size, grad=(False, True))
    assert tg.gradcheck(lambda e: vector_quantize(z, e).codebook_loss, (codebook,))
    z, codebook = case(*size, grad=(True, False))
    assert tg.gradcheck(lambda v: vector_quantize(v, codebook).commitment_loss, (z,))


@given(sizes)
def test_stop_gradients_send_each_loss_to_one_side_only(size):
    z, codebook = case(*size)
    vector_quantize(z, codebook).codebook_loss.backward()
    assert zero_or_none(z)
    used = np.unique(brute_force_codes(z, codebook))
    dead = np.setdiff1d(np.arange(codebook.shape[0]), used)
    assert not np.any(codebook.grad.numpy()[dead]), "a code nobody chose gets no gradient: how codes die"
    z, codebook = case(*size)
    vector_quantize(z, codebook).commitment_loss.backward()
    assert zero_or_none(codebook) and np.any(z.grad.numpy())


# ---------------------------------------------------------------- codebook usage
def test_code_usage_perplexity_and_dead_codes():
    uniform = code_usage(tg.tensor(np.arange(40) % 8), 10)
    assert uniform["perplexity"] == pytest.approx(8.0) and uniform["dead_codes"] == 2 and uniform["used_codes"] == 8
    single = code_usage(tg.tensor(np.full((5, 3), 4)), 10)
    assert single["perplexity"] == pytest.approx(1.0) and single["dead_codes"] == 9


@given(st.integers(1, 12), st.integers(0, 10**6))
def test_perplexity_lies_between_one_and_the_codes_in_use(k, seed):
    codes = np.random.default_rng(seed).integers(0, k, size=(7, 5))
    usage = code_usage(tg.tensor(codes), k)
    assert 1.0 - 1e-9 <= usage["perplexity"] <= usage["used_codes"] + 1e-9
    assert usage["used_codes"] == len(np.unique(codes)) and usage["dead_codes"] == k - usage["used_codes"]


# ---------------------------------------------------------------- the priors
@given(st.integers(2, 5), st.integers(2, 4), st.integers(0, 10**6))
def test_code_prior_is_autoregressive(n, k, seed):
    # the logits of position i may depend on the codes before i only: change the rest, they stay
    tg.manual_seed(seed % 1000)
    prior = CodePrior(n, k, hidden=(16, 8)).double()
    rng = np.random.default_rng(seed)
    a = rng.integers(0, k, size=(1, n))
    i = int(rng.integers(0, n))
    b = a.copy()
    b[0, i:] = rng.integers(0, k, size=n - i)
    with tg.no_grad():
        la, lb = prior.logits(tg.tensor(a)).numpy(), prior.logits(tg.tensor(b)).numpy()
    np.testing.assert_allclose(la[0, : i + 1], lb[0, : i + 1], rtol=1e-12)


def test_code_prior_sums_to_one_and_samples_its_own_distribution():
    tg.manual_seed(3)
    prior = CodePrior(3, 3, hidden=(12,)).double()
    with tg.no_grad():  # make it far from uniform, so a sampler drawing the wrong thing shows
        for layer in prior.layers:
            layer.weight.mul_(6.0)
    every = tg.tensor(np.array(list(itertools.product(range(3), repeat=3))))  # all 27 codes
    with tg.no_grad():
        p = prior.log_prob(every).exp().numpy()
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    drawn = prior.sample(20_000).numpy()
    freq = np.bincount(drawn @ np.array([9, 3, 1]), minlength=27) / len(drawn)
    np.testing.assert_allclose(freq, p, atol=0.015)


def test_categorical_prior_fits_the_frequencies():
    codes = tg.tensor(np.array([[0, 2], [0, 1], [1, 1], [0, 1]]))
    prior = CategoricalPrior(2, 3).fit(codes, smoothing=1e-9)
    with tg.no_grad():
        probs = prior.logits.softmax(-1).numpy()
    np.testing.assert_allclose(probs, [[0.75, 0.25, 0.0], [0.0, 0.75, 0.25]], atol=1e-6)
    logp = prior.log_prob(tg.tensor(np.array([[0, 1]]))).numpy()
    np.testing.assert_allclose(logp, [2 * np.log(0.75)], rtol=1e-5)
    assert prior.sample(5).shape == (5, 2)


def test_code_prior_learns_a_dependency_the_categorical_cannot():
    # position 1 copies position 0: the categorical prior pays log 4 nats for it, MADE learns it
    rng = np.random.default_rng(0)
    first = rng.integers(0, 4, size=512)
    codes = tg.tensor(np.stack([first, first], axis=1))
    tg.manual_seed(0)
    prior = CodePrior(2, 4, hidden=(32,))
    opt = tg.optim.Adam(prior.parameters(), lr=1e-2)
    for _ in range(150):
        loss = prior(codes)
        opt.zero_grad()
        loss.backward()
        opt.step()
    categorical = CategoricalPrior(2, 4).fit(codes)
    with tg.no_grad():
        made, independent = -float(prior.log_prob(codes).mean()), -float(categorical.log_prob(codes).mean())
    assert made < np.log(4) + 0.1 < independent - np.log(4) + 0.2  # about log 4 against 2 log 4
    s = prior.sample(200).numpy()
    assert (s[:, 0] == s[:, 1]).mean() > 0.9


# ---------------------------------------------------------------- the model
@pytest.mark.parametrize("shape, grid", [((1, 8, 8), (4, 4)), ((1, 28, 28), (7, 7))])
def test_shapes(shape, grid):
    model = VQVAE.conv(shape, num_codes=5, code_dim=3, width=4)
    x = tg.rand(2, *shape)
    assert model.grid == grid and model.encode(x).shape == (2, grid[0] * grid[1], 3)
    codes = model.codes(x)
    assert codes.shape == (2, model.num_positions) and codes.dtype == tg.int64
    assert model.decode_codes(codes).shape == (2, *shape) and model.reconstruct(x).shape == (2, *shape)


def test_the_decoder_gradient_reaches_the_encoder_but_not_the_codebook():
    model = VQVAE.conv((1, 8, 8), num_codes=4, code_dim=3, width=4)
    model.losses(tg.rand(3, 1, 8, 8)).recon.backward()
    assert all(np.any(p.grad.numpy()) for p in model.encoder.parameters())
    assert zero_or_none(model.codebook.weight)


def test_a_short_run_lowers_the_reconstruction_and_uses_the_codebook():
    images = load_dataset("digits", "train")[0][:128]
    x = tg.tensor(images)
    tg.manual_seed(0)
    model = VQVAE.conv((1, 8, 8), num_codes=8, code_dim=4, width=16)
    opt = tg.optim.Adam(model.parameters(), lr=3e-3)
    with tg.no_grad():
        before = float(model.losses(x).recon)
    for _ in range(60):
        parts = model.losses(x)
        opt.zero_grad()
        parts.loss.backward()
        opt.step()
    assert parts.loss.dtype == tg.float32 and all(p.grad.dtype == tg.float32 for p in model.parameters()
                                                  if p.grad is not None)
    assert float(parts.loss) == pytest.approx(float(parts.recon + parts.codebook + parts.commitment * 0.25), rel=1e-5)
    with tg.no_grad():
        after = float(model.losses(x).recon)
    assert after < before - 10.0, (before, after)
    assert code_usage(model.codes(x), 8)["perplexity"] > 2.0

"""Checks for exercise 8 (vector_quantize): python -m pytest exercises/ex8_straight_through_test.py"""

import numpy as np
import pytest

import tinygen as tg
from tinygen.models.vqvae import vector_quantize as reference_quantize

SHAPES = [(2, 3, 4, 5), (4, 1, 2, 3), (1, 6, 3, 8)]  # (B, N, D, K): a few fixed sizes, no ties between codes


def reference(z, codebook):
    return tuple(reference_quantize(z, codebook)[1:])  # tinygen's also returns the codes first


@pytest.fixture(scope="module")
def quantize(solution):
    return solution("ex8_straight_through", "vector_quantize", reference=reference)


def random_case(shape, seed, requires_grad=(True, True)):
    b, n, d, k = shape
    rng = np.random.default_rng(seed)
    z = tg.tensor(rng.normal(size=(b, n, d)), requires_grad=requires_grad[0])
    codebook = tg.tensor(rng.normal(size=(k, d)), requires_grad=requires_grad[1])
    return z, codebook


def nearest_rows(z, codebook):
    """Brute force in NumPy: the nearest codebook row of each vector, (B, N, D)."""
    z, e = z.detach().numpy(), codebook.detach().numpy()
    d2 = ((z[:, :, None, :] - e[None, None]) ** 2).sum(-1)  # (B, N, K)
    return e[d2.argmin(-1)]


def no_gradient(t):
    return t.grad is None or not np.any(t.grad.numpy())


@pytest.mark.parametrize("shape", SHAPES)
def test_forward_is_the_nearest_codebook_row(quantize, shape):
    z, codebook = random_case(shape, seed=1)
    z_q, _, _ = quantize(z, codebook)
    assert z_q.shape == z.shape, f"z_q must have z's shape {z.shape}, got {z_q.shape}"
    np.testing.assert_allclose(z_q.detach().numpy(), nearest_rows(z, codebook), rtol=1e-12, atol=1e-12,
                               err_msg="z_q's values must be the nearest codebook rows (z + (e - z), not z)")


def test_gradient_passes_straight_through(quantize):
    z, codebook = random_case(SHAPES[0], seed=2)
    upstream = tg.tensor(np.random.default_rng(3).normal(size=z.shape))
    z_q, _, _ = quantize(z, codebook)
    (z_q * upstream).sum().backward()
    assert z.grad is not None, "no gradient reached z through z_q: write z_q = z + (e - z).detach()"
    np.testing.assert_allclose(z.grad.numpy(), upstream.numpy(), rtol=1e-12,
                               err_msg="the straight-through gradient of z_q with respect to z is the identity")
    assert no_gradient(codebook), ("the decoder's gradient must not reach the codebook through z_q "
                                   "(z + (e - z).detach() stops it; e + z - z.detach() lets it through)")


def test_the_two_losses_have_the_same_value(quantize):
    z, codebook = random_case(SHAPES[1], seed=4)
    _, codebook_loss, commitment_loss = quantize(z, codebook)
    diff = z.detach().numpy() - nearest_rows(z, codebook)
    expected = (diff**2).sum(axis=(1, 2)).mean()  # summed over positions and numbers, averaged over the batch
    assert codebook_loss.shape == () and commitment_loss.shape == (), "each loss is one number (a 0-d Tensor)"
    np.testing.assert_allclose(codebook_loss.detach().numpy(), expected, rtol=1e-12,
                               err_msg="codebook_loss: sum |z - e|^2 over positions and numbers, mean over batch")
    np.testing.assert_allclose(commitment_loss.detach().numpy(), expected, rtol=1e-12,
                               err_msg="commitment_loss: sum |z - e|^2 over positions and numbers, mean over batch")


def test_codebook_loss_moves_only_the_codebook(quantize):
    z, codebook = random_case(SHAPES[0], seed=5)
    _, codebook_loss, _ = quantize(z, codebook)
    codebook_loss.backward()
    assert no_gradient(z), "the codebook loss must not move the encoder: detach z in it"
    b = z.shape[0]
    expected = np.zeros(codebook.shape)  # d/de_k = 2 (e_k - z) / B, over every vector that chose k
    z_np, e_np = z.detach().numpy().reshape(-1, z.shape[-1]), codebook.detach().numpy()
    chosen = ((z_np[:, None] - e_np[None]) ** 2).sum(-1).argmin(-1)
    np.add.at(expected, chosen, 2.0 * (e_np[chosen] - z_np) / b)
    np.testing.assert_allclose(codebook.grad.numpy(), expected, rtol=1e-10, atol=1e-12)


def test_commitment_loss_moves_only_the_encoder(quantize):
    z, codebook = random_case(SHAPES[0], seed=6)
    _, _, commitment_loss = quantize(z, codebook)
    commitment_loss.backward()
    assert no_gradient(codebook), "the commitment loss must not move the codebook: detach e in it"
    expected = 2.0 * (z.detach().numpy() - nearest_rows(z, codebook)) / z.shape[0]  # d/dz = 2 (z - e) / B
    np.testing.assert_allclose(z.grad.numpy(), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
def test_gradcheck_each_loss_in_what_it_trains(quantize, shape):
    # each loss is a true derivative of itself in the variable it trains (the code choice is fixed
    # near these random points); in the other variable its gradient is zero by design, which finite
    # differences would not see: so each is checked with the other input held constant
    z, codebook = random_case(shape, seed=7, requires_grad=(False, True))
    assert tg.gradcheck(lambda e: quantize(z, e)[1], (codebook,))
    z, codebook = random_case(shape, seed=8, requires_grad=(True, False))
    assert tg.gradcheck(lambda v: quantize(v, codebook)[2], (z,))


@pytest.mark.parametrize("shape", SHAPES)
def test_matches_tinygen(quantize, shape):
    z, codebook = random_case(shape, seed=9, requires_grad=(False, False))
    for mine, theirs in zip(quantize(z, codebook), reference(z, codebook)):
        np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-12)


def test_float32_stays_float32(quantize):
    z, codebook = (tg.tensor(a.numpy(), dtype=tg.float32) for a in random_case(SHAPES[2], seed=10, requires_grad=(False, False)))
    for out in quantize(z, codebook):
        assert out.dtype == tg.float32, f"float32 inputs must give float32 outputs, got {out.dtype}"

"""The fused dense op equals its three-op definition x @ W.T + b, in value and in gradients."""

import numpy as np
import pytest

import tinygen as tg
import tinygen.nn.functional as F


@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 3), (3,)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_fused_linear_equals_matmul_plus_bias(shape, with_bias):
    x = tg.randn(*shape, dtype=tg.float64, requires_grad=True)
    w = tg.randn(2, 3, dtype=tg.float64, requires_grad=True)
    b = tg.randn(2, dtype=tg.float64, requires_grad=True) if with_bias else None
    fused = F.linear(x, w, b)
    plain = x @ w.T + b if with_bias else x @ w.T
    np.testing.assert_allclose(fused.detach().numpy(), plain.detach().numpy(), rtol=1e-12)
    wanted = [x, w] + ([b] if with_bias else [])
    v = tg.randn(*fused.shape, dtype=tg.float64)
    for a, e in zip(tg.grad((fused * v).sum(), wanted), tg.grad((plain * v).sum(), wanted)):
        np.testing.assert_allclose(a.numpy(), e.numpy(), rtol=1e-12)


def test_fused_linear_first_and_second_order():
    x = tg.randn(4, 3, dtype=tg.float64, requires_grad=True)
    w = tg.randn(2, 3, dtype=tg.float64, requires_grad=True)
    b = tg.randn(2, dtype=tg.float64, requires_grad=True)
    assert tg.gradcheck(F.linear, (x, w, b))
    assert tg.gradgradcheck(lambda x, w, b: F.linear(x, w, b).tanh(), (x, w, b))


def test_weight_gradient_is_a_fresh_contiguous_array():
    """dW = g^T x is computed in the weight's own layout, so nothing is copied into .grad."""
    x = tg.randn(8, 5)
    w = tg.randn(3, 5, requires_grad=True)
    F.linear(x, w).sum().backward()
    assert w.grad.data.flags.c_contiguous and w.grad.dtype == tg.float32

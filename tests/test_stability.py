"""The numerically delicate ops stay finite, without warnings, out to |x| = 1e4.

A naive sigmoid computes e^-x, which overflows float32 past x = -88 and float64 past -709;
pytest turns NumPy's RuntimeWarning into an error here (pyproject.toml), so an overflow
anywhere in forward or backward fails the test even when the final value happens to be right.
"""

import numpy as np
import pytest

import tinygen as tg
import tinygen.nn.functional as F

EXTREMES = [-1e4, -1e3, -100.0, -30.0, -1.0, 0.0, 1.0, 30.0, 100.0, 1e3, 1e4]
DTYPES = [tg.float32, tg.float64]

ELEMENTWISE = {
    "sigmoid": tg.sigmoid,
    "softplus": F.softplus,
    "logsigmoid": F.logsigmoid,
    "bce_with_logits(y=0.3)": lambda x: F.binary_cross_entropy_with_logits(
        x, tg.full(x.shape, 0.3, dtype=x.dtype), reduction="none"),
}
ALONG_A_DIM = {
    "softmax": lambda x: tg.softmax(x, -1),
    "log_softmax": lambda x: F.log_softmax(x, -1),
    "logsumexp": lambda x: tg.logsumexp(x, -1),
}


def leaf(values, dtype):
    return tg.tensor(np.asarray(values), dtype=dtype, requires_grad=True)


def assert_finite_forward_and_backward(fn, x):
    out = fn(x)
    assert out.dtype == x.dtype
    assert np.isfinite(out.detach().numpy()).all(), f"non-finite output {out}"
    weights = tg.tensor(np.linspace(-1.0, 1.0, out.numel()).reshape(out.shape), dtype=x.dtype)
    (out * weights).sum().backward()
    assert x.grad.dtype == x.dtype
    assert np.isfinite(x.grad.numpy()).all(), f"non-finite gradient {x.grad}"
    return out


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_finite_at_extremes(name, dtype):
    assert_finite_forward_and_backward(ELEMENTWISE[name], leaf(EXTREMES, dtype))


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("name", ALONG_A_DIM)
def test_softmax_family_finite_at_extremes(name, dtype):
    rows = [[1e4, 0.0, -1e4], [-1e4, -1e4, -1e4], [1e4, 1e4, 1e4], [1e4, -1e4, 1e4 - 1.0], [0.0, 1.0, 2.0]]
    assert_finite_forward_and_backward(ALONG_A_DIM[name], leaf(rows, dtype))


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_limits_are_exact(dtype):
    x = tg.tensor([-1e4, 1e4, 0.0], dtype=dtype)
    np.testing.assert_array_equal(tg.sigmoid(x).numpy(), [0.0, 1.0, 0.5])
    np.testing.assert_array_equal(F.softplus(x).numpy(), np.array([0.0, 1e4, np.log(2.0)], dtype=dtype))
    np.testing.assert_array_equal(F.logsigmoid(x).numpy(), np.array([-1e4, 0.0, -np.log(2.0)], dtype=dtype))

    rows = tg.tensor([[1e4, 0.0, -1e4], [-1e4, -1e4, -1e4]], dtype=dtype)
    np.testing.assert_array_equal(tg.softmax(rows, -1).numpy(), np.array([[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3]], dtype=dtype))
    np.testing.assert_allclose(F.log_softmax(rows, -1).numpy(), [[0.0, -1e4, -2e4], [-np.log(3.0)] * 3], rtol=1e-6)
    np.testing.assert_allclose(tg.logsumexp(rows, -1).numpy(), [1e4, -1e4 + np.log(3.0)], rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_limit_gradients(dtype):
    """sigmoid' -> 0, softplus' -> 0 or 1, logsigmoid' -> 1 or 0, softmax rows' sum -> 0."""
    x = leaf([-1e4, 1e4], dtype)
    tg.sigmoid(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])

    x = leaf([-1e4, 1e4], dtype)
    F.softplus(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0])

    x = leaf([-1e4, 1e4], dtype)
    F.logsigmoid(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 0.0])

    x = leaf([[1e4, 0.0, -1e4]], dtype)
    tg.logsumexp(x, -1).sum().backward()  # the gradient of logsumexp is softmax
    np.testing.assert_array_equal(x.grad.numpy(), [[1.0, 0.0, 0.0]])


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_bce_with_logits_at_extremes(dtype):
    """softplus(x) - y x: a confident right answer costs 0, a confident wrong one costs |x|."""
    x = leaf([1e4, -1e4, 1e4, -1e4], dtype)
    y = tg.tensor([1.0, 0.0, 0.0, 1.0], dtype=dtype)
    loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    np.testing.assert_array_equal(loss.detach().numpy(), np.array([0.0, 0.0, 1e4, 1e4], dtype=dtype))
    loss.sum().backward()  # d/dx = sigmoid(x) - y
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 1.0, -1.0])


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_second_derivative_finite_at_extremes(dtype):
    """A gradient penalty differentiates these twice; that must stay finite too."""
    for fn in [tg.sigmoid, F.softplus, F.logsigmoid, lambda t: tg.softmax(t, -1)]:
        x = leaf(EXTREMES, dtype)
        (g,) = tg.grad(fn(x).sum() if fn is not tg.sigmoid else (fn(x) * fn(x)).sum(), x, create_graph=True)
        (g * g).sum().backward()
        assert np.isfinite(x.grad.numpy()).all()

"""Checks for exercise 1 (Softplus.backward): python -m pytest exercises/ex1_softplus_test.py"""

import numpy as np
import pytest

import tinygen as tg
from tinygen.ops.activation import Softplus as ReferenceSoftplus

# a few fixed random inputs: the same failure every run, nothing to shrink or replay
CASES = [np.random.default_rng(seed).uniform(-6.0, 6.0, shape) for seed, shape in enumerate([(5,), (2, 3), (3, 1)])]


@pytest.fixture(scope="module")
def softplus(solution):
    return solution("ex1_softplus", "Softplus", reference=ReferenceSoftplus).apply


def test_gradient_is_sigmoid(softplus):
    data = np.array([-3.0, -0.5, 0.0, 0.5, 3.0])
    x = tg.tensor(data, requires_grad=True)
    softplus(x).sum().backward()
    assert x.grad is not None and x.grad.shape == x.shape, "backward must return one gradient of x's shape"
    np.testing.assert_allclose(x.grad.numpy(), 1.0 / (1.0 + np.exp(-data)), rtol=1e-12)


def test_gradient_multiplies_the_upstream_gradient(softplus):
    data, upstream = np.array([[-1.0, 2.0], [0.3, -4.0]]), np.array([[2.0, -1.0], [0.5, 3.0]])
    x = tg.tensor(data, requires_grad=True)
    softplus(x).backward(tg.tensor(upstream))
    expected = upstream / (1.0 + np.exp(-data))  # chain rule: g * softplus'(x)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12,
                               err_msg="backward must multiply the incoming gradient g by softplus'(x)")


@pytest.mark.parametrize("data", CASES)
def test_gradcheck(softplus, data):
    assert tg.gradcheck(softplus, (tg.tensor(data, requires_grad=True),))


def test_gradient_is_differentiable(softplus):
    x = tg.tensor([-1.0, 0.5, 2.0], dtype=tg.float64, requires_grad=True)
    (g,) = tg.grad(softplus(x).sum(), x, create_graph=True)
    assert g.requires_grad, ("the gradient backward returned has no graph: build it from Tensor ops "
                             "(g * something), not from raw arrays (.data / .numpy())")


@pytest.mark.parametrize("data", CASES)
def test_gradgradcheck(softplus, data):
    assert tg.gradgradcheck(softplus, (tg.tensor(data, requires_grad=True),))


def test_stable_for_large_inputs_in_float32(softplus):
    # e^10000 overflows; a backward that computes it produces inf or nan (and a RuntimeWarning)
    x = tg.tensor([-1e4, -100.0, 0.0, 100.0, 1e4], requires_grad=True)
    softplus(x).sum().backward()
    assert x.grad.dtype == tg.float32, f"a float32 input must get a float32 gradient, got {x.grad.dtype}"
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.0, 0.5, 1.0, 1.0], atol=1e-6,
                               err_msg="use a form of sigmoid that never takes e^x of a large x (x.sigmoid())")

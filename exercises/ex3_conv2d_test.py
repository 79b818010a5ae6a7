"""Checks for exercise 3 (conv2d without im2col): python -m pytest exercises/ex3_conv2d_test.py"""

import numpy as np
import pytest

import tinygen as tg
import tinygen.nn.functional as F

# (B, C, H, W), (O, kh, kw), stride, padding: square and non-square kernels, strides, padding
CASES = [
    ((1, 1, 4, 4), (1, 3, 3), 1, 0),
    ((2, 3, 5, 4), (2, 2, 3), 1, 1),
    ((2, 2, 6, 5), (3, 3, 2), 2, 0),
    ((1, 2, 5, 5), (2, 3, 3), 2, 1),
]
TINY = [((1, 2, 3, 3), (2, 2, 2), 1, 1), ((2, 1, 4, 3), (1, 2, 2), 2, 0)]  # for gradcheck


@pytest.fixture(scope="module")
def conv2d(solution):
    return solution("ex3_conv2d", "conv2d", reference=F.conv2d)


def make(case, seed, requires_grad=False, dtype=tg.float64):
    (B, C, H, W), (O, kh, kw), _, _ = case
    rng = np.random.default_rng(seed)
    return [tg.tensor(rng.normal(size=s), dtype=dtype, requires_grad=requires_grad)
            for s in [(B, C, H, W), (O, C, kh, kw), (O,)]]


@pytest.mark.parametrize("case", CASES)
def test_matches_tinygen_conv2d(conv2d, case):
    x, w, b = make(case, seed=0)
    stride, padding = case[2:]
    expected = F.conv2d(x, w, b, stride=stride, padding=padding)
    y = conv2d(x, w, b, stride=stride, padding=padding)
    assert y.shape == expected.shape, (
        f"expected output shape {expected.shape} (B, O, OH, OW) with OH = (H + 2 padding - kh) // stride + 1, "
        f"got {y.shape}")
    np.testing.assert_allclose(y.numpy(), expected.numpy(), rtol=1e-10, atol=1e-12)


def test_without_bias(conv2d):
    x, w, _ = make(CASES[1], seed=1)
    np.testing.assert_allclose(conv2d(x, w, padding=1).numpy(), F.conv2d(x, w, padding=1).numpy(),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", CASES[1:3])
def test_gradients_match_tinygen_conv2d(conv2d, case):
    stride, padding = case[2:]
    upstream = None
    grads = []
    for fn in (conv2d, F.conv2d):
        x, w, b = make(case, seed=2, requires_grad=True)
        y = fn(x, w, b, stride=stride, padding=padding)
        if upstream is None:
            upstream = tg.tensor(np.random.default_rng(3).normal(size=y.shape))
        y.backward(upstream)
        grads.append([t.grad.numpy() for t in (x, w, b)])
    for name, mine, theirs in zip(["x", "weight", "bias"], *grads):
        np.testing.assert_allclose(mine, theirs, rtol=1e-10, atol=1e-12, err_msg=f"the gradient of {name}")


@pytest.mark.parametrize("case", TINY)
def test_gradcheck(conv2d, case):
    stride, padding = case[2:]
    assert tg.gradcheck(lambda x, w, b: conv2d(x, w, b, stride=stride, padding=padding),
                        make(case, seed=4, requires_grad=True))


def test_float32_stays_float32(conv2d):
    x, w, b = make(CASES[2], seed=5, dtype=tg.float32)
    y = conv2d(x, w, b, stride=2)
    assert y.dtype == tg.float32, f"float32 inputs must give a float32 output, got {y.dtype}"
    np.testing.assert_allclose(y.numpy(), F.conv2d(x, w, b, stride=2).numpy(), rtol=1e-4, atol=1e-5)

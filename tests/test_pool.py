"""max_pool2d, avg_pool2d, interpolate (nearest) and their layers: loops, gradients, ties, errors."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygen as tg
import tinygen.nn as nn
import tinygen.nn.functional as F


def ref_pool(x, kernel, stride, padding, dilation, reduce, fill):
    """Apply ``reduce`` to every window of x padded with ``fill``: the definition, looped."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    OH = (x.shape[2] + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    OW = (x.shape[3] + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros(x.shape[:2] + (OH, OW))
    for i in range(OH):
        for j in range(OW):
            window = xp[:, :, i * sh : i * sh + dh * (kh - 1) + 1 : dh, j * sw : j * sw + dw * (kw - 1) + 1 : dw]
            out[:, :, i, j] = reduce(window)
    return out


@st.composite
def pool_cases(draw):
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = tuple(draw(st.integers(0, ki // 2)) for ki in k)
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    size = [draw(st.integers(max(1, di * (ki - 1) + 1 - 2 * pi), 7)) for ki, pi, di in zip(k, p, d)]
    return dict(k=k, s=s, p=p, d=d, size=size, B=draw(st.integers(1, 2)), C=draw(st.integers(1, 3)),
                seed=draw(st.integers(0, 2**16)), permuted=draw(st.booleans()))


def _image(c):
    """Random values; half the time with permuted strides (same values, not C-contiguous)."""
    x = np.random.default_rng(c["seed"]).standard_normal((c["B"], c["C"], *c["size"]))
    return np.ascontiguousarray(x.transpose(2, 3, 0, 1)).transpose(2, 3, 0, 1) if c["permuted"] else x


@given(pool_cases())
def test_max_pool2d_matches_loops(c):
    x = _image(c)
    y = F.max_pool2d(tg.tensor(x), c["k"], c["s"], c["p"], c["d"])
    expected = ref_pool(x, c["k"], c["s"], c["p"], c["d"], lambda w: w.max(axis=(2, 3)), -np.inf)
    np.testing.assert_array_equal(y.numpy(), expected)


@given(pool_cases(), st.booleans())
def test_avg_pool2d_matches_loops(c, count_include_pad):
    x = _image(c)
    y = F.avg_pool2d(tg.tensor(x), c["k"], c["s"], c["p"], count_include_pad=count_include_pad)
    total = ref_pool(x, c["k"], c["s"], c["p"], (1, 1), lambda w: w.sum(axis=(2, 3)), 0.0)
    ones = np.ones((1, 1) + x.shape[2:])
    count = c["k"][0] * c["k"][1] if count_include_pad else ref_pool(
        ones, c["k"], c["s"], c["p"], (1, 1), lambda w: w.sum(axis=(2, 3)), 0.0)
    np.testing.assert_allclose(y.numpy(), total / count, rtol=1e-12)


@pytest.mark.parametrize("scale", [1, 2, (2, 3)])
def test_interpolate_nearest_repeats_pixels(scale):
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    sh, sw = scale if isinstance(scale, tuple) else (scale, scale)
    y = F.interpolate(tg.tensor(x), scale_factor=scale)
    np.testing.assert_array_equal(y.numpy(), x.repeat(sh, axis=2).repeat(sw, axis=3))
    np.testing.assert_array_equal(F.interpolate(tg.tensor(x), size=(4 * sh, 5 * sw)).numpy(), y.numpy())
    assert nn.Upsample(scale_factor=scale)(tg.tensor(x)).shape == y.shape


# ---------------------------------------------------------------- gradients
def _input(shape, seed=0):
    return tg.tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


@pytest.mark.parametrize("kernel, stride, padding, dilation", [(2, None, 0, 1), (3, 2, 1, 1), (2, 1, 1, 2)])
def test_max_pool2d_gradcheck_and_gradgradcheck(kernel, stride, padding, dilation):
    x = _input((2, 2, 5, 5))  # random values: no ties for the finite differences to trip on
    f = lambda x: F.max_pool2d(x, kernel, stride, padding, dilation)  # noqa: E731
    assert tg.gradcheck(f, (x,))
    assert tg.gradgradcheck(f, (x,))


@pytest.mark.parametrize("kernel, stride, padding, count_include_pad", [(2, None, 0, True), (3, 2, 1, True),
                                                                        (3, 1, 1, False)])
def test_avg_pool2d_gradcheck_and_gradgradcheck(kernel, stride, padding, count_include_pad):
    x = _input((1, 2, 5, 4))
    f = lambda x: F.avg_pool2d(x, kernel, stride, padding, count_include_pad=count_include_pad)  # noqa: E731
    assert tg.gradcheck(f, (x,))
    assert tg.gradgradcheck(f, (x,))


def test_interpolate_gradcheck_and_gradgradcheck():
    x = _input((1, 2, 3, 2))
    f = lambda x: F.interpolate(x, scale_factor=(2, 3))  # noqa: E731
    assert tg.gradcheck(f, (x,))
    assert tg.gradgradcheck(f, (x,))


def test_max_pool2d_tie_sends_the_whole_gradient_to_one_element():
    x = tg.ones(1, 1, 4, 4, requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    grad = x.grad.numpy()[0, 0]
    np.testing.assert_array_equal(grad[::2, ::2], np.ones((2, 2)))  # the first element of each window, as in PyTorch
    assert grad.sum() == 4.0


def test_overlapping_max_windows_add_their_gradients():
    x = tg.tensor([[[[0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]]], requires_grad=True)
    F.max_pool2d(x, 2, stride=1).sum().backward()  # the 1 is the max of two windows
    assert x.grad.numpy()[0, 0, 0, 1] == 2.0 and x.grad.numpy().sum() == 4.0


def test_pool_float32_stays_float32_and_chains_after_conv():
    x = tg.randn(2, 3, 8, 8, requires_grad=True)
    y = F.max_pool2d(F.conv2d(x, tg.randn(4, 3, 3, 3), padding=1), 2)
    z = F.interpolate(F.avg_pool2d(y, 2), scale_factor=2)
    assert z.shape == (2, 4, 4, 4) and z.dtype == tg.float32
    z.sum().backward()
    assert x.grad.dtype == tg.float32


def test_pool_errors_and_layers():
    x = tg.randn(2, 3, 6, 6)
    with pytest.raises(ValueError, match=r"max_pool2d: expected a 4-D input.*\(6, 6\)"):
        F.max_pool2d(tg.randn(6, 6), 2)
    with pytest.raises(ValueError, match="max_pool2d: padding should be at most half"):
        F.max_pool2d(x, 2, padding=2)
    with pytest.raises(NotImplementedError, match="ceil_mode"):
        F.avg_pool2d(x, 2, ceil_mode=True)
    with pytest.raises(NotImplementedError, match="interpolate: mode 'bicubic' is not offered in tinygen"):
        F.interpolate(x, scale_factor=2, mode="bicubic")
    assert F.interpolate(x, scale_factor=1.5).shape == (2, 3, 9, 9)  # any scale, as in PyTorch
    assert nn.MaxPool2d(2)(x).shape == (2, 3, 3, 3)
    assert nn.AvgPool2d(3, stride=1, padding=1)(x).shape == (2, 3, 6, 6)
    assert nn.MaxPool2d(2)(tg.randn(3, 6, 6)).shape == (3, 3, 3)  # unbatched, as in PyTorch


@pytest.mark.gpu
def test_pools_on_gpu_match_cpu():
    x = _input((2, 3, 6, 6))

    def net(x):
        return F.interpolate(F.avg_pool2d(F.max_pool2d(x, 3, 1, 1), 2), scale_factor=2)

    net(x).sum().backward()
    x_gpu = x.detach().to("cuda").requires_grad_()
    y_gpu = net(x_gpu)
    y_gpu.sum().backward()
    np.testing.assert_allclose(y_gpu.detach().cpu().numpy(), net(x.detach()).numpy(), rtol=1e-12)
    np.testing.assert_allclose(x_gpu.grad.cpu().numpy(), x.grad.numpy(), rtol=1e-12)

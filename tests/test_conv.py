"""conv2d / conv_transpose2d: against direct NumPy loops, gradients, second derivatives, layers."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygen as tg
import tinygen.nn as nn
import tinygen.nn.functional as F


# ---------------------------------------------------------------- reference: the definitions, looped
def ref_conv2d(x, w, b, stride, padding, dilation):
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    B, C, H, W = x.shape
    O, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    OH, OW = (H + 2 * ph - dh * (kh - 1) - 1) // sh + 1, (W + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((B, O, OH, OW))
    for i in range(OH):
        for j in range(OW):
            for u in range(kh):
                for v in range(kw):
                    out[:, :, i, j] += xp[:, :, i * sh + u * dh, j * sw + v * dw] @ w[:, :, u, v].T
    return out if b is None else out + b[None, :, None, None]


def ref_conv_transpose2d(x, w, b, stride, padding, output_padding, dilation):
    """Each input pixel scatters weight * value into the (padded) output, then the padding is cut."""
    (sh, sw), (ph, pw), (qh, qw), (dh, dw) = stride, padding, output_padding, dilation
    B, C, H, W = x.shape
    _, O, kh, kw = w.shape
    OH, OW = (H - 1) * sh - 2 * ph + dh * (kh - 1) + qh + 1, (W - 1) * sw - 2 * pw + dw * (kw - 1) + qw + 1
    full = np.zeros((B, O, OH + 2 * ph, OW + 2 * pw))
    for i in range(H):
        for j in range(W):
            for u in range(kh):
                for v in range(kw):
                    full[:, :, i * sh + u * dh, j * sw + v * dw] += x[:, :, i, j] @ w[:, :, u, v]
    out = full[:, :, ph : ph + OH, pw : pw + OW]
    return out if b is None else out + b[None, :, None, None]


def _maybe_strided(a, flip):
    """The same values with other strides: a learner's tensors are not always contiguous."""
    return np.ascontiguousarray(a.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2) if flip else a


@st.composite
def conv_cases(draw, transpose=False):
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    q = tuple(draw(st.integers(0, si - 1)) for si in s) if transpose else (0, 0)
    if transpose:  # the output must not be empty
        lows = [max(1, 1 - (di * (ki - 1) + qi - 2 * pi) // si) for ki, si, pi, di, qi in zip(k, s, p, d, q)]
        size = [draw(st.integers(lo, lo + 3)) for lo in lows]
    else:  # the dilated kernel must fit in the padded input
        size = [draw(st.integers(max(1, di * (ki - 1) + 1 - 2 * pi), 7)) for ki, pi, di in zip(k, p, d)]
    B, C, O = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    return dict(k=k, s=s, p=p, d=d, q=q, size=size, B=B, C=C, O=O, bias=draw(st.booleans()),
                flip=draw(st.booleans()), seed=draw(st.integers(0, 2**16)))


@given(conv_cases())
def test_conv2d_matches_direct_loops(c):
    rng = np.random.default_rng(c["seed"])
    x = _maybe_strided(rng.standard_normal((c["B"], c["C"], *c["size"])), c["flip"])
    w = rng.standard_normal((c["O"], c["C"], *c["k"]))
    b = rng.standard_normal(c["O"]) if c["bias"] else None
    y = F.conv2d(tg.tensor(x), tg.tensor(w), None if b is None else tg.tensor(b), c["s"], c["p"], c["d"])
    np.testing.assert_allclose(y.numpy(), ref_conv2d(x, w, b, c["s"], c["p"], c["d"]), rtol=1e-10, atol=1e-10)


@given(conv_cases(transpose=True))
def test_conv_transpose2d_matches_direct_loops(c):
    rng = np.random.default_rng(c["seed"])
    x = _maybe_strided(rng.standard_normal((c["B"], c["C"], *c["size"])), c["flip"])
    w = rng.standard_normal((c["C"], c["O"], *c["k"]))
    b = rng.standard_normal(c["O"]) if c["bias"] else None
    y = F.conv_transpose2d(tg.tensor(x), tg.tensor(w), None if b is None else tg.tensor(b),
                           c["s"], c["p"], c["q"], 1, c["d"])
    expected = ref_conv_transpose2d(x, w, b, c["s"], c["p"], c["q"], c["d"])
    assert y.shape == expected.shape
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-10, atol=1e-10)


# ---------------------------------------------------------------- gradients, first and second order
GEOMETRIES = [  # stride, padding, dilation
    (1, 0, 1),
    (2, 1, 1),
    ((1, 2), (0, 1), (2, 1)),
]


def _params(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [tg.tensor(rng.standard_normal(s), dtype=tg.float64, requires_grad=True) for s in shapes]


@pytest.mark.parametrize("stride, padding, dilation", GEOMETRIES)
def test_conv2d_gradcheck_input_weight_bias(stride, padding, dilation):
    x, w, b = _params((2, 2, 5, 5), (3, 2, 2, 3), (3,))
    assert tg.gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation), (x, w, b))


@pytest.mark.parametrize("stride, padding, dilation", GEOMETRIES)
def test_conv2d_gradgradcheck(stride, padding, dilation):
    x, w, b = _params((1, 2, 4, 5), (2, 2, 2, 2), (2,))
    assert tg.gradgradcheck(lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation), (x, w, b))


@pytest.mark.parametrize("stride, padding, output_padding, dilation", [(1, 0, 0, 1), (2, 1, 1, 1), (2, 0, 1, 2)])
def test_conv_transpose2d_gradcheck_and_gradgradcheck(stride, padding, output_padding, dilation):
    x, w, b = _params((1, 2, 3, 3), (2, 3, 2, 2), (3,))
    f = lambda x, w, b: F.conv_transpose2d(x, w, b, stride, padding, output_padding, 1, dilation)  # noqa: E731
    assert tg.gradcheck(f, (x, w, b))
    assert tg.gradgradcheck(f, (x, w, b))


def test_third_order_through_the_weight_gradient_op():
    """The weight-gradient op's own backward is checked by differentiating twice w.r.t. w."""
    x, w = _params((1, 2, 4, 4), (2, 2, 3, 3))

    def dw(x, w):
        (g,) = tg.grad(F.conv2d(x, w, padding=1).tanh().sum(), [w], create_graph=True)
        return g

    assert tg.gradgradcheck(dw, (x, w), atol=1e-4)


def test_gradient_penalty_through_a_conv_discriminator():
    """WGAN-GP: || d D(x) / d x ||^2 back to the weights; compared with finite differences."""
    x, w1, w2 = _params((2, 1, 6, 6), (3, 1, 3, 3), (1, 3, 4, 4))

    def penalty(x, w1, w2):
        score = F.conv2d(F.leaky_relu(F.conv2d(x, w1, stride=1, padding=1), 0.2).tanh(), w2, stride=2)
        (gx,) = tg.grad(score.sum(), [x], create_graph=True)
        return ((gx * gx).sum() - 1.0) ** 2

    assert tg.gradcheck(penalty, (x, w1, w2), atol=1e-4)


def test_float32_stays_float32():
    x = tg.randn(2, 3, 8, 8, requires_grad=True)
    w = tg.randn(4, 3, 3, 3, requires_grad=True)
    wt = tg.randn(4, 2, 4, 4, requires_grad=True)
    y = F.conv_transpose2d(F.conv2d(x, w, padding=1), wt, stride=2, padding=1)
    assert y.dtype == tg.float32
    (g,) = tg.grad((y * y).sum(), [x], create_graph=True)
    (g * g).sum().backward()
    assert g.dtype == x.grad.dtype == w.grad.dtype == wt.grad.dtype == tg.float32


def test_broadcast_upstream_gradient():
    """y.sum() sends a zero-stride gradient back; the matrix products must still see real values."""
    x, w = _params((2, 3, 5, 5), (4, 3, 3, 3))
    F.conv2d(x, w, stride=2).sum().backward()
    xs = x.detach().numpy()  # d sum(y) / d w[o, c, u, v] = sum over b, i, j of x[b, c, 2i + u, 2j + v]
    expected_w = np.stack([xs[:, :, u : u + 3 : 2, v : v + 3 : 2].sum(axis=(0, 2, 3)) for u in range(3) for v in range(3)],
                          axis=-1).reshape(3, 3, 3)
    np.testing.assert_allclose(w.grad.numpy(), np.broadcast_to(expected_w, (4, 3, 3, 3)), rtol=1e-10)


# ---------------------------------------------------------------- errors
def test_errors_name_the_op_and_the_shapes():
    x, w = tg.randn(2, 3, 8, 8), tg.randn(4, 3, 3, 3)
    with pytest.raises(ValueError, match=r"conv2d: .*3 channels.*\(2, 5, 8, 8\)"):
        F.conv2d(tg.randn(2, 5, 8, 8), w)
    with pytest.raises(ValueError, match=r"conv2d: expected a 4-D input.*\(8, 8\)"):
        F.conv2d(tg.randn(8, 8), w)
    with pytest.raises(ValueError, match="groups=3 must be a positive int dividing"):
        F.conv2d(x, w, groups=3)  # 4 output channels do not split into 3 groups
    with pytest.raises(ValueError, match="smaller than the dilated kernel"):
        F.conv2d(tg.randn(1, 3, 2, 2), w)
    with pytest.raises(ValueError, match="output_padding must be smaller than stride"):
        F.conv_transpose2d(x, tg.randn(3, 2, 3, 3), stride=2, output_padding=2)
    with pytest.raises(TypeError, match="float32 but weight is float64"):
        F.conv2d(x, w.double())
    with pytest.raises(ValueError, match=r"Conv2d: expected input of shape \(batch, 3, height, width\).*\(2, 4, 8, 8\)"):
        nn.Conv2d(3, 4, 3)(tg.randn(2, 4, 8, 8))
    with pytest.raises(ValueError, match=r"ConvTranspose2d: expected input of shape \(batch, 6"):
        nn.ConvTranspose2d(6, 4, 3)(tg.randn(2, 3, 8, 8))


def test_unbatched_input_and_same_padding():
    x, w = tg.randn(3, 7, 7), tg.randn(4, 3, 3, 3)
    y = F.conv2d(x, w, padding="same")
    assert y.shape == (4, 7, 7)
    np.testing.assert_allclose(y.numpy(), F.conv2d(x.unsqueeze(0), w, padding=1)[0].numpy())


# ---------------------------------------------------------------- layers
def test_conv2d_layer_init_shape_and_reproducibility():
    tg.manual_seed(3)
    a = nn.Conv2d(4, 6, 3, stride=2, padding=1)
    tg.manual_seed(3)
    b = nn.Conv2d(4, 6, 3, stride=2, padding=1)
    assert [n for n, _ in a.named_parameters()] == ["weight", "bias"]
    assert a.weight.shape == (6, 4, 3, 3) and a.bias.shape == (6,)
    np.testing.assert_array_equal(a.weight.detach().numpy(), b.weight.detach().numpy())
    bound = 1 / math.sqrt(4 * 9)  # U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in * kh * kw
    for p in (a.weight, a.bias):
        assert np.abs(p.detach().numpy()).max() <= bound
    assert np.abs(a.weight.detach().numpy()).max() > 0.9 * bound  # spread over the whole interval
    assert a(tg.randn(2, 4, 9, 9)).shape == (2, 6, 5, 5)
    assert nn.Conv2d(4, 6, 3, bias=False).bias is None


def test_conv_transpose2d_layer_init_and_inverse_shape():
    layer = nn.ConvTranspose2d(8, 2, 4, stride=2, padding=1)
    assert layer.weight.shape == (8, 2, 4, 4)
    bound = 1 / math.sqrt(2 * 16)  # PyTorch takes fan_in from weight.shape[1] = out_channels
    assert np.abs(layer.weight.detach().numpy()).max() <= bound
    assert np.abs(layer.weight.detach().numpy()).max() > 0.8 * bound
    down = nn.Conv2d(2, 8, 4, stride=2, padding=1)
    x = tg.randn(3, 2, 28, 28)
    assert layer(down(x)).shape == x.shape
    assert "output_padding=(1, 1)" in repr(nn.ConvTranspose2d(2, 2, 3, 2, 1, output_padding=1))


def test_layer_training_step_reduces_loss():
    tg.manual_seed(0)
    conv = nn.Conv2d(1, 2, 3, padding=1)
    x, target = tg.randn(4, 1, 6, 6), tg.randn(4, 2, 6, 6)
    losses = []
    for _ in range(20):
        loss = ((conv(x) - target) ** 2).mean()
        losses.append(loss.item())
        conv.zero_grad()
        loss.backward()
        with tg.no_grad():
            for p in conv.parameters():
                p.sub_(p.grad * 0.5)
    assert losses[-1] < 0.9 * losses[0]


@pytest.mark.gpu
def test_conv_on_gpu_matches_cpu():
    x, w, b = _params((2, 3, 7, 7), (4, 3, 3, 3), (4,))
    wt = _params((4, 2, 4, 4), seed=1)[0]

    def net(x, w, b, wt):
        return F.conv_transpose2d(F.conv2d(x, w, b, stride=2, padding=1).tanh(), wt, stride=2, padding=1)

    y = net(x, w, b, wt)
    y.sum().backward()
    gpu = [t.detach().to("cuda").requires_grad_() for t in (x, w, b, wt)]
    y_gpu = net(*gpu)
    y_gpu.sum().backward()
    np.testing.assert_allclose(y_gpu.detach().cpu().numpy(), y.detach().numpy(), rtol=1e-9, atol=1e-12)
    for cpu_t, gpu_t in zip((x, w, b, wt), gpu):
        np.testing.assert_allclose(gpu_t.grad.cpu().numpy(), cpu_t.grad.numpy(), rtol=1e-9, atol=1e-12)

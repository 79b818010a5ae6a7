"""The fused GroupNorm op (tinygen/ops/norm.py) equals the composite it replaced, in every layout."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygen as tg
from tinygen import autograd, nn
from tinygen.nn import norm as composite
from tinygen.ops.norm import group_norm


def composite_group_norm(x, groups, weight, bias, eps=1e-5):
    """The old definition: normalise (N, G, C/G * spatial), then scale and shift per channel."""
    n, c = x.shape[:2]
    x_hat = composite._normalize(x.reshape(n, groups, -1), 2, eps)[0].reshape(x.shape)
    shape = (1, c) + (1,) * (x.ndim - 2)
    return x_hat * weight.reshape(shape) + bias.reshape(shape)


def layout(a, kind):
    """The same values as NCHW memory, channels-last memory (what convs return here) or strided."""
    if kind == "channels_last" and a.ndim == 4:
        return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    if kind == "strided":
        return np.repeat(a, 2, axis=-1)[..., ::2]
    return a


@st.composite
def cases(draw):
    groups, per_group = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    spatial = draw(st.lists(st.integers(1, 4), min_size=0, max_size=2))
    return dict(shape=(draw(st.integers(1, 3)), groups * per_group, *spatial), groups=groups,
                kind=draw(st.sampled_from(["contiguous", "channels_last", "strided"])), seed=draw(st.integers(0, 2**16)))


def inputs(case, dtype="float64"):
    rng = np.random.default_rng(case["seed"])
    c = case["shape"][1]
    x = tg.tensor(layout(rng.standard_normal(case["shape"]) * 3 + 1, case["kind"]), dtype=dtype, requires_grad=True)
    w = tg.tensor(rng.standard_normal(c), dtype=dtype, requires_grad=True)
    b = tg.tensor(rng.standard_normal(c), dtype=dtype, requires_grad=True)
    return x, w, b, rng.standard_normal(case["shape"])


@given(cases())
def test_values_and_gradients_equal_the_composite(case):
    x, w, b, g = inputs(case)
    fused = group_norm(x, case["groups"], w, b)
    reference = composite_group_norm(x, case["groups"], w, b)
    np.testing.assert_allclose(fused.detach().numpy(), reference.detach().numpy(), rtol=1e-10, atol=1e-10)
    got = tg.grad(fused, (x, w, b), tg.tensor(g))          # the array path: no graph recorded
    want = tg.grad(reference, (x, w, b), tg.tensor(g))
    for name, a, e in zip(("x", "weight", "bias"), got, want):
        np.testing.assert_allclose(a.numpy(), e.numpy(), rtol=1e-9, atol=1e-9, err_msg=name)


@given(cases())
def test_the_graph_path_gives_the_same_first_derivatives(case):
    x, w, b, g = inputs(case)
    fused = group_norm(x, case["groups"], w, b)
    plain = tg.grad(fused, (x, w, b), tg.tensor(g), retain_graph=True)
    with_graph = tg.grad(fused, (x, w, b), tg.tensor(g), create_graph=True)
    assert with_graph[0].requires_grad and with_graph[1].requires_grad  # the tensor-op path ran (d_bias = sum g needs none)
    for a, e in zip(plain, with_graph):
        np.testing.assert_allclose(a.numpy(), e.detach().numpy(), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("kind", ["contiguous", "channels_last", "strided"])
@pytest.mark.parametrize("shape, groups", [((2, 4, 3, 3), 2), ((3, 6), 3), ((2, 3, 5), 1)])
def test_gradcheck_and_gradgradcheck(shape, groups, kind):
    x, w, b, _ = inputs(dict(shape=shape, groups=groups, kind=kind, seed=1))
    f = lambda x, w, b: group_norm(x, groups, w, b)  # noqa: E731
    assert tg.gradcheck(f, (x, w, b))
    assert tg.gradgradcheck(f, (x, w, b))


def test_float32_stays_float32_and_layer_without_affine():
    x, w, b, g = inputs(dict(shape=(2, 4, 3, 3), groups=2, kind="channels_last", seed=2), dtype="float32")
    y = group_norm(x, 2, w, b)
    y.backward(tg.tensor(g.astype(np.float32)))
    assert y.dtype == tg.float32 and x.grad.dtype == tg.float32 and w.grad.dtype == tg.float32
    layer = nn.GroupNorm(2, 4, affine=False)
    out = layer(x.detach())
    means = out.numpy().reshape(2, 2, -1).mean(-1)
    np.testing.assert_allclose(means, 0.0, atol=1e-5)


def test_backward_keeps_no_graph_unless_asked():
    x, w, b, g = inputs(dict(shape=(2, 4, 3, 3), groups=2, kind="contiguous", seed=3))
    y = group_norm(x, 2, w, b)
    (dx,) = tg.grad(y, (x,), tg.tensor(g))
    assert not dx.requires_grad and autograd.is_grad_enabled()

"""The fast tier: every fast kernel equals the reading-path function it replaces.

Each comparison runs the reading function (``kernels.replaceable``'s ``.reading``) and the fast
drop-in on the same float64 inputs and checks the values, the first derivatives of a random
projection and the derivatives of that gradient (second order, through ``create_graph``).
The registry test at the bottom fails when a kernel is registered without a case here.
"""

import contextlib
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygen as tg
from tinygen import distributions, kernels, nn
from tinygen.fast import adam as fast_adam
from tinygen.fast import conv as fast_conv
from tinygen.fast import memory
from tinygen.nn import norm as reading_norm
from tinygen.ops import activation as reading_activation
from tinygen.ops import conv as reading_conv
from tinygen.ops import elementwise as reading_elementwise
from tinygen.ops import linalg as reading_linalg
from tinygen.ops import pool as reading_pool
from tinygen.optim import adam as reading_adam


def assert_same_function(reading, fast, arrays, rtol=1e-9, atol=1e-10, second_order=True, seed=0):
    """Values, first and second derivatives of reading(*tensors) and fast(*tensors) agree."""
    rng = np.random.default_rng(seed)
    results = []
    for fn in (reading, fast):
        xs = [tg.tensor(a, requires_grad=True) for a in arrays]
        y = fn(*xs)
        v = tg.tensor(rng.standard_normal(y.shape)) if not results else results[0][3]
        grads = tg.grad((y * v).sum(), xs, create_graph=second_order)
        second = []
        if second_order:
            u = [tg.tensor(np.random.default_rng(seed + 1).standard_normal(g.shape)) for g in grads]
            total = sum(((g * w).sum() for g, w in zip(grads, u) if g.requires_grad), tg.tensor(0.0, dtype=tg.float64))
            if total.requires_grad:
                second = tg.grad(total, xs, allow_unused=True)
        results.append((y.detach().numpy(), [g.detach().numpy() for g in grads],
                        [None if s is None else s.numpy() for s in second], v))
    (y0, g0, s0, _), (y1, g1, s1, _) = results
    np.testing.assert_allclose(y1, y0, rtol=rtol, atol=atol, err_msg="forward")
    for i, (a, b) in enumerate(zip(g1, g0)):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"gradient of input {i}")
    for i, (a, b) in enumerate(zip(s1, s0)):
        if a is None or b is None:
            assert a is None or not a.any(), f"second derivative of input {i}: only one tier has it"
            assert b is None or not b.any(), f"second derivative of input {i}: only one tier has it"
        else:
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"second derivative of input {i}")


def layout(a, kind):
    """The same values in other memory: NCHW, channels-last (what fast convs return), the first
    channels of a wider channels-last array (a concatenation's gradient) or strided."""
    if kind == "channels_last" and a.ndim == 4:
        return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    if kind == "channel_slice" and a.ndim == 4:
        return layout(np.concatenate([a, -a], axis=1), "channels_last")[:, : a.shape[1]]
    if kind == "strided":
        return np.repeat(a, 2, axis=-1)[..., ::2]
    return a


# ---------------------------------------------------------------- convolution
@st.composite
def conv_geometries(draw, transpose=False):
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    s = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    p = (draw(st.integers(0, 1)), draw(st.integers(0, 1)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    x_size = [draw(st.integers(max(1, di * (ki - 1) + 1 - 2 * pi), 6)) for ki, pi, di in zip(k, p, d)]
    B, C, O = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    geom = reading_conv.Geometry(k, s, p, d, x_size)
    return dict(geom=geom, B=B, C=C, O=O, bias=draw(st.booleans()), kind=draw(st.sampled_from(["contiguous", "channels_last", "channel_slice", "strided"])),
                seed=draw(st.integers(0, 2**16)))


def check_fast_convolve(c):
    """The fast conv2d against the reading path on one drawn case: values, first and second order."""
    rng = np.random.default_rng(c["seed"])
    geom = c["geom"]
    x = layout(rng.standard_normal((c["B"], c["C"], *geom.size)), c["kind"])
    w = rng.standard_normal((c["O"], c["C"], *geom.kernel))
    arrays = [x, w] + ([rng.standard_normal(c["O"])] if c["bias"] else [])
    fn = lambda f: (lambda x, w, b=None: f(x, w, b, geom))  # noqa: E731
    assert_same_function(fn(reading_conv.convolve.reading), fn(fast_conv.convolve), arrays, seed=c["seed"])


@given(conv_geometries())
def test_fast_convolve_equals_the_reading_path(c):
    check_fast_convolve(c)


@given(conv_geometries())
def test_fast_convolve_transpose_equals_the_reading_path(c):
    rng = np.random.default_rng(c["seed"])
    geom = c["geom"]  # the convolution that maps the transpose's output (geom.size) back to its input
    g = layout(rng.standard_normal((c["B"], c["O"], *geom.out)), c["kind"])
    w = rng.standard_normal((c["O"], c["C"], *geom.kernel))
    arrays = [g, w] + ([rng.standard_normal(c["C"])] if c["bias"] else [])
    fn = lambda f: (lambda g, w, b=None: f(g, w, b, geom))  # noqa: E731
    assert_same_function(fn(reading_conv.convolve_transpose.reading), fn(fast_conv.convolve_transpose), arrays,
                         seed=c["seed"])


@contextlib.contextmanager
def gathering(route=True):
    """Every fast convolution takes the gather route (route=True) or im2col (False); undone after.
    (A context manager, not monkeypatch: hypothesis runs many examples in one test call.)"""
    rule = fast_conv._gathers
    fast_conv._gathers = lambda out_channels, in_channels: route
    try:
        yield
    finally:
        fast_conv._gathers = rule


@given(conv_geometries())
def test_the_gather_route_of_a_convolution_equals_the_reading_path(c):
    """A convolution to few channels sums each kernel offset's shifted product (sum_windows) and
    spreads g back for its weight gradient (spread_windows), instead of im2col: forced here for
    every geometry; values, gradients and second derivatives as the reading path's."""
    with gathering():
        check_fast_convolve(c)


@pytest.mark.parametrize("split", [False, True])
@pytest.mark.parametrize("channels, stride", [((16, 1), 1), ((24, 3), 1), ((16, 2), 2)])
def test_a_convolution_to_few_channels_gathers(channels, stride, split, monkeypatch):
    """The rule picks the gather route for a conv to an image's channels (the UNet's last conv):
    its forward and both gradients agree with im2col's, on one thread and with the batch split in
    slices over two."""
    C, O = channels
    assert fast_conv._gathers(O, C)
    rng = np.random.default_rng(O)
    x0, w0, b0 = rng.standard_normal((5, C, 7, 6)), rng.standard_normal((O, C, 3, 3)), rng.standard_normal(O)
    gathers = []
    monkeypatch.setattr(fast_conv, "sum_windows", lambda *a, real=fast_conv.sum_windows: gathers.append(1) or real(*a))

    def everything():
        x, w, b = (tg.tensor(a, requires_grad=True) for a in (x0, w0, b0))
        y = tg.nn.functional.conv2d(x, w, b, stride, 1)
        (y * y).sum().backward()
        return [t.detach().numpy() for t in (y, x.grad, w.grad, b.grad)]

    with tg.use_fast_kernels(True):
        with gathering(False):
            im2col = everything()
        assert not gathers
        if split:
            monkeypatch.setattr(fast_conv, "COLUMNS_BYTES", 1)  # one image a slice
            monkeypatch.setattr(tg.fast.parallel, "SPLIT_BYTES", 0)
            tg.fast.parallel.split_over_cores(2)
        try:
            gathered = everything()
        finally:
            tg.fast.parallel.split_over_cores(1)
        assert gathers
    for i, (a, b) in enumerate(zip(im2col, gathered)):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12, err_msg=f"result {i}")


@pytest.mark.parametrize("channels", [(3, 5), (4, 4)])  # (g's, the result's): widening, and as many
@pytest.mark.parametrize("kernel, padding, dilation", [(3, 1, 1), (3, 0, 1), (2, 1, 1), (3, 2, 2), ((1, 3), (0, 1), (1, 2))])
def test_stride1_transpose_as_full_convolution_equals_the_scatter(kernel, padding, dilation, channels, monkeypatch):
    """The fast stride-1 route of conv_transpose2d (a convolution with the flipped kernel) agrees
    with its general route (one product per kernel offset, scattered back by col2im)."""
    rng = np.random.default_rng(0)
    g = tg.tensor(rng.standard_normal((2, channels[0], 6, 5)), requires_grad=True)
    w = tg.tensor(rng.standard_normal((*channels, *reading_conv.pair(kernel, "kernel", "test"))), requires_grad=True)
    with tg.use_fast_kernels(True):
        routed = tg.nn.functional.conv_transpose2d(g, w, None, 1, padding, 0, 1, dilation)
        assert fast_conv._full_geometry(routed.creator.geom, g.shape, w.shape) is not None  # that route ran
        monkeypatch.setattr(fast_conv, "_full_geometry", lambda geom, g_shape, w_shape: None)
        general = tg.nn.functional.conv_transpose2d(g, w, None, 1, padding, 0, 1, dilation)
    np.testing.assert_allclose(routed.detach().numpy(), general.detach().numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("one_product", [True, False])
@pytest.mark.parametrize("stride, padding, dilation, columns_bytes", [(2, 1, 1, None), (2, 0, 2, None), (3, 2, 1, 600)])
def test_both_scatters_of_a_strided_transpose_equal_the_reading_path(one_product, stride, padding, dilation,
                                                                    columns_bytes, monkeypatch):
    """conv_transpose2d's scatter, either way (_one_product_per_slice picks): one product per batch
    slice (a few images a slice when columns_bytes is small) or one per kernel offset; values,
    gradients and second derivatives as the reading path's."""
    monkeypatch.setattr(fast_conv, "_one_product_per_slice", lambda out_channels, in_channels: one_product)
    if columns_bytes:
        monkeypatch.setattr(fast_conv, "COLUMNS_BYTES", columns_bytes)
    scatters = []
    monkeypatch.setattr(fast_conv, "col2im", lambda *args, real=fast_conv.col2im: scatters.append(1) or real(*args))
    rng = np.random.default_rng(stride)
    geom = reading_conv.Geometry((3, 2), (stride, stride), (padding, padding), (dilation, dilation), (9, 8))
    arrays = [rng.standard_normal((3, 5, *geom.out)), rng.standard_normal((5, 6, 3, 2)), rng.standard_normal(6)]
    fn = lambda f: (lambda g, w, b: f(g, w, b, geom))  # noqa: E731
    assert_same_function(fn(reading_conv.convolve_transpose.reading), fn(fast_conv.convolve_transpose), arrays)
    assert scatters  # the scatter ran (not only the full-correlation route)


@pytest.mark.parametrize("stride, padding", [(1, 1), (2, 1)])
def test_batch_sliced_columns_give_the_same_convolution(stride, padding, monkeypatch):
    """When the columns exceed COLUMNS_BYTES, the fast conv runs slice by slice of the batch:
    forward, the three gradients and a second derivative must not change (beyond rounding)."""
    rng = np.random.default_rng(3)
    x0, w0, b0 = rng.standard_normal((5, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    F = tg.nn.functional

    def everything():
        x, w, b = (tg.tensor(a, requires_grad=True) for a in (x0, w0, b0))
        y = F.conv2d(x, w, b, stride, padding)
        (gx,) = tg.grad((y * y).sum(), [x], create_graph=True)  # through conv_transpose2d
        ((gx * gx).sum() + y.sum()).backward()
        yd = tg.tensor(y.detach().numpy(), requires_grad=True)
        yt = F.conv_transpose2d(yd, w, None, stride, padding)  # and its own backward (shared columns)
        (yt * yt).sum().backward()
        return [t.detach().numpy() for t in (y, gx, yt, x.grad, w.grad, b.grad, yd.grad)]

    with tg.use_fast_kernels(True):
        whole = everything()
        geom = reading_conv.Geometry((3, 3), (stride,) * 2, (padding,) * 2, (1, 1), (6, 6))
        assert len(fast_conv.batch_slices(x0, geom)) == 1
        per_image = geom.out[0] * geom.out[1] * 9 * 3 * 8  # one float64 image's columns: each slice holds two
        monkeypatch.setattr(fast_conv, "COLUMNS_BYTES", 2 * per_image)
        assert len(fast_conv.batch_slices(x0, geom)) == 3
        sliced = everything()
    for a, b in zip(whole, sliced):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- GroupNorm, SiLU, the dense layer
@st.composite
def norm_cases(draw):
    groups, per_group = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    spatial = draw(st.lists(st.integers(1, 4), min_size=0, max_size=2))
    return dict(shape=(draw(st.integers(1, 3)), groups * per_group, *spatial), groups=groups,
                kind=draw(st.sampled_from(["contiguous", "channels_last", "channel_slice", "strided"])),
                affine=draw(st.booleans()), seed=draw(st.integers(0, 2**16)))


@given(norm_cases())
def test_fast_group_norm_equals_the_reading_path(c):
    rng = np.random.default_rng(c["seed"])
    channels = c["shape"][1]
    arrays = [layout(rng.standard_normal(c["shape"]) * 3 + 1, c["kind"])]
    if c["affine"]:
        arrays += [rng.standard_normal(channels), rng.standard_normal(channels)]
    fn = lambda f: (lambda x, w=None, b=None: f(x, c["groups"], w, b, 1e-5))  # noqa: E731
    assert_same_function(fn(reading_norm.normalize_groups.reading), fn(tg.fast.norm.normalize_groups), arrays,
                         seed=c["seed"])


@st.composite
def batch_norm_cases(draw):
    spatial = draw(st.lists(st.integers(1, 4), min_size=0, max_size=2))
    batch = draw(st.integers(1 if spatial else 2, 3))  # more than one value per channel
    return dict(shape=(batch, draw(st.integers(1, 4)), *spatial), kind=draw(st.sampled_from(["contiguous", "channels_last", "channel_slice", "strided"])),
                affine=draw(st.booleans()), seed=draw(st.integers(0, 2**16)))


@given(batch_norm_cases())
def test_fast_batch_norm_equals_the_reading_path(c):
    rng = np.random.default_rng(c["seed"])
    channels = c["shape"][1]
    arrays = [layout(rng.standard_normal(c["shape"]) * 3 + 1, c["kind"])]
    if c["affine"]:
        arrays += [rng.standard_normal(channels), rng.standard_normal(channels)]
    fn = lambda f: (lambda x, w=None, b=None: f(x, w, b, 1e-5)[0])  # noqa: E731
    assert_same_function(fn(reading_norm.normalize_batch.reading), fn(tg.fast.norm.normalize_batch), arrays,
                         seed=c["seed"])
    # and the batch statistics the running ones are updated from
    x = tg.tensor(arrays[0])
    for a, b in zip(reading_norm.normalize_batch.reading(x, None, None, 1e-5)[1:],
                    tg.fast.norm.normalize_batch(x, None, None, 1e-5)[1:]):
        np.testing.assert_allclose(tg.backend.to_host(b), tg.backend.to_host(a), rtol=1e-9, atol=1e-10)


def test_fast_group_norm_keeps_no_graph_unless_asked():
    x = tg.randn(2, 4, 3, 3, dtype=tg.float64, requires_grad=True)
    with tg.use_fast_kernels(True):
        y = nn.functional.group_norm(x, 2)
    assert type(y.creator).__name__ == "GroupNorm"
    (dx,) = tg.grad(y, (x,), tg.randn(*y.shape, dtype=tg.float64))
    assert not dx.requires_grad and tg.is_grad_enabled()


@given(st.lists(st.integers(1, 4), min_size=0, max_size=3), st.integers(0, 2**16))
def test_fast_silu_equals_the_reading_path(shape, seed):
    x = np.random.default_rng(seed).standard_normal(shape) * 4
    # sigmoid via tanh is only absolutely accurate (see fast/activation.py): compare with atol
    assert_same_function(reading_activation.silu.reading, tg.fast.activation.silu, [x], rtol=1e-9, atol=1e-12, seed=seed)


@given(st.lists(st.integers(1, 4), min_size=0, max_size=3), st.integers(0, 2**16),
       st.sampled_from([0.0, 0.01, 0.2, 0.5, 1.0, -0.3, 1.5]))
def test_fast_leaky_relu_equals_the_reading_path(shape, seed, slope):
    x = np.random.default_rng(seed).standard_normal(shape) * 4
    fast = lambda x: tg.fast.activation.leaky_relu(x, slope)  # noqa: E731
    assert_same_function(lambda x: reading_activation.leaky_relu.reading(x, slope), fast, [x], rtol=0, atol=0, seed=seed)


def test_fast_leaky_relu_forward_is_bit_identical_in_float32_with_zeros_and_nans():
    x = np.array([-3.5, -0.0, 0.0, 2.25, np.nan, -1e38, 3e38, 1e-40, -1e-40], dtype="float32")
    for slope in (0.0, 0.2, 1.0):
        ours = tg.fast.activation.leaky_relu(tg.tensor(x, device="cpu"), slope).numpy()
        theirs = reading_activation.leaky_relu.reading(tg.tensor(x, device="cpu"), slope).numpy()
        assert ours.dtype == theirs.dtype == np.float32
        np.testing.assert_array_equal(ours.view("uint32"), theirs.view("uint32"))


@pytest.mark.cpu_only  # on a GPU the arrays go whole (a chunk is a kernel launch per pass)
@pytest.mark.parametrize("split", [False, True])
@pytest.mark.parametrize("x_kind, g_kind", [("contiguous", "contiguous"), ("channels_last", "channels_last"),
                                            ("channels_last", "contiguous"), ("strided", "channels_last")])
def test_activations_in_chunks_give_the_whole_arrays_bits_in_numpys_memory_order(monkeypatch, split, x_kind, g_kind):
    """SiLU's and LeakyReLU's passes run chunk by chunk (fast/parallel.py's in_chunks): with chunks of
    one sample, on one thread or shared over two, every value and the result's memory order (which
    steers later sums) are those of one chunk over the whole array."""
    rng = np.random.default_rng(3)
    x0 = layout(rng.standard_normal((5, 3, 4, 6)).astype("float32") * 4, x_kind)
    g0 = layout(rng.standard_normal((5, 3, 4, 6)).astype("float32"), g_kind)
    F = nn.functional

    def everything():
        out = []
        for act in (F.silu, lambda t: F.leaky_relu(t, 0.2)):
            x = tg.tensor(x0, requires_grad=True)
            y = act(x)
            (gx,) = tg.grad(y, [x], tg.tensor(g0))
            out += [y.array, gx.array]
        return out

    with tg.use_fast_kernels(True):
        whole = everything()
        monkeypatch.setattr(tg.fast.parallel, "CHUNK_BYTES", x0[0].nbytes)  # one sample a chunk
        if split:
            tg.fast.parallel.split_over_cores(2)
        try:
            chunked = everything()
        finally:
            tg.fast.parallel.split_over_cores(1)
    for i, (a, b) in enumerate(zip(whole, chunked)):
        np.testing.assert_array_equal(b, a, err_msg=f"result {i}")
        assert np.argsort(b.strides).tolist() == np.argsort(a.strides).tolist(), f"result {i}'s memory order"
    for i in (1, 3):  # the gradients lie as NumPy would lay out g times an array like x
        assert np.argsort(whole[i].strides).tolist() == np.argsort((g0 * x0).strides).tolist()


def test_in_chunks_refuses_an_array_without_xs_batch_axis():
    x = np.zeros((4, 3), "float32")
    with pytest.raises(ValueError, match=r"in_chunks: every other array needs x's batch axis \(4,\)"):
        tg.fast.parallel.in_chunks(lambda x, o, out: None, x, np.zeros((1, 3), "float32"))


# ---------------------------------------------------------------- addition over the cores
@contextlib.contextmanager
def over_two_threads():
    """split_over_cores(2), every array big enough to split and cut into one-row chunks; undone after."""
    parallel, before = tg.fast.parallel, (tg.fast.parallel.SPLIT_BYTES, tg.fast.parallel.CHUNK_BYTES)
    parallel.SPLIT_BYTES, parallel.CHUNK_BYTES = 0, 1
    parallel.split_over_cores(2)
    try:
        yield
    finally:
        parallel.split_over_cores(1)
        parallel.SPLIT_BYTES, parallel.CHUNK_BYTES = before


def on_cpu(t):
    return tg.backend.device_of(t.array) == "cpu"


@given(st.lists(st.integers(1, 4), min_size=0, max_size=3), st.integers(0, 2**16))
def test_fast_add_equals_the_reading_path(shape, seed):
    """On one thread the fast add is the reading path's own; over two threads (on a CPU) SplitAdd
    adds in one-row chunks: the same values, bit for bit, and both orders of derivatives."""
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal(shape), rng.standard_normal(shape)
    plain, fast = reading_elementwise.add.reading, tg.fast.elementwise.add
    assert_same_function(plain, fast, [a, b], rtol=0, atol=0, seed=seed)
    with over_two_threads():
        assert_same_function(plain, fast, [a, b], rtol=0, atol=0, seed=seed)
        y = fast(tg.tensor(a, requires_grad=True), tg.tensor(b))
    assert type(y.creator).__name__ == ("SplitAdd" if on_cpu(y) and shape else "Add")


@pytest.mark.cpu_only  # the split is the CPU's: on a GPU the reading path adds
@pytest.mark.parametrize("a_kind, b_kind, b_shape", [("contiguous", "contiguous", (5, 3, 4, 6)),
                                                     ("channels_last", "channels_last", (5, 3, 4, 6)),
                                                     ("channels_last", "contiguous", (5, 3, 4, 6)),
                                                     ("strided", "channels_last", (5, 3, 4, 6)),
                                                     ("channels_last", "contiguous", (5, 3, 1, 1)),
                                                     ("contiguous", "contiguous", (5, 1, 4, 1))])
def test_fast_add_over_the_cores_gives_numpys_sum_bits_and_memory_order(monkeypatch, a_kind, b_kind, b_shape):
    rng = np.random.default_rng(4)
    a0 = layout(rng.standard_normal((5, 3, 4, 6)).astype("float32"), a_kind)
    b0 = layout(rng.standard_normal(b_shape).astype("float32"), b_kind)
    monkeypatch.setattr(tg.fast.parallel, "CHUNK_BYTES", a0[0].nbytes)  # one sample a chunk
    tg.fast.parallel.split_over_cores(2)
    try:
        with tg.use_fast_kernels(True):
            a, b = tg.tensor(a0, requires_grad=True), tg.tensor(b0, requires_grad=True)
            y = a + b
            y.backward(tg.ones(*y.shape))
            small = a[:1] + b[:1]  # one chunk: the reading path's op
            broadcast = a + tg.tensor(b0[:1])  # along the batch axis: not split
    finally:
        tg.fast.parallel.split_over_cores(1)
    assert type(y.creator).__name__ == "SplitAdd"
    assert [type(t.creator).__name__ for t in (small, broadcast)] == ["Add", "Add"]
    np.testing.assert_array_equal(y.detach().numpy(), a0 + b0)
    assert np.argsort(y.array.strides).tolist() == np.argsort((a0 + b0).strides).tolist()
    np.testing.assert_array_equal(a.grad.numpy(), np.ones_like(a0))
    np.testing.assert_array_equal(b.grad.numpy(), np.full(b_shape, a0.size // b0.size, "float32"))  # summed back
    with tg.use_fast_kernels(True):  # the broadcast operand first: the same sum
        tg.fast.parallel.split_over_cores(2)
        try:
            flipped = tg.tensor(b0, requires_grad=True) + tg.tensor(a0)
        finally:
            tg.fast.parallel.split_over_cores(1)
    assert type(flipped.creator).__name__ == "SplitAdd"
    np.testing.assert_array_equal(flipped.detach().numpy(), b0 + a0)
    assert np.argsort(flipped.array.strides).tolist() == np.argsort((b0 + a0).strides).tolist()


# ---------------------------------------------------------------- upsampling over the cores
@st.composite
def upsampling_cases(draw):
    return dict(shape=tuple(draw(st.integers(1, 3)) for _ in range(4)),
                factors=(draw(st.integers(1, 3)), draw(st.integers(1, 3))),
                kind=draw(st.sampled_from(["contiguous", "channels_last", "channel_slice", "strided"])),
                seed=draw(st.integers(0, 2**16)))


@given(upsampling_cases())
def test_fast_repeat_pixels_equals_the_reading_path(c):
    """On one thread the fast upsampling is the reading path's own; over two threads (on a CPU) it is
    RepeatPixels, channels-last, its block sums in another order: equal to rounding."""
    x = layout(np.random.default_rng(c["seed"]).standard_normal(c["shape"]), c["kind"])
    plain = lambda t: reading_pool.repeat_pixels.reading(t, *c["factors"])  # noqa: E731
    fast = lambda t: tg.fast.upsample.repeat_pixels(t, *c["factors"])  # noqa: E731
    assert_same_function(plain, fast, [x], rtol=0, atol=0, seed=c["seed"])
    with over_two_threads():
        assert_same_function(plain, fast, [x], rtol=1e-12, atol=1e-12, seed=c["seed"])
        y = fast(tg.tensor(x, requires_grad=True))
    if on_cpu(y):
        assert type(y.creator).__name__ == "RepeatPixels"
        assert y.array.transpose(0, 2, 3, 1).flags.c_contiguous  # channels-last, as the next conv reads it


# ---------------------------------------------------------------- Bernoulli log-likelihood
@given(st.lists(st.integers(1, 4), min_size=0, max_size=3), st.integers(0, 2**16), st.sampled_from([1.0, 4.0, 40.0]))
def test_fast_bernoulli_log_prob_equals_the_reading_path(shape, seed, scale):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal(shape) * scale          # up to |l| ~ 100: e^-|l| underflows, no harm
    x = rng.random(shape)                                # grey levels, not only 0 and 1
    fast, plain = tg.fast.distributions.bernoulli_log_prob, distributions.bernoulli_log_prob.reading
    # first order on arrays (no create_graph: the same bits), then first and second order in tensor ops
    assert_same_function(plain, fast, [logits, x], rtol=0, atol=0, second_order=False, seed=seed)
    assert_same_function(plain, fast, [logits, x], rtol=1e-12, atol=1e-14, seed=seed)


def test_fast_bernoulli_log_prob_values_and_gradient_are_bit_identical_in_float32():
    # the same bits, so a VAE trains the same on either tier (its recorded results reproduce)
    rng = np.random.default_rng(0)
    logits = np.concatenate([rng.standard_normal(1000) * 8, [0.0, -0.0, 90.0, -90.0, 1e-30, -20.0]]).astype("float32")
    x = (rng.random(logits.shape) < 0.5).astype("float32")
    x[:300] = rng.random(300)  # grey levels too
    upstream = tg.tensor(rng.standard_normal(logits.shape).astype("float32"))
    results = []
    for fn in (tg.fast.distributions.bernoulli_log_prob, distributions.bernoulli_log_prob.reading):
        lt = tg.tensor(logits, requires_grad=True)
        y = fn(lt, tg.tensor(x))
        (y * upstream).sum().backward()
        results.append((y.detach().numpy(), lt.grad.numpy()))
    (ours, our_grad), (theirs, their_grad) = results
    assert ours.dtype == theirs.dtype == our_grad.dtype == np.float32
    np.testing.assert_array_equal(ours.view("uint32"), theirs.view("uint32"))
    np.testing.assert_array_equal(our_grad.view("uint32"), their_grad.view("uint32"))


def test_fast_bernoulli_log_prob_takes_the_reading_path_for_other_dtypes():
    logits = tg.randn(3, 4, requires_grad=True)
    same, other = tg.ones(3, 4), tg.tensor(np.ones((3, 4), dtype="uint8"))
    assert type(tg.fast.distributions.bernoulli_log_prob(logits, same).creator).__name__ == "BernoulliLogProb"
    y = tg.fast.distributions.bernoulli_log_prob(logits, other)
    assert type(y.creator).__name__ == "Sub" and y.dtype == tg.float32  # l x - softplus(l), the reading path
    np.testing.assert_array_equal(y.detach().numpy(), distributions.bernoulli_log_prob.reading(logits, same).detach().numpy())


def test_fast_adam_counts_one_in_place_change_of_the_parameter():
    p = tg.tensor(np.ones((3, 2), dtype="float32"), requires_grad=True)
    opt, before = tg.optim.Adam([p], lr=0.1), p.version
    p.grad = tg.ones(3, 2)
    opt.step()
    assert p.version == before + 1


@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 3), (3,)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_fast_affine_equals_the_reading_path(shape, with_bias):
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(shape), rng.standard_normal((2, 3))] + ([rng.standard_normal(2)] if with_bias else [])
    assert_same_function(reading_linalg.affine.reading, tg.fast.linalg.affine, arrays)


def test_fast_affine_weight_gradient_is_a_fresh_contiguous_array():
    """dW = g^T x is computed in the weight's own layout, so nothing is copied into .grad."""
    w = tg.randn(3, 5, requires_grad=True)
    tg.fast.linalg.affine(tg.randn(8, 5), w).sum().backward()
    assert w.grad.array.flags.c_contiguous and w.grad.dtype == tg.float32


# ---------------------------------------------------------------- Adam
def _adam_trajectory(step_fn, values, grads, **kw):
    params = [tg.tensor(v.copy(), requires_grad=True) for v in values]
    opt = tg.optim.Adam(params, lr=0.1, **kw)
    original = reading_adam.adam_step
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = tg.tensor(g)
        reading_adam.adam_step = step_fn
        try:
            opt.step()
        finally:
            reading_adam.adam_step = original
    return [p.detach().numpy() for p in params]


def _adam_problem(dtype=np.float32):
    rng = np.random.default_rng(0)
    shapes = [(), (5,), (7, 3), (4, 3, 2)]
    values = [rng.standard_normal(s).astype(dtype) for s in shapes]
    values.append(np.asfortranarray(rng.standard_normal((6, 5)).astype(dtype)))  # column-major
    grads = [[rng.standard_normal(v.shape).astype(dtype) for v in values] for _ in range(4)]
    return values, grads


@pytest.mark.parametrize("kw", [dict(), dict(weight_decay=0.1, amsgrad=True), dict(maximize=True)])
def test_fast_adam_equals_the_reading_path(kw):
    # the same equations in another arithmetic order: equal to float32 rounding
    values, grads = _adam_problem()
    for fast, plain in zip(_adam_trajectory(fast_adam.adam_step, values, grads, **kw),
                           _adam_trajectory(reading_adam.adam_step.reading, values, grads, **kw)):
        np.testing.assert_allclose(fast, plain, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("split", [False, True])
@pytest.mark.parametrize("kw", [dict(), dict(weight_decay=0.1, amsgrad=True), dict(maximize=True)])
def test_fast_adam_in_blocks_of_rows_is_bit_identical_to_whole_arrays(monkeypatch, kw, split):
    # blocking only changes which values are in cache, never the arithmetic: the same bits, with the
    # blocks on one thread or shared over two (split_over_cores)
    values, grads = _adam_problem()
    monkeypatch.setattr(fast_adam, "BLOCK", 2)
    assert len(fast_adam._row_blocks((7, 3))) == 7  # one row of 3 values per block
    if split:
        monkeypatch.setattr(fast_adam, "SPLIT_BYTES", 0)
        tg.fast.parallel.split_over_cores(2)
    try:
        blocked = _adam_trajectory(fast_adam.adam_step, values, grads, **kw)
    finally:
        tg.fast.parallel.split_over_cores(1)
    monkeypatch.setattr(fast_adam, "BLOCK", 10**9)
    for a, b in zip(blocked, _adam_trajectory(fast_adam.adam_step, values, grads, **kw)):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- the switch and the registry
EQUALITY_TESTS = {
    "tinygen.ops.conv.convolve": test_fast_convolve_equals_the_reading_path,
    "tinygen.ops.conv.convolve_transpose": test_fast_convolve_transpose_equals_the_reading_path,
    "tinygen.nn.norm.normalize_groups": test_fast_group_norm_equals_the_reading_path,
    "tinygen.nn.norm.normalize_batch": test_fast_batch_norm_equals_the_reading_path,
    "tinygen.ops.activation.silu": test_fast_silu_equals_the_reading_path,
    "tinygen.ops.activation.leaky_relu": test_fast_leaky_relu_equals_the_reading_path,
    "tinygen.ops.linalg.affine": test_fast_affine_equals_the_reading_path,
    "tinygen.optim.adam.adam_step": test_fast_adam_equals_the_reading_path,
    "tinygen.distributions.bernoulli_log_prob": test_fast_bernoulli_log_prob_equals_the_reading_path,
    "tinygen.ops.elementwise.add": test_fast_add_equals_the_reading_path,
    "tinygen.ops.pool.repeat_pixels": test_fast_repeat_pixels_equals_the_reading_path,
}


def test_every_fast_kernel_has_an_equality_test():
    assert set(kernels.registered()) == set(EQUALITY_TESTS)


def test_the_switch_chooses_the_tier():
    x = tg.randn(3, 4, requires_grad=True)
    with tg.use_fast_kernels(False):
        assert not tg.fast_kernels_enabled()
        assert type(nn.functional.silu(x).creator).__name__ == "Mul"  # x * sigmoid(x)
        with tg.use_fast_kernels(True):
            assert type(nn.functional.silu(x).creator).__name__ == "SiLU"
        assert not tg.fast_kernels_enabled()


def test_environment_variable_turns_the_fast_tier_off():
    code = "import tinygen as tg; print(tg.fast_kernels_enabled())"
    env = {"TINYGEN_FAST_KERNELS": "0", "PATH": ""}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "False"


def test_import_changes_nothing_outside_tinygen():
    """No malloc tuning (no libc loaded through ctypes), no environment or thread-pool change."""
    code = """
import ctypes, os, numpy, threadpoolctl  # numpy first: its own BLAS pool is not tinygen's doing
env, pools = dict(os.environ), threadpoolctl.threadpool_info()
loaded = []
real_cdll = ctypes.CDLL
ctypes.CDLL = lambda *a, **k: loaded.append(a) or real_cdll(*a, **k)
import tinygen
assert not loaded, loaded
assert dict(os.environ) == env
assert [p["num_threads"] for p in threadpoolctl.threadpool_info()] == [p["num_threads"] for p in pools]
print("clean")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "clean", out.stderr


def test_keep_freed_memory_is_an_explicit_call_and_can_be_turned_off(monkeypatch):
    import ctypes.util

    glibc = sys.platform.startswith("linux") and (ctypes.util.find_library("c") or "").startswith("libc.so")
    assert memory.keep_freed_memory() is bool(glibc)  # mallopt accepted both settings
    monkeypatch.setenv("TINYGEN_KEEP_FREED_MEMORY", "0")
    assert memory.keep_freed_memory() is False

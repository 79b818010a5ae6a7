"""The autograd engine: accumulation, grad modes, graph release, higher order, in-place safety."""

import gc
import weakref

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygen as tg
from tinygen import autograd


def leaf(values, dtype=tg.float64):
    return tg.tensor(values, dtype=dtype, requires_grad=True)


# ---------------------------------------------------------------- accumulation
def test_a_tensor_used_twice_gets_both_gradients():
    x = leaf([1.0, -2.0, 3.0])
    (x * x).sum().backward()  # d(x^2)/dx = 2x
    np.testing.assert_allclose(x.grad.numpy(), [2.0, -4.0, 6.0])

    y = leaf([1.0, 2.0])
    (y + y).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [2.0, 2.0])


def test_diamond_graph_adds_both_paths():
    a = leaf([0.5, -1.5])
    b = a * 3.0  # a -> b
    c = a.exp()  # a -> c
    d = (b * c).sum()  # b, c -> d;  dd/da = 3 e^a + 3a e^a
    d.backward()
    av = np.array([0.5, -1.5])
    np.testing.assert_allclose(x_grad(a), 3 * np.exp(av) * (1 + av))


def x_grad(t):
    return t.grad.numpy()


def test_diamond_from_a_non_leaf_waits_for_both_paths():
    # z feeds the output directly and through exp/log: z - log(exp(z)) = 0, so the gradient is 0;
    # an engine that runs z's backward before exp's has sent it only half its gradient
    x = leaf([1.0, 2.0])
    z = x * 2.0
    (z - z.exp().log()).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.0], atol=1e-12)


def _random_dag(seed, x):
    """A random graph of ops in which intermediate nodes feed several later ones."""
    rng = np.random.default_rng(seed)
    nodes = [x]
    unary = [lambda a: a.tanh(), lambda a: a * 1.5, lambda a: (a * 0.5).exp(), lambda a: a.sigmoid()]
    binary = [lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a - b * 0.5]
    for _ in range(8):
        if rng.random() < 0.5:
            nodes.append(unary[rng.integers(len(unary))](nodes[rng.integers(len(nodes))]))
        else:
            i, j = rng.integers(len(nodes), size=2)
            nodes.append(binary[rng.integers(len(binary))](nodes[i], nodes[j]))
    return nodes[-1] + nodes[len(nodes) // 2] * 0.3


@given(st.integers(0, 10_000))
def test_random_graphs_with_shared_nodes_match_finite_differences(seed):
    assert tg.gradcheck(lambda x: _random_dag(seed, x), leaf([0.3, -0.4, 0.8]))


def test_gradients_accumulate_across_backward_calls():
    x = leaf([1.0, 2.0])
    (x * x).sum().backward()
    (x * 5.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0 + 5.0, 4.0 + 5.0])


def test_grad_after_plain_backward_has_no_graph():
    x = leaf([1.0, 2.0])
    (x.tanh() * x).sum().backward()
    assert isinstance(x.grad, tg.Tensor)
    assert x.grad.creator is None and not x.grad.requires_grad


def test_leaves_never_share_gradient_memory():
    # a + b hands the same gradient to both leaves, x.sum() a read-only broadcast view; optimisers
    # and clip_grad_norm_ change .grad in place, so each leaf must own its gradient
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (a + b).sum().backward()
    with tg.no_grad():
        a.grad.mul_(10.0)
    np.testing.assert_allclose(a.grad.numpy(), [10.0, 10.0])
    np.testing.assert_allclose(b.grad.numpy(), [1.0, 1.0])

    v = tg.tensor([1.0, 1.0], dtype=tg.float64)
    c = leaf([0.0, 0.0])
    (c + 1.0).backward(v)
    with tg.no_grad():
        c.grad.mul_(3.0)
    np.testing.assert_allclose(v.numpy(), [1.0, 1.0])  # the caller's gradient is left alone


def _sum_to(array, shape):
    """NumPy reference for undoing broadcasting: sum the copied axes away."""
    lead = array.ndim - len(shape)
    array = array.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and array.shape[i] != 1)
    return array.sum(axis=axes, keepdims=True)


@given(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3), st.integers(0, 2**32 - 1))
def test_broadcast_gradients_are_summed_back_to_each_input(shapes, seed):
    rng = np.random.default_rng(seed)
    (shape_a, shape_b), out_shape = shapes.input_shapes, shapes.result_shape
    a_np, b_np = rng.standard_normal(shape_a), rng.standard_normal(shape_b)
    v_np = rng.standard_normal(out_shape)
    a, b = leaf(a_np), leaf(b_np)
    ((a * b) * tg.tensor(v_np)).sum().backward()
    assert a.grad.shape == shape_a and b.grad.shape == shape_b
    np.testing.assert_allclose(a.grad.numpy(), _sum_to(np.broadcast_to(b_np, out_shape) * v_np, shape_a), atol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), _sum_to(np.broadcast_to(a_np, out_shape) * v_np, shape_b), atol=1e-12)


@given(st.lists(st.floats(-3, 3), min_size=1, max_size=6))
def test_a_tensor_used_k_times_gets_the_sum_of_its_uses(factors):
    x = leaf([0.7, -1.1])
    total = x * factors[0]
    for c in factors[1:]:
        total = total + x * c
    total.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [sum(factors)] * 2, atol=1e-12)


# ---------------------------------------------------------------- grad modes
def test_no_grad_context_and_decorator():
    x = leaf([1.0])
    with tg.no_grad():
        y = x * 2.0
    assert not y.requires_grad and y.creator is None

    @tg.no_grad()
    def double(t):
        return t * 2.0

    assert not double(x).requires_grad
    assert tg.is_grad_enabled()
    assert (x * 2.0).requires_grad


def test_recursive_no_grad_function_restores_grad_mode():
    @tg.no_grad()
    def depth(n):
        return depth(n - 1) if n else tg.is_grad_enabled()

    assert depth(3) is False
    assert tg.is_grad_enabled()


def test_enable_grad_inside_no_grad():
    x = leaf([1.0])
    with tg.no_grad():
        with tg.enable_grad():
            y = x * 2.0
        z = x * 2.0
    assert y.requires_grad and not z.requires_grad


def test_set_grad_enabled_as_context_and_as_call():
    x = leaf([1.0])
    with tg.set_grad_enabled(False):
        assert not (x * 2.0).requires_grad
    assert (x * 2.0).requires_grad
    try:
        tg.set_grad_enabled(False)  # like torch: a plain call switches the mode
        assert not tg.is_grad_enabled()
    finally:
        tg.set_grad_enabled(True)
    assert tg.is_grad_enabled()


def test_detach_stops_gradients():
    x = leaf([2.0, 3.0])
    y = x * x.detach()  # only the first factor is differentiated
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 3.0])
    assert x.detach().requires_grad is False


def test_requires_grad_propagation():
    a = tg.tensor([1.0])
    b = leaf([1.0], dtype=tg.float32)
    assert not (a * 2.0).requires_grad
    assert (a + b).requires_grad and (a + b).creator is not None
    assert (b + a).requires_grad


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(RuntimeError, match="floating-point.*int64"):
        tg.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="floating-point"):
        tg.arange(3).requires_grad_()


# ---------------------------------------------------------------- retain_graph and release
def test_second_backward_needs_retain_graph():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward_that_doubles_grad():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)


def _graph_with_intermediate():
    x = leaf([0.5, 1.0, 1.5])
    y = x * 2.0
    loss = (y * y).sum()  # Mul saves y for its backward
    return x, loss, weakref.ref(y), weakref.ref(y.array), loss.creator


def test_backward_releases_saved_tensors():
    x, loss, y_ref, y_data_ref, fn = _graph_with_intermediate()
    assert y_ref() is not None  # alive: the graph holds it
    loss.backward()
    gc.collect()
    assert y_ref() is None and y_data_ref() is None
    assert fn.inputs is None
    np.testing.assert_allclose(x.grad.numpy(), 8 * np.array([0.5, 1.0, 1.5]))  # d(4x^2)/dx


def test_retain_graph_keeps_saved_tensors():
    x, loss, y_ref, y_data_ref, fn = _graph_with_intermediate()
    loss.backward(retain_graph=True)
    gc.collect()
    assert y_ref() is not None and y_data_ref() is not None
    assert fn.inputs is not None


def test_backward_reads_outputs_that_only_the_graph_holds():
    # Exp's backward reads its output, referenced only by the Sum that consumed it
    x = leaf([0.1, 0.2])
    loss = x.exp().tanh().sum()
    loss.backward()
    t = np.tanh(np.exp([0.1, 0.2]))
    np.testing.assert_allclose(x.grad.numpy(), (1 - t**2) * np.exp([0.1, 0.2]))


# ---------------------------------------------------------------- higher order
def test_plain_backward_builds_no_graph_and_create_graph_does():
    x = leaf([1.0, 2.0])
    (x**3).sum().backward()
    assert x.grad.creator is None

    z = leaf([1.0, 2.0])
    (z**3).sum().backward(create_graph=True)
    assert z.grad.requires_grad and z.grad.creator is not None
    np.testing.assert_allclose(z.grad.detach().numpy(), [3.0, 12.0])


def test_second_derivative_of_cube_is_6x():
    x = leaf([-1.0, 0.5, 2.0])
    (g,) = tg.grad((x**3).sum(), x, create_graph=True)
    (h,) = tg.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), 6 * np.array([-1.0, 0.5, 2.0]))


def test_second_derivative_of_tanh():
    xv = np.array([-1.2, 0.0, 0.7])
    x = leaf(xv)
    x.tanh().sum().backward(create_graph=True)
    g = x.grad
    x.grad = None
    g.sum().backward()
    t = np.tanh(xv)
    np.testing.assert_allclose(x.grad.numpy(), -2 * t * (1 - t**2), rtol=1e-12)  # tanh'' = -2 tanh tanh'


def test_hessian_vector_product_of_quadratic_form():
    rng = np.random.default_rng(1)
    m = rng.standard_normal((3, 3))
    a_np = m + m.T
    a = tg.tensor(a_np)
    x = leaf(rng.standard_normal(3))
    v = tg.tensor(rng.standard_normal(3))
    f = (x @ (a @ x)) * 0.5  # grad = A x, Hessian = A
    (g,) = tg.grad(f, x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), a_np @ x.detach().numpy(), rtol=1e-12)
    (hv,) = tg.grad((g * v).sum(), x)
    np.testing.assert_allclose(hv.numpy(), a_np @ v.numpy(), rtol=1e-12)


def test_grad_returns_tuple_and_leaves_dot_grad_alone():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    result = tg.grad((x * w).sum(), [x, w])
    assert isinstance(result, tuple) and len(result) == 2
    np.testing.assert_allclose(result[0].numpy(), [3.0, 4.0])
    np.testing.assert_allclose(result[1].numpy(), [1.0, 2.0])
    assert x.grad is None and w.grad is None


def test_grad_with_respect_to_a_non_leaf():
    x = leaf([1.0, 2.0])
    y = x * 2.0
    z = (y * y).sum()
    (gy,) = tg.grad(z, y)
    np.testing.assert_allclose(gy.numpy(), [4.0, 8.0])  # 2y
    assert x.grad is None


def test_grad_allow_unused():
    x, unused = leaf([1.0]), leaf([2.0])
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        tg.grad((x * 2.0).sum(), [x, unused])
    gx, gu = tg.grad((x * 2.0).sum(), [x, unused], allow_unused=True)
    np.testing.assert_allclose(gx.numpy(), [2.0])
    assert gu is None


def test_grad_outputs_weights_a_non_scalar_output():
    x = leaf([1.0, 2.0, 3.0])
    v = tg.tensor([1.0, -1.0, 0.5], dtype=tg.float64)
    (g,) = tg.grad(x * x, x, grad_outputs=v)
    np.testing.assert_allclose(g.numpy(), 2 * np.array([1.0, 2.0, 3.0]) * v.numpy())


def _mlp_gradient_penalty(w1, b1, w2, x):
    """((|d f / d x| - 1)^2).mean() for f = tanh(x W1 + b1) W2, the WGAN-GP penalty."""
    x = x.detach().requires_grad_()
    out = ((x @ w1 + b1).tanh() @ w2).sum()
    (gx,) = tg.grad(out, x, create_graph=True)
    norm = ((gx * gx).sum(1) + 1e-12).sqrt()
    return ((norm - 1.0) ** 2).mean()


def test_gradient_penalty_matches_finite_differences():
    rng = np.random.default_rng(2)
    w1 = leaf(rng.standard_normal((3, 4)))
    b1 = leaf(rng.standard_normal(4) * 0.1)
    w2 = leaf(rng.standard_normal((4, 1)))
    x = tg.tensor(rng.standard_normal((5, 3)))
    assert tg.gradcheck(lambda a, b, c: _mlp_gradient_penalty(a, b, c, x), (w1, b1, w2))
    penalty = _mlp_gradient_penalty(w1, b1, w2, x)
    penalty.backward()
    assert w1.grad.shape == (3, 4) and float(w1.grad.abs().sum()) > 0


def test_gradient_penalty_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal((4, 1))]
    x_np = rng.standard_normal((5, 3))
    ours = [leaf(a) for a in arrays]
    _mlp_gradient_penalty(*ours, tg.tensor(x_np)).backward()

    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    xt = torch.tensor(x_np, requires_grad=True)
    out = (torch.tanh(xt @ theirs[0] + theirs[1]) @ theirs[2]).sum()
    (gx,) = torch.autograd.grad(out, xt, create_graph=True)
    (((gx * gx).sum(1) + 1e-12).sqrt() - 1.0).pow(2).mean().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- backward errors
def test_backward_of_non_scalar_needs_a_gradient():
    y = leaf([1.0, 2.0]) * 2.0
    with pytest.raises(RuntimeError, match=r"shape \(2,\).*gradient="):
        y.backward()


def test_backward_on_a_tensor_without_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tg.tensor([1.0, 2.0]).sum().backward()


def test_backward_gradient_of_the_wrong_shape():
    y = leaf([1.0, 2.0]) * 2.0
    with pytest.raises(RuntimeError, match=r"\(3,\).*\(2,\)"):
        y.backward(tg.ones(3, dtype=tg.float64))


# ---------------------------------------------------------------- in-place safety
def test_inplace_on_an_output_saved_for_backward_is_caught():
    x = leaf([0.0, 1.0])
    y = x.exp()  # Exp saves its output
    y.mul_(2.0)
    with pytest.raises(RuntimeError, match="Exp.*modified in place"):
        y.sum().backward()


def test_inplace_on_an_input_saved_for_backward_is_caught():
    x = leaf([1.0, 2.0])
    y = x * 2.0
    z = (y * y).sum()  # Mul saves y
    with tg.no_grad():
        y.mul_(2.0)
    with pytest.raises(RuntimeError, match="Mul needs input 0 of shape .*modified in place"):
        z.backward()


def test_inplace_on_an_unsaved_output_is_not_silently_wrong():
    # nothing saves y here, but its gradient formula (3) no longer describes y = 6x
    x = leaf([1.0, 2.0])
    y = x * 3.0
    y.mul_(2.0)
    with pytest.raises(RuntimeError, match="Mul: its output .*modified in place"):
        y.sum().backward()


def test_inplace_on_a_leaf_requiring_grad():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="mul_.*leaf.*no_grad"):
        x.mul_(2.0)
    assert x.version == 0
    y = (x * x).sum()
    with tg.no_grad():
        x.mul_(2.0)
        x.add_(tg.ones(2, dtype=tg.float64), alpha=0.5)
    np.testing.assert_allclose(x.detach().numpy(), [2.5, 4.5])
    assert x.version == 2
    with pytest.raises(RuntimeError, match="Mul needs input"):
        y.backward()


def test_inplace_write_of_a_value_that_requires_grad_is_refused():
    x = leaf([1.0, 2.0])
    buffer = tg.zeros(2, dtype=tg.float64)
    with pytest.raises(RuntimeError, match="__setitem__.*requires grad"):
        buffer[0] = x[0]
    with pytest.raises(RuntimeError, match="copy_.*requires grad"):
        buffer.copy_(x)
    buffer[0] = x[0].detach()
    assert buffer.tolist() == [1.0, 0.0]


# ---------------------------------------------------------------- device mixing
def test_mixing_devices_names_the_op_and_both_devices(monkeypatch):
    # without a GPU, pretend: CuPy "loaded", and b's array reported as living on "cuda"
    a, b, column = (tg.tensor(v, device="cpu") for v in ([1.0, 2.0], [3.0, 4.0], [[3.0], [4.0]]))
    on_gpu = {id(b.array), id(column.array)}
    real_device_of = tg.backend.device_of
    monkeypatch.setattr(tg.backend, "gpu_in_use", lambda: True)
    monkeypatch.setattr(tg.backend, "device_of", lambda arr: "cuda" if id(arr) in on_gpu else real_device_of(arr))
    assert b.device == "cuda" and a.device == "cpu"
    with pytest.raises(tg.DeviceError, match=r"Add: expected all tensors on one device, got cpu and cuda.*\.to\("):
        a + b
    with pytest.raises(tg.DeviceError, match="MatMul"):
        a.reshape(1, 2) @ column
    np.testing.assert_allclose((a + a).numpy(), [2.0, 4.0])  # one device: fine


def test_check_same_device_accepts_one_device():
    tensors = [tg.tensor([1.0]), tg.tensor([2.0])]
    autograd._check_same_device("Add", tensors)  # no error

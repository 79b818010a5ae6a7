"""The Tensor API a PyTorch user reaches for: creation, dtypes, conversion, shape errors."""

import functools

import numpy as np
import pytest

import tinygen as tg


# ---------------------------------------------------------------- dtype defaults
@pytest.mark.parametrize(
    "data, dtype",
    [
        (1.5, tg.float32),
        ([1.0, 2.0], tg.float32),
        ([[1, 2.5]], tg.float32),
        (3, tg.int64),
        ([1, 2], tg.int64),
        ([True, False], tg.bool_),
        (np.zeros(2), tg.float64),  # a NumPy array keeps its dtype
        (np.zeros(2, dtype=np.float32), tg.float32),
        (np.arange(3, dtype=np.int32), tg.int32),
        (np.float64(1.0), tg.float64),  # so does a NumPy scalar
    ],
)
def test_tensor_dtype_defaults(data, dtype):
    assert tg.tensor(data).dtype == dtype


def test_tensor_explicit_dtype_and_copy_of_a_tensor():
    t = tg.tensor([1, 2], dtype=tg.float64)
    assert t.dtype == tg.float64 and t.tolist() == [1.0, 2.0]
    assert tg.tensor(t).dtype == tg.float64


# ---------------------------------------------------------------- creation
def test_filled_creators():
    z = tg.zeros(2, 3)
    assert z.shape == (2, 3) and z.dtype == tg.float32 and z.numpy().sum() == 0
    assert tg.zeros((2, 3)).shape == (2, 3)
    o = tg.ones(4, dtype=tg.float64)
    assert o.dtype == tg.float64 and o.tolist() == [1.0] * 4
    f = tg.full((2,), 7.0)
    assert f.dtype == tg.float32 and f.tolist() == [7.0, 7.0]
    e = tg.eye(3)
    np.testing.assert_array_equal(e.numpy(), np.eye(3, dtype=np.float32))
    like = tg.zeros_like(tg.ones(2, 2, dtype=tg.float64))
    assert like.shape == (2, 2) and like.dtype == tg.float64 and like.numpy().sum() == 0
    assert tg.ones_like(tg.zeros(3)).tolist() == [1.0] * 3
    assert tg.zeros(2, requires_grad=True).requires_grad


def test_ranges():
    a = tg.arange(5)
    assert a.dtype == tg.int64 and a.tolist() == [0, 1, 2, 3, 4]
    b = tg.arange(0.0, 1.0, 0.25)
    assert b.dtype == tg.float32 and b.tolist() == [0.0, 0.25, 0.5, 0.75]
    assert tg.arange(2, 8, 3).tolist() == [2, 5]
    lin = tg.linspace(0, 1, 5)
    assert lin.dtype == tg.float32
    np.testing.assert_allclose(lin.numpy(), [0.0, 0.25, 0.5, 0.75, 1.0])


def test_random_creators_shapes_dtypes_ranges():
    assert tg.randn(3, 4).shape == (3, 4) and tg.randn(2).dtype == tg.float32
    assert tg.randn(2, dtype=tg.float64).dtype == tg.float64
    u = tg.rand(1000).numpy()
    assert u.min() >= 0.0 and u.max() < 1.0 and 0.4 < u.mean() < 0.6
    n = tg.randn(2000).numpy()
    assert abs(n.mean()) < 0.1 and 0.9 < n.std() < 1.1
    r = tg.randint(2, 5, (200,))
    assert r.dtype == tg.int64 and set(r.tolist()) == {2, 3, 4}


def test_manual_seed_is_reproducible_bit_for_bit():
    def draw():
        return tg.randn(5).numpy(), tg.rand(3).numpy(), tg.randint(0, 100, (4,)).numpy()

    tg.manual_seed(123)
    first = draw()
    tg.manual_seed(123)
    second = draw()
    for a, b in zip(first, second):
        assert a.tobytes() == b.tobytes()
    tg.manual_seed(124)
    assert tg.randn(5).numpy().tobytes() != first[0].tobytes()


# ---------------------------------------------------------------- conversion and properties
def test_properties():
    t = tg.zeros(2, 3, 4)
    assert t.shape == (2, 3, 4) and t.ndim == 3 and t.dtype == tg.float32 and t.device == tg.get_default_device()
    assert t.numel() == 24 and t.size() == (2, 3, 4) and t.size(1) == 3
    assert len(t) == 2
    with pytest.raises(TypeError, match="0-d"):
        len(tg.tensor(1.0))


def test_numpy_and_item():
    t = tg.tensor([[1.0, 2.0]])
    assert isinstance(t.numpy(), np.ndarray) and t.numpy().tolist() == [[1.0, 2.0]]
    assert tg.tensor([[3.5]]).item() == 3.5 and isinstance(tg.tensor(2).item(), int)
    with pytest.raises(ValueError, match=r"item\(\).*\(1, 2\)"):
        t.item()
    x = tg.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        x.numpy()
    assert x.detach().numpy().tolist() == [1.0]


def test_to_dtype_is_differentiable():
    x = tg.tensor([1.5, 2.5], requires_grad=True)
    y = x.to(tg.float64)
    assert y.dtype == tg.float64
    assert x.to(dtype=tg.float64).dtype == tg.float64
    assert x.double().dtype == tg.float64 and x.float() is x
    assert tg.tensor([1.7]).long().tolist() == [1]
    (y * y).sum().backward()
    assert x.grad.dtype == tg.float32
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 5.0])
    assert x.to(x.device) is x


def test_detach_shares_memory_and_clone_copies():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.array is x.array
    c = x.clone()
    assert c.requires_grad and c.creator is not None and c.array is not x.array
    (c * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_transpose_property():
    a = tg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert a.T.shape == (3, 2) and a.T.tolist() == [[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]
    assert tg.zeros(2, 3, 4).T.shape == (4, 3, 2)


def test_max_with_dim_returns_values_and_indices():
    a = tg.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    values, indices = a.max(1)
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]
    assert a.max(dim=0).indices.tolist() == [1, 0, 1]
    assert a.max().item() == 7.0 and a.min(1).values.tolist() == [1.0, 0.0]
    assert indices.dtype == tg.int64


def test_comparisons_give_bool_tensors():
    a = tg.tensor([1.0, 2.0, 3.0])
    for result, expected in [
        (a > 1.5, [False, True, True]),
        (a <= 2.0, [True, True, False]),
        (a == tg.tensor([1.0, 0.0, 3.0]), [True, False, True]),
        (a != 2.0, [True, False, True]),
    ]:
        assert result.dtype == tg.bool_ and result.tolist() == expected
    assert ((a > 1.5) & (a < 2.5)).tolist() == [False, True, False]
    assert (~(a > 1.5)).tolist() == [True, False, False]


def test_repr():
    cpu = functools.partial(tg.tensor, device="cpu")  # a GPU tensor adds device='cuda' (test_gpu_path.py)
    assert repr(cpu([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(cpu([1, 2])) == "tensor([1, 2])"
    assert repr(cpu([1.0], dtype=tg.float64)) == "tensor([1.], dtype=float64)"
    assert repr(cpu([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    assert repr(cpu([1.0], requires_grad=True) * 2.0) == "tensor([2.], grad_fn=Mul)"


def test_tensor_as_dict_key_by_identity():
    a, b = tg.tensor([1.0]), tg.tensor([1.0])
    d = {a: "a", b: "b"}
    assert d[a] == "a" and d[b] == "b" and len(d) == 2


# ---------------------------------------------------------------- errors name the op and the shapes
@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: tg.zeros(2, 3) + tg.zeros(4, 3), r"add: shapes \(2, 3\) and \(4, 3\)"),
        (lambda: tg.zeros(2, 3) * tg.zeros(2, 4), r"mul: shapes \(2, 3\) and \(2, 4\)"),
        (lambda: tg.zeros(2, 3) @ tg.zeros(4, 3), r"matmul: shapes \(2, 3\) and \(4, 3\)"),
        (lambda: tg.zeros(2, 3).reshape(4, 2), r"reshape: .*shape \(2, 3\).*\(4, 2\)"),
        (lambda: tg.cat([tg.zeros(2, 3), tg.zeros(2, 4)]), r"cat: .*\(2, 4\).*\(2, 3\)"),
    ],
)
def test_shape_errors_name_the_op_and_both_shapes(make, message):
    with pytest.raises(ValueError, match=message):
        make()

"""No silent wrong answer: changes through aliases, arrays that belong to the caller, numbers at the edges.

Every view-making op shares its input's version counter (PyTorch's rule), so an in-place change
made through any alias is seen by every op that saved the memory for backward, which then
refuses to run instead of returning wrong gradients.
"""

import math

import numpy as np
import pytest

import tinygen as tg
from tinygen import nn

VIEWS = {
    "reshape": lambda b: b.reshape(-1),
    "view": lambda b: b.view(2, 2),
    "slice": lambda b: b[0],
    "slice of all": lambda b: b[:],
    "transpose": lambda b: b.transpose(0, 1),
    "permute": lambda b: b.permute(1, 0),
    "T": lambda b: b.T,
    "unsqueeze": lambda b: b.unsqueeze(0),
    "squeeze": lambda b: b.unsqueeze(0).squeeze(0),
    "flatten": lambda b: b.flatten(),
    "detach": lambda b: b.detach(),
    "data": lambda b: b.data,
    "chain": lambda b: b.detach().T.T.reshape(-1)[1:],
}


@pytest.mark.parametrize("make_alias", VIEWS.values(), ids=VIEWS.keys())
def test_in_place_change_through_an_alias_is_refused_at_backward(make_alias):
    a = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    b = a * 1.0
    e = (b * b).sum()  # Mul saved b
    alias = make_alias(b)
    assert alias.version_counter is b.version_counter
    with tg.no_grad():
        alias.mul_(10.0)
    with pytest.raises(RuntimeError, match="modified in place"):
        e.backward()


def test_expand_shares_the_counter_and_refuses_writes():
    b = tg.tensor([[1.0], [2.0]]) * 1.0
    wide = b.expand(2, 3)
    assert wide.version_counter is b.version_counter
    with pytest.raises(ValueError, match="read-only"):  # NumPy's broadcast views cannot be written
        wide.mul_(2.0)


def test_detached_output_changed_in_place_is_refused():
    x = tg.tensor([0.0, 1.0], requires_grad=True)
    y = x.exp()  # Exp's backward reads its output
    y.detach().mul_(0.0)
    with pytest.raises(RuntimeError, match="Exp: its output"):
        y.sum().backward()


def test_copies_do_not_share_the_counter():
    a = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    b = a * 1.0
    e = (b * b).sum()
    copied = b.T.reshape(-1)  # a transposed array cannot be reshaped in place: NumPy copies
    integer_indexed = b[[0, 1], [1, 0]]  # integer-array indexing copies
    for c in (copied, integer_indexed, b.clone()):
        assert c.version_counter is not b.version_counter
        with tg.no_grad():
            c.mul_(10.0)
    e.backward()
    np.testing.assert_allclose(a.grad.numpy(), 2 * a.detach().numpy())


def test_tensor_copies_the_callers_array_and_from_numpy_shares_it():
    array = np.array([1.0, 2.0], dtype=np.float32)
    t = tg.tensor(array, requires_grad=True)
    p = nn.Parameter(array)
    opt = tg.optim.SGD([t, p], lr=1.0)
    t.grad, p.grad = tg.ones(2), tg.ones(2)
    opt.step()
    np.testing.assert_array_equal(array, [1.0, 2.0])  # the optimiser did not write into it
    shared = tg.from_numpy(array)
    shared.add_(1.0)
    np.testing.assert_array_equal(array, [2.0, 3.0])
    with pytest.raises(TypeError, match="from_numpy: expected a numpy.ndarray"):
        tg.from_numpy([1.0])


def test_parameter_of_a_tensor_aliases_it_as_in_pytorch():
    t = tg.zeros(3)
    p = nn.Parameter(t)
    assert p.array is t.array and p.version_counter is t.version_counter and p.requires_grad


@pytest.mark.parametrize("combine", [lambda a, b: a + b, lambda a, b: tg.cat([a, b]), lambda a, b: a * b])
def test_a_float32_leaf_gets_a_float32_grad(combine):
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    b = tg.tensor([3.0, 4.0], dtype=tg.float64, requires_grad=True)
    combine(a, b).sum().backward()
    assert a.grad.dtype == tg.float32 and b.grad.dtype == tg.float64


def test_logsumexp_of_minus_infinity_is_minus_infinity():
    x = tg.tensor([[-math.inf, -math.inf], [0.0, 1.0], [math.inf, 0.0]])
    got = x.logsumexp(1).numpy()
    assert got[0] == -math.inf and got[2] == math.inf
    np.testing.assert_allclose(got[1], np.log(1 + np.e), rtol=1e-6)


def test_power_zero_has_gradient_zero_at_zero():
    x = tg.tensor([0.0, 2.0, -1.0], requires_grad=True)
    (x**0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 0.0])


@pytest.mark.parametrize("lr", [math.nan, math.inf, -1e-3])
@pytest.mark.parametrize("make", [tg.optim.SGD, tg.optim.Adam, tg.optim.AdamW])
def test_optimisers_refuse_a_bad_learning_rate(make, lr):
    with pytest.raises(ValueError, match="lr"):
        make([tg.zeros(2, requires_grad=True)], lr=lr)
    opt = make([tg.zeros(2, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        opt.add_param_group({"params": [tg.zeros(2, requires_grad=True)], "lr": lr})


def test_load_state_dict_refuses_state_that_does_not_fit_and_changes_nothing():
    p = tg.zeros(2, requires_grad=True)
    opt = tg.optim.Adam([p], lr=0.1)
    p.grad = tg.ones(2)
    opt.step()
    saved = opt.state_dict()
    q = tg.zeros(3, requires_grad=True)
    other = tg.optim.Adam([q], lr=0.5)
    with pytest.raises(ValueError, match=r"'exp_avg' of parameter 0 has shape \(2,\).*shape \(3,\)"):
        other.load_state_dict(saved)
    assert other.param_groups[0]["lr"] == 0.5 and not other.state  # refused before anything changed
    bad_lr = {**saved, "param_groups": [{**saved["param_groups"][0], "lr": math.nan}]}
    with pytest.raises(ValueError, match="lr"):
        tg.optim.Adam([tg.zeros(2, requires_grad=True)]).load_state_dict(bad_lr)

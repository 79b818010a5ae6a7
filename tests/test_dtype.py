"""dtype discipline: a float32 computation stays float32 everywhere, gradients included.

Under NumPy 2 a Python float keeps a float32 array float32, but a NumPy float64 scalar or a
0-d float64 array silently promotes it to float64 (and doubles the step time). These tests
record the dtype of every array the engine wraps in a Tensor, forward and backward.
"""

import numpy as np
import pytest

import tinygen as tg
import tinygen.nn.functional as F


@pytest.fixture
def made_dtypes(monkeypatch):
    """Every floating dtype that Tensor.wrap sees (each op's result, each constant)."""
    seen = []
    original = tg.Tensor.wrap.__func__

    def recording_wrap(cls, data, requires_grad=False):
        t = original(cls, data, requires_grad)
        if t.dtype.kind == "f":
            seen.append(t.dtype)
        return t

    monkeypatch.setattr(tg.Tensor, "wrap", classmethod(recording_wrap))
    return seen


def _every_op_family(x, w, b):
    """A float32 forward touching every op family; returns a scalar."""
    h = x @ w + b  # linalg, broadcasting add
    h = F.relu(h) + F.leaky_relu(h, 0.1) + F.sigmoid(h) + F.tanh(h) + F.softplus(h) + F.silu(h) + F.gelu(h)
    h = h - h.mean(dim=0, keepdim=True)  # reductions
    h = h / (h.var(dim=0, keepdim=True) + 1e-5).sqrt() + h.std()
    h = h * 0.5 - 1.0 / (h.abs() + 2.0) + h ** 2 + (h * 0.1).exp().log() + 2.0 ** (h * 0.1)
    h = tg.maximum(h, h * 0.3) + h.minimum(0.2) + h.clamp(-1.0, 1.0)
    h = tg.where(h > 0, h, h * 0.01)
    h = F.softmax(h, dim=-1) + F.log_softmax(h, dim=-1) + h.logsumexp(-1, keepdim=True)
    h = h + h.amax(dim=1, keepdim=True) + h.max()
    picked = h[1:, 1::2] + h[[0, 2, 2]][:, :2] + h[h > 0].sum()  # indexing: slice, array, mask
    joined = tg.cat([picked, picked * 2.0], dim=1)
    joined = tg.stack([joined, joined], dim=0).permute(1, 0, 2).reshape(3, -1).T
    padded = F.pad(joined, (1, 1, 0, 2), value=0.5)
    loss = F.binary_cross_entropy_with_logits(padded, (padded > 0.6).to(tg.float32))
    return loss + padded.expand(2, *padded.shape).sum() * 1e-3


def _inputs():
    x = tg.randn(4, 3, requires_grad=True)
    w = tg.randn(3, 5, requires_grad=True)
    b = tg.randn(5, requires_grad=True)
    return x, w, b


def test_forward_and_backward_stay_float32(made_dtypes):
    x, w, b = _inputs()
    loss = _every_op_family(x, w, b)
    assert loss.dtype == tg.float32 and np.isfinite(loss.item())
    forward_count = len(made_dtypes)
    loss.backward()
    assert len(made_dtypes) > forward_count  # the backward ran ops and they were recorded
    for t in (x, w, b):
        assert t.grad.dtype == tg.float32
    assert set(made_dtypes) == {np.dtype("float32")}


def test_create_graph_stays_float32(made_dtypes):
    x, w, b = _inputs()
    loss = _every_op_family(x, w, b)
    gx, gw = tg.grad(loss, [x, w], create_graph=True)
    assert gx.dtype == gw.dtype == tg.float32
    penalty = (gx * gx).sum() + (gw * gw).mean()
    penalty.backward()
    for t in (x, w, b):
        assert t.grad.dtype == tg.float32
    assert set(made_dtypes) == {np.dtype("float32")}


def test_the_recorder_catches_a_float64_constant(made_dtypes):
    # the check above must be able to fail: one NumPy float64 scalar is enough
    x = tg.randn(3, requires_grad=True)
    y = x * tg.tensor(np.sqrt(np.array(2.0)))  # a float64 array keeps its dtype
    assert y.dtype == tg.float64
    assert np.dtype("float64") in made_dtypes


def test_python_and_numpy_number_operands_keep_float32():
    x = tg.randn(3)
    for y in (x * 2, x + 0.5, 1.0 - x, x / 3, 2.0 ** x, x ** 2, x * np.float64(1.5), np.float32(2.0) * x):
        assert y.dtype == tg.float32


def test_float32_constants_in_creation():
    for t in (tg.zeros(2), tg.ones(2), tg.full((2,), 0.1), tg.rand(2), tg.randn(2), tg.linspace(0, 1, 3),
              tg.arange(0.0, 1.0, 0.5), tg.eye(2), tg.tensor(0.1), tg.tensor([0.1, 2])):
        assert t.dtype == tg.float32

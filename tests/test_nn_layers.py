"""Each layer: forward against NumPy, gradients (and second derivatives) by finite differences."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygen as tg
from tinygen import nn
from tinygen.nn import init


def t64(array, requires_grad=True):
    return tg.tensor(np.asarray(array, dtype=np.float64), requires_grad=requires_grad)


def check_layer(layer, x, second_order=False, reseed=False):
    """gradcheck (and gradgradcheck) of a float64 layer w.r.t. its input AND all its parameters."""
    layer.double()
    params = list(layer.parameters())

    def run(x, *params):
        if reseed:  # Dropout: the same mask on every evaluation
            tg.manual_seed(0)
        return layer(x)

    run.__name__ = type(layer).__name__
    assert tg.gradcheck(run, (x, *params))
    if second_order:
        assert tg.gradgradcheck(run, (x, *params))


def np_normalize(x, axes, eps=1e-5):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


# ---------------------------------------------------------------- Linear and shape layers
def test_linear_forward_matches_numpy():
    layer = nn.Linear(3, 2)
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    np.testing.assert_allclose(layer(tg.tensor(x)).detach().numpy(), x @ w.T + b, rtol=1e-6)
    y = layer(tg.tensor(x[None].repeat(2, 0)))  # leading batch dimensions pass through
    assert y.shape == (2, 4, 2) and y.dtype == tg.float32


def test_linear_default_init_is_pytorchs():
    layer = nn.Linear(100, 50)
    bound = 1 / math.sqrt(100)
    w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert abs(w.var() - bound**2 / 3) < 0.1 * bound**2 / 3  # U(-b, b) has variance b^2 / 3
    assert nn.Linear(3, 2, bias=False).bias is None


def test_linear_gradients_first_and_second_order():
    check_layer(nn.Linear(3, 2), t64(np.random.default_rng(1).standard_normal((2, 3))), second_order=True)
    check_layer(nn.Linear(2, 2, bias=False), t64(np.random.default_rng(2).standard_normal((2, 1, 2))))


def test_linear_rejects_wrong_input_size():
    with pytest.raises(ValueError, match=r"linear: expected input whose last dimension is in_features=3 .*got input of shape \(2, 4\)"):
        nn.Linear(3, 1)(tg.zeros(2, 4))


def test_flatten_unflatten_identity():
    x = tg.randn(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    assert nn.Unflatten(1, (3, 20))(nn.Flatten()(x)).shape == (2, 3, 20)
    assert nn.Identity(7, any=1)(x) is x


# ---------------------------------------------------------------- activations
ACTIVATIONS = [
    (nn.ReLU(), lambda x: np.maximum(x, 0)),
    (nn.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    (nn.SiLU(), lambda x: x / (1 + np.exp(-x))),
    (nn.GELU(approximate="tanh"), lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))),
    (nn.GELU(), lambda x: 0.5 * x * (1 + np.vectorize(math.erf)(x / np.sqrt(2)))),
    (nn.Tanh(), np.tanh),
    (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    (nn.Softplus(), lambda x: np.log1p(np.exp(x))),
    (nn.Softplus(beta=2.0), lambda x: np.log1p(np.exp(2 * x)) / 2),
]


@pytest.mark.parametrize("layer, reference", ACTIVATIONS, ids=lambda v: repr(v) if isinstance(v, nn.Module) else "")
def test_activation_modules(layer, reference):
    x = np.array([[-2.0, -0.7, 0.3], [0.9, 1.6, -3.1]])  # away from ReLU's kink at 0
    np.testing.assert_allclose(layer(t64(x, False)).numpy(), reference(x), rtol=1e-10, atol=1e-12)
    check_layer(layer, t64(x), second_order=True)


def test_softmax_modules():
    x = np.array([[1.0, 2.0, 0.5]])
    e = np.exp(x - x.max())
    np.testing.assert_allclose(nn.Softmax(dim=1)(t64(x, False)).numpy(), e / e.sum(), rtol=1e-12)
    np.testing.assert_allclose(nn.LogSoftmax(dim=1)(t64(x, False)).numpy(), np.log(e / e.sum()), rtol=1e-12)


# ---------------------------------------------------------------- BatchNorm
def test_batchnorm_train_forward_and_running_stats_match_numpy():
    rng = np.random.default_rng(0)
    bn = nn.BatchNorm2d(3)
    with tg.no_grad():
        bn.weight.copy_(np.array([1.0, 2.0, 0.5], np.float32))
        bn.bias.copy_(np.array([0.0, -1.0, 3.0], np.float32))
    mean, var = np.zeros(3), np.ones(3)
    for _ in range(3):
        x = (rng.standard_normal((4, 3, 2, 2)) * 2 + 1).astype(np.float32)
        y = bn(tg.tensor(x)).detach().numpy()
        expected = np_normalize(x, (0, 2, 3)) * np.array([1, 2, 0.5]).reshape(1, 3, 1, 1) + np.array([0, -1, 3]).reshape(1, 3, 1, 1)
        np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5)
        mean = 0.9 * mean + 0.1 * x.mean(axis=(0, 2, 3))
        var = 0.9 * var + 0.1 * x.var(axis=(0, 2, 3), ddof=1)  # the running estimate is unbiased
    np.testing.assert_allclose(bn.running_mean.numpy(), mean, rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(), var, rtol=1e-5)
    assert int(bn.num_batches_tracked) == 3 and bn.running_mean.dtype == tg.float32

    bn.eval()  # eval: the running statistics, and no more updates
    x = rng.standard_normal((2, 3, 2, 2)).astype(np.float32)
    y = bn(tg.tensor(x)).detach().numpy()
    expected = (x - mean.reshape(1, 3, 1, 1)) / np.sqrt(var.reshape(1, 3, 1, 1) + 1e-5)
    expected = expected * np.array([1, 2, 0.5]).reshape(1, 3, 1, 1) + np.array([0, -1, 3]).reshape(1, 3, 1, 1)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5)
    assert int(bn.num_batches_tracked) == 3


def test_batchnorm_cumulative_average_and_no_tracking():
    bn = nn.BatchNorm1d(2, momentum=None)
    xs = [np.random.default_rng(i).standard_normal((5, 2)).astype(np.float32) for i in range(3)]
    for x in xs:
        bn(tg.tensor(x))
    np.testing.assert_allclose(bn.running_mean.numpy(), np.mean([x.mean(0) for x in xs], axis=0), rtol=1e-5, atol=1e-7)

    free = nn.BatchNorm1d(2, track_running_stats=False, affine=False).eval()
    assert list(free.state_dict()) == [] and list(free.parameters()) == []
    np.testing.assert_allclose(free(tg.tensor(xs[0])).numpy(), np_normalize(xs[0], 0), rtol=1e-4, atol=1e-5)


def test_batchnorm_gradients():
    rng = np.random.default_rng(3)
    check_layer(nn.BatchNorm1d(2), t64(rng.standard_normal((4, 2))), second_order=True)
    check_layer(nn.BatchNorm1d(2), t64(rng.standard_normal((2, 2, 3))))
    check_layer(nn.BatchNorm2d(2), t64(rng.standard_normal((2, 2, 2, 2))))
    check_layer(nn.BatchNorm2d(2).eval(), t64(rng.standard_normal((2, 2, 2, 2))))


def test_batchnorm_input_errors():
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\): expected input with 4 dimensions and 3 channels"):
        nn.BatchNorm2d(3)(tg.zeros(2, 3))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(tg.zeros(1, 3))


# ---------------------------------------------------------------- GroupNorm and LayerNorm
def test_groupnorm_forward_and_gradients():
    x = np.random.default_rng(4).standard_normal((2, 4, 3)) * 3 + 1
    gn = nn.GroupNorm(2, 4)
    expected = np_normalize(x.reshape(2, 2, 6), 2).reshape(2, 4, 3)
    np.testing.assert_allclose(gn(tg.tensor(x.astype(np.float32))).detach().numpy(), expected, rtol=1e-4, atol=1e-5)
    assert repr(gn) == "GroupNorm(2, 4, eps=1e-05, affine=True)"
    with tg.no_grad():  # non-trivial affine so its gradient is tested too
        gn.weight.copy_(np.array([1.0, 2.0, -1.0, 0.5], np.float32))
    check_layer(gn, t64(x), second_order=True)
    with pytest.raises(ValueError, match="divisible"):
        nn.GroupNorm(3, 4)


def test_layernorm_forward_and_gradients():
    x = np.random.default_rng(5).standard_normal((2, 3, 4)) * 2 - 1
    ln = nn.LayerNorm((3, 4))
    np.testing.assert_allclose(ln(tg.tensor(x.astype(np.float32))).detach().numpy(), np_normalize(x, (1, 2)), rtol=1e-4, atol=1e-5)
    check_layer(nn.LayerNorm(4), t64(x), second_order=True)
    with pytest.raises(ValueError, match=r"layer_norm: expected input ending in shape \(5,\)"):
        nn.LayerNorm(5)(tg.zeros(2, 4))


@given(st.lists(st.integers(1, 4), min_size=1, max_size=3), st.integers(1, 3), st.floats(0.1, 10))
def test_layernorm_matches_numpy_for_any_shape(shape, last, scale):
    x = np.random.default_rng(len(shape)).standard_normal((*shape, last + 1)) * scale
    y = nn.LayerNorm(last + 1).double()(t64(x, False)).detach().numpy()
    np.testing.assert_allclose(y, np_normalize(x, -1), rtol=1e-7, atol=1e-7)


# ---------------------------------------------------------------- Dropout
def test_dropout_statistics():
    x = tg.ones(200, 100)
    y = nn.Dropout(0.3)(x).numpy()
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.02  # 20000 draws: the std of this fraction is about 0.003
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)
    assert abs(y.mean() - 1.0) < 0.03  # inverted dropout keeps the expected value
    assert y.dtype == np.float32


def test_dropout_eval_and_edge_probabilities():
    x = tg.randn(3, 4)
    layer = nn.Dropout(0.5).eval()
    assert layer(x) is x
    assert nn.Dropout(0.0)(x) is x
    assert not nn.Dropout(1.0)(x).numpy().any()
    with pytest.raises(ValueError, match="Dropout"):
        nn.Dropout(1.5)


def test_dropout_gradient_is_the_mask_and_reproducible():
    x = tg.ones(4, 5, requires_grad=True)
    tg.manual_seed(3)
    y = nn.Dropout(0.5)(x)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.detach().numpy())  # d(x * m)/dx = m, with x = 1
    tg.manual_seed(3)
    np.testing.assert_array_equal(nn.Dropout(0.5)(x).detach().numpy(), y.detach().numpy())
    check_layer(nn.Dropout(0.4), t64(np.random.default_rng(6).standard_normal((3, 3))), reseed=True)


# ---------------------------------------------------------------- Embedding
def test_embedding_lookup_and_scatter_add_gradient():
    emb = nn.Embedding(5, 3)
    w = emb.weight.detach().numpy()
    idx = tg.tensor([[1, 4], [1, 0]])
    out = emb(idx)
    np.testing.assert_array_equal(out.detach().numpy(), w[[[1, 4], [1, 0]]])
    out.sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.numpy()[:, 0], [1, 2, 0, 0, 1])  # token 1 twice
    with pytest.raises(TypeError, match="embedding: expected integer indices"):
        emb(tg.tensor([1.0]))


def test_embedding_padding_row_is_zero_and_gets_no_gradient():
    emb = nn.Embedding(4, 2, padding_idx=0)
    assert not emb.weight.detach().numpy()[0].any()
    emb(tg.tensor([0, 2, 0])).sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.numpy()[:, 0], [0, 0, 1, 0])
    assert repr(emb) == "Embedding(4, 2, padding_idx=0)"


def test_embedding_init_and_gradcheck():
    w = nn.Embedding(1000, 20).weight.detach().numpy()
    assert abs(w.mean()) < 0.02 and abs(w.std() - 1) < 0.02  # N(0, 1), as PyTorch
    emb = nn.Embedding(4, 3).double()
    idx = tg.tensor([3, 1, 3])
    assert tg.gradcheck(lambda weight: emb(idx), (emb.weight,))


# ---------------------------------------------------------------- init
def test_init_schemes():
    w = tg.empty(300, 200)
    init.xavier_uniform_(w)
    bound = math.sqrt(6 / 500)
    assert np.abs(w.numpy()).max() <= bound and abs(w.numpy().std() - bound / math.sqrt(3)) < 0.02 * bound
    init.kaiming_normal_(w, nonlinearity="relu")
    assert abs(w.numpy().std() - math.sqrt(2 / 200)) < 0.02 * math.sqrt(2 / 200)
    init.kaiming_uniform_(w, mode="fan_out", nonlinearity="relu")
    assert np.abs(w.numpy()).max() <= math.sqrt(6 / 300)
    init.xavier_normal_(w, gain=init.calculate_gain("tanh"))
    assert abs(w.numpy().std() - 5 / 3 * math.sqrt(2 / 500)) < 0.02 * 5 / 3 * math.sqrt(2 / 500)
    init.normal_(w, 2.0, 0.5)
    assert abs(w.numpy().mean() - 2.0) < 0.01 and w.dtype == tg.float32
    init.trunc_normal_(w, std=1.0, a=-1.0, b=1.0)
    assert np.abs(w.numpy()).max() <= 1.0
    assert init.zeros_(w).numpy().sum() == 0 and init.ones_(w).numpy().mean() == 1
    assert init._calculate_fan_in_and_fan_out(tg.empty(8, 3, 5, 5)) == (75, 200)
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))


def test_init_on_a_parameter_keeps_it_a_leaf():
    layer = nn.Linear(3, 3)
    init.zeros_(layer.weight)
    assert layer.weight.is_leaf and layer.weight.requires_grad and not layer.weight.detach().numpy().any()

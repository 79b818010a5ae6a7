"""Checks for exercise 5 (a Linear module): python -m pytest exercises/ex5_linear_test.py"""

import math

import numpy as np
import pytest

import tinygen as tg
from tinygen import nn


@pytest.fixture(scope="module")
def Linear(solution):
    return solution("ex5_linear", "Linear", reference=nn.Linear)


def test_registers_weight_then_bias(Linear):
    layer = Linear(3, 2)
    names = [name for name, _ in layer.named_parameters()]
    assert names == ["weight", "bias"], f"expected Parameters named ['weight', 'bias'] in that order, got {names}"
    assert layer.weight.shape == (2, 3) and layer.bias.shape == (2,), (
        f"expected weight (out, in) = (2, 3) and bias (2,), got {layer.weight.shape} and {layer.bias.shape}")
    assert layer.weight.dtype == tg.float32 and layer.weight.requires_grad


def test_without_bias(Linear):
    layer = Linear(3, 2, bias=False)
    assert [name for name, _ in layer.named_parameters()] == ["weight"] and layer.bias is None
    x = tg.randn(4, 3)
    np.testing.assert_allclose(layer(x).detach().numpy(), x.numpy() @ layer.weight.detach().numpy().T, rtol=1e-5)


def test_init_is_uniform_within_pytorchs_bound(Linear):
    tg.manual_seed(0)
    layer = Linear(256, 64)
    bound = 1 / math.sqrt(256)
    for name, p in layer.named_parameters():
        values = p.detach().numpy()
        assert np.abs(values).max() <= bound, f"{name}: values beyond the bound 1/sqrt(in_features) = {bound}"
        assert np.abs(values).max() > 0.9 * bound, f"{name}: values should fill U(-{bound}, {bound}), not a narrower range"
        assert abs(values.mean()) < 0.1 * bound, f"{name}: values should be centred on 0"
    w = layer.weight.detach().numpy()
    assert abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound, "the weights' spread is not that of U(-bound, bound)"


def test_init_follows_tinygens_seed(Linear):
    draws = []
    for seed in (0, 0, 1):
        tg.manual_seed(seed)
        draws.append(Linear(4, 3).weight.detach().numpy())
    assert np.array_equal(draws[0], draws[1]), "draw with tinygen's generator, so tg.manual_seed repeats the init"
    assert not np.array_equal(draws[0], draws[2]), "a different seed should give different weights"


def test_float64_layer(Linear):
    layer = Linear(3, 2, dtype=tg.float64)
    assert (layer.weight.dtype, layer.bias.dtype) == (tg.float64, tg.float64)


@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 3), (3,)])
def test_forward_is_x_wt_plus_b(Linear, shape):
    tg.manual_seed(1)
    layer = Linear(3, 2, dtype=tg.float64)
    x = np.random.default_rng(0).normal(size=shape)
    y = layer(tg.tensor(x))
    expected = x @ layer.weight.detach().numpy().T + layer.bias.detach().numpy()
    assert y.shape == expected.shape, f"expected output shape {expected.shape}, got {y.shape}"
    np.testing.assert_allclose(y.detach().numpy(), expected, rtol=1e-12)


def test_gradcheck(Linear):
    tg.manual_seed(2)
    layer = Linear(3, 2, dtype=tg.float64)
    x = tg.randn(4, 3, dtype=tg.float64, requires_grad=True)

    def through_layer(x, weight, bias):  # gradcheck perturbs the tensors it is given: the layer's own
        return layer(x)

    assert tg.gradcheck(through_layer, (x, layer.weight, layer.bias))

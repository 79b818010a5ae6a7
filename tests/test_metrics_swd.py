"""Sliced Wasserstein distance: exact values in 1-D, invariances, and the floor."""

import numpy as np
import pytest

import tinygen as tg
from tinygen import metrics
from tinygen.data import moons


def test_identical_sets_are_at_distance_zero():
    x = np.random.default_rng(0).standard_normal((200, 2))
    assert metrics.sliced_wasserstein(x, x) == 0.0
    assert metrics.sliced_wasserstein(x, x[::-1]) == pytest.approx(0.0, abs=1e-12)  # order does not matter


def test_a_shift_by_d_costs_d_times_the_rms_of_the_projected_unit_shift():
    # shifting every point by s moves each 1-D projection by <s, theta>: W2 = |<s, theta>| exactly
    x = np.random.default_rng(1).standard_normal((300, 2))
    s = np.array([0.6, -0.8])
    got = metrics.sliced_wasserstein(x, x + s, num_projections=2000, seed=3)
    theta = np.random.default_rng(3).standard_normal((2, 2000))
    theta /= np.linalg.norm(theta, axis=0)
    assert got == pytest.approx(np.sqrt(np.mean((s @ theta) ** 2)), rel=1e-9)
    assert got == pytest.approx(1.0 / np.sqrt(2.0), rel=0.05)  # E<s, theta>^2 = |s|^2 / 2 in 2-D


def test_one_dimensional_sets_give_the_sorted_gap():
    a, b = np.array([[0.0], [1.0], [5.0]]), np.array([[2.0], [0.5], [1.5]])
    # sorted pairs (0, .5), (1, 1.5), (5, 2): W2^2 = (.25 + .25 + 9) / 3; every 1-D direction is +-1
    assert metrics.sliced_wasserstein(a, b) == pytest.approx(np.sqrt(9.5 / 3))


def test_unequal_sizes_compare_quantile_functions():
    x = np.random.default_rng(2).standard_normal((400, 2))
    doubled = np.concatenate([x, x])  # the same empirical distribution
    assert metrics.sliced_wasserstein(x, doubled) == pytest.approx(0.0, abs=1e-12)


def test_tensors_and_float32_are_accepted_and_checked():
    x = tg.randn(100, 2)
    assert metrics.sliced_wasserstein(x, x.numpy().astype("float64")) == 0.0
    with pytest.raises(ValueError, match="sliced_wasserstein"):
        metrics.sliced_wasserstein(np.zeros((5, 2)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        metrics.sliced_wasserstein(np.zeros(5), np.zeros(5))


def test_the_floor_is_met_by_true_samples_and_beaten_by_a_bad_model():
    true = metrics.sliced_wasserstein_with_floor(moons(1000, seed=99), moons, repeats=3)
    assert true["floor"] > 0.0
    assert 0.5 < true["ratio"] < 1.5  # a perfect sampler scores the floor, up to sampling noise
    blob = np.random.default_rng(0).standard_normal((1000, 2)) * 0.5  # a Gaussian blob, not two moons
    bad = metrics.sliced_wasserstein_with_floor(blob, moons, repeats=3)
    assert bad["ratio"] > 3.0
    assert bad["floor"] == pytest.approx(true["floor"])  # the floor depends only on the real sets

"""The PacGAN mode-coverage protocol on samplers whose answers are known."""

import math

import numpy as np
import pytest

import tinygen as tg
from tinygen.data import grid25, ring8
from tinygen.metrics import mode_coverage


@pytest.mark.parametrize("data", [grid25, ring8], ids=lambda d: d.name)
def test_a_perfect_sampler_covers_every_mode(data):
    result = mode_coverage(data(2500, seed=1), data.modes, data.std)
    assert result["modes"] == result["modes_captured"] == len(data.modes)
    # within 3 std of a 2-D Gaussian's centre: 1 - e^(-9/2) = 98.89%; 2,500 samples -> +-0.4%
    assert abs(result["high_quality"] - (1 - math.exp(-4.5))) < 0.01
    assert result["reverse_kl"] < 0.02


def test_a_collapsed_sampler_covers_only_the_modes_it_sits_on():
    on = [0, 7, 12]
    points = np.repeat(grid25.modes[on], [500, 300, 200], axis=0)
    result = mode_coverage(tg.tensor(points), grid25.modes, grid25.std)  # a Tensor is accepted too
    assert result["modes_captured"] == 3 and result["high_quality"] == 1.0
    p = np.array([0.5, 0.3, 0.2])
    assert result["reverse_kl"] == pytest.approx(float((p * np.log(25 * p)).sum()), rel=1e-12)


def test_a_single_mode_has_reverse_kl_log_k():
    result = mode_coverage(np.zeros((10, 2)), ring8.modes, ring8.std)
    assert result["reverse_kl"] == pytest.approx(math.log(8))


def test_samples_between_modes_are_low_quality_and_capture_nothing():
    # halfway between neighbouring grid modes: nearest to one of them, but far outside 3 std
    points = np.array([[1.0, 0.0], [-3.0, 2.0], [0.0, 0.16], [0.0, 0.14]])
    result = mode_coverage(points, grid25.modes, grid25.std)
    assert result["high_quality"] == 0.25  # only (0, 0.14) is within 0.15 of (0, 0)
    assert result["modes_captured"] == 1


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match=r"mode_coverage: expected samples \(N, D\)"):
        mode_coverage(np.zeros((4, 3)), grid25.modes, grid25.std)

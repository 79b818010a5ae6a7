"""2-D toy distributions: the published geometry, reproducible draws, densities that integrate to 1."""

import numpy as np
import pytest

import tinygen as tg
from tinygen.data import TOY2D, checkerboard, get_toy2d, grid25, moons, ring8, spiral, swissroll
from tinygen.data.toy2d import Spiral, SwissRoll


@pytest.mark.parametrize("name", sorted(TOY2D))
def test_float32_and_reproducible(name):
    dist = get_toy2d(name)
    a, b = dist(300, seed=1), dist(300, seed=1)
    assert a.shape == (300, 2) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, dist(300, seed=2))
    assert np.isfinite(a).all()
    # a generator is used as given, and the default follows tg.manual_seed
    np.testing.assert_array_equal(dist(10, seed=np.random.default_rng(4)), dist(10, seed=4))
    tg.manual_seed(3)
    c = dist(10)
    tg.manual_seed(3)
    np.testing.assert_array_equal(c, dist(10))


def test_sample_gives_a_tensor():
    x = ring8.sample(16, seed=0)
    assert isinstance(x, tg.Tensor) and x.dtype == tg.float32 and x.shape == (16, 2)
    np.testing.assert_array_equal(x.numpy(), ring8(16, seed=0))


def test_ring8_modes_and_std():
    k = np.arange(8)
    expected = np.stack([np.cos(2 * np.pi * k / 8), np.sin(2 * np.pi * k / 8)], axis=1)
    np.testing.assert_allclose(ring8.modes, expected, atol=1e-7)
    assert ring8.std == 0.01


def test_grid25_modes_and_std():
    assert grid25.modes.shape == (25, 2) and grid25.std == 0.05
    assert {tuple(m) for m in grid25.modes.tolist()} == {(x, y) for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)}


@pytest.mark.parametrize("dist", [ring8, grid25], ids=["ring8", "grid25"])
def test_mixture_samples_cover_every_mode_evenly(dist):
    k = len(dist.modes)
    x = dist(400 * k, seed=0)
    index, distance = dist.nearest_mode(x)
    counts = np.bincount(index, minlength=k)
    assert counts.min() > 300 and counts.max() < 500  # 400 each, +- 5 standard deviations
    assert distance.max() < 6 * dist.std  # the 2-D radius exceeds 6 std with probability e^-18
    # per-coordinate spread around the assigned mode is the std
    spread = (x - dist.modes[index]).std(axis=0)
    np.testing.assert_allclose(spread, dist.std, rtol=0.05)


# A midpoint sum with a step of one std is accurate to ~1e-8 for a Gaussian (spectral accuracy).
@pytest.mark.parametrize("dist, lim, step", [(ring8, 1.1, 0.01), (grid25, 4.5, 0.05), (checkerboard, 4.5, 0.05)],
                         ids=["ring8", "grid25", "checkerboard"])
def test_density_integrates_to_one(dist, lim, step):
    ticks = np.arange(-lim, lim, step) + step / 2
    xs, ys = np.meshgrid(ticks, ticks)
    grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
    assert abs(dist.density(grid).sum() * step**2 - 1.0) < 1e-6


def test_mixture_density_value_at_a_mode():
    # at a mode the other modes are > 70 std away: p = 1/8 * 1 / (2 pi 0.01^2)
    np.testing.assert_allclose(ring8.density(ring8.modes[:1]), 1 / 8 / (2 * np.pi * 1e-4), rtol=1e-6)
    assert ring8.density(np.array([[0.0, 0.0]]))[0] == 0.0  # far from every mode: underflows cleanly


def test_checkerboard_lies_on_its_dark_squares():
    x = checkerboard(4000, seed=0)
    assert np.abs(x).max() <= 4
    assert np.isfinite(checkerboard.log_density(x)).all()  # every sample has positive density
    cells = np.floor(x / 2).astype(int) + 2  # 4x4 board cells
    counts = np.zeros((4, 4), int)
    np.add.at(counts, (cells[:, 0], cells[:, 1]), 1)
    dark = (np.add.outer(np.arange(4), np.arange(4)) % 2) == 0
    assert (counts[~dark] == 0).all() and counts[dark].min() > 400  # 500 expected in each


def test_curves_have_their_shapes():
    m = moons(4000, seed=0)
    np.testing.assert_allclose(m.mean(axis=0), [0.0, 0.0], atol=0.05)
    assert 1.4 < m[:, 0].max() < 1.8 and -1.8 < m[:, 0].min() < -1.4
    radius = np.linalg.norm(SwissRoll(noise=0.0)(4000, seed=0), axis=1)
    assert 1.5 * np.pi / 5 - 1e-5 < radius.min() < 1.5 * np.pi / 5 + 0.05  # |(t cos t, t sin t)| / 5 = t / 5
    assert 4.5 * np.pi / 5 - 0.05 < radius.max() < 4.5 * np.pi / 5 + 1e-5
    assert swissroll(4000, seed=0).std() > 1.0
    arms = Spiral(noise=0.0)(4000, seed=0)
    assert np.linalg.norm(arms, axis=1).max() < np.pi + 1e-5  # 3 pi / 3 at the tip
    p = spiral(4000, seed=0)
    np.testing.assert_allclose(p.mean(axis=0), [0.0, 0.0], atol=0.1)  # two arms, point-symmetric


def test_no_density_where_there_is_none():
    assert moons.modes is None and moons.std is None
    with pytest.raises(NotImplementedError, match="moons: has no closed-form density"):
        moons.density(np.zeros((1, 2)))


def test_errors():
    with pytest.raises(ValueError, match="unknown distribution 'ring9'"):
        get_toy2d("ring9")
    with pytest.raises(ValueError, match=r"expected points of shape \(N, 2\), got \(3,\)"):
        ring8.density(np.zeros(3))

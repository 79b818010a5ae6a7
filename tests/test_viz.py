"""Figures: each function writes a readable PNG of a plausible size; make_grid places every pixel."""

import subprocess
import sys

import numpy as np
import pytest

import tinygen as tg
from tinygen import viz
from tinygen.data import ring8

mpimg = pytest.importorskip("matplotlib.image")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _read_png(path, min_side=100):
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    image = mpimg.imread(path)
    assert image.ndim == 3 and image.shape[2] in (3, 4)
    assert min(image.shape[:2]) >= min_side and max(image.shape[:2]) < 4000
    return image


def test_make_grid_places_each_image():
    images = np.stack([np.full((1, 2, 3), v, np.float32) for v in (0.0, 0.25, 0.5, 0.75, 1.0)])
    grid = viz.make_grid(images, nrow=3, padding=1, pad_value=-1.0)
    assert grid.shape == (2 * 3 + 1, 3 * 4 + 1)  # 2 rows of (2 + 1), 3 columns of (3 + 1), + 1
    assert grid[1, 1] == 0.0 and grid[1, 5] == 0.25 and grid[1, 9] == 0.5 and grid[4, 1] == 0.75 and grid[4, 5] == 1.0
    assert grid[0].tolist() == [-1.0] * 13  # padding
    assert (grid[4:6, 9:12] == -1.0).all()  # the empty sixth cell


def test_make_grid_value_range_and_colour():
    x = tg.tensor(np.array([[[[-1.0, 0.0, 1.0, 3.0]]]] * 3, np.float32)).reshape(1, 3, 1, 4)
    grid = viz.make_grid(x, padding=0, value_range=(-1.0, 1.0))
    assert grid.shape == (1, 4, 3)
    np.testing.assert_allclose(grid[0, :, 0], [0.0, 0.5, 1.0, 1.0])  # clipped above 1
    with pytest.raises(ValueError, match=r"make_grid: expected images .* got shape \(2, 2, 1, 1\)"):
        viz.make_grid(np.zeros((2, 2, 1, 1)))


def test_save_image_grid(tmp_path):
    images = np.random.default_rng(0).random((10, 1, 8, 8)).astype(np.float32)
    path = viz.save_image_grid(images, tmp_path / "sub" / "grid.png", nrow=5)
    image = _read_png(path, min_side=50)
    # 5 x 2 cells of 8 + 2 padding, + 2; scaled by an integer up to >= 256 pixels on the long side
    scale = image.shape[1] // 52
    assert image.shape[:2] == (22 * scale, 52 * scale) and 52 * scale >= 256
    top_left = images[0, 0, 0, 0]
    np.testing.assert_allclose(image[2 * scale, 2 * scale, 0], top_left, atol=1 / 255)


def test_scatter_2d_with_modes_and_reference(tmp_path):
    path = viz.scatter_2d(ring8.sample(500, seed=0), tmp_path / "s.png", modes=ring8.modes,
                          reference=ring8(500, seed=1), lim=1.5, title="ring8")
    image = _read_png(path)
    # the mode crosses are red: some pixels are far redder than they are blue
    assert ((image[..., 0] - image[..., 2]) > 0.5).any()


def test_density_2d_from_a_function_and_from_samples(tmp_path):
    a = _read_png(viz.density_2d(ring8.density, tmp_path / "f.png", lim=1.5, resolution=60))
    b = _read_png(viz.density_2d(ring8(2000, seed=0), tmp_path / "h.png", lim=1.5, resolution=60, log=True))
    assert a.std() > 0.05 and b.std() > 0.05  # not a blank square
    with pytest.raises(ValueError, match=r"density_2d: expected points of shape \(N, 2\)"):
        viz.density_2d(np.zeros((4, 3)), tmp_path / "x.png")


def test_loss_curves(tmp_path):
    steps = np.arange(200)
    path = viz.loss_curves({"loss": np.exp(-steps / 50) + 0.1, "kl": [0.5] * 200}, tmp_path / "l.png",
                           smooth=10, log_y=True)
    _read_png(path)
    _read_png(viz.loss_curves([3.0, 2.0, tg.tensor(1.5)], tmp_path / "one.png"))


def test_frame_strip_of_points_and_of_images(tmp_path):
    frames = [ring8(300, seed=k) * s for k, s in enumerate((3.0, 2.0, 1.0))]
    wide = _read_png(viz.frame_strip(frames, tmp_path / "p.png", titles=["t=2", "t=1", "t=0"], lim=3.5))
    assert wide.shape[1] > 2 * wide.shape[0]  # three panels side by side
    batches = [np.random.default_rng(k).random((4, 1, 6, 6)) for k in range(2)] + [np.zeros((6, 6))]
    _read_png(viz.frame_strip(batches, tmp_path / "i.png"), min_side=50)
    with pytest.raises(ValueError, match="2 frames but 1 titles"):
        viz.frame_strip(frames[:2], tmp_path / "x.png", titles=["a"])


def test_import_tinygen_stays_light():
    code = ("import sys, tinygen, tinygen.viz, tinygen.progress, tinygen.data; "
            "print(sorted(m for m in ('matplotlib', 'sklearn', 'tqdm') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"

"""Smoke runs of demos/gan.py with --quick: the files it writes and the numbers in metrics.json."""

import json
import pathlib
import sys

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "demos"))
import gan  # noqa: E402  (demos/gan.py)

FIGURES = ("samples.png", "progress.png", "loss.png")


def _metrics(out):
    return json.loads((out / "metrics.json").read_text())["metrics"]


def test_quick_run_on_grid25_writes_everything(tmp_path):
    metrics = gan.main(["--dataset", "grid25", "--quick", "--quiet", "--out", str(tmp_path)])
    for name in FIGURES + ("discriminator.png", "samples.npy", "checkpoint.npz", "metrics.json"):
        assert (tmp_path / name).stat().st_size > 0, name
    samples = np.load(tmp_path / "samples.npy")
    assert samples.shape == (2500, 2) and samples.dtype == np.float32 and np.isfinite(samples).all()
    written = _metrics(tmp_path)
    assert written == metrics and written["modes"] == 25 and written["steps"] == 30
    assert 1 <= written["modes_captured"] <= 25 and 0 <= written["high_quality"] <= 1
    assert 0 <= written["reverse_kl"] <= np.log(25) + 1e-9
    assert np.isfinite(written["final_d_loss"]) and np.isfinite(written["final_g_loss"])


def test_resume_continues_from_the_checkpoint(tmp_path):
    first = ["--dataset", "ring8", "--quick", "--quiet", "--out", str(tmp_path), "--steps", "10"]
    gan.main(first)
    gan.main(first[:-1] + ["20", "--resume"])
    once = tmp_path / "once"
    gan.main(["--dataset", "ring8", "--quick", "--quiet", "--out", str(once), "--steps", "20"])
    # ten steps, a checkpoint, ten more: the same samples as twenty steps in one go
    np.testing.assert_array_equal(np.load(tmp_path / "samples.npy"), np.load(once / "samples.npy"))


@pytest.mark.parametrize("loss", ["wgan-gp", "lsgan"])
def test_quick_run_with_other_losses_and_tricks(tmp_path, loss):
    metrics = gan.main(["--dataset", "ring8", "--quick", "--quiet", "--out", str(tmp_path), "--loss", loss,
                        "--steps", "5", "--spectral-norm", "--minibatch-std", "--pack", "2"])
    assert metrics["modes"] == 8 and np.isfinite(metrics["final_d_loss"])


def test_quick_dcgan_on_digits(tmp_path):
    gan.main(["--dataset", "digits", "--quick", "--quiet", "--out", str(tmp_path), "--steps", "5"])
    samples = np.load(tmp_path / "samples.npy")
    assert samples.shape == (2500, 1, 8, 8) and samples.min() >= 0.0 and samples.max() <= 1.0
    written = _metrics(tmp_path)
    assert written["fd"] >= 0 and written["fd_floor"] > 0 and sum(written["class_counts"]) == 2500
    for name in FIGURES:
        assert (tmp_path / name).stat().st_size > 0, name

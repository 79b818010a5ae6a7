"""Smoke runs of demos/score.py with --quick: the files it writes, the numbers in metrics.json, --resume."""

import json

import numpy as np
import pytest
from _scripts import load_script

import tinygen as tg

score = load_script("demos/score.py")
pytestmark = pytest.mark.slow  # every test here trains: the fast lane (-m "not slow") skips them

FIGURES = ("samples.png", "langevin.png", "sigmas.png", "loss.png")


def test_quick_run_on_a_toy_writes_everything_and_resumes(tmp_path):
    metrics = score.main(["--quick", "--quiet", "--out", str(tmp_path)])
    for name in FIGURES + ("score_field.png", "samples.npy", "checkpoint.npz", "metrics.json"):
        assert (tmp_path / name).stat().st_size > 0, name
    samples = np.load(tmp_path / "samples.npy")
    assert samples.shape == (200, 2) and samples.dtype == np.float32 and np.isfinite(samples).all()
    record = json.loads((tmp_path / "metrics.json").read_text())
    assert record["metrics"] == metrics and record["config"]["levels"] == 4 and record["config"]["dataset"] == "ring8"
    assert metrics["steps"] == 20 and np.isfinite(metrics["final_loss"]) and metrics["final_loss"] > 0
    assert metrics["swd"] > 0 and metrics["floor"] > 0 and metrics["ratio"] == metrics["swd"] / metrics["floor"]

    # --resume finds the finished run: no step is trained again
    saved = np.load(tmp_path / "checkpoint.npz")["model.inp.weight"]
    again = score.main(["--quick", "--quiet", "--resume", "--out", str(tmp_path)])
    assert again["final_loss"] == metrics["final_loss"]
    np.testing.assert_array_equal(np.load(tmp_path / "checkpoint.npz")["model.inp.weight"], saved)


def test_stopped_and_resumed_is_the_same_run(tmp_path):
    args = ["--quick", "--quiet", "--dataset", "moons"]
    score.main(args + ["--steps", "8", "--out", str(tmp_path / "a")])
    score.main(args + ["--steps", "3", "--out", str(tmp_path / "b")])
    score.main(args + ["--steps", "8", "--resume", "--out", str(tmp_path / "b")])
    a, b = (tg.load(tmp_path / run / "checkpoint.npz") for run in ("a", "b"))
    assert a["history"]["loss"] == b["history"]["loss"]
    for name in a["model"]:
        np.testing.assert_array_equal(a["model"][name].numpy(), b["model"][name].numpy(), err_msg=name)


def test_quick_run_on_digits_draws_images_in_range(tmp_path):
    metrics = score.main(["--quick", "--quiet", "--dataset", "digits", "--out", str(tmp_path)])
    for name in FIGURES + ("samples.npy", "checkpoint.npz"):
        assert (tmp_path / name).stat().st_size > 0, name
    samples = np.load(tmp_path / "samples.npy")
    assert samples.shape == (16, 1, 8, 8) and samples.dtype == np.float32
    assert samples.min() >= 0.0 and samples.max() <= 1.0  # data space: pixels in [0, 1]
    assert metrics["parameters"] > 0 and metrics["levels"] == 4


def test_defaults_and_checks():
    args = score.parse([])
    assert (args.dataset, args.steps, args.batch_size, args.levels, args.langevin_steps) == ("ring8", 4000, 256, 16, 100)
    assert (args.sigma_max, args.sigma_min, args.step_ratio, args.ema_decay) == (5.0, 0.01, 0.1, 0.995)
    args = score.parse(["--dataset", "digits"])
    assert (args.steps, args.batch_size, args.levels, args.sigma_max, args.num_samples) == (2500, 64, 20, 10.0, 100)
    assert score.parse(["--quick", "--levels", "6"]).levels == 6  # --quick keeps what the command line gives
    with pytest.raises(SystemExit):
        score.parse(["--sigma-max", "0.001"])

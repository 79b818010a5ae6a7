"""Smoke runs of demos/flow.py with --quick: the files it writes, the numbers in metrics.json, --resume."""

import json
import math

import numpy as np
import pytest
from _scripts import load_script

import tinygen as tg

flow = load_script("demos/flow.py")
pytestmark = pytest.mark.slow  # every test here trains: the fast lane (-m "not slow") skips them


def test_quick_run_on_a_toy_writes_everything_and_resumes(tmp_path):
    metrics = flow.main(["--quick", "--quiet", "--out", str(tmp_path)])
    for name in ("samples.png", "density.png", "layers.png", "loss.png", "samples.npy", "checkpoint.npz"):
        assert (tmp_path / name).stat().st_size > 0, name
    samples = np.load(tmp_path / "samples.npy")
    assert samples.shape == (200, 2) and samples.dtype == np.float32 and np.isfinite(samples).all()
    record = json.loads((tmp_path / "metrics.json").read_text())
    assert record["metrics"] == metrics and record["config"]["dataset"] == "moons"
    assert metrics["steps"] == 20 and math.isfinite(metrics["test_nll"]) and metrics["ratio"] > 0
    saved = np.load(tmp_path / "checkpoint.npz")["model.steps.1.net.0.weight"]
    again = flow.main(["--quick", "--quiet", "--resume", "--out", str(tmp_path)])
    assert again["test_nll"] == metrics["test_nll"]
    np.testing.assert_array_equal(np.load(tmp_path / "checkpoint.npz")["model.steps.1.net.0.weight"], saved)


def test_stopped_and_resumed_is_the_same_run(tmp_path):
    args = ["--quick", "--quiet", "--dataset", "ring8", "--layers", "4"]
    flow.main(args + ["--steps", "8", "--out", str(tmp_path / "a")])
    flow.main(args + ["--steps", "3", "--out", str(tmp_path / "b")])
    flow.main(args + ["--steps", "8", "--resume", "--out", str(tmp_path / "b")])
    a, b = (tg.load(tmp_path / run / "checkpoint.npz") for run in ("a", "b"))
    assert a["history"]["loss"] == b["history"]["loss"]
    for name in a["model"]:
        np.testing.assert_array_equal(a["model"][name].numpy(), b["model"][name].numpy(), err_msg=name)


def test_quick_run_on_digits_reports_bits_per_dim(tmp_path):
    metrics = flow.main(["--quick", "--quiet", "--dataset", "digits", "--out", str(tmp_path)])
    samples = np.load(tmp_path / "samples.npy")
    assert samples.shape == (16, 1, 8, 8) and samples.min() >= 0.0 and samples.max() <= 1.0
    assert 0 < metrics["test_bits_per_dim"] < math.log2(17) + 1  # a barely trained flow: near uniform
    assert metrics["test_bits_per_dim"] == pytest.approx(
        (metrics["test_nll_nats"] + 64 * math.log(17)) / (64 * math.log(2)))


def test_dequantisation_fills_each_cell():
    x = tg.tensor(np.arange(17, dtype=np.float32) / 16).reshape(1, 17).expand(400, 17)
    cells = (flow.DigitData.dequantize(x).numpy() * 17)
    np.testing.assert_array_equal(np.floor(cells), np.broadcast_to(np.arange(17), (400, 17)))
    assert cells.min() >= 0 and cells.max() < 17


def test_defaults():
    args = flow.parse([])
    assert (args.dataset, args.steps, args.batch_size, args.layers, args.hidden) == ("moons", 6000, 512, 8, 64)
    assert (args.coupling, args.bins) == ("spline", 12)  # the toys' sharp modes need splines
    args = flow.parse(["--dataset", "digits"])
    assert (args.steps, args.batch_size, args.layers, args.hidden, args.num_samples) == (3000, 128, 8, 256, 100)
    assert args.coupling == "affine"
    assert flow.parse(["--dataset", "digits", "--coupling", "spline", "--bins", "4"]).bins == 4


def test_affine_couplings_on_a_toy_and_resume_refuses_another_coupling(tmp_path):
    args = ["--quick", "--quiet", "--dataset", "ring8", "--layers", "2", "--steps", "3", "--out", str(tmp_path)]
    metrics = flow.main(args + ["--coupling", "affine"])
    assert math.isfinite(metrics["test_nll"]) and (tmp_path / "layers.png").stat().st_size > 0
    assert json.loads((tmp_path / "metrics.json").read_text())["config"]["coupling"] == "affine"
    with pytest.raises(flow.common.UserError, match="--coupling was affine in the checkpoint"):
        flow.main(args + ["--resume"])  # the default on ring8 is spline: another flow, not the same run

"""Smoke runs of demos/ddpm.py with --quick: the files it writes, the numbers in metrics.json, --resume."""

import json

import numpy as np
import pytest
from _scripts import load_script

ddpm = load_script("demos/ddpm.py")
pytestmark = pytest.mark.slow  # every test here trains: the fast lane (-m "not slow") skips them

FIGURES = ("samples.png", "forward.png", "reverse.png", "schedules.png", "loss.png")


def _record(out):
    return json.loads((out / "metrics.json").read_text())


def test_quick_run_on_moons_writes_everything_and_resumes(tmp_path):
    metrics = ddpm.main(["--dataset", "moons", "--quick", "--quiet", "--out", str(tmp_path)])
    for name in FIGURES + ("samples.npy", "checkpoint.npz", "metrics.json"):
        assert (tmp_path / name).stat().st_size > 0, name
    samples = np.load(tmp_path / "samples.npy")
    assert samples.shape == (200, 2) and samples.dtype == np.float32 and np.isfinite(samples).all()
    record = _record(tmp_path)
    assert record["metrics"] == metrics and record["config"]["timesteps"] == 50
    assert metrics["steps"] == 20 and np.isfinite(metrics["final_loss"]) and 0 < metrics["final_loss"] < 2
    assert metrics["swd"] > 0 and metrics["floor"] > 0 and metrics["ratio"] == metrics["swd"] / metrics["floor"]

    # --resume finds the finished run: no step is trained again, the history is the saved one
    saved = np.load(tmp_path / "checkpoint.npz")["model.inp.weight"]
    again = ddpm.main(["--dataset", "moons", "--quick", "--quiet", "--resume", "--out", str(tmp_path)])
    assert again["final_loss"] == metrics["final_loss"]
    np.testing.assert_array_equal(np.load(tmp_path / "checkpoint.npz")["model.inp.weight"], saved)


def test_quick_run_on_digits_with_ddim_draws_images_in_range(tmp_path):
    metrics = ddpm.main(["--quick", "--quiet", "--sampler", "ddim", "--schedule", "cosine", "--out", str(tmp_path)])
    for name in FIGURES + ("guided.png", "samples.npy", "checkpoint.npz"):
        assert (tmp_path / name).stat().st_size > 0, name
    samples = np.load(tmp_path / "samples.npy")
    assert samples.shape == (16, 1, 8, 8) and samples.dtype == np.float32
    assert samples.min() >= 0.0 and samples.max() <= 1.0  # data space: pixels in [0, 1]
    assert _record(tmp_path)["config"]["sampler"] == "ddim" and metrics["parameters"] > 0


def test_an_unconditional_model_draws_no_guided_grid(tmp_path):
    # --p-uncond 1 drops every label: the model never saw a class, so there is no class to guide towards
    ddpm.main(["--quick", "--quiet", "--p-uncond", "1", "--out", str(tmp_path)])
    assert not (tmp_path / "guided.png").exists()
    assert np.load(tmp_path / "samples.npy").shape == (16, 1, 8, 8)
    assert _record(tmp_path)["config"]["p_uncond"] == 1.0


def test_eta_reaches_the_ddim_sampler_and_is_checked(tmp_path, capsys, monkeypatch):
    seen = []
    original = ddpm.GaussianDiffusion.ddim_sample

    def recording(self, *args, **kwargs):
        seen.append(kwargs["eta"])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ddpm.GaussianDiffusion, "ddim_sample", recording)
    ddpm.main(["--quick", "--quiet", "--sampler", "ddim", "--eta", "1", "--out", str(tmp_path)])
    assert seen and set(seen) == {1.0}  # every draw: samples, the guided grid, the strip
    assert _record(tmp_path)["config"]["eta"] == 1.0
    with pytest.raises(SystemExit) as stop:
        ddpm.main(["--quick", "--quiet", "--eta", "2", "--out", str(tmp_path / "bad")])
    assert stop.value.code == 2
    assert "argument --eta: expected a number in [0, 1], got '2'" in capsys.readouterr().err

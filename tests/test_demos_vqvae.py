"""Smoke-run the VQ-VAE demo the way CI does (--quick) and check what it writes and how it resumes."""

import json
import sys

import numpy as np
import pytest
from _scripts import load_script

import tinygen as tg

vqvae = load_script("demos/vqvae.py")
pytestmark = pytest.mark.slow  # every test here trains: the fast lane (-m "not slow") skips them

FIGURES = ("reconstructions.png", "samples.png", "priors.png", "codebook_usage.png", "loss.png", "prior_loss.png")


def test_vqvae_demo_quick_run(tmp_path):
    result = vqvae.main(["--quick", "--quiet", "--out", str(tmp_path)])
    for name in FIGURES + ("metrics.json", "checkpoint.npz"):
        assert (tmp_path / name).stat().st_size > 0, name
    samples = np.load(tmp_path / "samples.npy")
    assert samples.shape == (512, 1, 8, 8) and samples.dtype == np.float32
    assert samples.min() >= 0.0 and samples.max() <= 1.0
    record = json.loads((tmp_path / "metrics.json").read_text())["metrics"]
    assert record["test_recon"] == pytest.approx(result["test_recon"])
    assert record["test_neg_elbo"] == pytest.approx(record["test_recon"] + record["prior_test_nll"])
    assert 1.0 - 1e-6 <= record["test_perplexity"] <= 16 and 0 <= record["dead_codes"] < 16
    assert record["uniform_prior_nll"] == pytest.approx(16 * np.log(16))
    for prefix in ("", "categorical_"):
        assert record[f"{prefix}fd"] >= 0.0 and sum(record[f"{prefix}class_counts"]) == 512
    state = tg.load(tmp_path / "checkpoint.npz")
    assert state["step"] == 20 and "prior" in state


def flat(state, prefix=""):
    """{dotted key: value} of a checkpoint, Tensors as arrays, the wall-clock "seconds" left out."""
    if not isinstance(state, (dict, list, tuple)):
        return {prefix: state.numpy() if isinstance(state, tg.Tensor) else state}
    found = {}
    for key, value in (state.items() if isinstance(state, dict) else enumerate(state)):
        if key != "seconds":
            found.update(flat(value, f"{prefix}.{key}" if prefix else str(key)))
    return found


def assert_same_run(a, b):
    """Two output folders hold the same checkpoint (both stages, RNG, history), samples and metrics."""
    ka, kb = flat(tg.load(a / "checkpoint.npz")), flat(tg.load(b / "checkpoint.npz"))
    assert ka.keys() == kb.keys()
    for key in ka:
        np.testing.assert_array_equal(ka[key], kb[key], err_msg=key)
    np.testing.assert_array_equal(np.load(a / "samples.npy"), np.load(b / "samples.npy"))
    ma, mb = (json.loads((d / "metrics.json").read_text())["metrics"] for d in (a, b))
    assert ma == mb


ARGS = ["--quick", "--quiet", "--threads", "1", "--prior-steps", "3", "--num-samples", "20"]
# half-then-resume and Ctrl-C-then-resume of stage 1 are in tests/test_demos_resume.py with the other demos;
# what is the VQ-VAE's own: a finished run resumed loads its prior instead of training it again


def test_vqvae_demo_resumed_when_finished_gives_the_same_results(tmp_path, monkeypatch):
    vqvae.main(ARGS + ["--steps", "8", "--out", str(tmp_path / "once")])
    vqvae.main(ARGS + ["--steps", "8", "--out", str(tmp_path / "twice")])
    with monkeypatch.context() as patch:  # the finished run's prior comes from its checkpoint
        patch.setattr(vqvae, "train_prior", lambda *a, **k: pytest.fail("the prior was trained again"))
        vqvae.main(ARGS + ["--steps", "8", "--resume", "--out", str(tmp_path / "twice")])
    assert_same_run(tmp_path / "once", tmp_path / "twice")


def test_vqvae_demo_resume_refuses_another_codebook(tmp_path, capsys):
    vqvae.main(ARGS + ["--steps", "2", "--out", str(tmp_path)])
    with pytest.raises(SystemExit) as stop:
        sys.modules["common"].run(vqvae.main, ARGS + ["--steps", "4", "--num-codes", "8", "--resume",
                                                      "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert stop.value.code == 1 and "--num-codes was 16 in the checkpoint, this command line has 8 (given)" in err
    assert tg.load(tmp_path / "checkpoint.npz")["step"] == 2  # nothing trained, nothing overwritten

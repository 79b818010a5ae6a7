"""Smoke-run the AE and VAE demos the way CI does (--quick) and check what they write."""

import json
import math

import numpy as np
import pytest
from _scripts import load_script

import tinygen as tg

ae = load_script("demos/ae.py")
vae = load_script("demos/vae.py")
pytestmark = pytest.mark.slow  # every test here trains: the fast lane (-m "not slow") skips them

COMMON = ("samples.png", "reconstructions.png", "interpolation.png", "loss.png", "metrics.json", "checkpoint.npz")


def check_samples(path, n):
    samples = np.load(path)
    assert samples.shape == (n, 1, 8, 8) and samples.dtype == np.float32
    assert samples.min() >= 0.0 and samples.max() <= 1.0


@pytest.mark.parametrize("model", ["vae", "cvae", "gumbel"])
def test_vae_demo_quick_run(model, tmp_path):
    # a 2-D latent adds two figures; gumbel runs as the README shows it, with straight-through samples
    latent = {"vae": ["--latent-dim", "2"], "cvae": [], "gumbel": ["--hard"]}[model]
    result = vae.main(["--quick", "--quiet", "--model", model, "--out", str(tmp_path)] + latent)
    extra = {"vae": ("latent_space.png", "latent_grid.png"), "cvae": ("cvae_rows.png",), "gumbel": ()}[model]
    for name in COMMON + ("kl_parts.png",) + extra:
        assert (tmp_path / name).stat().st_size > 0, name
    check_samples(tmp_path / "samples.npy", 256)
    record = json.loads((tmp_path / "metrics.json").read_text())["metrics"]
    assert record["test_neg_elbo"] == pytest.approx(result["test_neg_elbo"])
    assert record["test_neg_elbo"] == pytest.approx(record["test_recon"] + record["test_kl"], rel=1e-4)
    assert 0.0 <= record["test_kl"] and 0.0 < record["test_recon"] < 64 * math.log(2) * 1.5
    assert record["fd"] >= 0.0 and record["fd_floor"] >= 0.0
    assert sum(record["class_counts"]) == 256 and 1 <= record["classes_seen"] <= 10
    if model != "gumbel":  # the IWAE bound is tighter than the ELBO (up to noise at k = 10)
        assert record["test_iwae_nll_k10"] < record["test_neg_elbo"] + 0.5
    assert tg.load(tmp_path / "checkpoint.npz")["step"] == 20


def test_vae_demo_resume_continues_where_it_stopped(tmp_path):
    args = ["--quick", "--quiet", "--iwae-k", "2"]
    vae.main(args + ["--steps", "8", "--out", str(tmp_path / "a")])
    vae.main(args + ["--steps", "3", "--out", str(tmp_path / "b")])  # 4 batches per epoch: resumes mid-epoch
    vae.main(args + ["--steps", "8", "--resume", "--out", str(tmp_path / "b")])
    a = tg.load(tmp_path / "a" / "checkpoint.npz")
    b = tg.load(tmp_path / "b" / "checkpoint.npz")
    assert a["history"]["loss"] == b["history"]["loss"]
    for name in a["model"]:
        np.testing.assert_array_equal(a["model"][name].numpy(), b["model"][name].numpy(), err_msg=name)


def test_ae_demo_quick_run(tmp_path):
    result = ae.main(["--quick", "--quiet", "--out", str(tmp_path)])
    for name in COMMON + ("latent_spaces.png", "ae_latent_grid.png", "vae_latent_grid.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    check_samples(tmp_path / "samples.npy", 256)
    check_samples(tmp_path / "vae_samples.npy", 256)
    record = json.loads((tmp_path / "metrics.json").read_text())["metrics"]
    assert record["ae_test_recon"] == pytest.approx(result["ae_test_recon"])
    assert 0.0 < record["ae_test_recon"] < 100 and record["vae_test_kl"] >= 0.0
    state = tg.load(tmp_path / "checkpoint.npz")
    assert set(state) == {"ae", "vae", "config"} and state["vae"]["step"] == 20 and state["ae"]["step"] == 20

"""benchmarks/gan_quality.py on a smoke run of the digits DCGAN (bundled data, no download)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import gan_quality  # noqa: E402

import tinygen as tg  # noqa: E402

ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")


def script(name, *args):
    return subprocess.run([sys.executable, os.path.join(ROOT, *name), *args], capture_output=True, text=True,
                          env=ENV, cwd=ROOT)


@pytest.mark.slow
def test_a_run_is_judged_by_the_generator_it_trained(tmp_path):
    run = tmp_path / "gan-digits"
    trained = script(("demos", "gan.py"), "--dataset", "digits", "--quick", "--schedule-steps", "30", "--quiet",
                     "--out", str(run))  # the schedule of 30 steps: a snapshot after the last
    assert trained.returncode == 0, trained.stderr[-3000:]

    # the rebuilt generator draws what the demo drew from its fixed noise after the last step
    G, config = gan_quality.load_generator(run, 8)
    state = tg.load(run / "checkpoint.npz", device="cpu")  # the demo ran on the CPU, and so does the judge
    assert state["snapshot_steps"][-1] == config["steps"] == 30
    with tg.no_grad():
        again = G(tg.tensor(state["fixed_noise"], device="cpu")).numpy()
    np.testing.assert_allclose(again, state["snapshots"][-1], atol=1e-6)

    judged = script(("benchmarks", "gan_quality.py"), str(run), str(run), "--num-samples", "200", "--seeds", "3,3",
                    "--quiet", "--out", str(tmp_path / "q"))
    assert judged.returncode == 0, judged.stderr[-3000:]
    assert "200 samples per draw" in judged.stdout
    report = json.loads((tmp_path / "q" / "report.json").read_text())
    assert list(report) == [str(run)] and report[str(run)]["config"]["refine"] is False
    first, second = report[str(run)]["draws"]
    assert first == second  # one seed, one set of samples, one set of figures
    assert sum(first["class_counts"]) == 200 and 0.0 < first["confidence"] <= 1.0
    assert first["fd"] > 0.0 and first["fd_floor"] > 0.0 and first["fd_ratio"] == pytest.approx(first["fd"] / first["fd_floor"])


def test_a_folder_without_a_checkpoint_says_how_to_make_one(tmp_path):
    with pytest.raises(SystemExit, match="no checkpoint at .*demos/gan.py --dataset mnist"):
        gan_quality.load_generator(tmp_path, 28)


@pytest.mark.slow
def test_with_ema_the_run_is_judged_by_the_averaged_generator_it_sampled_from(tmp_path):
    run = tmp_path / "gan-digits-ema"
    trained = script(("demos", "gan.py"), "--dataset", "digits", "--quick", "--ema", "0.9", "--quiet", "--out", str(run))
    assert trained.returncode == 0, trained.stderr[-3000:]
    state = tg.load(run / "checkpoint.npz", device="cpu")
    assert state["config"]["ema"] == 0.9 and state["ema_g"]["num_updates"] == 30

    G, _ = gan_quality.load_generator(run, 8)
    # the checkpoint is written just before the demo draws its samples: from its random state,
    # the rebuilt averaged generator draws samples.npy again
    tg.backend.set_rng_state(state["rng"])
    with tg.no_grad():
        again = tg.data.from_symmetric(G(tg.randn(2500, G.latent_dim, device="cpu"))).numpy()
    np.testing.assert_allclose(again, np.load(run / "samples.npy"), atol=1e-6)

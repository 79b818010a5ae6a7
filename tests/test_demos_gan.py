"""Smoke runs of demos/gan.py with --quick: the files it writes and the numbers in metrics.json."""

import json

import numpy as np
import pytest
from _scripts import load_script

import tinygen as tg

gan = load_script("demos/gan.py")

FIGURES = ("samples.png", "progress.png", "loss.png")


def _metrics(out):
    return json.loads((out / "metrics.json").read_text())["metrics"]


@pytest.mark.slow
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


@pytest.mark.slow
@pytest.mark.parametrize("loss", ["wgan-gp", "lsgan"])
def test_quick_run_with_other_losses_and_tricks(tmp_path, loss):
    metrics = gan.main(["--dataset", "ring8", "--quick", "--quiet", "--out", str(tmp_path), "--loss", loss,
                        "--steps", "5", "--spectral-norm", "--minibatch-std", "--pack", "2"])
    assert metrics["modes"] == 8 and np.isfinite(metrics["final_d_loss"])


@pytest.mark.slow
def test_quick_dcgan_on_digits(tmp_path):
    gan.main(["--dataset", "digits", "--quick", "--quiet", "--out", str(tmp_path), "--steps", "5"])
    samples = np.load(tmp_path / "samples.npy")
    assert samples.shape == (2500, 1, 8, 8) and samples.min() >= 0.0 and samples.max() <= 1.0
    written = _metrics(tmp_path)
    assert written["fd"] >= 0 and written["fd_floor"] > 0 and sum(written["class_counts"]) == 2500
    for name in FIGURES:
        assert (tmp_path / name).stat().st_size > 0, name


def test_rate_decay_is_constant_then_falls_linearly_to_zero():
    args = gan.parse(["--dataset", "grid25", "--steps", "10", "--schedule-steps", "8", "--lr", "0.1", "--lr-decay", "0.5"])
    assert args.n_critic == 5 and args.pack == 4 and args.lr_decay == 0.5
    opt = tg.optim.SGD([tg.zeros(1, requires_grad=True)], lr=args.lr)
    (schedule,) = gan.decay_schedules(args, 0, opt)
    rates = [opt.param_groups[0]["lr"]]
    for _ in range(10):
        schedule.step()
        rates.append(opt.param_groups[0]["lr"])
    # over the schedule's 8 steps, then 0 for the steps a resumed run may add
    np.testing.assert_allclose(rates, [0.1] * 5 + [0.075, 0.05, 0.025, 0.0, 0.0, 0.0], atol=1e-12)
    # the schedule's length is not --steps: the larger of --steps and the default run's (grid25: 24000)
    assert gan.parse(["--steps", "100"]).schedule_steps == 24000
    assert gan.parse(["--steps", "30000"]).schedule_steps == 30000
    assert gan.decay_schedules(gan.parse(["--lr-decay", "0"]), 0, opt) == []
    assert gan.data_scale(gan.get_toy2d("grid25")) == pytest.approx(4.1, abs=0.11)


def test_minibatch_std_is_on_for_2d_data_and_can_be_turned_off():
    assert gan.parse(["--dataset", "grid25"]).minibatch_std is True
    assert gan.parse(["--dataset", "moons"]).minibatch_std is True
    assert gan.parse(["--dataset", "ring8"]).minibatch_std is False  # ring8's own default (DATASET_DEFAULTS)
    assert gan.parse(["--dataset", "ring8", "--minibatch-std"]).minibatch_std is True
    assert gan.parse(["--dataset", "digits"]).minibatch_std is False
    assert gan.parse(["--dataset", "grid25", "--no-minibatch-std"]).minibatch_std is False
    assert gan.parse(["--dataset", "digits", "--minibatch-std"]).minibatch_std is True


def test_a_dataset_default_overrides_its_kind_and_only_there():
    ring8, grid25, mnist, digits = (gan.parse(["--dataset", d]) for d in ("ring8", "grid25", "mnist", "digits"))
    assert (ring8.steps, ring8.lr_decay, ring8.schedule_steps) == (12000, 0.5, 12000)
    assert (grid25.steps, grid25.lr_decay, grid25.schedule_steps) == (24000, 0.5, 24000)
    moons = gan.parse(["--dataset", "moons"])  # the other toys keep their kind's defaults
    assert (moons.steps, moons.lr_decay) == (gan.TOY_DEFAULTS["steps"], gan.TOY_DEFAULTS["lr_decay"])
    assert (mnist.steps, digits.steps) == (10000, gan.IMAGE_DEFAULTS["steps"])
    assert (mnist.pack, mnist.ema, digits.pack, digits.ema) == (1, 0.999, 2, 0.0)  # MNIST samples from an average of G
    assert (mnist.lr, digits.lr) == (3e-4, gan.IMAGE_DEFAULTS["lr"])
    assert (mnist.reuse_fakes, digits.reuse_fakes, grid25.reuse_fakes) == (True, False, False)
    assert gan.parse(["--dataset", "mnist", "--no-reuse-fakes"]).reuse_fakes is False
    assert (mnist.loss, digits.loss, grid25.loss) == ("lsgan", "nonsaturating", "nonsaturating")
    assert mnist.d_batch_norm and not gan.parse(["--dataset", "mnist", "--loss", "wgan-gp"]).d_batch_norm
    assert (grid25.ema, gan.parse(["--dataset", "digits", "--ema", "0.99"]).ema) == (0.0, 0.99)
    assert gan.parse(["--dataset", "ring8", "--steps", "100"]).schedule_steps == 12000  # the default run's schedule

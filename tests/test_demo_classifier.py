"""Smoke-run the classifier demo the way CI does (--quick) and check what it writes."""

import json

import numpy as np
import pytest
from _scripts import load_script

import tinygen as tg

classifier = load_script("demos/classifier.py")
pytestmark = pytest.mark.slow  # every test here trains: the fast lane (-m "not slow") skips them


def test_quick_run_writes_figures_metrics_and_checkpoint(tmp_path):
    metrics = classifier.main(["--quick", "--quiet", "--out", str(tmp_path)])
    for name in ("loss.png", "predictions.png", "metrics.json", "checkpoint.npz"):
        assert (tmp_path / name).stat().st_size > 0, name
    record = json.loads((tmp_path / "metrics.json").read_text())
    assert record["metrics"]["test_accuracy"] == pytest.approx(metrics["test_accuracy"])
    assert 0.0 <= metrics["test_accuracy"] <= 1.0
    assert record["config"]["dataset"] == "digits"
    state = tg.load(tmp_path / "checkpoint.npz")
    assert state["epoch"] == 1 and set(state) >= {"model", "optimizer", "rng", "history"}


def test_quick_run_on_mnist(tmp_path):
    """The README's `python demos/classifier.py --dataset mnist`, in its --quick form: 28x28 images."""
    from tinygen.data import dataset_dir

    if not (dataset_dir("mnist") / "train-images-idx3-ubyte.gz").exists():
        pytest.skip("MNIST files not found (set $TINYGEN_DATA)")
    metrics = classifier.main(["--dataset", "mnist", "--quick", "--quiet", "--out", str(tmp_path)])
    assert metrics["train_images"] == 512 and 0.0 <= metrics["test_accuracy"] <= 1.0


def test_training_learns_digits(tmp_path):
    """A few epochs on the 1,500 training digits must beat chance by far (10% is chance)."""
    metrics = classifier.main(["--epochs", "4", "--quiet", "--out", str(tmp_path)])
    assert metrics["test_accuracy"] > 0.6


def test_resume_continues_where_it_stopped(tmp_path):
    straight = classifier.main(["--epochs", "2", "--quiet", "--out", str(tmp_path / "a")])
    classifier.main(["--epochs", "1", "--quiet", "--out", str(tmp_path / "b")])
    resumed = classifier.main(["--epochs", "2", "--resume", "--quiet", "--out", str(tmp_path / "b")])
    assert resumed["test_accuracy"] == straight["test_accuracy"]
    a = tg.load(tmp_path / "a" / "checkpoint.npz")["model"]
    b = tg.load(tmp_path / "b" / "checkpoint.npz")["model"]
    for name in a:
        np.testing.assert_array_equal(a[name].numpy(), b[name].numpy(), err_msg=name)

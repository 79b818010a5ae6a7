"""benchmarks/gpu_check.py, the check for the day a GPU is lent, run here on the strict CuPy stand-in."""

import json
import subprocess
import sys

import pytest
from _scripts import ROOT


def gpu_check(*args):
    return subprocess.run([sys.executable, "benchmarks/gpu_check.py", *args], cwd=ROOT, capture_output=True,
                          text=True)


@pytest.mark.slow
def test_the_check_runs_its_steps_and_writes_one_report(tmp_path):
    path = tmp_path / "report.json"
    done = gpu_check("--stand-in", "--demos", "classifier", "--skip", "bench",
                     "--pytest-args", "-k test_repr_names_the_device", "--json", str(path))
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(path.read_text())
    assert report["ok"] and report["stand_in"]
    assert report["environment"]["cuda_available"] and "stand-in" in report["environment"]["cupy"]
    assert report["steps"]["gpu-tests"]["counts"]["passed"] == 1
    demo = report["steps"]["demos"]["classifier"]
    assert demo["rc"] == 0 and "--device cuda" in demo["command"]
    assert demo["metrics"]["config"]["device"] == "cuda" and demo["metrics"]["metrics"]["test_accuracy"] > 0
    assert "bench" not in report["steps"]


def test_without_a_gpu_it_says_so_and_fails(tmp_path):
    if _real_gpu():
        pytest.skip("CuPy is installed here: the check would run for real")
    done = gpu_check("--json", str(tmp_path / "report.json"))
    assert done.returncode == 1 and "no GPU here" in done.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["ok"] is False and report["environment"]["cuda_available"] is False


def _real_gpu():
    try:
        import cupy  # noqa: F401
    except ImportError:
        return False
    return True

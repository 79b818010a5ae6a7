"""benchmarks/ddpm_quality.py end to end on a smoke run of the digits DDPM (bundled data, no download)."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "benchmarks", "ddpm_quality.py")


def run_script(*args):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True, env=env, cwd=ROOT)


@pytest.mark.slow
def test_one_sampler_per_process_gives_the_figures_of_a_run_that_judges_both(tmp_path):
    both = run_script("--toys", "", "--images", "digits", "--quick", "--quiet", "--out", str(tmp_path / "both"))
    assert both.returncode == 0, both.stderr[-3000:]
    report = json.loads((tmp_path / "both" / "report.json").read_text())["images"]
    assert sorted(report["samplers"]) == ["ddim (5, eta=0)", "ddpm (5, eta=1)"]  # no full chain unless asked
    for figures in report["samplers"].values():
        assert 0.0 <= figures["min_class_fraction"] <= 1.0 and figures["fd"] > 0.0 and figures["fd_floor"] > 0.0

    # judge the same trained run again, DDIM alone: the same samples, so the same figures
    alone = run_script("--toys", "", "--images", "digits", "--quick", "--quiet", "--samplers", "ddim",
                       "--from-run", str(tmp_path / "both" / "digits"), "--out", str(tmp_path / "ddim"))
    assert alone.returncode == 0, alone.stderr[-3000:]
    ddim = json.loads((tmp_path / "ddim" / "report.json").read_text())["images"]["samplers"]
    assert list(ddim) == ["ddim (5, eta=0)"]
    for key in ("classes_seen", "min_class_fraction", "fd"):
        assert ddim["ddim (5, eta=0)"][key] == report["samplers"]["ddim (5, eta=0)"][key]


def test_an_unknown_sampler_is_refused_by_name():
    done = run_script("--toys", "", "--images", "digits", "--samplers", "ddim,euler")
    assert done.returncode != 0
    assert "--samplers" in done.stderr and "euler" in done.stderr

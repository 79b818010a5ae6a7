"""The coursework in exercises/ stays gradeable: its tests pass on tinygen's own solutions, and
on a blank exercise every test fails with the one-line hint rather than an error."""

import os
import pathlib
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXERCISES = sorted(p for p in (ROOT / "exercises").glob("ex*.py") if not p.stem.endswith("_test"))


def run_exercises(tmp_path, *args, env=None):
    """pytest on exercises/ in a fresh process: (its result, {test id: failure message or None})."""
    report = tmp_path / "report.xml"
    inherited = {k: v for k, v in os.environ.items() if k != "TINYGEN_EXERCISES"}  # a CI setting must not leak in
    env = inherited | {"OPENBLAS_NUM_THREADS": "1"} | (env or {})
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *args, "-q", "-p", "no:cacheprovider", f"--junitxml={report}"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    outcomes = {}
    for case in ET.parse(report).iter("testcase"):
        problem = case.find("failure") if case.find("failure") is not None else case.find("error")
        outcomes[f"{case.get('classname')}::{case.get('name')}"] = None if problem is None else (
            f"{problem.tag}: {problem.get('message')}")
    return result, outcomes


def test_exercise_tests_pass_on_the_reference_solutions(tmp_path):
    result, outcomes = run_exercises(tmp_path, "exercises/", "--reference")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    modules = {test.split("::")[0] for test in outcomes}
    assert modules == {f"exercises.{p.stem}_test" for p in EXERCISES}, f"each exercise has tests: {sorted(modules)}"
    assert len(outcomes) >= 5 * len(EXERCISES)


def test_the_environment_variable_selects_the_reference_too(tmp_path):
    result, outcomes = run_exercises(tmp_path, "exercises/ex2_gaussian_kl_test.py",
                                     env={"TINYGEN_EXERCISES": "reference"})
    assert result.returncode == 0 and outcomes and all(v is None for v in outcomes.values()), result.stdout[-3000:]


def test_blank_exercises_fail_with_the_hint(tmp_path):
    blank = [p for p in EXERCISES if "raise NotImplementedError(" in p.read_text()]
    if not blank:
        pytest.skip("every exercise has been filled in in this checkout")
    result, outcomes = run_exercises(tmp_path, *[f"exercises/{p.stem}_test.py" for p in blank])
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]  # 1: tests failed; 2+: errors
    for p in blank:
        tests = {test: message for test, message in outcomes.items() if test.startswith(f"exercises.{p.stem}_test::")}
        assert tests, f"no tests ran for {p.name}"
        hint = f"failure: Failed: {p.stem}: not implemented yet — fill in "
        wrong = {test: message for test, message in tests.items() if not (message or "").startswith(hint)}
        assert not wrong, f"expected every test of {p.name} to fail with {hint!r}, got {wrong}"
        assert f"in exercises/{p.name} (see exercises/README.md)" in next(iter(tests.values()))

"""The grader's plumbing: which implementation the exercise tests check, and a readable failure.

By default each test checks YOUR file (``exercises/ex1_softplus.py`` ...). With ``--reference``
(or ``TINYGEN_EXERCISES=reference`` in the environment) it checks tinygen's own implementation
instead: that is how the project's test suite keeps these tests honest.
"""

import importlib
import os
import pathlib
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # so `import ex1_softplus` finds your file under any import mode
    sys.path.insert(0, str(HERE))


def pytest_addoption(parser):
    parser.addoption(
        "--reference", action="store_true", default=False,
        help="check tinygen's reference solutions instead of the files in exercises/",
    )


def reference_mode(config):
    return config.getoption("--reference") or os.environ.get("TINYGEN_EXERCISES") == "reference"


@pytest.fixture(scope="session")
def solution(request):
    """``solution("ex2_gaussian_kl", "gaussian_kl", reference=f)``: your object, or f with --reference."""
    use_reference = reference_mode(request.config)

    def pick(module, name, reference):
        if use_reference:
            return reference
        return getattr(importlib.import_module(module), name)

    return pick


def pytest_report_header(config):
    which = "tinygen's reference solutions" if reference_mode(config) else "your files in exercises/"
    return f"exercises: checking {which}"


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem):
    """A blank left unfilled fails with one line that says which blank, not a traceback."""
    try:
        return (yield)
    except NotImplementedError as e:
        blank = _blank_in_exercise(e)
        if blank is None:  # raised somewhere else: show it as it is
            raise
    # fail here, outside the except block, so pytest shows no "during handling of..." chain
    path, name = blank
    where = os.path.relpath(path, pyfuncitem.config.rootpath)
    pytest.fail(f"{path.stem}: not implemented yet — fill in {name} in {where} (see exercises/README.md)",
                pytrace=False)


def _blank_in_exercise(error):
    """(file, function) of the exercise blank that raised ``error``, or None if none did."""
    tb, found = error.__traceback__, None
    while tb is not None:
        path = pathlib.Path(tb.tb_frame.f_code.co_filename).resolve()
        if path.parent == HERE and path.stem.startswith("ex") and not path.stem.endswith("_test"):
            code = tb.tb_frame.f_code
            found = path, getattr(code, "co_qualname", code.co_name)  # co_qualname: Python 3.11+
        tb = tb.tb_next
    return found

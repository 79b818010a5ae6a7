"""Shared test set-up: hypothesis profiles, the gpu and cpu_only marks, a fixed seed per test, both tiers.

``TINYGEN_STRICT_CUPY=1`` makes the strict CuPy stand-in (tests/strict_cupy.py) tinygen's "cuda"
array module for the whole run; with ``TINYGEN_DEVICE=cuda`` as well, every test runs on it.
"""

import os
import pathlib

TESTS = pathlib.Path(__file__).resolve().parent
if os.environ.get("TINYGEN_STRICT_CUPY") == "1":  # before tinygen first loads CuPy
    os.environ["TINYGEN_CUPY_MODULE"] = "strict_cupy"
    paths = [str(TESTS)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    os.environ["PYTHONPATH"] = os.pathsep.join(paths)  # the scripts tests start find it too

import pytest  # noqa: E402
import strict_cupy  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

import tinygen as tg  # noqa: E402

# No deadline: these machines are shared and their speed drifts; a test never times itself.
settings.register_profile(
    "default", max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_collection_modifyitems(config, items):
    device = tg.get_default_device()
    skip = pytest.mark.skip(reason=f"about the CPU itself; the default device here is {device!r}")
    for item in items:
        if "cpu_only" in item.keywords and device != "cpu":
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _gpu_or_stand_in(request, monkeypatch):
    """A ``gpu`` test runs on the GPU where CuPy sees one, else on the strict CuPy stand-in."""
    if request.node.get_closest_marker("gpu") is not None and not tg.cuda_is_available():
        monkeypatch.setattr(tg.backend, "_cupy", strict_cupy)
    yield


@pytest.fixture(autouse=True)
def _seed():
    tg.manual_seed(0)
    yield


@pytest.fixture(autouse=True)
def _restore_default_device():
    """A demo run in-process sets the default device (its --device, "cpu" unless given): the next test
    must still get the run's default ("cuda" in the stand-in run)."""
    before = tg.backend._default_device
    yield
    tg.backend._default_device = before


@pytest.fixture(autouse=True)
def _restore_grad_mode():
    """A test that leaves grad mode off must not break every test after it."""
    with tg.enable_grad():
        yield


# The op and model suites run twice: on the fast kernels (the default) and on the reading path
# alone, so both tiers are proven by the same tests (tinygen/kernels.py).
BOTH_TIERS = {
    "test_ops_forward", "test_ops_gradcheck", "test_conv", "test_nn_layers", "test_stability", "test_dtype",
    "test_torch_parity", "test_conv_torch_parity", "test_nn_torch_parity", "test_optim", "test_optim_torch_parity",
    "test_ae", "test_vae", "test_gan", "test_ddpm", "test_unet", "test_gumbel", "test_resume",
}


def pytest_generate_tests(metafunc):
    if metafunc.module.__name__ in BOTH_TIERS:
        metafunc.fixturenames.append("kernel_tier")
        # the reading-path pass is the second run of the same tests: the fast lane (-m "not slow") skips it
        tiers = ["fast", pytest.param("reading", marks=pytest.mark.slow)]
        metafunc.parametrize("kernel_tier", tiers, indirect=True)


@pytest.fixture
def kernel_tier(request):
    with tg.use_fast_kernels(request.param == "fast"):
        yield request.param

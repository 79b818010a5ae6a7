"""Shared test set-up: hypothesis profiles, the gpu mark, a fixed seed per test, both tiers."""

import os

import pytest
from hypothesis import HealthCheck, settings

import tinygen as tg

# No deadline: these machines are shared and their speed drifts; a test never times itself.
settings.register_profile(
    "default", max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_collection_modifyitems(config, items):
    if tg.cuda_is_available():
        return
    skip = pytest.mark.skip(reason="needs CuPy and an NVIDIA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _seed():
    tg.manual_seed(0)
    yield


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
        metafunc.parametrize("kernel_tier", ["fast", "reading"], indirect=True)


@pytest.fixture
def kernel_tier(request):
    with tg.use_fast_kernels(request.param == "fast"):
        yield request.param

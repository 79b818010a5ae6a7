"""The backend seam: who imports NumPy/CuPy, devices, and the GPU path where there is one."""

import ast
import os
import pathlib
import sys

import numpy as np
import pytest
import strict_cupy

import tinygen as tg
from tinygen import backend

PACKAGE = pathlib.Path(tg.__file__).parent
SOURCES = sorted(PACKAGE.rglob("*.py"))


def _imported_modules(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


def test_only_backend_imports_numpy_or_cupy():
    offenders = []
    for path in SOURCES:
        if path.name == "backend.py" and path.parent == PACKAGE:
            continue
        for module in _imported_modules(ast.parse(path.read_text(), str(path))):
            if module.split(".")[0] in ("numpy", "cupy"):
                offenders.append(f"{path.relative_to(PACKAGE.parent)} imports {module}")
    assert not offenders, "only tinygen/backend.py may import numpy/cupy:\n" + "\n".join(offenders)


def test_the_import_scan_sees_imports():
    # the scan above must be able to fail: it finds both spellings of an import
    tree = ast.parse("import numpy as np\nfrom cupy.cuda import runtime\nfrom . import backend")
    assert list(_imported_modules(tree)) == ["numpy", "cupy.cuda"]


def _array_module_chains(tree):
    """Dotted attribute paths used on an array module: ``xp.add.at`` -> "add.at"."""

    def is_array_module(node):
        if isinstance(node, ast.Name):
            return node.id == "xp"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            host_only = [ast.unparse(a) for a in node.args] == ["'cpu'"]  # xp_for("cpu") is NumPy
            return node.func.attr in ("array_module", "xp_for") and not host_only
        return False

    chains = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        parts, base = [], node
        while isinstance(base, ast.Attribute):
            parts.append(base.attr)
            base = base.value
        if is_array_module(base):
            chains.add(".".join(reversed(parts)))
    # keep only the longest chains (xp.add.at covers xp.add)
    return {c for c in chains if not any(o.startswith(c + ".") for o in chains)}


def test_the_attribute_scan_sees_array_module_uses():
    tree = ast.parse("xp.add.at(a, i, g)\nbackend.array_module(x).exp(x)\nbackend.xp_for(d).pad\n"
                     "backend.xp_for('cpu').loadtxt\nother.foo")
    assert _array_module_chains(tree) == {"add.at", "exp", "pad"}


def test_every_array_module_attribute_exists_in_cupy():
    try:
        import cupy
    except ImportError:
        cupy = strict_cupy  # CuPy's own names, as the stand-in copies them (tests/strict_cupy_namespace.txt)
    missing = []
    for path in SOURCES:
        for chain in sorted(_array_module_chains(ast.parse(path.read_text(), str(path)))):
            obj = cupy
            for part in chain.split("."):
                obj = getattr(obj, part, None)
                if obj is None:
                    missing.append(f"{path.name}: cupy.{chain}")
                    break
    assert not missing, "attributes CuPy lacks:\n" + "\n".join(missing)


def test_every_array_module_attribute_exists_in_numpy():
    missing = []
    for path in SOURCES:
        for chain in _array_module_chains(ast.parse(path.read_text(), str(path))):
            obj = np
            for part in chain.split("."):
                obj = getattr(obj, part, None)
                if obj is None:
                    missing.append(f"{path.name}: numpy.{chain}")
                    break
    assert not missing, "\n".join(missing)


# ---------------------------------------------------------------- devices
def test_unknown_device_is_refused():
    with pytest.raises(tg.DeviceError, match="unknown device 'tpu'.*cpu.*cuda"):
        tg.tensor([1.0], device="tpu")
    with pytest.raises(tg.DeviceError, match="unknown device"):
        tg.zeros(2, device="gpu")
    assert backend.check_device("CPU:0") == "cpu"


@pytest.fixture
def without_cupy(monkeypatch):
    """Make ``import cupy`` fail, as on a machine without it (works where CuPy is installed too)."""
    monkeypatch.setitem(sys.modules, os.environ.get("TINYGEN_CUPY_MODULE", "cupy"), None)  # or the stand-in
    monkeypatch.setattr(backend, "_cupy", None)
    monkeypatch.setattr(backend, "_default_device", None)


def test_cuda_without_cupy_says_how_to_install_it(without_cupy):
    with pytest.raises(tg.DeviceError, match=r'pip install -e "\.\[gpu\]"'):
        tg.tensor([1.0], device="cuda")
    with pytest.raises(tg.DeviceError, match=r"\.\[gpu\]"):
        tg.randn(2, device="cuda")
    assert tg.cuda_is_available() is False


def test_default_device_from_environment(without_cupy, monkeypatch):
    monkeypatch.setenv("TINYGEN_DEVICE", "cpu")
    assert tg.get_default_device() == "cpu"
    assert tg.zeros(1).device == "cpu"

    monkeypatch.setattr(backend, "_default_device", None)
    monkeypatch.setenv("TINYGEN_DEVICE", "tpu")
    with pytest.raises(tg.DeviceError, match="unknown device 'tpu'"):
        tg.zeros(1)

    monkeypatch.setattr(backend, "_default_device", None)
    monkeypatch.setenv("TINYGEN_DEVICE", "cuda")
    with pytest.raises(tg.DeviceError, match=r"\.\[gpu\]"):
        tg.zeros(1)


def test_set_default_device(without_cupy):
    tg.set_default_device("cpu")
    assert tg.get_default_device() == "cpu" and tg.tensor([1.0]).device == "cpu"
    with pytest.raises(tg.DeviceError, match=r"\.\[gpu\]"):
        tg.set_default_device("cuda")
    assert tg.get_default_device() == "cpu"  # a refused device leaves the default as it was
    with pytest.raises(tg.DeviceError, match="unknown device"):
        tg.set_default_device("mps")


# ---------------------------------------------------------------- on a GPU
def _small_step(device):
    tg.manual_seed(0)
    w = tg.tensor(np.linspace(-1, 1, 12).reshape(3, 4), device=device, requires_grad=True)
    x = tg.tensor(np.linspace(0, 2, 6).reshape(2, 3), device=device)
    loss = ((x @ w).tanh() ** 2).mean() + w.exp().sum() * 0.01
    loss.backward()
    return loss.detach().cpu().numpy(), w.grad.cpu().numpy()


@pytest.mark.gpu
def test_forward_and_backward_on_cuda_equal_cpu():
    cpu_loss, cpu_grad = _small_step("cpu")
    gpu_loss, gpu_grad = _small_step("cuda")
    np.testing.assert_allclose(gpu_loss, cpu_loss, rtol=1e-10)
    np.testing.assert_allclose(gpu_grad, cpu_grad, rtol=1e-10)


@pytest.mark.gpu
def test_to_cuda_and_back_passes_the_gradient():
    x = tg.tensor([1.0, 2.0, 3.0], device="cpu", requires_grad=True)
    y = x.to("cuda")
    assert y.device == "cuda" and y.requires_grad
    z = (y * y).to("cpu")
    assert z.device == "cpu"
    z.sum().backward()
    assert x.grad.device == "cpu"
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0, 6.0])


@pytest.mark.gpu
def test_random_numbers_on_cuda_are_seeded():
    tg.manual_seed(5)
    a = tg.randn(4, device="cuda").cpu().numpy()
    tg.manual_seed(5)
    b = tg.randn(4, device="cuda").cpu().numpy()
    assert a.tobytes() == b.tobytes()

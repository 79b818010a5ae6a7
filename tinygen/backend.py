"""The one seam between tinygen and the array libraries.

Every other module asks this one for the array module of the data at hand
(``xp = array_module(x)``) instead of importing NumPy or CuPy itself, so the same
code runs on a CPU (NumPy) and on an NVIDIA GPU (CuPy). CuPy is imported lazily,
only when a tensor is asked to live on ``"cuda"``.

Devices are plain strings: ``"cpu"`` and ``"cuda"``. Random numbers come from one
stream per device, all seeded by :func:`manual_seed`; both streams' positions go into
checkpoints (:func:`get_rng_state`), so a resumed run draws what a straight run draws.
"""

import importlib
import os

import numpy

DEVICES = ("cpu", "cuda")
numpy_ndarray = numpy.ndarray  # the host array type, for checks outside this module

# dtypes, re-exported as tg.float32 and friends; they are NumPy dtype objects
# (CuPy uses the same ones).
float16 = numpy.dtype("float16")
float32 = numpy.dtype("float32")
float64 = numpy.dtype("float64")
int32 = numpy.dtype("int32")
int64 = numpy.dtype("int64")
uint8 = numpy.dtype("uint8")
bool_ = numpy.dtype("bool")

_cupy = None
_default_device = None
_seed = 0
_cpu_generator = None
_gpu_draws = 0  # the GPU stream's position: how many generators it has handed out since the seed


class DeviceError(RuntimeError):
    """A device was asked for that cannot be used, or two devices were mixed."""


def _load_cupy():
    """Import CuPy the first time a GPU is used; explain how to get it if missing."""
    global _cupy
    if _cupy is None:
        try:
            cupy = importlib.import_module(os.environ.get("TINYGEN_CUPY_MODULE", "cupy"))  # tests/strict_cupy.py
        except ImportError as e:
            raise DeviceError(
                "device 'cuda' needs CuPy, which is not installed; install it with "
                "pip install -e \".[gpu]\" (cupy-cuda12x) on a machine with an NVIDIA GPU"
            ) from e
        try:
            count = cupy.cuda.runtime.getDeviceCount()
        except Exception as e:  # CUDA driver missing or broken
            raise DeviceError(f"device 'cuda': CuPy is installed but no usable GPU was found ({e})") from e
        if count == 0:
            raise DeviceError("device 'cuda': CuPy is installed but this machine has no GPU")
        _cupy = cupy
    return _cupy


def gpu_in_use():
    """True once CuPy has been loaded: before that, every array is a NumPy array."""
    return _cupy is not None


def cuda_is_available():
    """True when CuPy imports and sees at least one GPU (never raises)."""
    try:
        _load_cupy()
        return True
    except DeviceError:
        return False


def check_device(device):
    """Normalise a device name ("cuda:0" -> "cuda") or raise a clear error."""
    if device is None:
        return default_device()
    name = str(device).split(":")[0].lower()
    if name not in DEVICES:
        raise DeviceError(f"unknown device {device!r}; expected one of {DEVICES}")
    if name == "cuda":
        _load_cupy()
    return name


def default_device():
    """Where new tensors go when no device is given: set_default_device's, else $TINYGEN_DEVICE, else "cpu"."""
    global _default_device
    if _default_device is None:
        _default_device = check_device(os.environ.get("TINYGEN_DEVICE", "cpu"))
    return _default_device


def set_default_device(device):
    """Where new tensors live when no device= is given (also: env var TINYGEN_DEVICE)."""
    global _default_device
    _default_device = check_device(device)


def xp_for(device):
    """The array module (numpy or cupy) for a device name."""
    return numpy if device == "cpu" else _load_cupy()


def array_module(array):
    """The array module that owns ``array``: the DeZero-style ``get_array_module``."""
    if isinstance(array, numpy.ndarray) or _cupy is None:
        return numpy
    return _cupy.get_array_module(array)


def device_of(array):
    """"cpu" for a NumPy array, "cuda" for a CuPy one."""
    return "cpu" if array_module(array) is numpy else "cuda"


def is_array(obj):
    """True for a NumPy array, or a CuPy array once CuPy is loaded."""
    return isinstance(obj, numpy.ndarray) or (_cupy is not None and isinstance(obj, _cupy.ndarray))


def as_array(data, dtype=None, device="cpu", copy=False):
    """Any array-like (list, scalar, NumPy or CuPy array) as an array on ``device``.

    Without ``copy`` an array already of that device and dtype comes back as it is.
    """
    if device == "cpu":
        if _cupy is not None and isinstance(data, _cupy.ndarray):
            data = data.get()
        return numpy.array(data, dtype=dtype, copy=True) if copy else numpy.asarray(data, dtype=dtype)
    cupy = _load_cupy()
    return cupy.array(data, dtype=dtype, copy=True) if copy else cupy.asarray(data, dtype=dtype)


def as_strided(array, shape, strides):
    """A read-only view of ``array`` with the given shape and byte strides (no copy).

    NumPy and CuPy both keep this in ``lib.stride_tricks``; convolution and pooling use it
    to see every sliding window of an image at once.
    """
    tricks = array_module(array).lib.stride_tricks
    if array_module(array) is numpy:
        return tricks.as_strided(array, shape, strides, writeable=False)
    return tricks.as_strided(array, shape, strides)


def same_device(op, array, other):
    """``other`` as it is, after refusing it when it is an array on another device than ``array``.

    For the places that combine arrays outside an op's device check (in-place updates, batch
    norm's running statistics, Categorical.log_prob, frechet_distance): tinygen's DeviceError
    instead of CuPy's TypeError. Numbers pass.
    """
    if _cupy is not None and is_array(other) and device_of(other) != device_of(array):
        raise DeviceError(f"{op}: expected all tensors on one device, got {device_of(array)} and "
                          f"{device_of(other)}; move them with .to(device) first")
    return other


def synchronize():
    """Wait until the GPU has finished the work queued on it (returns at once before CuPy is loaded)."""
    if _cupy is not None:
        _cupy.cuda.Device().synchronize()


def to_host(array):
    """A NumPy array with the same values (a copy only when the data is on a GPU)."""
    if isinstance(array, numpy.ndarray):
        return array
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return array.get()
    return numpy.asarray(array)


def dtype(obj):
    """Turn 'float32', numpy.float32 or a dtype into a dtype object."""
    return numpy.dtype(obj)


def is_floating(dt):
    """True for a floating dtype (float16, float32, float64)."""
    return numpy.dtype(dt).kind == "f"  # what numpy.issubdtype(dt, numpy.floating) says, 10x faster


def result_dtype(*dtypes):
    """The dtype NumPy's promotion rules give a mix of these dtypes (or arrays): float32 and float64 -> float64."""
    return numpy.result_type(*dtypes)


# ---------------------------------------------------------------- random numbers
# The CPU stream is one NumPy generator; its exact state is a dict of numbers, saved as it is.
# A CuPy generator keeps its state on the GPU where it cannot be read back, so the GPU stream is
# counter-based instead: the k-th draw gets a fresh generator seeded with (seed, k), on Philox
# bits (a counter-based generator, cheap to start). Its whole state is the seed and k, so a run
# resumed from a checkpoint draws exactly what a straight run draws.
def manual_seed(seed):
    """Seed every device's stream; the same seed gives the same run."""
    global _seed, _cpu_generator, _gpu_draws
    _seed, _cpu_generator, _gpu_draws = int(seed), None, 0


def generator(device):
    """The generator for the next draw on ``device`` (ask again for each draw: on a GPU each one is new)."""
    global _cpu_generator, _gpu_draws
    if device == "cpu":
        if _cpu_generator is None:
            _cpu_generator = numpy.random.default_rng(_seed)
        return _cpu_generator
    random = _load_cupy().random
    _gpu_draws += 1
    return random.Generator(random.Philox4x3210([_seed, _gpu_draws - 1]))


def get_rng_state():
    """Both streams' positions as plain numbers (saved in checkpoints): the seed, the CPU generator's
    state, and how many draws the GPU stream has made."""
    return {"seed": _seed, "cpu": generator("cpu").bit_generator.state, "cuda": _gpu_draws}


def set_rng_state(state):
    """Restore what get_rng_state saved: every stream continues exactly where it was."""
    global _gpu_draws
    manual_seed(state["seed"])
    generator("cpu").bit_generator.state = state["cpu"]
    _gpu_draws = int(state.get("cuda", 0))  # checkpoints from before the GPU stream was saved restart it


def host_rng(seed):
    """A private NumPy generator, for helpers (gradcheck) that must not move the global one."""
    return numpy.random.default_rng(seed)


def errstate(**kwargs):
    """numpy.errstate; CuPy never warns on overflow, so this is all either needs."""
    return numpy.errstate(**kwargs)

"""The one seam between tinygen and the array libraries.

Every other module asks this one for the array module of the data at hand
(``xp = array_module(x)``) instead of importing NumPy or CuPy itself, so the same
code runs on a CPU (NumPy) and on an NVIDIA GPU (CuPy). CuPy is imported lazily,
only when a tensor is asked to live on ``"cuda"``.

Devices are plain strings: ``"cpu"`` and ``"cuda"``. Random numbers come from one
generator per device, all seeded by :func:`manual_seed`, so a CPU run is
reproducible bit for bit.
"""

import ctypes
import math
import os
import sys

import numpy

DEVICES = ("cpu", "cuda")

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
_generators = {}


def keep_freed_memory():
    """Ask glibc's malloc to keep freed memory in the process, not hand it back to the OS.

    Every op allocates a fresh result array and frees the ones nobody holds any more. By
    default glibc returns large freed blocks to the OS at once (munmap, heap trimming), so the
    next array of that size is faulted in again, page by page. Measured on the 2-core CPU with
    other jobs running, CPU time per step, off -> on: DCGAN iteration 242 / 274 / 246 -> 217 /
    262 / 215 ms, VAE step 11.1 / 11.9 -> 9.1 / 8.5 ms (benchmarks/run.py's workloads).
    Blocks up to 32 MB (glibc's largest setting) then come from the heap, and the heap is
    never trimmed: the process keeps what it once used, its peak is unchanged. Linux with
    glibc only; ``TINYGEN_KEEP_FREED_MEMORY=0`` leaves malloc as it was. Returns whether set.
    """
    if os.environ.get("TINYGEN_KEEP_FREED_MEMORY", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (e.g. musl): leave it alone
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # from <malloc.h>
    return bool(libc.mallopt(M_MMAP_THRESHOLD, 32 * 2**20)) and bool(libc.mallopt(M_TRIM_THRESHOLD, 2**30))


keep_freed_memory()


class DeviceError(RuntimeError):
    """A device was asked for that cannot be used, or two devices were mixed."""


def _load_cupy():
    """Import CuPy the first time a GPU is used; explain how to get it if missing."""
    global _cupy
    if _cupy is None:
        try:
            import cupy
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
    return "cpu" if array_module(array) is numpy else "cuda"


def is_array(obj):
    return isinstance(obj, numpy.ndarray) or (_cupy is not None and isinstance(obj, _cupy.ndarray))


def as_array(data, dtype=None, device="cpu"):
    """Any array-like (list, scalar, NumPy or CuPy array) as an array on ``device``."""
    if device == "cpu":
        if _cupy is not None and isinstance(data, _cupy.ndarray):
            data = data.get()
        return numpy.asarray(data, dtype=dtype)
    return _load_cupy().asarray(data, dtype=dtype)


def as_strided(array, shape, strides):
    """A read-only view of ``array`` with the given shape and byte strides (no copy).

    NumPy and CuPy both keep this in ``lib.stride_tricks``; convolution and pooling use it
    to see every sliding window of an image at once.
    """
    tricks = array_module(array).lib.stride_tricks
    if array_module(array) is numpy:
        return tricks.as_strided(array, shape, strides, writeable=False)
    return tricks.as_strided(array, shape, strides)


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
    return numpy.dtype(dt).kind == "f"  # what numpy.issubdtype(dt, numpy.floating) says, 10x faster


def result_dtype(*dtypes):
    return numpy.result_type(*dtypes)


# ---------------------------------------------------------------- random numbers
def manual_seed(seed):
    """Seed every device's generator; the same seed gives the same CPU run."""
    global _seed
    _seed = int(seed)
    _generators.clear()


def generator(device):
    """The random generator of a device, created from the current seed on first use."""
    if device not in _generators:
        xp = xp_for(device)
        _generators[device] = xp.random.default_rng(_seed)
    return _generators[device]


def get_rng_state():
    """The CPU generator's state as a plain dict of numbers (saved in checkpoints)."""
    return {"seed": _seed, "cpu": generator("cpu").bit_generator.state}


def set_rng_state(state):
    manual_seed(state["seed"])
    generator("cpu").bit_generator.state = state["cpu"]


def host_rng(seed):
    """A private NumPy generator, for helpers (gradcheck) that must not move the global one."""
    return numpy.random.default_rng(seed)


def errstate(**kwargs):
    """numpy.errstate; CuPy never warns on overflow, so this is all either needs."""
    return numpy.errstate(**kwargs)


# ---------------------------------------------------------------- scratch memory
_scratch = {}  # (purpose, array module, dtype) -> a flat buffer, reused call after call


def scratch(xp, shape, dtype, purpose):
    """A reusable array of ``shape``, overwritten by the next call for the same purpose: for a
    temporary that is read at once (im2col's columns, Adam's step), never kept.

    A fresh array above glibc's mmap threshold (32 MB) arrives with every page untouched:
    filling 58 MB of columns (batch 64, 28x28, 32 channels) took 47 ms in a new array and
    8.5 ms in one already used, longer than the matrix product that reads them (17 ms).
    """
    size = math.prod(shape)
    key = (purpose, xp.__name__, xp.dtype(dtype).str)
    buffer = _scratch.get(key)
    if buffer is None or buffer.size < size:
        buffer = _scratch[key] = xp.empty(size, dtype=dtype)
    return buffer[:size].reshape(shape)

"""Making tensors: from data, filled with a constant, or random (per-device generators)."""

from . import backend
from .tensor import Tensor, default_dtype_of


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor with a copy of a list, a number or an array; Python floats become float32, ints int64."""
    if dtype is None and not hasattr(data, "dtype"):  # arrays and tensors keep theirs
        dtype = default_dtype_of(data)
    return Tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)


def from_numpy(array):
    """A CPU tensor on the NumPy array's own memory: changes to one show in the other."""
    if not isinstance(array, backend.numpy_ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return Tensor.wrap(array)


def _shape(size):
    """zeros(2, 3) and zeros((2, 3)) both mean shape (2, 3)."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return tuple(size)


def _new(make, dtype, device, requires_grad):
    device = backend.check_device(device)
    data = make(backend.xp_for(device), backend.dtype(dtype if dtype is not None else backend.float32))
    return Tensor.wrap(data).requires_grad_(requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad=False):
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))`` has shape (2, 3); float32 unless ``dtype`` is given."""
    return _new(lambda xp, dt: xp.zeros(_shape(size), dtype=dt), dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    """A tensor of ones: ``ones(2, 3)`` or ``ones((2, 3))`` has shape (2, 3); float32 unless ``dtype`` is given."""
    return _new(lambda xp, dt: xp.ones(_shape(size), dtype=dt), dtype, device, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    """A tensor of shape ``size`` (a tuple) filled with ``fill_value``; float32 unless ``dtype`` is given."""
    return _new(lambda xp, dt: xp.full(tuple(size), fill_value, dtype=dt), dtype, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False):
    """PyTorch's name for a tensor to be overwritten; here it is ``zeros``, so it never holds garbage."""
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    """The (n, m) identity matrix (m = n by default): ones on the diagonal, zeros elsewhere."""
    return _new(lambda xp, dt: xp.eye(n, m, dtype=dt), dtype, device, requires_grad)


def _like(x, dtype, device):
    return (dtype if dtype is not None else x.dtype), (device if device is not None else x.device)


def zeros_like(x, dtype=None, device=None, requires_grad=False):
    """Zeros with x's shape, and x's dtype and device unless given."""
    dtype, device = _like(x, dtype, device)
    return zeros(x.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def ones_like(x, dtype=None, device=None, requires_grad=False):
    """Ones with x's shape, and x's dtype and device unless given."""
    dtype, device = _like(x, dtype, device)
    return ones(x.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def full_like(x, fill_value, dtype=None, device=None, requires_grad=False):
    """``fill_value`` everywhere, with x's shape, and x's dtype and device unless given."""
    dtype, device = _like(x, dtype, device)
    return full(x.shape, fill_value, dtype=dtype, device=device, requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """Like torch.arange: integers give int64, any float argument gives float32."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        floats = any(isinstance(v, float) for v in (start, end, step))
        dtype = backend.float32 if floats else backend.int64
    return _new(lambda xp, dt: xp.arange(start, end, step, dtype=dt), dtype, device, requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    """``steps`` evenly spaced values from start to end, both included: shape (steps,), float32 by default."""
    return _new(lambda xp, dt: xp.linspace(start, end, steps, dtype=dt), dtype, device, requires_grad)


# ---------------------------------------------------------------- random
def manual_seed(seed):
    """Seed the generators of every device: the same seed gives the same CPU run, bit for bit."""
    backend.manual_seed(seed)


def _random(draw, size, dtype, device, requires_grad):
    device = backend.check_device(device)
    dt = backend.dtype(dtype if dtype is not None else backend.float32)
    data = draw(backend.generator(device), _shape(size), dt)
    return Tensor.wrap(data).requires_grad_(requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False):
    """Standard normal samples."""
    return _random(lambda rng, shape, dt: rng.standard_normal(shape, dtype=dt), size, dtype, device, requires_grad)


def rand(*size, dtype=None, device=None, requires_grad=False):
    """Uniform samples on [0, 1)."""
    return _random(lambda rng, shape, dt: rng.random(shape, dtype=dt), size, dtype, device, requires_grad)


def randint(low, high=None, size=(), dtype=None, device=None):
    """Integers uniform on [low, high) (int64 unless told otherwise).

    Like torch.randint, ``randint(high, size)`` means low = 0: ``tg.randint(10, (3,))``.
    """
    if isinstance(high, (tuple, list)):
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    dtype = dtype if dtype is not None else backend.int64
    return _random(lambda rng, shape, dt: rng.integers(low, high, shape, dtype=dt), (tuple(size),), dtype, device, False)


def randperm(n, device=None):
    """A random permutation of 0..n-1 (argsort of uniform draws: the same on NumPy and CuPy)."""
    device = backend.check_device(device)
    keys = backend.generator(device).random(n)
    return Tensor.wrap(backend.xp_for(device).argsort(keys).astype(backend.int64))


def randn_like(x, dtype=None, device=None):
    """Standard normal samples with x's shape, and x's dtype and device unless given."""
    dtype, device = _like(x, dtype, device)
    return randn(x.shape, dtype=dtype, device=device)


def rand_like(x, dtype=None, device=None):
    """Uniform samples on [0, 1) with x's shape, and x's dtype and device unless given."""
    dtype, device = _like(x, dtype, device)
    return rand(x.shape, dtype=dtype, device=device)

"""PyTorch's other spellings: aliases a ported script reaches for, each one line of the core.

The reading path names each idea once: ``x.shape``, ``x.ndim``, ``x.amax(dim)``,
``x.to(dtype)``. PyTorch code also writes ``x.size(0)``, ``x.view(...)``, ``x.float()``,
``tg.max(x, 1)``. Those spellings teach nothing new, so they live here, out of the core's
files, each pointing at the core function that does the work. This file holds the first
ones; the rest of the package, by theme:

    devices.py          tg.device("cuda") objects, x.device.type, x.is_cuda; what tg.cuda answers
    creation.py         tg.Tensor(2, 3), FloatTensor & co, x.new_zeros, x.type(...), x.int()
    methods.py          x.eq, all/any, masked_fill, chunk/split/repeat, mm/bmm, sin/cumsum/norm, normal_
    custom_function.py  PyTorch-style autograd.Function (ctx.save_for_backward), Variable

docs/pytorch.md lists what is the same and what differs.
"""

import collections

from .. import backend
from ..ops import elementwise, reduce, shape
from ..tensor import Tensor

MinMax = collections.namedtuple("MinMax", ["values", "indices"])


def tensor_max(self, dim=None, keepdim=False):
    """The largest value; with ``dim``, the ``(values, indices)`` pair PyTorch returns; with a tensor, the elementwise maximum."""
    if dim is None:
        return reduce.amax(self, None, keepdim)
    if isinstance(dim, Tensor):  # torch.max(a, b)
        return elementwise.maximum(self, dim)
    return MinMax(reduce.amax(self, dim, keepdim), reduce.argmax(self, dim, keepdim))


def tensor_min(self, dim=None, keepdim=False):
    """The smallest value; with ``dim``, ``(values, indices)``; with a tensor, the elementwise minimum."""
    if dim is None:
        return reduce.amin(self, None, keepdim)
    if isinstance(dim, Tensor):  # torch.min(a, b)
        return elementwise.minimum(self, dim)
    return MinMax(reduce.amin(self, dim, keepdim), reduce.argmin(self, dim, keepdim))


def size(self, dim=None):
    """The shape, or with ``dim`` the size of that one dimension."""
    return self.shape if dim is None else self.shape[dim]


def view(self, *size):
    """reshape under PyTorch's other name."""
    return self.reshape(*size)


def dim(self):
    """The number of dimensions (``ndim``)."""
    return self.ndim


def view_as(self, other):
    """x reshaped to ``other``'s shape."""
    return shape.reshape(self, other.shape)


def expand_as(self, other):
    """x broadcast to ``other``'s shape."""
    return shape.expand(self, other.shape)


def get_data(self):
    """PyTorch's ``.data``: the same values as a tensor outside the graph (shared memory).

    Changes made through it are seen by the graph (it shares the version counter).
    tinygen's own code reads ``.array``, the raw NumPy/CuPy array, which is not a Tensor.
    """
    return self.alias()


def set_data(self, values):
    """``p.data = values``: new values for the same tensor (counted as an in-place change)."""
    self.array = values.array if isinstance(values, Tensor) else backend.as_array(values, device=self.device)
    self.version_counter.count += 1


def _to(target, doc):
    def convert(self):
        return self.to(target)

    convert.__doc__ = doc
    return convert


Tensor.data = property(get_data, set_data, doc=get_data.__doc__)
Tensor.size = size
Tensor.dim = dim
Tensor.grad_fn = property(lambda self: self.creator, doc="PyTorch's name for ``creator``.")
Tensor.max = tensor_max
Tensor.min = tensor_min
Tensor.clip = elementwise.clamp
Tensor.view = view
Tensor.view_as = view_as
Tensor.expand_as = expand_as
Tensor.cpu = _to("cpu", "x on the CPU.")
Tensor.cuda = _to("cuda", "x on the GPU.")
Tensor.float = _to(backend.float32, "x as float32.")
Tensor.double = _to(backend.float64, "x as float64.")
Tensor.long = _to(backend.int64, "x as int64.")


# ---------------------------------------------------------------- tg.sum(x, dim) and friends
def max(x, dim=None, keepdim=False):
    """tg.max(x), tg.max(x, dim) or the elementwise tg.max(a, b): see Tensor.max."""
    return tensor_max(x, dim, keepdim)


def min(x, dim=None, keepdim=False):
    """tg.min(x), tg.min(x, dim) or the elementwise tg.min(a, b): see Tensor.min."""
    return tensor_min(x, dim, keepdim)


def pow(x, exponent):
    """x ** exponent."""
    return x**exponent


def neg(x):
    """-x."""
    return -x


def get_default_device():
    """Where new tensors go when no device= is given."""
    return backend.default_device()


clip, concatenate, broadcast_to = elementwise.clamp, shape.cat, reduce.broadcast_to
sum, mean, var, logsumexp, amax, amin = reduce.sum, reduce.mean, reduce.var, reduce.logsumexp, reduce.amax, reduce.amin

from . import creation, custom_function, devices, methods  # noqa: E402  (each attaches its names on import)

"""Tensor: an array, the gradient that flows back to it, and the op that created it.

A Tensor holds its values in ``data`` (a NumPy or CuPy array), its gradient in ``grad``
(a Tensor, filled by ``backward``) and, when it was computed by a differentiable op, that op
in ``creator``. Operators and methods here only forward to the ops in ``tinygen/ops``, where
each op's forward and backward sit side by side.
"""

import collections

from . import autograd, backend


class Tensor:
    __slots__ = ("data", "grad", "creator", "requires_grad", "_version", "__weakref__")
    __array_priority__ = 1000  # `ndarray * Tensor` lets Tensor.__rmul__ answer

    def __init__(self, data, dtype=None, device=None, requires_grad=False):
        if isinstance(data, Tensor):
            data = data.data
        device = backend.check_device(device) if device is not None else (
            backend.device_of(data) if backend.is_array(data) else backend.default_device()
        )
        if dtype is None and not hasattr(data, "dtype"):  # arrays and NumPy scalars keep theirs
            dtype = _default_dtype_of(data)
        self.data = backend.as_array(data, dtype=dtype, device=device)
        self.grad = None
        self.creator = None
        self._version = 0
        self.requires_grad = False
        self.requires_grad_(requires_grad)

    @classmethod
    def _make(cls, data, requires_grad):
        """Fast constructor used by ops: ``data`` is already an array of the right device."""
        t = cls.__new__(cls)
        if not backend.is_array(data):
            data = backend.as_array(data)  # NumPy reductions return NumPy scalars, not arrays
        t.data, t.grad, t.creator, t.requires_grad, t._version = data, None, None, requires_grad, 0
        return t

    # ------------------------------------------------------------ properties
    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def device(self):
        return backend.device_of(self.data)

    @property
    def is_leaf(self):
        return self.creator is None

    @property
    def grad_fn(self):
        return self.creator

    @property
    def T(self):
        return self.permute(*reversed(range(self.ndim)))

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim]

    def numel(self):
        return int(self.data.size)

    def dim(self):
        return self.ndim

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __repr__(self):
        # NumPy names every dtype but its own defaults (float64, int64); we name all but ours
        body = repr(backend.to_host(self.data)).replace("array(", "tensor(", 1).replace("\n", "\n ")
        numpy_dtype_note = f"dtype={self.dtype})"  # after ", " or, for wide arrays, ",\n   "
        if body.endswith(numpy_dtype_note):
            body = body[: -len(numpy_dtype_note)].rstrip().rstrip(",") + ")"
        extras = []
        if self.dtype not in (backend.float32, backend.int64, backend.bool_):
            extras.append(f"dtype={self.dtype}")
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if self.creator is not None:
            extras.append(f"grad_fn={type(self.creator).__name__}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return body[:-1] + "".join(", " + e for e in extras) + ")" if extras else body

    # ------------------------------------------------------------ conversion
    def numpy(self):
        """The values as a host NumPy array (copied from the GPU if needed)."""
        if self.requires_grad:
            raise RuntimeError("numpy(): the tensor requires grad; call .detach().numpy() instead")
        return backend.to_host(self.data)

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item(): only a one-element tensor converts to a Python number, got shape {self.shape}")
        return self.data.reshape(()).item()

    def tolist(self):
        return backend.to_host(self.data).tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        return bool(self.item())

    def detach(self):
        """The same values, cut off from the graph (they share memory)."""
        return Tensor._make(self.data, False)

    def clone(self):
        from .ops.elementwise import clone

        return clone(self)

    def to(self, device=None, dtype=None):
        """Move to a device ("cpu" / "cuda") and/or cast to a dtype; differentiable."""
        if isinstance(device, str) or device is None:
            pass
        else:  # t.to(tg.float64)
            device, dtype = None, device
        from .ops.elementwise import cast, to_device

        out = self
        if dtype is not None and backend.dtype(dtype) != self.dtype:
            out = cast(out, backend.dtype(dtype))
        if device is not None and backend.check_device(device) != self.device:
            out = to_device(out, backend.check_device(device))
        return out

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    def float(self):
        return self.to(backend.float32)

    def double(self):
        return self.to(backend.float64)

    def long(self):
        return self.to(backend.int64)

    def type(self, dtype):
        return self.to(dtype)

    # ------------------------------------------------------------ autograd
    def requires_grad_(self, requires_grad=True):
        if requires_grad and not backend.is_floating(self.dtype):
            raise RuntimeError(f"only floating-point tensors can require gradients, got dtype {self.dtype}")
        if not self.is_leaf and not requires_grad:
            raise RuntimeError("requires_grad_(False) on a non-leaf tensor; use .detach() instead")
        self.requires_grad = bool(requires_grad)
        return self

    def backward(self, gradient=None, retain_graph=None, create_graph=False):
        """Add d(self)/d(leaf) into the ``.grad`` of every leaf that requires grad."""
        autograd.backward(self, gradient, retain_graph, create_graph)

    # ------------------------------------------------------------ in-place updates
    # Optimisers update parameters through these. Each bumps a version counter, so a graph
    # that saved the old values refuses to run backward instead of giving wrong gradients.
    def _inplace(self, name, other=None):
        if autograd.is_grad_enabled():
            if self.requires_grad and self.is_leaf:
                raise RuntimeError(
                    f"{name}: a leaf tensor that requires grad cannot be modified in place while grad "
                    "mode is on; do it inside `with tg.no_grad():`"
                )
            if isinstance(other, Tensor) and other.requires_grad:
                raise RuntimeError(
                    f"{name}: the value written in place requires grad, but in-place updates are not "
                    "recorded in the graph, so its gradient would be lost; build the result with "
                    "tg.cat / tg.where instead, or detach() the value"
                )
        self._version += 1

    def _other_data(self, other):
        return other.data if isinstance(other, Tensor) else other

    def add_(self, other, alpha=1.0):
        self._inplace("add_", other)
        other = self._other_data(other)
        self.data += other if alpha == 1.0 else alpha * other
        return self

    def sub_(self, other, alpha=1.0):
        return self.add_(other, alpha=-alpha)

    def mul_(self, other):
        self._inplace("mul_", other)
        self.data *= self._other_data(other)
        return self

    def div_(self, other):
        self._inplace("div_", other)
        self.data /= self._other_data(other)
        return self

    def copy_(self, source):
        self._inplace("copy_", source)
        if tuple(source.shape) != self.shape:
            raise ValueError(f"copy_: expected a source of shape {self.shape}, got {tuple(source.shape)}")
        self.data[...] = backend.as_array(self._other_data(source), dtype=self.dtype, device=self.device)
        return self

    def fill_(self, value):
        self._inplace("fill_")
        self.data.fill(value)
        return self

    def zero_(self):
        return self.fill_(0)

    def __setitem__(self, index, value):
        self._inplace("__setitem__", value)
        self.data[_shape._index_data(index)] = self._other_data(value)

    # ------------------------------------------------------------ operators
    def _lift(self, other):
        """A Python number or array as a constant Tensor next to ``self``.

        A Python float keeps a float32 tensor float32 (NumPy 2 treats Python scalars as
        weak), but a NumPy float64 scalar would not, so numbers get ``self``'s dtype.
        """
        if isinstance(other, Tensor):
            return other
        if isinstance(other, (int, float, bool)) and backend.is_floating(self.dtype):
            return Tensor._make(backend.array_module(self.data).asarray(other, dtype=self.dtype), False)
        return Tensor(other, device=self.device)

    def __add__(self, other):
        return _ew.add(self, other)

    def __radd__(self, other):
        return _ew.add(other, self)

    def __sub__(self, other):
        return _ew.sub(self, other)

    def __rsub__(self, other):
        return _ew.sub(other, self)

    def __mul__(self, other):
        return _ew.mul(self, other)

    def __rmul__(self, other):
        return _ew.mul(other, self)

    def __truediv__(self, other):
        return _ew.div(self, other)

    def __rtruediv__(self, other):
        return _ew.div(other, self)

    def __neg__(self):
        return _ew.neg(self)

    def __pos__(self):
        return self

    def __pow__(self, exponent):
        return _ew.pow(self, exponent)

    def __rpow__(self, base):
        return _ew.pow(self._lift(base), self)

    def __matmul__(self, other):
        return _linalg.matmul(self, self._lift(other))

    def __rmatmul__(self, other):
        return _linalg.matmul(self._lift(other), self)

    def __abs__(self):
        return _ew.abs(self)

    def __getitem__(self, index):
        return _shape.getitem(self, index)

    # comparisons give boolean tensors and are not differentiable
    def _compare(self, other, op):
        return Tensor._make(op(self.data, self._other_data(other)), False)

    def __eq__(self, other):
        return self._compare(other, lambda a, b: a == b)

    def __ne__(self, other):
        return self._compare(other, lambda a, b: a != b)

    def __lt__(self, other):
        return self._compare(other, lambda a, b: a < b)

    def __le__(self, other):
        return self._compare(other, lambda a, b: a <= b)

    def __gt__(self, other):
        return self._compare(other, lambda a, b: a > b)

    def __ge__(self, other):
        return self._compare(other, lambda a, b: a >= b)

    def __invert__(self):
        return Tensor._make(~self.data, False)

    def __and__(self, other):
        return self._compare(other, lambda a, b: a & b)

    def __or__(self, other):
        return self._compare(other, lambda a, b: a | b)

    __hash__ = object.__hash__  # tensors are dict keys by identity, as in PyTorch

    # ------------------------------------------------------------ elementwise methods
    def exp(self):
        return _ew.exp(self)

    def log(self):
        return _ew.log(self)

    def sqrt(self):
        return _ew.sqrt(self)

    def abs(self):
        return _ew.abs(self)

    def pow(self, exponent):
        return self ** exponent

    def square(self):
        return self * self

    def maximum(self, other):
        return _ew.maximum(self, other)

    def minimum(self, other):
        return _ew.minimum(self, other)

    def clamp(self, min=None, max=None):
        return _ew.clamp(self, min, max)

    clip = clamp

    def sign(self):
        return Tensor._make(backend.array_module(self.data).sign(self.data), False)

    def relu(self):
        return _act.relu(self)

    def sigmoid(self):
        return _act.sigmoid(self)

    def tanh(self):
        return _act.tanh(self)

    def softmax(self, dim=-1):
        return _act.softmax(self, dim)

    def log_softmax(self, dim=-1):
        return _act.log_softmax(self, dim)

    # ------------------------------------------------------------ reductions
    def sum(self, dim=None, keepdim=False, axis=None, keepdims=None):
        return _red.sum(self, _pick(dim, axis), _pick(keepdim, keepdims))

    def mean(self, dim=None, keepdim=False, axis=None, keepdims=None):
        return _red.mean(self, _pick(dim, axis), _pick(keepdim, keepdims))

    def var(self, dim=None, keepdim=False, correction=1, axis=None, keepdims=None, unbiased=None):
        if unbiased is not None:
            correction = int(unbiased)
        return _red.var(self, _pick(dim, axis), _pick(keepdim, keepdims), correction)

    def std(self, dim=None, keepdim=False, correction=1):
        return self.var(dim, keepdim, correction).sqrt()

    def max(self, dim=None, keepdim=False, axis=None, keepdims=None):
        """Largest value; with ``dim``, ``(values, indices)`` as PyTorch returns it."""
        dim, keepdim = _pick(dim, axis), _pick(keepdim, keepdims)
        if dim is None:
            return _red.amax(self, None, keepdim)
        return MinMax(_red.amax(self, dim, keepdim), self.argmax(dim, keepdim))

    def min(self, dim=None, keepdim=False, axis=None, keepdims=None):
        dim, keepdim = _pick(dim, axis), _pick(keepdim, keepdims)
        if dim is None:
            return _red.amin(self, None, keepdim)
        return MinMax(_red.amin(self, dim, keepdim), self.argmin(dim, keepdim))

    def amax(self, dim=None, keepdim=False):
        return _red.amax(self, dim, keepdim)

    def amin(self, dim=None, keepdim=False):
        return _red.amin(self, dim, keepdim)

    def logsumexp(self, dim=None, keepdim=False):
        return _red.logsumexp(self, dim, keepdim)

    def argmax(self, dim=None, keepdim=False):
        return _red.argmax(self, dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        return _red.argmin(self, dim, keepdim)

    # ------------------------------------------------------------ shape
    def reshape(self, *shape):
        return _shape.reshape(self, _shape_arg(shape))

    view = reshape

    def view_as(self, other):
        return self.reshape(other.shape)

    def flatten(self, start_dim=0, end_dim=-1):
        return _shape.flatten(self, start_dim, end_dim)

    def permute(self, *dims):
        return _shape.permute(self, _shape_arg(dims))

    def transpose(self, dim0=-2, dim1=-1):
        return _shape.transpose(self, dim0, dim1)

    def expand(self, *shape):
        return _shape.expand(self, _shape_arg(shape))

    def broadcast_to(self, shape):
        return _red.broadcast_to(self, tuple(shape))

    def expand_as(self, other):
        return self.expand(other.shape)

    def unsqueeze(self, dim):
        return _shape.unsqueeze(self, dim)

    def squeeze(self, dim=None):
        return _shape.squeeze(self, dim)

    def matmul(self, other):
        return self @ other


MinMax = collections.namedtuple("MinMax", ["values", "indices"])


def _pick(torch_name, numpy_name):
    """Accept both PyTorch's (dim, keepdim) and NumPy's (axis, keepdims) spellings."""
    return torch_name if numpy_name is None else numpy_name


def _shape_arg(args):
    """reshape(2, 3) and reshape((2, 3)) both mean the shape (2, 3)."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


def _default_dtype_of(data):
    """Python data: floats become float32, ints int64, bools bool (PyTorch's defaults)."""
    probe = backend.as_array(data)
    if backend.is_floating(probe.dtype):
        return backend.float32
    if probe.dtype.kind in "iu":
        return backend.int64
    return probe.dtype


# The ops import Tensor from this module, so they are imported after it is defined.
from .ops import activation as _act  # noqa: E402
from .ops import elementwise as _ew  # noqa: E402
from .ops import linalg as _linalg  # noqa: E402
from .ops import reduce as _red  # noqa: E402
from .ops import shape as _shape  # noqa: E402

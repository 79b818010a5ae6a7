"""Tensor: an array, the gradient that flows back to it, and the op that created it.

This file says what a Tensor *is*: its values (``array``, a NumPy or CuPy array), its gradient
(``grad``, filled by ``backward``), the op that made it (``creator``, None for a leaf) and a
version counter that in-place updates bump. What you can *do* with a tensor (``x + y``,
``x.exp()``, ``x.sum()``, ``loss.backward()``) is defined by the ops and the engine, and
attached to this class in one place, ``tinygen/tensor_methods.py``, once they exist.
"""

import operator

from . import backend, grad_mode


def _comparison(op):
    """``op`` (==, <, &, ...) between a tensor and a tensor or number, as a boolean tensor."""
    return lambda self, other: Tensor.wrap(op(self.array, other.array if isinstance(other, Tensor) else other))


class VersionCounter:
    """How many in-place changes one piece of memory has seen.

    A tensor and every alias of its memory (its views, ``detach()``, ``.data``) share one
    counter, so a change made through any of them is seen by every op that saved one of them
    for backward, and that backward refuses to run on changed values.
    """

    __slots__ = ("count",)

    def __init__(self):
        self.count = 0


class Tensor:
    """An n-dimensional array that can record how it was computed, for reverse-mode gradients.

    ``Tensor(data, dtype=None, device=None, requires_grad=False)`` builds one from a number or an
    array, copying it (Python floats become float32, ints int64, as ``tg.tensor`` does; PyTorch's
    legacy forms ``Tensor([1, 2])`` (float32) and ``Tensor(2, 3)`` are added in compat/creation.py;
    ``tg.from_numpy`` shares a NumPy array's memory instead). A tensor made
    by an op remembers that op in ``creator``; one made by hand is a *leaf*, and a leaf with
    ``requires_grad=True`` (a parameter) receives its gradient in ``.grad`` when a result
    computed from it calls ``backward()``.
    """

    __slots__ = ("array", "grad", "creator", "requires_grad", "version_counter", "__weakref__")
    __array_priority__ = 1000  # `ndarray * Tensor` lets Tensor.__rmul__ answer

    def __init__(self, data, dtype=None, device=None, requires_grad=False):
        if isinstance(data, Tensor):
            data = data.array
        if device is not None:
            device = backend.check_device(device)
        else:  # a GPU array stays on the GPU; host data (lists, NumPy arrays) goes to the default device
            device = "cuda" if backend.is_array(data) and backend.device_of(data) == "cuda" else backend.default_device()
        if dtype is None and not hasattr(data, "dtype"):  # arrays and NumPy scalars keep theirs
            dtype = default_dtype_of(data)
        self.array = backend.as_array(data, dtype=dtype, device=device, copy=True)  # the caller's array stays theirs
        self.grad = None
        self.creator = None
        self.version_counter = VersionCounter()
        self.requires_grad = False
        self.requires_grad_(requires_grad)

    @classmethod
    def wrap(cls, array, requires_grad=False):
        """A tensor around ``array`` as it is (no copy, no checks): how every op makes its result."""
        t = cls.__new__(cls)
        if not backend.is_array(array):
            array = backend.as_array(array)  # NumPy reductions return NumPy scalars, not arrays
        t.array, t.grad, t.creator, t.requires_grad = array, None, None, requires_grad
        t.version_counter = VersionCounter()
        return t

    def alias(self):
        """A new tensor on the same memory and version counter, outside the graph."""
        t = Tensor.wrap(self.array)
        t.version_counter = self.version_counter
        return t

    # ------------------------------------------------------------ what it is
    @property
    def shape(self):
        """The size of each dimension, a tuple of ints."""
        return self.array.shape

    @property
    def ndim(self):
        """The number of dimensions."""
        return self.array.ndim

    @property
    def dtype(self):
        """The element type (a NumPy dtype: tg.float32, tg.int64, ...)."""
        return self.array.dtype

    @property
    def device(self):
        """Where the values live: "cpu" or "cuda"."""
        return backend.device_of(self.array)

    @property
    def is_leaf(self):
        """True for a tensor no op made (data, parameters): only leaves get ``.grad``."""
        return self.creator is None

    @property
    def version(self):
        """How many in-place changes this tensor's memory has seen (through it or any alias)."""
        return self.version_counter.count

    def numel(self):
        """The number of elements."""
        return int(self.array.size)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __repr__(self):
        # NumPy names every dtype but its own defaults (float64, int64); we name all but ours
        body = repr(backend.to_host(self.array)).replace("array(", "tensor(", 1).replace("\n", "\n ")
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

    __hash__ = object.__hash__  # tensors are dict keys by identity, as in PyTorch (== is elementwise)

    # ------------------------------------------------------------ leaving tinygen
    def numpy(self):
        """The values as a host NumPy array (copied from the GPU if needed)."""
        if self.requires_grad:
            raise RuntimeError("numpy(): the tensor requires grad; call .detach().numpy() instead")
        return backend.to_host(self.array)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.array.size != 1:
            raise ValueError(f"item(): only a one-element tensor converts to a Python number, got shape {self.shape}")
        return self.array.reshape(()).item()

    def tolist(self):
        """The values as (nested) Python lists."""
        return backend.to_host(self.array).tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        return bool(self.item())

    # ------------------------------------------------------------ the graph
    def detach(self):
        """The same values, cut off from the graph (they share memory and the version counter)."""
        return self.alias()

    def requires_grad_(self, requires_grad=True):
        """Mark a leaf as needing a gradient (only floating-point tensors can); returns self."""
        if requires_grad and not backend.is_floating(self.dtype):
            raise RuntimeError(f"only floating-point tensors can require gradients, got dtype {self.dtype}")
        if not self.is_leaf and not requires_grad:
            raise RuntimeError("requires_grad_(False) on a non-leaf tensor; use .detach() instead")
        self.requires_grad = bool(requires_grad)
        return self

    # ------------------------------------------------------------ in-place updates
    # Optimisers update parameters through these. Each bumps the version counter, so a graph
    # that saved the old values refuses to run backward instead of giving wrong gradients.
    def _inplace(self, name, other=None):
        if grad_mode.is_grad_enabled():
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
        self.version_counter.count += 1
        return other.array if isinstance(other, Tensor) else other

    def add_(self, other, alpha=1.0):
        """self += alpha * other, in place."""
        other = backend.same_device("add_", self.array, self._inplace("add_", other))
        self.array += other if alpha == 1.0 else alpha * other
        return self

    def sub_(self, other, alpha=1.0):
        """self -= alpha * other, in place."""
        return self.add_(other, alpha=-alpha)

    def mul_(self, other):
        """self *= other, in place."""
        self.array *= backend.same_device("mul_", self.array, self._inplace("mul_", other))
        return self

    def div_(self, other):
        """self /= other, in place."""
        self.array /= backend.same_device("div_", self.array, self._inplace("div_", other))
        return self

    def copy_(self, source):
        """Overwrite the values with ``source``'s (same shape), in place."""
        values = self._inplace("copy_", source)
        if tuple(source.shape) != self.shape:
            raise ValueError(f"copy_: expected a source of shape {self.shape}, got {tuple(source.shape)}")
        self.array[...] = backend.as_array(values, dtype=self.dtype, device=self.device)
        return self

    def fill_(self, value):
        """Set every element to ``value``, in place."""
        self._inplace("fill_")
        self.array.fill(value)
        return self

    def zero_(self):
        """Set every element to 0, in place."""
        return self.fill_(0)

    def __setitem__(self, index, value):
        value = backend.same_device("__setitem__", self.array, self._inplace("__setitem__", value))
        parts = index if isinstance(index, tuple) else (index,)
        parts = tuple(p.array if isinstance(p, Tensor) else p for p in parts)  # tensor indices as arrays
        self.array[parts if isinstance(index, tuple) else parts[0]] = value

    # ------------------------------------------------------------ comparisons
    # They give boolean tensors and stand outside the graph: there is nothing to differentiate.
    __eq__, __ne__ = _comparison(operator.eq), _comparison(operator.ne)
    __lt__, __le__, __gt__, __ge__ = (_comparison(op) for op in (operator.lt, operator.le, operator.gt, operator.ge))
    __and__, __or__ = _comparison(operator.and_), _comparison(operator.or_)

    def __invert__(self):
        return Tensor.wrap(~self.array)


def default_dtype_of(data):
    """The dtype PyTorch gives Python data: floats float32, ints int64, bools bool."""
    probe = backend.as_array(data)
    if backend.is_floating(probe.dtype):
        return backend.float32
    if probe.dtype.kind in "iu":
        return backend.int64
    return probe.dtype

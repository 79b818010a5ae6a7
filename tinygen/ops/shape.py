"""Ops that move values around without changing them: reshape, permute, index, cat, pad.

Each backward moves the gradient back the inverse way, again with these same ops, so
second derivatives pass through them unchanged.
"""

import math

from .. import backend
from ..autograd import Function
from ..tensor import Tensor
from .reduce import broadcast_to, normalize_axes


class Reshape(Function):
    """The same values in another shape."""

    uses_inputs = False
    view = True

    def forward(self, x):
        self.in_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, g):
        return g.reshape(self.in_shape)


class Permute(Function):
    """The axes reordered (a view)."""

    uses_inputs = False
    view = True

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, g):  # undo the permutation with its inverse
        inverse = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inverse[a] = i
        return g.permute(*inverse)


class GetItem(Function):
    """x[index]: basic slices, integer arrays, boolean masks."""

    uses_inputs = False
    view = True  # for basic slices; integer or boolean indexing copies, and the result is then its own

    def forward(self, x):
        self.in_shape = x.shape
        return x[self.index]

    def backward(self, g):
        return IndexAdd.apply(g, index=self.index, shape=self.in_shape)


class IndexAdd(Function):
    """A zero tensor of ``shape`` with ``g`` added at ``index``: the backward of indexing.

    An index can pick the same element twice (x[[0, 0]]); its gradient must then be the sum
    of both, which is what ``xp.add.at`` does (plain ``out[index] += g`` would keep only one).
    """

    uses_inputs = False

    def forward(self, g):
        xp = backend.array_module(g)
        out = xp.zeros(self.shape, dtype=g.dtype)
        if _has_array(self.index):
            xp.add.at(out, self.index, g)
        else:  # basic slices never repeat an element, so assignment is enough and faster
            out[self.index] = g
        return out

    def backward(self, gg):
        return gg[self.index]


class Cat(Function):
    """Tensors joined along ``axis``."""

    uses_inputs = False

    def forward(self, *xs):
        self.sizes = [x.shape[self.axis] for x in xs]
        return backend.array_module(xs[0]).concatenate(xs, axis=self.axis)

    def backward(self, g):  # cut the gradient back into the pieces
        grads, start = [], 0
        for size in self.sizes:
            index = [slice(None)] * g.ndim
            index[self.axis] = slice(start, start + size)
            grads.append(g[tuple(index)])
            start += size
        return tuple(grads)


class Pad(Function):
    """Constant padding; ``widths`` is NumPy's ((before, after), ...) per axis."""

    uses_inputs = False

    def forward(self, x):
        xp = backend.array_module(x)
        return xp.pad(x, self.widths, mode="constant", constant_values=self.value)

    def backward(self, g):  # the gradient of the copied centre; padding has none
        return g[tuple(slice(lo, g.shape[i] - hi) for i, (lo, hi) in enumerate(self.widths))]


def _has_array(index):
    parts = index if isinstance(index, tuple) else (index,)
    return any(backend.is_array(p) or isinstance(p, (list, bool)) for p in parts)


# ---------------------------------------------------------------- the functions
def reshape(x, shape):
    """x with the same values in ``shape`` (one entry may be -1: inferred)."""
    shape = tuple(shape)
    if shape == x.shape:
        return x
    size, unknown = 1, [i for i, n in enumerate(shape) if n == -1]
    for n in shape:
        size *= n if n != -1 else 1
    total = x.array.size
    if len(unknown) > 1 or (unknown and (size == 0 or total % size)) or (not unknown and size != total):
        raise ValueError(f"reshape: cannot view a tensor of shape {x.shape} ({total} elements) as {shape}")
    return Reshape.apply(x, shape=shape)


def permute(x, axes):
    """x with its axes in the order ``axes`` (a view)."""
    axes = tuple(a % x.ndim for a in axes)
    if sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"permute: {axes} is not a permutation of the {x.ndim} axes of shape {x.shape}")
    return x if axes == tuple(range(x.ndim)) else Permute.apply(x, axes=axes)


def transpose(x, dim0=-2, dim1=-1):
    """x with axes dim0 and dim1 swapped."""
    axes = list(range(x.ndim))
    axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
    return permute(x, axes)


def expand(x, shape):
    """PyTorch's expand: like broadcast_to, where -1 keeps that dimension's size."""
    shape = tuple(shape)
    lead = len(shape) - x.ndim
    shape = tuple(x.shape[i - lead] if n == -1 else n for i, n in enumerate(shape))
    return broadcast_to(x, shape)


def unsqueeze(x, dim):
    """x with a new axis of size 1 at ``dim``."""
    dim = dim % (x.ndim + 1)
    return reshape(x, x.shape[:dim] + (1,) + x.shape[dim:])


def squeeze(x, dim=None):
    """x without its axes of size 1 (only ``dim``, if given)."""
    if dim is None:
        return reshape(x, tuple(n for n in x.shape if n != 1))
    dim = normalize_axes(dim, x.ndim, "squeeze")
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if not (i in dim and n == 1)))


def flatten(x, start_dim=0, end_dim=-1):
    """x with axes start_dim..end_dim merged into one."""
    if x.ndim == 0:
        return reshape(x, (1,))
    start, end = start_dim % x.ndim, end_dim % x.ndim
    return reshape(x, x.shape[:start] + (math.prod(x.shape[start : end + 1]),) + x.shape[end + 1 :])


def index_arrays(index, device):
    """The index with its Tensors, lists and arrays as arrays on ``device`` (integer-array indexing)."""
    parts = index if isinstance(index, tuple) else (index,)
    parts = tuple(backend.as_array(p.array if isinstance(p, Tensor) else p, device=device)
                  if isinstance(p, (Tensor, list)) or backend.is_array(p) else p for p in parts)
    return parts if isinstance(index, tuple) else parts[0]


def getitem(x, index):
    """x[index] as an op: basic slices, integer arrays and boolean masks, as in NumPy."""
    try:
        return GetItem.apply(x, index=index_arrays(index, x.device))
    except IndexError as e:  # NumPy's own message, with the tensor's shape added
        raise IndexError(f"indexing a tensor of shape {x.shape}: {e}") from None


def cat(tensors, dim=0):
    """Tensors of equal shape but along ``dim``, joined along it."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty list of tensors")
    first = tensors[0]
    axis = dim % first.ndim
    for i, t in enumerate(tensors):
        if t.ndim != first.ndim or any(a != b for j, (a, b) in enumerate(zip(t.shape, first.shape)) if j != axis):
            raise ValueError(
                f"cat: tensor {i} has shape {t.shape} but tensor 0 has shape {first.shape}; "
                f"all sizes must match except along dim {dim}"
            )
    return Cat.apply(*tensors, axis=axis)


def stack(tensors, dim=0):
    """Tensors of one shape, stacked along a new axis ``dim``."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty list of tensors")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise ValueError(f"stack: tensor {i} has shape {t.shape} but tensor 0 has shape {tensors[0].shape}")
    return cat([unsqueeze(t, dim) for t in tensors], dim)


def pad(x, widths, value=0.0):
    """Pad with a constant; ``widths`` per axis as ((before, after), ...), NumPy's convention."""
    widths = tuple((int(lo), int(hi)) for lo, hi in widths)
    if len(widths) != x.ndim or any(lo < 0 or hi < 0 for lo, hi in widths):
        raise ValueError(f"pad: expected {x.ndim} non-negative (before, after) pairs, got {widths}")
    return Pad.apply(x, widths=widths, value=value)

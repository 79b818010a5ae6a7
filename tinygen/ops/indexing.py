"""Picking values by index along one dimension: gather, scatter_add, index_select, flip, roll, narrow.

None of them needs a Function of its own. Each is indexing (``shape.GetItem``) with an index
built for the job, or the scatter that is indexing's backward (``shape.IndexAdd``, which adds
repeated positions up with ``xp.add.at``), or slices joined by ``cat``; so their gradients, to
any order, are the ones those ops already have.

    gather(x, 1, idx)[i, j] = x[i, idx[i, j]]          (dim = 1)
    scatter_add(x, 1, idx, src)[i, idx[i, j]] += src[i, j]
"""

from .. import backend
from ..tensor import Tensor
from .shape import IndexAdd, cat


def _positions_along(index, dim, op, device):
    """The full integer index that reads ``index`` along ``dim`` and position i along every other axis.

    For a 2-D index and dim = 1 it is (rows, index) with rows[i, j] = i: the NumPy form of
    "out[i, j] = x[i, index[i, j]]".
    """
    if not isinstance(index, Tensor) or index.dtype.kind not in "iu":
        raise TypeError(f"{op}: expected an integer Tensor as index, got {getattr(index, 'dtype', type(index).__name__)}")
    idx = backend.as_array(index.array, device=device)  # on the data's device
    xp = backend.array_module(idx)
    parts = []
    for d, n in enumerate(idx.shape):
        shape = [1] * idx.ndim
        shape[d] = n
        parts.append(idx if d == dim else xp.arange(n).reshape(shape))
    return tuple(parts)


def _check_index_shape(op, x, dim, index):
    if index.ndim != x.ndim or any(i > n for d, (i, n) in enumerate(zip(index.shape, x.shape)) if d != dim):
        raise ValueError(f"{op}: index of shape {index.shape} must have the {x.ndim} dims of the input {x.shape} "
                         f"and be no larger outside dim {dim}")


def gather(input, dim, index):
    """Values of ``input`` at ``index`` along ``dim``: out has index's shape; out[i][j] = input[i][index[i][j]] for dim 1."""
    dim = dim % input.ndim
    _check_index_shape("gather", input, dim, index)
    return input[_positions_along(index, dim, "gather", input.device)]


def scatter_add(input, dim, index, src):
    """``input`` with each ``src`` value added at its ``index`` along ``dim`` (repeats add up): the adjoint of gather."""
    dim = dim % input.ndim
    _check_index_shape("scatter_add", input, dim, index)
    if src.ndim != index.ndim or any(i > n for i, n in zip(index.shape, src.shape)):
        raise ValueError(f"scatter_add: src of shape {src.shape} must be at least as large as index {index.shape}")
    src = src[tuple(slice(0, n) for n in index.shape)]  # as in PyTorch, only the index-shaped corner is used
    return input + IndexAdd.apply(src, index=_positions_along(index, dim, "scatter_add", input.device), shape=input.shape)


def index_select(input, dim, index):
    """The slices of ``input`` at the 1-D integer ``index`` along ``dim`` (in that order, repeats allowed)."""
    if index.ndim != 1:
        raise ValueError(f"index_select: expected a 1-D index, got shape {index.shape}")
    return input[(slice(None),) * (dim % input.ndim) + (index,)]


def flip(input, dims):
    """``input`` reversed along each of ``dims`` (an int or a tuple)."""
    dims = {d % input.ndim for d in ((dims,) if isinstance(dims, int) else dims)}
    return input[tuple(slice(None, None, -1) if d in dims else slice(None) for d in range(input.ndim))]


def roll(input, shifts, dims=None):
    """``input`` shifted by ``shifts`` along ``dims``, wrapping around; without dims, the flattened tensor is rolled."""
    if dims is None:
        return roll(input.reshape(-1), shifts, 0).reshape(input.shape)
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts) != len(dims):
        raise ValueError(f"roll: got {len(shifts)} shifts for {len(dims)} dims")
    out = input
    for s, d in zip(shifts, dims):
        d, n = d % input.ndim, input.shape[d]
        s = s % n if n else 0
        if s:  # the last s entries move to the front
            head = (slice(None),) * d + (slice(n - s, None),)
            tail = (slice(None),) * d + (slice(0, n - s),)
            out = cat([out[head], out[tail]], d)
    return out


def narrow(input, dim, start, length):
    """The slice start:start+length of ``input`` along ``dim`` (a view)."""
    dim = dim % input.ndim
    start = start % input.shape[dim] if start < 0 else start
    if length < 0 or start + length > input.shape[dim]:
        raise ValueError(f"narrow: {start}:{start + length} is outside dim {dim} of size {input.shape[dim]}")
    return input[(slice(None),) * dim + (slice(start, start + length),)]

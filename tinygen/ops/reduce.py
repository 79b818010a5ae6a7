"""Reductions (sum, max, ...) and their partners broadcast_to / sum_to.

A reduction's backward spreads the gradient back over the axes it removed, which is a
broadcast; a broadcast's backward adds the gradient up over the axes it copied along, which
is a sum. So the two pairs Sum <-> BroadcastTo and SumTo <-> BroadcastTo are each other's
backward, and second derivatives work with no extra code.
"""

import math

from .. import backend
from ..autograd import Function
from ..tensor import Tensor
from .elementwise import log


def normalize_axes(axis, ndim, op="reduce"):
    """None -> all axes; an int or a tuple -> a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for a in axes:
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise ValueError(f"{op}: axis {a} is out of range for a tensor with {ndim} dimensions")
        out.append(a % ndim if ndim else 0)
    return tuple(sorted(set(out)))


def _kept_shape(shape, axes):
    """The shape a reduction over ``axes`` has with keepdims=True."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(Function):
    """The sum over ``axes``."""

    uses_inputs = False

    def forward(self, x):
        self.in_shape = x.shape
        return x.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, g):  # every summed element gets the same gradient
        if not self.keepdims:
            g = g.reshape(_kept_shape(self.in_shape, self.axes))
        return broadcast_to(g, self.in_shape)


class Amax(Function):
    """Largest value along axes; ``sign=-1`` makes it the smallest (amin)."""

    uses_output = True

    def forward(self, x):
        xp = backend.array_module(x)
        reduce = xp.max if self.sign > 0 else xp.min
        return reduce(x, axis=self.axes, keepdims=self.keepdims)

    def backward(self, g):  # the gradient goes to the maximal element(s), split evenly on ties
        x = self.inputs[0].array
        best = self.output.array
        if not self.keepdims:
            best = best.reshape(_kept_shape(x.shape, self.axes))
            g = g.reshape(best.shape)
        winners = (x == best).astype(g.dtype)
        winners /= winners.sum(axis=self.axes, keepdims=True)
        return g * Tensor.wrap(winners)


class BroadcastTo(Function):
    """x repeated to ``shape`` (a read-only view)."""

    uses_inputs = False
    view = True

    def forward(self, x):
        self.in_shape = x.shape
        return backend.array_module(x).broadcast_to(x, self.shape)

    def backward(self, g):
        return sum_to(g, self.in_shape)


class SumTo(Function):
    """Sum a broadcast gradient back down to ``shape`` (the inverse of broadcasting)."""

    uses_inputs = False

    def forward(self, x):
        self.in_shape = x.shape
        lead = x.ndim - len(self.shape)
        axes = tuple(range(lead)) + tuple(
            lead + i for i, n in enumerate(self.shape) if n == 1 and x.shape[lead + i] != 1
        )
        return x.sum(axis=axes, keepdims=True).reshape(self.shape)

    def backward(self, g):
        return broadcast_to(g, self.in_shape)


# ---------------------------------------------------------------- the functions
def sum(x, dim=None, keepdim=False):
    """The sum over ``dim`` (an int, a tuple, or None for all); ``keepdim`` keeps them as size 1."""
    return Sum.apply(x, axes=normalize_axes(dim, x.ndim, "sum"), keepdims=keepdim)


def mean(x, dim=None, keepdim=False):
    """The mean over ``dim``: the sum divided by the number of elements summed."""
    axes = normalize_axes(dim, x.ndim, "mean")
    count = math.prod(x.shape[a] for a in axes)
    return sum(x, axes, keepdim) / float(count)


def var(x, dim=None, keepdim=False, correction=1):
    """Variance; ``correction=1`` divides by n - 1 as torch.var does (NumPy's default is 0)."""
    axes = normalize_axes(dim, x.ndim, "var")
    count = math.prod(x.shape[a] for a in axes)
    centred = x - mean(x, axes, keepdim=True)
    return sum(centred * centred, axes, keepdim) / float(max(count - correction, 0))


def amax(x, dim=None, keepdim=False):
    """The largest value over ``dim``; its gradient goes to the largest element(s)."""
    return Amax.apply(x, axes=normalize_axes(dim, x.ndim, "max"), keepdims=keepdim, sign=1)


def amin(x, dim=None, keepdim=False):
    """The smallest value over ``dim``."""
    return Amax.apply(x, axes=normalize_axes(dim, x.ndim, "min"), keepdims=keepdim, sign=-1)


def logsumexp(x, dim=None, keepdim=False):
    """log(sum(exp(x))) without overflow: subtract the maximum first.

    log sum_i e^{x_i} = m + log sum_i e^{x_i - m}; with m = max x every exponent is <= 0.
    m is detached: the identity holds for any m, so its gradient cancels exactly. Where the
    maximum is infinite, m = 0 instead: then a row of -inf gives log 0 = -inf, not -inf - -inf = nan.
    """
    axes = normalize_axes(dim, x.ndim, "logsumexp")
    m = amax(x, axes, keepdim=True).array
    m = Tensor.wrap(backend.array_module(m).where(backend.array_module(m).isfinite(m), m, 0))
    with backend.errstate(divide="ignore"):
        out = m + log(sum((x - m).exp(), axes, keepdim=True))
    return out if keepdim else out.reshape(tuple(n for i, n in enumerate(out.shape) if i not in axes))


def argmax(x, dim=None, keepdim=False):
    """The index of the largest value along ``dim`` (of the flattened tensor for None)."""
    return Tensor.wrap(backend.array_module(x.array).argmax(x.array, axis=dim, keepdims=keepdim))


def argmin(x, dim=None, keepdim=False):
    """The index of the smallest value along ``dim``."""
    return Tensor.wrap(backend.array_module(x.array).argmin(x.array, axis=dim, keepdims=keepdim))


def broadcast_to(x, shape):
    """x repeated along new leading axes and axes of size 1, to ``shape`` (NumPy's rules)."""
    shape = tuple(shape)
    if x.shape == shape:
        return x
    fits = len(x.shape) <= len(shape) and all(
        n == 1 or n == m for n, m in zip(reversed(x.shape), reversed(shape))
    )
    if not fits:
        raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape}")
    return BroadcastTo.apply(x, shape=shape)


def sum_to(x, shape):
    """The sum of x down to ``shape``: the inverse of broadcasting, used by the engine on gradients."""
    shape = tuple(shape)
    return x if x.shape == shape else SumTo.apply(x, shape=shape)

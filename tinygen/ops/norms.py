"""Lengths, distances and angles of vectors: norm, dist, normalize, cosine_similarity.

    ||x||_2 = sqrt(sum x_i^2)      ||x||_p = (sum |x_i|^p)^(1/p)      ||x||_inf = max |x_i|

The 2-norm is its own op because of the zero vector: sqrt's slope is infinite at 0, so the
composed form would give 0 * inf = NaN there. Its gradient x / ||x|| is taken as 0 at x = 0,
as PyTorch does (the norm has a kink there; 0 is a valid subgradient).
"""

import math

from .. import backend
from ..autograd import Function
from ..tensor import Tensor
from .elementwise import clamp, where
from .reduce import amax, normalize_axes


class L2Norm(Function):
    """sqrt(sum x^2) over ``axes``."""

    uses_output = True

    def forward(self, x):
        xp = backend.array_module(x)
        return xp.sqrt((x * x).sum(axis=self.axes, keepdims=self.keepdims))

    def backward(self, g):  # d||x||/dx = x / ||x||, and 0 where ||x|| = 0
        x, norm = self.inputs[0], self.output
        if not self.keepdims:
            kept = tuple(1 if i in self.axes else n for i, n in enumerate(x.shape))
            g, norm = g.reshape(kept), norm.reshape(kept)
        nonzero = norm.array != 0
        return x * where(nonzero, g / where(nonzero, norm, 1.0), 0.0)


def norm(input, p=2, dim=None, keepdim=False):
    """The p-norm over ``dim`` (all elements by default): p = 2 (the default), 1, inf, or any p > 0.

    "fro" is the 2-norm of all the entries, as in PyTorch.
    """
    if p == "fro" or p is None:
        p = 2
    axes = normalize_axes(dim, input.ndim, "norm")
    if p == 2:
        return L2Norm.apply(input, axes=axes, keepdims=keepdim)
    if p == 1:
        return input.abs().sum(axes, keepdim)
    if p == math.inf:
        return amax(input.abs(), axes, keepdim)
    if not isinstance(p, (int, float)) or p <= 0:
        raise ValueError(f"norm: p must be a positive number, inf or 'fro', got {p!r}")
    return (input.abs() ** float(p)).sum(axes, keepdim) ** (1.0 / p)


def dist(input, other, p=2):
    """The p-norm of ``input - other`` over all elements (they broadcast): a 0-d tensor."""
    return norm(input - other, p)


def normalize(input, p=2.0, dim=1, eps=1e-12):
    """``input`` divided by its p-norm along ``dim``, which is kept at least ``eps`` (so 0 stays 0)."""
    return input / clamp(norm(input, p, dim, keepdim=True), min=eps)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """The cosine of the angle between x1 and x2 along ``dim`` (they broadcast): sum of the unit vectors' products."""
    if not isinstance(x2, Tensor) or not isinstance(x1, Tensor):
        raise TypeError("cosine_similarity: expected two Tensors")
    return (normalize(x1, 2.0, dim, eps) * normalize(x2, 2.0, dim, eps)).sum(dim)

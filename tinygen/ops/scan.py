"""Running sums and products along a dimension: cumsum and cumprod.

    cumsum(x)[i]  = x[0] + x[1] + ... + x[i]
    cumprod(x)[i] = x[0] * x[1] * ... * x[i]

Each output i depends on the inputs 0..i, so the gradient of input i gathers the upstream
gradients of the outputs i..n-1: a running sum taken from the end (a flip, a cumsum, a flip).
"""

from .. import backend
from ..autograd import Function
from ..tensor import Tensor
from .elementwise import where
from .indexing import flip
from .shape import cat


class Cumsum(Function):
    """The running sum along ``axis``."""

    uses_inputs = False

    def forward(self, x):
        return backend.array_module(x).cumsum(x, axis=self.axis)

    def backward(self, g):  # dx_i = sum_{j >= i} g_j: a cumsum from the end
        return reverse_cumsum(g, self.axis)


class Cumprod(Function):
    """The running product along ``axis``."""

    uses_output = True

    def forward(self, x):
        return backend.array_module(x).cumprod(x, axis=self.axis)

    def backward(self, g):
        # d out_j / d x_i = out_j / x_i for j >= i, so dx_i = (sum_{j >= i} g_j out_j) / x_i
        x = self.inputs[0]
        if not bool((x.array == 0).any()):
            return reverse_cumsum(g * self.output, self.axis) / x
        return _cumprod_grad_with_zeros(x, g, self.axis)


def _cumprod_grad_with_zeros(x, g, axis):
    """dx_i = sum_{j >= i} g_j prod_{k <= j, k != i} x_k, without dividing by x_i (which may be 0).

    prod_{k <= j, k != i} x_k = (prod_{k < i} x_k) (prod_{i < k <= j} x_k). The second factor,
    for every pair (i, j), is a cumprod over an (n, n) matrix whose row i holds 1 up to column i
    and x after it: n^2 values per line, so this form is used only when some x is 0.
    """
    x, g = x.transpose(axis, -1), g.transpose(axis, -1)                   # (..., n)
    xp, n = backend.array_module(x.array), x.shape[-1]
    i, j = xp.arange(n)[:, None], xp.arange(n)[None, :]
    between = cumprod(where(j > i, x.unsqueeze(-2), 1.0), -1)             # (..., n, n): prod_{i < k <= j} x_k
    one = Tensor.wrap(xp.ones_like(x.array[..., :1]))
    before = cat([one, cumprod(x, -1)[..., :-1]], -1)                    # (..., n): prod_{k < i} x_k
    weights = where(j >= i, between, 0.0) * before.unsqueeze(-1)          # (..., n_i, n_j)
    return (weights * g.unsqueeze(-2)).sum(-1).transpose(axis, -1)


def reverse_cumsum(g, axis):
    """sum_{j >= i} g_j along ``axis``: flip, cumsum, flip."""
    return flip(cumsum(flip(g, axis), axis), axis)


def _dim(dim, axis, op):
    if (dim is None) == (axis is None):
        raise TypeError(f"{op}: give the dimension once, as dim (or NumPy's name axis, which PyTorch also accepts)")
    return dim if dim is not None else axis


def cumsum(input, dim=None, axis=None):
    """The running sum along ``dim``: out[i] = input[0] + ... + input[i]."""
    return Cumsum.apply(input, axis=_dim(dim, axis, "cumsum") % input.ndim)


def cumprod(input, dim=None, axis=None):
    """The running product along ``dim``: out[i] = input[0] * ... * input[i]."""
    return Cumprod.apply(input, axis=_dim(dim, axis, "cumprod") % input.ndim)

"""Fast SiLU and LeakyReLU, each a drop-in for one reading-path function.

SiLU: x * sigmoid(x) as one op, in place of the reading path's product of two ops. The reading
path (``ops.activation.silu``) keeps both x and sigmoid(x) for backward, a second full-size array
per activation (the UNet has one after every norm); this op keeps only x, and computes sigmoid in
four passes over the array instead of seven.

LeakyReLU: the reading path's ``where(x > 0, x, slope x)`` and its float64 slope mask cost the
DCGAN iteration 20 ms of its 138 (2026-12-06, one thread: the D steps run four of them on
(64, 32, 14, 14) and (64, 64, 7, 7) maps); here the forward is max(x, slope x) and the mask is
built in place in the gradient's dtype.

Both run their passes over the batch chunk by chunk (``parallel.in_chunks``), so that each pass
finds the chunk the pass before it left in cache, and after ``split_over_cores()`` the chunks of a
large array go to every core.
"""

from .. import backend, grad_mode, kernels
from ..autograd import Function
from ..ops import activation as reading
from ..tensor import Tensor
from . import parallel


def sigmoid_via_tanh(x, out=None):
    """sigmoid(x) = (1 + tanh(x / 2)) / 2 on an array (into ``out`` if given): four passes where the
    stable form takes seven.

    Exact in real numbers and never overflows, but only absolutely accurate: far out on the
    negative side tanh rounds to -1 and sigmoid(-20) = 2e-9 comes out 0. That is harmless inside
    x * sigmoid(x), so SiLU uses it; the reading path's Sigmoid keeps the relatively accurate form.
    """
    xp = backend.array_module(x)
    s = xp.multiply(x, 0.5, out=xp.empty_like(x) if out is None else out)  # (an array even when x is 0-d)
    xp.tanh(s, out=s)
    s *= 0.5
    s += 0.5
    return s


def _silu(x, out):
    """x * sigmoid(x) into out: five passes, no temporary."""
    sigmoid_via_tanh(x, out)
    out *= x


def _silu_derivative(x, out):  # s (1 + x (1 - s))
    xp = backend.array_module(x)
    s = sigmoid_via_tanh(x)
    xp.subtract(1.0, s, out=out)
    out *= x
    out += 1.0
    out *= s


def _silu_backward(x, g, out):
    """g * silu'(x) into out."""
    _silu_derivative(x, out)
    out *= g


class SiLU(Function):
    """x * sigmoid(x) as one op that keeps only x for backward."""

    def forward(self, x):
        """Array x, any shape -> x * sigmoid(x), same shape."""
        return parallel.in_chunks(_silu, x)

    def backward(self, g):
        """g * silu'(x); silu' is an op of its own (SiLUDerivative), so second derivatives work."""
        if grad_mode.is_grad_enabled():  # create_graph: differentiable ops
            return g * SiLUDerivative.apply(self.inputs[0])
        # no graph to record: the same product on arrays, chunk by chunk
        return Tensor.wrap(parallel.in_chunks(_silu_backward, self.inputs[0].array, g.array))


class SiLUDerivative(Function):
    """silu'(x) = s + x s (1 - s) = s (1 + x (1 - s)), with s = sigmoid(x)."""

    def forward(self, x):
        """Array x, any shape -> silu'(x), same shape."""
        return parallel.in_chunks(_silu_derivative, x)

    def backward(self, g):  # silu''(x) = s (1 - s) (2 + x (1 - 2 s))
        """g * silu''(x), from tensor ops."""
        x = self.inputs[0]
        s = reading.sigmoid(x)
        return g * s * (1.0 - s) * (x * (1.0 - 2.0 * s) + 2.0)


@kernels.fast_kernel(reading.silu)
def silu(x):
    """x * sigmoid(x) as one op."""
    return SiLU.apply(x)


class LeakyReLU(Function):
    """x where x > 0, else slope * x, for 0 <= slope <= 1: then it is max(x, slope x), two passes, no ``where``."""

    def forward(self, x):
        """Array x, any shape -> the activation, same shape (the same bits as the reading path's)."""
        return parallel.in_chunks(self._max_form, x)

    def _max_form(self, x, out):
        """max(x, slope x), written over the product: no third array (551 -> 431 us on (64, 64, 14, 14))."""
        xp = backend.array_module(x)
        xp.multiply(x, self.slope, out=out)
        xp.maximum(x, out, out=out)

    def backward(self, g):  # slope + (1 - slope) [x > 0], built in place in g's dtype
        """g times the slope mask (a constant: the second derivative is 0, as on the reading path)."""
        if grad_mode.is_grad_enabled():
            return g * Tensor.wrap(self._slopes(self.inputs[0].array, g.dtype))  # a constant of the graph
        # no graph to record: the same product on arrays, chunk by chunk
        return Tensor.wrap(parallel.in_chunks(self._times_slopes, self.inputs[0].array, g.array, dtype=g.dtype))

    def _times_slopes(self, x, g, out):
        """g * (slope + (1 - slope) [x > 0]) into out (in g's dtype)."""
        xp = backend.array_module(x)
        xp.greater(x, 0, out=out)  # 1.0 where x > 0, else 0.0
        out *= 1.0 - self.slope
        out += self.slope
        out *= g

    def _slopes(self, x, dtype):
        local = (x > 0).astype(dtype)
        local *= 1.0 - self.slope
        local += self.slope
        return local


@kernels.fast_kernel(reading.leaky_relu)
def leaky_relu(x, negative_slope=0.01):
    """LeakyReLU as max(x, slope x); a slope outside [0, 1] (not max any more) takes the reading path."""
    if not 0.0 <= negative_slope <= 1.0:
        return reading.leaky_relu.reading(x, negative_slope)
    return LeakyReLU.apply(x, slope=float(negative_slope))

"""Activation functions and the softmax family, in numerically stable forms.

"Stable" here means finite values and gradients for inputs as large as |x| = 1e4 in float32,
with no overflow warnings: never take exp of a large positive number.
"""

import math

from .. import backend, kernels
from ..autograd import Function
from ..tensor import Tensor
from .elementwise import log
from .functions import erf
from .reduce import amax


class ReLU(Function):
    """max(x, 0)."""

    def forward(self, x):
        return backend.array_module(x).maximum(x, 0)

    def backward(self, g):  # slope 1 where x > 0, else 0 (and 0 at the kink, like PyTorch)
        return g * Tensor.wrap((self.inputs[0].array > 0).astype(g.dtype))


class LeakyReLU(Function):
    """x where x > 0, else slope * x."""

    def forward(self, x):
        return backend.array_module(x).where(x > 0, x, x * self.slope)

    def backward(self, g):  # slope 1 where x > 0, else `slope`
        x = self.inputs[0].array
        return g * Tensor.wrap(backend.array_module(x).where(x > 0, 1.0, self.slope).astype(g.dtype))


class Sigmoid(Function):
    """1 / (1 + e^-x), computed without overflow."""

    uses_inputs = False
    uses_output = True

    def forward(self, x):
        # 1 / (1 + e^-x) overflows for x << 0. Both exponents below are <= 0, so nothing overflows:
        #   sigmoid(x) = e^min(x, 0) / (1 + e^-|x|)   (x >= 0: 1 / (1 + e^-x);  x < 0: e^x / (1 + e^x))
        xp = backend.array_module(x)
        return xp.exp(xp.minimum(x, 0.0)) / (1.0 + xp.exp(-xp.abs(x)))

    def backward(self, g):  # s' = s (1 - s)
        s = self.output
        return g * s * (1.0 - s)


class Tanh(Function):
    """The hyperbolic tangent."""

    uses_inputs = False
    uses_output = True

    def forward(self, x):
        return backend.array_module(x).tanh(x)

    def backward(self, g):  # tanh' = 1 - tanh^2
        y = self.output
        return g * (1.0 - y * y)


class Softplus(Function):
    """log(1 + e^x), a smooth ReLU."""

    def forward(self, x):
        # log(1 + e^x) = max(x, 0) + log(1 + e^-|x|): the exponent is never positive
        xp = backend.array_module(x)
        return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, g):  # softplus' = sigmoid
        return g * sigmoid(self.inputs[0])


# ---------------------------------------------------------------- the functions
def relu(x):
    """max(x, 0), elementwise."""
    return ReLU.apply(x)


@kernels.replaceable
def leaky_relu(x, negative_slope=0.01):
    """x where x > 0, else negative_slope * x."""
    return LeakyReLU.apply(x, slope=float(negative_slope))


def sigmoid(x):
    """1 / (1 + e^-x), elementwise, stable for any x."""
    return Sigmoid.apply(x)


def tanh(x):
    """The hyperbolic tangent, elementwise."""
    return Tanh.apply(x)


def softplus(x, beta=1.0):
    """log(1 + e^(beta x)) / beta."""
    return Softplus.apply(x) if beta == 1.0 else Softplus.apply(x * float(beta)) / float(beta)


@kernels.replaceable
def silu(x):
    """x * sigmoid(x), also called swish: the UNet's activation."""
    return x * sigmoid(x)


def gelu(x, approximate="none"):
    """x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), as PyTorch's default; approximate="tanh" gives its tanh
    form 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), which differs by less than 1e-3."""
    if approximate == "none":
        return x * 0.5 * (erf(x * (1.0 / math.sqrt(2.0))) + 1.0)
    if approximate != "tanh":
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    inner = (x + x * x * x * 0.044715) * math.sqrt(2.0 / math.pi)
    return x * 0.5 * (tanh(inner) + 1.0)


def _shifted(x, dim):
    """x - max(x) along dim: every exponent <= 0, so e^(x - m) never overflows.

    m is detached: softmax(x - m) = softmax(x) for any constant m, so its gradient is zero.
    Shifting first (not x - logsumexp(x)) also keeps float32 exact for large equal logits.
    """
    return x - amax(x, dim, keepdim=True).detach()


def log_softmax(x, dim=-1):
    """(x - m) - log sum e^(x - m): the log-probabilities, stable for large |x|."""
    z = _shifted(x, dim)
    return z - log(z.exp().sum(dim, keepdim=True))


def softmax(x, dim=-1):
    """e^(x - m) / sum e^(x - m), with m the maximum along dim."""
    e = _shifted(x, dim).exp()
    return e / e.sum(dim, keepdim=True)

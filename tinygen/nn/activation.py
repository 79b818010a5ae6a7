"""Activation layers: each wraps the function of the same name in tinygen.ops.activation."""

from ..ops import activation as A
from .module import Module


class ReLU(Module):
    """max(0, x) elementwise: any shape -> the same shape."""

    def __init__(self, inplace=False):  # inplace is accepted for PyTorch code; we never modify x
        super().__init__()

    def forward(self, x):
        return A.relu(x)


class LeakyReLU(Module):
    """x where x > 0, else negative_slope * x: any shape -> the same shape.

    The small slope keeps a gradient for negative inputs (GAN discriminators use 0.2).
    """

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return A.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class SiLU(Module):
    """x * sigmoid(x) elementwise (also called swish): any shape -> the same shape."""

    def __init__(self, inplace=False):
        super().__init__()

    def forward(self, x):
        return A.silu(x)


class GELU(Module):
    """x Phi(x), exact with erf as in PyTorch, or its tanh form with ``approximate="tanh"``; see ops.activation.gelu.

    Any shape -> the same shape.
    """

    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, x):
        return A.gelu(x, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Tanh(Module):
    """tanh(x) elementwise, into (-1, 1): any shape -> the same shape."""

    def forward(self, x):
        return A.tanh(x)


class Sigmoid(Module):
    """1 / (1 + e^-x) elementwise, into (0, 1): any shape -> the same shape."""

    def forward(self, x):
        return A.sigmoid(x)


class Softplus(Module):
    """log(1 + e^(beta x)) / beta elementwise, a smooth ReLU: any shape -> the same shape.

    ``threshold`` is accepted and shown, but unused: PyTorch's linear region above it agrees
    with the formula to float precision.
    """

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        return A.softplus(x, self.beta)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmax(Module):
    """e^x / sum e^x along ``dim``: each slice along dim becomes probabilities; shape unchanged."""

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return A.softmax(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """log softmax(x) = x - logsumexp(x) along ``dim``: finite where softmax underflows; shape unchanged."""

    def forward(self, x):
        return A.log_softmax(x, self.dim)

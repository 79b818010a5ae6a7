"""Activation layers: each wraps the function of the same name in tinygen.ops.activation."""

from ..ops import activation as A
from .module import Module


class ReLU(Module):
    def __init__(self, inplace=False):  # inplace is accepted for PyTorch code; we never modify x
        super().__init__()

    def forward(self, x):
        return A.relu(x)


class LeakyReLU(Module):
    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return A.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class SiLU(Module):
    def __init__(self, inplace=False):
        super().__init__()

    def forward(self, x):
        return A.silu(x)


class GELU(Module):
    """GELU in its tanh form (PyTorch's GELU(approximate='tanh')); see ops.activation.gelu."""

    def __init__(self, approximate="tanh"):
        super().__init__()
        self.approximate = approximate

    def forward(self, x):
        return A.gelu(x, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Tanh(Module):
    def forward(self, x):
        return A.tanh(x)


class Sigmoid(Module):
    def forward(self, x):
        return A.sigmoid(x)


class Softplus(Module):
    """log(1 + e^(beta x)) / beta; PyTorch's linear region above ``threshold`` agrees to float precision."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        return A.softplus(x, self.beta)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmax(Module):
    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return A.softmax(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    def forward(self, x):
        return A.log_softmax(x, self.dim)

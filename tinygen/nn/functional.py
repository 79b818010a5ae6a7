"""The functional names a PyTorch user looks for: ``import tinygen.nn.functional as F``."""

from ..ops.activation import gelu, leaky_relu, log_softmax, relu, sigmoid, silu, softmax, softplus, tanh
from ..ops.loss import binary_cross_entropy_with_logits
from ..ops.shape import pad as _pad_numpy_style

__all__ = [
    "binary_cross_entropy_with_logits",
    "gelu",
    "leaky_relu",
    "log_softmax",
    "logsigmoid",
    "pad",
    "relu",
    "sigmoid",
    "silu",
    "softmax",
    "softplus",
    "tanh",
]


def pad(x, pad, mode="constant", value=0.0):
    """PyTorch's F.pad: ``pad`` lists (left, right) for the last dim, then the one before, ...

    F.pad(x, (1, 1, 2, 0)) pads the last dimension by 1 on each side and the one before it
    by 2 at the start.
    """
    if mode != "constant":
        raise ValueError(f"pad: only mode='constant' is implemented, got {mode!r}")
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: expected (before, after) pairs for at most {x.ndim} dims, got {pad}")
    widths = [(0, 0)] * x.ndim
    for k in range(len(pad) // 2):
        widths[x.ndim - 1 - k] = (pad[2 * k], pad[2 * k + 1])
    return _pad_numpy_style(x, widths, value)


def logsigmoid(x):
    """log sigmoid(x) = -softplus(-x), finite for any x."""
    return -softplus(-x)

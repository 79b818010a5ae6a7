"""The functional names a PyTorch user looks for: ``import tinygen.nn.functional as F``."""

from ..ops.activation import gelu, leaky_relu, log_softmax, relu, sigmoid, silu, softmax, softplus, tanh
from ..ops.loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    l1_loss,
    mse_loss,
    nll_loss,
)
from .dropout import dropout
from .embedding import embedding
from .linear import linear
from .norm import batch_norm, group_norm, layer_norm
from ..ops.shape import pad as _pad_numpy_style
from ..ops.conv import conv2d, conv_transpose2d
from ..ops.pool import avg_pool2d, interpolate, max_pool2d

__all__ = [
    "avg_pool2d",
    "conv2d",
    "conv_transpose2d",
    "interpolate",
    "max_pool2d",
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "dropout",
    "embedding",
    "group_norm",
    "l1_loss",
    "layer_norm",
    "linear",
    "mse_loss",
    "nll_loss",
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

"""The functional names a PyTorch user looks for: ``import tinygen.nn.functional as F``."""

from ..ops.activation import gelu, log_softmax, sigmoid, softmax, softplus, tanh
from ..ops.activation import leaky_relu as _leaky_relu
from ..ops.activation import relu as _relu
from ..ops.activation import silu as _silu
from ..ops.loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    nll_loss,
    smooth_l1_loss,
)
from ..ops.norms import cosine_similarity, normalize
from .. import backend
from ..tensor import Tensor
from .dropout import dropout as _dropout
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
    "cosine_similarity",
    "cross_entropy",
    "dropout",
    "embedding",
    "group_norm",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "layer_norm",
    "linear",
    "mse_loss",
    "nll_loss",
    "normalize",
    "one_hot",
    "smooth_l1_loss",
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


def one_hot(tensor, num_classes=-1):
    """Class indices (...) -> int64 rows (..., num_classes) with a single 1; -1 means max index + 1."""
    if tensor.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected an integer tensor of class indices, got dtype {tensor.dtype}")
    if num_classes == -1:
        num_classes = int(tensor.array.max()) + 1 if tensor.numel() else 0
    if tensor.numel() and (int(tensor.array.min()) < 0 or int(tensor.array.max()) >= num_classes):
        raise ValueError(f"one_hot: class indices must lie in [0, {num_classes})")
    xp = backend.array_module(tensor.array)
    return Tensor.wrap(xp.eye(num_classes, dtype=backend.int64)[tensor.array])


# PyTorch's ``inplace=True`` is accepted and computes out of place: the result is a new tensor
# (in-place changes are not recorded in tinygen's graph), so write ``x = F.relu(x, inplace=True)``.
def relu(input, inplace=False):
    """max(x, 0), elementwise; ``inplace`` is accepted and the result is a new tensor."""
    return _relu(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x where x > 0, else negative_slope * x; ``inplace`` is accepted and the result is a new tensor."""
    return _leaky_relu(input, negative_slope)


def silu(input, inplace=False):
    """x * sigmoid(x); ``inplace`` is accepted and the result is a new tensor."""
    return _silu(input)


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each entry with probability p and scale the rest by 1/(1-p) while training; ``inplace`` is accepted."""
    return _dropout(input, p, training)

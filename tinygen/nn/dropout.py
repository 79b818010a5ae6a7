"""Dropout: zero each value with probability p while training, and scale the rest by 1/(1-p).

This "inverted" scaling keeps the expected value of every unit unchanged, so at evaluation
time the layer is simply the identity.
"""

from .. import backend
from ..tensor import Tensor
from .module import Module


def dropout(x, p=0.5, training=True):
    """Zero each entry with probability p and scale the rest by 1/(1-p) while ``training``; else x.

    Any shape -> the same shape; the mask is drawn from tinygen's generator for x's device.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    draw_dtype = backend.float64 if x.dtype == backend.float64 else backend.float32
    u = backend.generator(x.device).random(x.shape, dtype=draw_dtype)
    mask = (u >= p).astype(x.dtype) * (1.0 / (1.0 - float(p)))  # kept: 1/(1-p), dropped: 0
    return x * Tensor.wrap(mask)


class Dropout(Module):
    """The layer form of ``dropout``: active in train mode, the identity after ``model.eval()``.

    Any shape -> the same shape. ``inplace`` is accepted and ignored (x is never modified).
    """

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: probability p must be in [0, 1], got {p}")
        self.p = p

    def forward(self, x):
        return dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace=False"

"""Pixel scalings and binarisation, for arrays and Tensors alike.

    to_unit(uint8_images)     [0, 255] -> [0, 1] float32     (what load_dataset already returns)
    to_symmetric(x)           [0, 1]   -> [-1, 1]            (GAN / DDPM inputs, tanh outputs)
    from_symmetric(x)         [-1, 1]  -> [0, 1]             (back, for pictures)
    dynamic_binarize(x)       pixel p  -> 1 with probability p, fresh every call (Bernoulli VAEs)
"""

from .. import backend
from ..tensor import Tensor


def to_unit(images, max_value=255.0):
    """Integer pixels in [0, max_value] as float32 in [0, 1]."""
    data = images.array if isinstance(images, Tensor) else images
    scaled = data.astype(backend.float32)
    scaled /= float(max_value)  # in place, and a Python float keeps it float32
    return Tensor.wrap(scaled) if isinstance(images, Tensor) else scaled


def to_symmetric(x):
    """[0, 1] -> [-1, 1]: x * 2 - 1 (differentiable on Tensors)."""
    return x * 2.0 - 1.0


def from_symmetric(x):
    """[-1, 1] -> [0, 1]: (x + 1) / 2, clipped, for pictures."""
    y = (x + 1.0) * 0.5
    return y.clamp(0.0, 1.0) if isinstance(y, Tensor) else backend.array_module(y).clip(y, 0.0, 1.0)


def binarize(x, threshold=0.5):
    """Static binarisation: 1 where x > threshold, else 0 (same dtype as x)."""
    data = x.array if isinstance(x, Tensor) else x
    out = (data > threshold).astype(data.dtype)
    return Tensor.wrap(out) if isinstance(x, Tensor) else out


def dynamic_binarize(x, generator=None):
    """Each pixel p becomes 1 with probability p: a fresh Bernoulli draw every call.

    Draws from tinygen's generator for x's device (seeded by ``tg.manual_seed``) unless a
    ``generator`` is given; redrawing every epoch keeps a Bernoulli model from overfitting to one
    fixed binarisation (the usual protocol for binarized-MNIST likelihoods).
    """
    data = x.array if isinstance(x, Tensor) else x
    rng = generator if generator is not None else backend.generator(backend.device_of(data))
    dt = data.dtype if data.dtype in (backend.float32, backend.float64) else backend.float32
    u = rng.random(data.shape, dtype=dt)
    out = (u < data).astype(dt)
    return Tensor.wrap(out) if isinstance(x, Tensor) else out

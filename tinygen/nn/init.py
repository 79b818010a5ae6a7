"""Weight initialisation schemes, in place, with PyTorch's names and formulas.

Every draw comes from tinygen's generator for the tensor's device, so ``tg.manual_seed``
makes a model's initial weights reproducible. The functions end in ``_`` because they
overwrite the tensor they are given (and return it).
"""

import math

from .. import backend
from ..grad_mode import no_grad


def calculate_gain(nonlinearity, param=None):
    """The factor that keeps activations' variance steady through a layer with this nonlinearity."""
    if nonlinearity in ("linear", "identity", "sigmoid") or nonlinearity.startswith("conv"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor):
    """fan_in = inputs per output unit: in_features for (out, in), in_channels * kh * kw for a conv kernel."""
    if tensor.ndim < 2:
        raise ValueError(f"fan in and fan out need a tensor with at least 2 dimensions, got shape {tensor.shape}")
    receptive_field = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _fan(tensor, mode):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming init: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _draw_dtype(tensor):
    # the generators draw float32 or float64 only; a float16 tensor gets float32 draws, cast
    return backend.float64 if tensor.dtype == backend.float64 else backend.float32


@no_grad()
def uniform_(tensor, a=0.0, b=1.0):
    """Fill with U(a, b)."""
    u = backend.generator(tensor.device).random(tensor.shape, dtype=_draw_dtype(tensor))
    tensor.copy_(u * (b - a) + a)  # a, b are Python floats, so u keeps its dtype
    return tensor


@no_grad()
def normal_(tensor, mean=0.0, std=1.0):
    """Fill with N(mean, std^2)."""
    z = backend.generator(tensor.device).standard_normal(tensor.shape, dtype=_draw_dtype(tensor))
    tensor.copy_(z * std + mean)
    return tensor


@no_grad()
def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0):
    """N(mean, std^2) with values outside [a, b] drawn again."""
    rng = backend.generator(tensor.device)
    xp = backend.xp_for(tensor.device)
    out = rng.standard_normal(tensor.shape, dtype=_draw_dtype(tensor)) * std + mean
    bad = (out < a) | (out > b)
    while bool(bad.any()):  # init runs once, outside training, so this host check is fine
        out = xp.where(bad, rng.standard_normal(tensor.shape, dtype=out.dtype) * std + mean, out)
        bad = (out < a) | (out > b)
    tensor.copy_(out)
    return tensor


@no_grad()
def constant_(tensor, value):
    """Fill with ``value``."""
    tensor.fill_(value)
    return tensor


def zeros_(tensor):
    """Fill with 0 (biases, and layers that should start as no-ops)."""
    return constant_(tensor, 0.0)


def ones_(tensor):
    """Fill with 1 (the scale of a normalisation layer)."""
    return constant_(tensor, 1.0)


def xavier_uniform_(tensor, gain=1.0):
    """Glorot: U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor, gain=1.0):
    """Glorot: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """He: U(-b, b) with b = gain * sqrt(3 / fan).

    PyTorch's Linear and Conv default is a=sqrt(5), which makes b = 1 / sqrt(fan_in).
    """
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """He: N(0, std^2) with std = gain / sqrt(fan)."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std)

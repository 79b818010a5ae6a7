"""Gradient clipping and flat parameter vectors: ``tinygen.nn.utils``, as in PyTorch."""

import math

from .. import backend, grad_mode
from ..ops.shape import cat
from ..tensor import Tensor


def _with_grads(parameters):
    parameters = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale all gradients together so their joint norm is at most ``max_norm``; return that norm.

    The norm is taken over every gradient as if concatenated into one vector, and the gradients
    are multiplied by ``min(1, max_norm / (norm + 1e-6))``, all on the device: no host sync.
    """
    params = _with_grads(parameters)
    if not params:
        return Tensor(0.0)
    xp = backend.array_module(params[0].grad.array)
    grads = [p.grad.array for p in params]
    norm_type = float(norm_type)
    if norm_type == math.inf:
        total = xp.stack([xp.abs(g).max() for g in grads]).max()
    else:  # (sum over all entries of |g|^p)^(1/p)
        total = xp.stack([(xp.abs(g) ** norm_type).sum() for g in grads]).sum() ** (1.0 / norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):  # a host sync, only when asked for
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is {float(total)}; "
            "pass error_if_nonfinite=False to clip anyway"
        )
    scale = xp.minimum(max_norm / (total + 1e-6), 1.0)
    with grad_mode.no_grad():
        for p in params:
            # a new array rather than mul_(): safe even if a gradient array is shared
            p.grad = Tensor.wrap(p.grad.array * scale.astype(p.grad.dtype))
    return Tensor.wrap(total)


def clip_grad_value_(parameters, clip_value):
    """Clamp every gradient entry into ``[-clip_value, clip_value]``."""
    for p in _with_grads(parameters):
        p.grad = Tensor.wrap(p.grad.array.clip(-clip_value, clip_value))


def parameters_to_vector(parameters):
    """All parameters flattened and joined into one 1-d tensor (differentiable)."""
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vector, parameters):
    """Copy consecutive slices of a 1-d ``vector`` into the parameters, in place."""
    parameters = list(parameters)
    total = sum(p.numel() for p in parameters)
    if vector.ndim != 1 or vector.shape[0] != total:
        raise ValueError(f"vector_to_parameters: expected a 1-d vector of {total} entries, got shape {vector.shape}")
    start = 0
    with grad_mode.no_grad():
        for p in parameters:
            n = p.numel()
            p.copy_(vector.array[start:start + n].reshape(p.shape))
            start += n

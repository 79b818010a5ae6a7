"""Stochastic gradient descent with momentum, Nesterov momentum and weight decay (PyTorch's rule)."""

from ..tensor import Tensor
from .optimizer import Optimizer


class SGD(Optimizer):
    """``p -= lr * d`` where ``d`` is the gradient, or a running sum of gradients with momentum.

    With weight decay ``g = grad + weight_decay * p`` (an L2 penalty on the loss). With momentum
    ``buf = momentum * buf + (1 - dampening) * g``, the buffer starting at the first gradient;
    ``d = buf``, or ``d = g + momentum * buf`` with ``nesterov=True`` (look one step ahead).
    """

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False):
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(f"SGD: expected lr, momentum and weight_decay >= 0, got {lr}, {momentum}, {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(f"SGD: nesterov needs momentum > 0 and dampening 0, got {momentum} and {dampening}")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _update(self, p, grad, state, group):
        momentum = group["momentum"]
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * p.array  # gradient of (weight_decay / 2) * |p|^2
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = Tensor.wrap(grad.copy())
            else:
                buf.mul_(momentum).add_(grad, alpha=1.0 - group["dampening"])
            grad = grad + momentum * buf.array if group["nesterov"] else buf.array
        p.sub_(grad, alpha=group["lr"])

"""Adagrad, RMSprop and Adadelta: per-coordinate step sizes from the history of squared gradients.

Each keeps, per parameter, a running sum or average of g^2 and divides the step by its square
root, so coordinates with large gradients take smaller steps. They are Adam's ancestors:

    Adagrad   s += g^2                              p -= lr g / (sqrt(s) + eps)
    RMSprop   s = alpha s + (1 - alpha) g^2         p -= lr g / (sqrt(s) + eps)
    Adadelta  s = rho s + (1 - rho) g^2             d = sqrt(u + eps) / sqrt(s + eps) g
              u = rho u + (1 - rho) d^2             p -= lr d

The rules, defaults and state names are PyTorch's, so a state_dict moves between the two.
"""

from .. import backend
from ..tensor import Tensor
from .optimizer import Optimizer


def _zeros_like(p, value=0.0):
    xp = backend.array_module(p.array)
    return Tensor.wrap(xp.full_like(p.array, value))


def _gradient(p, grad, group):
    """The gradient with the maximize sign and the L2 term weight_decay * p."""
    if group.get("maximize"):
        grad = -grad
    return grad + group["weight_decay"] * p.array if group["weight_decay"] != 0 else grad


def _check(name, **values):
    for key, value in values.items():
        if value < 0:
            raise ValueError(f"{name}: expected {key} >= 0, got {value}")


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011): s += g^2, p -= lr / (1 + (t - 1) lr_decay) * g / (sqrt(s) + eps)."""

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10,
                 maximize=False):
        _check("Adagrad", lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, eps=eps,
               initial_accumulator_value=initial_accumulator_value)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, eps=eps, maximize=maximize))

    def _update(self, p, grad, state, group):
        if not state:
            state["step"] = 0
            state["sum"] = _zeros_like(p, group["initial_accumulator_value"])
        state["step"] += 1
        grad = _gradient(p, grad, group)
        lr = group["lr"] / (1.0 + (state["step"] - 1) * group["lr_decay"])
        s = state["sum"].array
        s += grad * grad
        p.sub_(lr * grad / (backend.array_module(s).sqrt(s) + group["eps"]))


class RMSprop(Optimizer):
    """RMSprop (Hinton, 2012): divide by a running root-mean-square of the gradient.

    ``centered`` subtracts the squared running mean of g (a variance estimate); ``momentum``
    keeps a buffer b = momentum b + g / denominator and steps by lr b.
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
                 maximize=False):
        _check("RMSprop", lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum)
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered, maximize=maximize))

    def _update(self, p, grad, state, group):
        alpha, eps, momentum = group["alpha"], group["eps"], group["momentum"]
        if not state:
            state["step"] = 0
            state["square_avg"] = _zeros_like(p)
            if momentum > 0:
                state["momentum_buffer"] = _zeros_like(p)
            if group["centered"]:
                state["grad_avg"] = _zeros_like(p)
        state["step"] += 1
        grad = _gradient(p, grad, group)
        xp = backend.array_module(grad)
        s = state["square_avg"].array
        s[...] = alpha * s + (1.0 - alpha) * grad * grad
        if group["centered"]:
            m = state["grad_avg"].array
            m[...] = alpha * m + (1.0 - alpha) * grad
            denominator = xp.sqrt(s - m * m) + eps
        else:
            denominator = xp.sqrt(s) + eps
        if momentum > 0:
            b = state["momentum_buffer"].array
            b[...] = momentum * b + grad / denominator
            p.sub_(group["lr"] * b)
        else:
            p.sub_(group["lr"] * grad / denominator)


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012): steps in the units of the parameter, from two running averages.

    The ratio sqrt(u + eps) / sqrt(s + eps) replaces a hand-tuned rate; ``lr`` (1.0, as in
    PyTorch) only scales the result.
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False):
        _check("Adadelta", lr=lr, rho=rho, eps=eps, weight_decay=weight_decay)
        if rho > 1.0:
            raise ValueError(f"Adadelta: expected rho in [0, 1], got {rho}")
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize))

    def _update(self, p, grad, state, group):
        rho, eps = group["rho"], group["eps"]
        if not state:
            state["step"] = 0
            state["square_avg"] = _zeros_like(p)
            state["acc_delta"] = _zeros_like(p)
        state["step"] += 1
        grad = _gradient(p, grad, group)
        xp = backend.array_module(grad)
        s, u = state["square_avg"].array, state["acc_delta"].array
        s[...] = rho * s + (1.0 - rho) * grad * grad
        delta = xp.sqrt(u + eps) / xp.sqrt(s + eps) * grad
        u[...] = rho * u + (1.0 - rho) * delta * delta
        p.sub_(group["lr"] * delta)

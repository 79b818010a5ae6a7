"""Adam and AdamW: per-coordinate steps scaled by running moments of the gradient (PyTorch's rule)."""

from .. import backend, kernels
from ..tensor import Tensor
from .optimizer import Optimizer


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), with bias correction and ``eps`` outside the square root.

    m = beta1 m + (1 - beta1) g                 running mean of the gradient
    v = beta2 v + (1 - beta2) g^2               running mean of its square
    p -= lr * m_hat / (sqrt(v_hat) + eps)       m_hat = m / (1 - beta1^t), v_hat = v / (1 - beta2^t)

    ``weight_decay`` adds ``weight_decay * p`` to the gradient (an L2 penalty), which then goes
    through the moments; AdamW decays the weights directly instead.
    """

    decoupled_weight_decay = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, maximize=False):
        name = type(self).__name__
        if lr < 0 or eps < 0 or weight_decay < 0:
            raise ValueError(f"{name}: expected lr, eps and weight_decay >= 0, got {lr}, {eps}, {weight_decay}")
        if not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"{name}: expected betas in [0, 1), got {tuple(betas)}")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _update(self, p, grad, state, group):
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        if group["maximize"]:
            grad = -grad
        if wd != 0:
            if self.decoupled_weight_decay:
                p.mul_(1.0 - lr * wd)  # AdamW: shrink the weights, apart from the gradient
            else:
                grad = grad + wd * p.array
        if not state:
            state["step"] = 0
            state["exp_avg"] = _zeros_like(p)
            state["exp_avg_sq"] = _zeros_like(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = _zeros_like(p)
        state["step"] += 1
        v_max = state["max_exp_avg_sq"].array if group["amsgrad"] else None
        adam_step(p, grad, state["exp_avg"].array, state["exp_avg_sq"].array, v_max, state["step"], lr, beta1, beta2, eps)


@kernels.replaceable
def adam_step(p, grad, m, v, v_max, t, lr, beta1, beta2, eps):
    """Adam's five equations for step t: the moment arrays m, v (and v_max) in place, then p.

    Python floats throughout keep a float32 parameter float32.
    """
    xp = backend.array_module(grad)
    m[...] = beta1 * m + (1.0 - beta1) * grad           # running mean of the gradient
    v[...] = beta2 * v + (1.0 - beta2) * grad * grad    # running mean of its square
    if v_max is not None:                                # AMSGrad: the denominator never shrinks
        v_max[...] = xp.maximum(v_max, v)
        v = v_max
    m_hat = m / (1.0 - beta1**t)                         # both moments start at 0: undo that bias
    v_hat = v / (1.0 - beta2**t)
    p.sub_(lr * m_hat / (xp.sqrt(v_hat) + eps))


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019): ``p -= lr * weight_decay * p``
    before the Adam step, so the decay is not rescaled by the moments."""

    decoupled_weight_decay = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)


def _zeros_like(p):
    return Tensor.wrap(backend.array_module(p.array).zeros_like(p.array))

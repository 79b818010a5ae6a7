"""Fast Bernoulli log-likelihood: x l - softplus(l) as one op, a drop-in for
``distributions.bernoulli_log_prob`` (the VAE's reconstruction term).

The reading path writes it as three ops (a product, softplus, a difference), and softplus's
backward computes sigmoid(l) afresh in seven passes, then four more ops join the two gradients.
This op keeps e = exp(-|l|) from its forward, the one exponential both directions need, and
returns the gradient x - sigmoid(l) from it in one op. Its values are the reading path's bits;
its gradient equals it to rounding (tests/test_fast_kernels.py). Under ``create_graph`` the
backward is written in tensor ops, so second derivatives are the reading path's.
"""

from .. import backend, grad_mode, kernels
from .. import distributions as reading
from ..autograd import Function
from ..ops.activation import sigmoid
from ..tensor import Tensor


class BernoulliLogProb(Function):
    """log p(x | l) = x l - softplus(l) per element, softplus(l) = max(l, 0) + log(1 + e^-|l|)."""

    def forward(self, logits, x):
        """Arrays logits, x of one shape and dtype -> x l - softplus(l), the reading path's bits."""
        xp = backend.array_module(logits)
        e = xp.abs(logits)
        xp.negative(e, out=e)
        xp.exp(e, out=e)                    # e^-|l| in (0, 1]: never overflows
        self.e = e                          # kept: sigmoid(l) for backward comes from it
        softplus = xp.maximum(logits, 0)
        softplus += xp.log1p(e)
        out = logits * x
        out -= softplus
        return out

    def backward(self, g):  # d/dl = x - sigmoid(l),  d/dx = l
        """g -> (g (x - sigmoid(l)), g l): on arrays, or in tensor ops under create_graph."""
        logits, x = self.inputs
        need_logits, need_x = self.needs_input_grad
        if grad_mode.is_grad_enabled():  # create_graph: the same formula in differentiable ops
            return (g * (x - sigmoid(logits)) if need_logits else None), (g * logits if need_x else None)
        grad_logits = None
        if need_logits:
            xp = backend.array_module(g.array)
            e = self.e
            # sigmoid(l) = 1 / (1 + e) for l >= 0 and e / (1 + e) for l < 0 (both exact, no overflow):
            # the numerator is 1 + [l < 0] (e - 1), built without xp.where (slow on random signs)
            numerator = e - 1.0
            numerator *= logits.array < 0
            numerator += 1.0
            s = e + 1.0
            xp.divide(numerator, s, out=s)   # sigmoid(l)
            xp.subtract(x.array, s, out=s)   # x - sigmoid(l)
            s *= g.array
            grad_logits = Tensor.wrap(s)
        return grad_logits, (g * logits if need_x else None)


@kernels.fast_kernel(reading.bernoulli_log_prob)
def bernoulli_log_prob(logits, x):
    """x l - softplus(l) as one op; 0-d tensors (NumPy makes scalars of them, which have no ``out=``)
    and tensors of another shape or dtype take the reading path."""
    if logits.ndim == 0 or logits.shape != x.shape or logits.dtype != x.dtype or not backend.is_floating(logits.dtype):
        return reading.bernoulli_log_prob.reading(logits, x)
    return BernoulliLogProb.apply(logits, x)

"""Fast Bernoulli log-likelihood: x l - softplus(l) as one op, a drop-in for
``distributions.bernoulli_log_prob`` (the VAE's reconstruction term).

The reading path writes it as three ops (a product, softplus, a difference), and softplus's
backward computes sigmoid(l) afresh in seven passes, then four more ops join the two gradients.
This op keeps e = exp(-|l|) from its forward, the one exponential both directions need, and
returns the gradient g (x - sigmoid(l)) from it in one op. Its values and its gradient are the
reading path's bits (tests/test_fast_kernels.py), so a run trains the same either way. Under
``create_graph`` the backward is written in tensor ops, so second derivatives are the reading
path's too.
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
            e, negative = self.e, logits.array < 0
            # sigmoid(l) = e^min(l, 0) / (1 + e^-|l|), the reading path's form: its numerator is e where
            # l < 0 and 1 elsewhere, built with masks, not xp.where (slow on random signs)
            s = e * negative
            s += ~negative
            xp.divide(s, e + 1.0, out=s)
            # g x - g sigmoid(l): the reading path's two gradients (of l x and of -softplus(l)),
            # summed in its order, so the result is its bits too
            s *= g.array
            grad = g.array * x.array
            grad -= s
            grad_logits = Tensor.wrap(grad)
        return grad_logits, (g * logits if need_x else None)


@kernels.fast_kernel(reading.bernoulli_log_prob)
def bernoulli_log_prob(logits, x):
    """x l - softplus(l) as one op; 0-d tensors (NumPy makes scalars of them, which have no ``out=``)
    and tensors of another shape or dtype take the reading path."""
    if logits.ndim == 0 or logits.shape != x.shape or logits.dtype != x.dtype or not backend.is_floating(logits.dtype):
        return reading.bernoulli_log_prob.reading(logits, x)
    return BernoulliLogProb.apply(logits, x)

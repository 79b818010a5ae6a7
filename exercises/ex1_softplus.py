"""Exercise 1 — the backward of softplus.

softplus(x) = log(1 + e^x), a smooth ReLU. Its forward is written for you below, in the stable
form that never takes e^x of a large positive x. Write its backward.

The math: d/dx log(1 + e^x) = e^x / (1 + e^x) = 1 / (1 + e^-x) = sigmoid(x), so by the chain
rule the gradient of the loss with respect to x is  g * sigmoid(x),  where g is the gradient
with respect to softplus(x) that backward receives.

Two rules (docs/extending.md):
* backward gets g as a Tensor and returns a Tensor made with Tensor operations (+, *, .exp(),
  .sigmoid(), ...), never raw NumPy arithmetic on ``.data``: then the gradient has a graph of
  its own and second derivatives work (the tests check them with gradgradcheck);
* ``self.inputs`` holds the input Tensors that forward saw.

Check: python -m pytest exercises/ex1_softplus_test.py
"""

from tinygen import backend
from tinygen.autograd import Function


class Softplus(Function):
    def forward(self, x):
        # log(1 + e^x) = max(x, 0) + log(1 + e^-|x|): the exponent is never positive
        xp = backend.array_module(x)
        return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, g):
        (x,) = self.inputs
        # YOUR CODE HERE: return the gradient with respect to x, a Tensor of x's shape
        raise NotImplementedError("ex1: implement Softplus.backward — see exercises/README.md")


def softplus(x):
    return Softplus.apply(x)

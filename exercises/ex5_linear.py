"""Exercise 5 — a Linear layer as an nn.Module.

A dense layer computes  y = x W^T + b  for x of shape (..., in_features): W has shape
(out_features, in_features) and b shape (out_features,), PyTorch's layout.

Its weights must start small and random. PyTorch (and tinygen.nn.Linear) draw both from
U(-bound, bound) with bound = 1 / sqrt(in_features): the variance of each output is then about
(1/3) of the input's, whatever the layer's width, so activations neither blow up nor vanish
as layers stack.

What to write:
* in __init__: self.weight and self.bias as nn.Parameter (assigning a Parameter to an
  attribute registers it, in order: weight first, then bias); with bias=False, self.bias = None.
  Draw them with tinygen's random generator (tg.rand, or nn.init.uniform_ on a tg.empty
  tensor) so that tg.manual_seed makes the layer reproducible, in the given dtype.
* in forward: y = x @ W^T + b, with Tensor ops (x @ self.weight.T ...), so autograd gives the
  gradients of x, W and b.

Check: python -m pytest exercises/ex5_linear_test.py
"""

import math

import tinygen as tg
from tinygen import nn


class Linear(nn.Module):
    def __init__(self, in_features, out_features, bias=True, dtype=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        bound = 1.0 / math.sqrt(in_features)
        # YOUR CODE HERE: self.weight, self.bias
        raise NotImplementedError("ex5: implement Linear.__init__ — see exercises/README.md")

    def forward(self, x):
        # YOUR CODE HERE
        raise NotImplementedError("ex5: implement Linear.forward — see exercises/README.md")

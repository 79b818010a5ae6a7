"""Tensor's operators and methods, attached in this one place once the ops exist.

``tensor.py`` defines what a Tensor is; the ops (``tinygen/ops``) define what can be done with
one, and they need the Tensor class to exist first. So the methods are attached here, after
both: ``x + y`` calls ``elementwise.add(x, y)``, ``x.sum(1)`` calls ``reduce.sum(x, 1)``,
``loss.backward()`` calls ``autograd.backward(loss)``. Each line is the whole story of its
method: to read how one works, follow the name it points at.
"""

from . import autograd, backend
from .ops import activation, elementwise, linalg, reduce, shape
from .tensor import Tensor

def _shape_arg(args):
    """reshape(2, 3) and reshape((2, 3)) both mean the shape (2, 3)."""
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else tuple(args)


def to(self, device=None, dtype=None):
    """Move to a device ("cpu" / "cuda") and/or cast to a dtype; differentiable."""
    if device is not None and not isinstance(device, str):  # t.to(tg.float64)
        device, dtype = None, device
    out = self
    if dtype is not None and backend.dtype(dtype) != self.dtype:
        out = elementwise.cast(out, dtype)
    if device is not None and backend.check_device(device) != self.device:
        out = elementwise.to_device(out, backend.check_device(device))
    return out


def std(self, dim=None, keepdim=False, correction=1):
    """The standard deviation: the square root of ``var``."""
    return reduce.var(self, dim, keepdim, correction).sqrt()


def square(self):
    """x * x."""
    return self * self


def reshape(self, *size):
    """The same values in another shape: ``x.reshape(2, 3)`` or ``x.reshape((2, 3))``; -1 is inferred."""
    return shape.reshape(self, _shape_arg(size))


def permute(self, *dims):
    """The axes in a new order: ``x.permute(0, 2, 3, 1)`` (a view)."""
    return shape.permute(self, _shape_arg(dims))


def expand(self, *size):
    """Broadcast to ``size``; -1 keeps that dimension: ``x.expand(4, -1)``."""
    return shape.expand(self, _shape_arg(size))


def matmul(self, other):
    """self @ other."""
    return linalg.matmul(self, elementwise.as_tensor_like(other, self))


def sign(self):
    """-1, 0 or 1 per element (not differentiable: its derivative is 0 almost everywhere)."""
    return Tensor.wrap(backend.array_module(self.array).sign(self.array))


# ---------------------------------------------------------------- the engine
Tensor.backward = autograd.backward

# ---------------------------------------------------------------- arithmetic: x + y, 2 * x, ...
Tensor.__add__ = elementwise.add
Tensor.__radd__ = lambda self, other: elementwise.add(other, self)
Tensor.__sub__ = elementwise.sub
Tensor.__rsub__ = lambda self, other: elementwise.sub(other, self)
Tensor.__mul__ = elementwise.mul
Tensor.__rmul__ = lambda self, other: elementwise.mul(other, self)
Tensor.__truediv__ = elementwise.div
Tensor.__rtruediv__ = lambda self, other: elementwise.div(other, self)
Tensor.__neg__ = elementwise.neg
Tensor.__pos__ = lambda self: self
Tensor.__pow__ = elementwise.pow
Tensor.__rpow__ = lambda self, base: elementwise.pow(elementwise.as_tensor_like(base, self), self)
Tensor.__abs__ = elementwise.abs
Tensor.__matmul__ = matmul
Tensor.__rmatmul__ = lambda self, other: linalg.matmul(elementwise.as_tensor_like(other, self), self)
Tensor.__getitem__ = shape.getitem

# ---------------------------------------------------------------- elementwise methods
Tensor.exp = elementwise.exp
Tensor.log = elementwise.log
Tensor.sqrt = elementwise.sqrt
Tensor.abs = elementwise.abs
Tensor.pow = elementwise.pow
Tensor.square = square
Tensor.maximum = elementwise.maximum
Tensor.minimum = elementwise.minimum
Tensor.clamp = elementwise.clamp
Tensor.clone = elementwise.clone
Tensor.sign = sign
Tensor.relu = activation.relu
Tensor.sigmoid = activation.sigmoid
Tensor.tanh = activation.tanh
Tensor.softmax = activation.softmax
Tensor.log_softmax = activation.log_softmax

# ---------------------------------------------------------------- dtype and device
Tensor.to = to

# ---------------------------------------------------------------- reductions
Tensor.sum = reduce.sum
Tensor.mean = reduce.mean
Tensor.var = reduce.var
Tensor.std = std
Tensor.amax = reduce.amax
Tensor.amin = reduce.amin
Tensor.logsumexp = reduce.logsumexp
Tensor.argmax = reduce.argmax
Tensor.argmin = reduce.argmin
Tensor.broadcast_to = reduce.broadcast_to
Tensor.sum_to = reduce.sum_to

# ---------------------------------------------------------------- shape
Tensor.reshape = reshape
Tensor.flatten = shape.flatten
Tensor.permute = permute
Tensor.transpose = shape.transpose
Tensor.T = property(lambda self: shape.permute(self, tuple(reversed(range(self.ndim)))), doc="The axes reversed.")
Tensor.expand = expand
Tensor.unsqueeze = shape.unsqueeze
Tensor.squeeze = shape.squeeze
Tensor.matmul = matmul

"""Elementwise arithmetic: each op's forward on arrays and its backward on Tensors.

Binary ops broadcast like NumPy. Their backward returns gradients of the broadcast shape;
the engine (autograd.run_backward) sums each one back to its input's shape, in one place.
"""

from .. import backend, kernels
from ..autograd import Function
from ..tensor import Tensor


class Add(Function):
    """a + b."""

    uses_inputs = False

    def forward(self, a, b):
        return a + b

    def backward(self, g):  # d(a+b)/da = d(a+b)/db = 1
        return g, g


class Sub(Function):
    """a - b."""

    uses_inputs = False

    def forward(self, a, b):
        return a - b

    def backward(self, g):
        return g, -g


class Mul(Function):
    """a * b."""

    def forward(self, a, b):
        return a * b

    def backward(self, g):  # d(ab)/da = b, d(ab)/db = a
        a, b = self.inputs
        need_a, need_b = self.needs_input_grad
        return (g * b if need_a else None), (g * a if need_b else None)


class Div(Function):
    """a / b."""

    def forward(self, a, b):
        return a / b

    def backward(self, g):  # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2
        a, b = self.inputs
        ga = g / b
        return ga, -ga * a / b


class Neg(Function):
    """-x."""

    uses_inputs = False

    def forward(self, a):
        return -a

    def backward(self, g):
        return -g


class PowScalar(Function):
    """x ** c for a constant number c."""

    def forward(self, x):
        return x**self.exponent

    def backward(self, g):  # d(x^c)/dx = c x^(c-1)
        c = self.exponent
        return g * c * self.inputs[0] ** (c - 1) if c != 0 else g * 0.0  # x^0 = 1: slope 0, even at x = 0


class Pow(Function):
    """a ** b where both are tensors."""

    uses_output = True

    def forward(self, a, b):
        return a**b

    def backward(self, g):  # d(a^b)/da = b a^(b-1),  d(a^b)/db = a^b log a
        a, b = self.inputs
        # only what is needed: log a is NaN for a negative base that a constant exponent allows
        ga = g * b * a ** (b - 1.0) if self.needs_input_grad[0] else None
        gb = g * self.output * log(a) if self.needs_input_grad[1] else None
        return ga, gb


class Exp(Function):
    """e^x."""

    uses_inputs = False
    uses_output = True

    def forward(self, x):
        return backend.array_module(x).exp(x)

    def backward(self, g):  # d(e^x)/dx = e^x, the output itself
        return g * self.output


class Log(Function):
    """The natural logarithm."""

    def forward(self, x):
        return backend.array_module(x).log(x)

    def backward(self, g):  # d(log x)/dx = 1/x
        return g / self.inputs[0]


class Sqrt(Function):
    """The square root."""

    uses_inputs = False
    uses_output = True

    def forward(self, x):
        return backend.array_module(x).sqrt(x)

    def backward(self, g):  # d(sqrt x)/dx = 1 / (2 sqrt x)
        return g / (self.output * 2.0)


class Abs(Function):
    """|x|."""

    def forward(self, x):
        return backend.array_module(x).abs(x)

    def backward(self, g):  # d|x|/dx = sign(x), taken as 0 at the kink
        x = self.inputs[0].array
        return g * Tensor.wrap(backend.array_module(x).sign(x))


class Maximum(Function):
    """The larger of a and b, element by element."""

    def forward(self, a, b):
        return backend.array_module(a).maximum(a, b)

    def backward(self, g):  # the larger input takes the gradient; a tie splits it
        a, b = (t.array for t in self.inputs)
        to_a = Tensor.wrap(((a > b) + 0.5 * (a == b)).astype(g.dtype))
        return g * to_a, g * (1.0 - to_a)


class Where(Function):
    """cond ? a : b, with ``cond`` a boolean array (not differentiable)."""

    uses_inputs = False

    def forward(self, a, b):
        return backend.array_module(a).where(self.condition, a, b)

    def backward(self, g):
        mask = Tensor.wrap(self.condition.astype(g.dtype))
        return g * mask, g * (1.0 - mask)


class Clamp(Function):
    """x clipped to [low, high] (either bound may be None)."""

    def forward(self, x):
        return backend.array_module(x).clip(x, self.low, self.high)

    def backward(self, g):  # slope 1 inside [low, high], 0 where the value was clipped
        x = self.inputs[0].array
        inside = backend.array_module(x).clip(x, self.low, self.high) == x
        return g * Tensor.wrap(inside.astype(g.dtype))


class Cast(Function):
    """x in another dtype; the gradient is cast back."""

    uses_inputs = False

    def forward(self, x):
        self.in_dtype = x.dtype
        return x.astype(self.dtype)

    def backward(self, g):
        return cast(g, self.in_dtype)


class ToDevice(Function):
    """x copied to another device; the gradient is copied back."""

    uses_inputs = False

    def forward(self, x):
        self.in_device = backend.device_of(x)
        return backend.as_array(x, device=self.device)

    def backward(self, g):
        return to_device(g, self.in_device)


class Clone(Function):
    """A copy of x with memory of its own."""

    uses_inputs = False

    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return g


# ---------------------------------------------------------------- the functions
def check_broadcast(op, a, b):
    """Refuse shapes that do not broadcast, naming the op and both shapes."""
    sa, sb = a.shape, b.shape
    if sa == sb:
        return
    for x, y in zip(reversed(sa), reversed(sb)):
        if x != y and x != 1 and y != 1:
            raise ValueError(f"{op}: shapes {sa} and {sb} do not broadcast (dimension sizes {x} and {y})")


def _operands(a, b):
    """Two Tensors for a binary op: a Python number becomes a constant beside the tensor.

    As in PyTorch, an integer tensor meeting a Python float becomes float32 first, and one
    meeting a float tensor takes that tensor's dtype (NumPy alone would make both float64).
    """
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        float_a, float_b = backend.is_floating(a.dtype), backend.is_floating(b.dtype)
        if float_a and not float_b:
            b = cast(b, a.dtype)
        elif float_b and not float_a:
            a = cast(a, b.dtype)
        return a, b
    tensor, number = (a, b) if isinstance(a, Tensor) else (b, a)
    if isinstance(number, float) and not backend.is_floating(tensor.dtype):
        tensor = cast(tensor, backend.float32)
    constant = as_tensor_like(number, tensor)
    return (tensor, constant) if isinstance(a, Tensor) else (constant, tensor)


def as_tensor_like(value, like):
    """A Python number or array as a constant Tensor on ``like``'s device.

    A Python float keeps a float32 tensor float32 (NumPy 2 treats Python scalars as weak), but
    a NumPy float64 scalar would not, so numbers get ``like``'s dtype.
    """
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (int, float, bool)) and backend.is_floating(like.dtype):
        return Tensor.wrap(backend.array_module(like.array).asarray(value, dtype=like.dtype))
    return Tensor(value, device=like.device)


def _binary(cls, name, a, b):
    a, b = _operands(a, b)
    check_broadcast(name, a, b)
    return cls.apply(a, b)


@kernels.replaceable
def add(a, b):
    """a + b, broadcasting as NumPy does; a or b may be a Python number."""
    return _binary(Add, "add", a, b)


def sub(a, b):
    """a - b."""
    return _binary(Sub, "sub", a, b)


def mul(a, b):
    """a * b."""
    return _binary(Mul, "mul", a, b)


def div(a, b):
    """a / b (true division: integer inputs give float32)."""
    a, b = _operands(a, b)
    if not backend.is_floating(a.dtype) and not backend.is_floating(b.dtype):
        # true division of integers is float32, as in PyTorch
        a, b = cast(a, backend.float32), cast(b, backend.float32)
    return _binary(Div, "div", a, b)


def neg(x):
    """-x."""
    return Neg.apply(x)


def pow(x, exponent):
    """x ** exponent, for a number or a tensor exponent."""
    if isinstance(exponent, Tensor):
        return _binary(Pow, "pow", x, exponent)
    return PowScalar.apply(x, exponent=exponent)


def exp(x):
    """e^x, elementwise."""
    return Exp.apply(x)


def log(x):
    """The natural logarithm, elementwise."""
    return Log.apply(x)


def sqrt(x):
    """The square root, elementwise."""
    return Sqrt.apply(x)


def abs(x):
    """|x|, elementwise (gradient 0 at 0)."""
    return Abs.apply(x)


def maximum(a, b):
    """The elementwise larger of a and b (a tie splits the gradient)."""
    return _binary(Maximum, "maximum", a, b)


def minimum(a, b):
    """The elementwise smaller of a and b: -max(-a, -b)."""
    return -maximum(-a, -b)


def where(condition, a, b):
    """Elementwise choice: ``a`` where ``condition`` holds, else ``b`` (all broadcast together)."""
    a, b = _operands(a, b)
    check_broadcast("where", a, b)
    cond = condition.array if isinstance(condition, Tensor) else backend.as_array(condition, device=a.device)
    return Where.apply(a, b, condition=cond)


def clamp(x, min=None, max=None):
    """x clipped to [min, max]: gradient 1 inside, 0 where clipped."""
    if min is None and max is None:
        raise ValueError("clamp: give at least one of min and max")
    return Clamp.apply(x, low=min, high=max)


def cast(x, dtype):
    """x as ``dtype`` (differentiable between float types)."""
    return Cast.apply(x, dtype=backend.dtype(dtype))


def to_device(x, device):
    """x on ``device`` ("cpu" or "cuda"), differentiable."""
    return ToDevice.apply(x, device=device)


def clone(x):
    """A differentiable copy of x."""
    return Clone.apply(x)

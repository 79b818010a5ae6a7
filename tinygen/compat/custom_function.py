"""PyTorch-style custom autograd Functions (``ctx.save_for_backward``), and ``Variable``.

tinygen's own :class:`~tinygen.autograd.Function` computes ``forward`` on raw arrays and keeps
its inputs itself. Coursework written for PyTorch subclasses ``torch.autograd.Function`` with
two *static* methods that work on tensors and share a ``ctx``:

    class Exp(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad):
            (y,) = ctx.saved_tensors
            return grad * y

    y = Exp.apply(x)

Such a subclass is recognised when it is defined (its ``forward`` is a staticmethod) and its
``apply`` is replaced by :func:`apply_pytorch_style`: forward runs with grad mode off, and one
:class:`CustomFunctionNode` joins the result to the graph, calling the user's ``backward``.
The engine is unchanged. A custom Function here has one output (a tuple of outputs raises).
"""

from .. import autograd, grad_mode
from ..tensor import Tensor


class FunctionCtx:
    """The ``ctx`` that a PyTorch-style forward fills and its backward reads."""

    def __init__(self):
        self.saved_tensors = ()
        self.needs_input_grad = ()

    def save_for_backward(self, *tensors):
        """Keep tensors for backward, where they come back as ``ctx.saved_tensors``."""
        self.saved_tensors = tensors

    def mark_non_differentiable(self, *tensors):
        """Accepted for PyTorch code; tinygen's one output is differentiable or not by its inputs."""

    def set_materialize_grads(self, value):
        """Accepted for PyTorch code: the gradient given to backward is always a tensor here."""

    def mark_dirty(self, *tensors):
        """Not offered: a custom Function that changes its input in place."""
        raise NotImplementedError("tinygen does not offer in-place custom Functions (mark_dirty); return a new tensor")


class CustomFunctionNode(autograd.Function):
    """The graph node of one call of a PyTorch-style Function: it holds the result and calls the user's backward."""

    def forward(self, *arrays):
        return self.result

    def backward(self, g):
        grads = self.function.backward(self.ctx, g)
        grads = grads if isinstance(grads, tuple) else (grads,)
        if len(grads) < self.arity:
            raise RuntimeError(f"{self.function.__name__}.backward returned {len(grads)} gradients; forward took "
                               f"{self.arity} arguments (return None for those without one)")
        return tuple(grads[i] for i in self.positions)


def apply_pytorch_style(cls, *args, **kwargs):
    """Run a PyTorch-style Function: forward(ctx, *args) without recording, then one node for backward."""
    ctx = FunctionCtx()
    ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
    with grad_mode.no_grad():
        if hasattr(cls, "setup_context"):  # PyTorch 2's split form: forward(*args), then setup_context
            out = cls.forward(*args, **kwargs)
            cls.setup_context(ctx, args, out)
        else:
            out = cls.forward(ctx, *args, **kwargs)
    if not isinstance(out, Tensor):
        raise NotImplementedError(f"{cls.__name__}.forward returned {type(out).__name__}; a custom Function in "
                                  "tinygen returns exactly one Tensor (write one Function per output)")
    positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
    if not positions:
        return out
    return CustomFunctionNode.apply(*[args[i] for i in positions], function=cls, ctx=ctx, result=out.array,
                                    positions=positions, arity=len(args))


def adapt_subclass(cls, **kwargs):
    """Function.__init_subclass__: give a subclass whose forward is a staticmethod the PyTorch-style apply."""
    if isinstance(cls.__dict__.get("forward"), staticmethod):
        cls.apply = classmethod(apply_pytorch_style)


def Variable(data, requires_grad=False, volatile=False):
    """PyTorch's old Variable wrapper, now the tensor itself: ``data`` (a Tensor shares its memory) as a leaf."""
    t = data.detach() if isinstance(data, Tensor) else Tensor(data)
    return t.requires_grad_(requires_grad)


autograd.Function.__init_subclass__ = classmethod(adapt_subclass)
autograd.Variable = Variable
autograd.FunctionCtx = FunctionCtx

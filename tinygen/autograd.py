"""Reverse-mode automatic differentiation: Function, the graph walk, grad modes.

Every differentiable operation is a :class:`Function` with two methods side by side:

* ``forward(*arrays)`` computes the result on raw arrays (NumPy or CuPy);
* ``backward(grad)`` receives the gradient of the loss with respect to that result as a
  :class:`~tinygen.tensor.Tensor` and returns one gradient per input, written with the
  same differentiable Tensor operations as everything else.

Because backward is built from Tensor ops, running it with grad mode switched on records a
graph of the gradient itself: that is all ``create_graph=True`` means, and it is how second
derivatives (a WGAN-GP gradient penalty) come for free. A plain ``backward()`` runs the same
code under ``no_grad``, so it records nothing.
"""

import contextlib
import traceback
import weakref

from . import backend

_grad_enabled = True
_anomaly_enabled = False


# ---------------------------------------------------------------- grad modes
def is_grad_enabled():
    return _grad_enabled


@contextlib.contextmanager
def set_grad_enabled(mode):
    """Record graphs (True) or not (False) inside the block."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, bool(mode)
    try:
        yield
    finally:
        _grad_enabled = previous


class no_grad(contextlib.ContextDecorator):
    """``with tg.no_grad():`` (or ``@tg.no_grad()``): ops inside record no graph."""

    def __enter__(self):
        global _grad_enabled
        self.previous, _grad_enabled = _grad_enabled, False

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self.previous


class enable_grad(no_grad):
    """Switch recording back on inside a ``no_grad`` block."""

    def __enter__(self):
        global _grad_enabled
        self.previous, _grad_enabled = _grad_enabled, True


class AnomalyError(FloatingPointError):
    """Raised under ``detect_anomaly`` when an op first produces NaN or Inf."""


@contextlib.contextmanager
def detect_anomaly():
    """Check every op's forward output and backward gradients for NaN/Inf.

    Slow (each check synchronises with the device), so only for hunting a bug: the error
    names the op and the line of user code that created it.
    """
    global _anomaly_enabled
    previous, _anomaly_enabled = _anomaly_enabled, True
    try:
        yield
    finally:
        _anomaly_enabled = previous


def _user_frame():
    """The innermost stack frame outside tinygen itself: where the user called the op."""
    package_dir = __file__.rsplit("/", 1)[0]
    for frame in reversed(traceback.extract_stack()):
        if not frame.filename.startswith(package_dir):
            return f"{frame.filename}:{frame.lineno} in {frame.name}"
    return "<unknown>"


def _check_finite(array, what, fn):
    xp = backend.array_module(array)
    if not bool(xp.isfinite(array).all()):
        kind = "nan" if bool(xp.isnan(array).any()) else "inf"
        raise AnomalyError(
            f"{type(fn).__name__} produced {kind} in its {what} (shape {tuple(array.shape)}); "
            f"the op was created at {fn.created_at}"
        )


# ---------------------------------------------------------------- Function
class Function:
    """Base class of every differentiable op.

    Subclasses write ``forward(self, *arrays)`` and ``backward(self, grad)``; keyword
    parameters given to :meth:`apply` (an axis, a shape, a slope) become attributes.
    During backward, ``self.inputs`` holds the input Tensors and ``self.output`` the result.
    A subclass whose backward never reads its inputs' values sets ``uses_inputs = False``;
    one that reads its own output sets ``uses_output = True``. The engine uses these to
    refuse a backward after one of those tensors was modified in place.
    """

    uses_inputs = True
    uses_output = False

    def __init__(self, **params):
        self.__dict__.update(params)

    @classmethod
    def apply(cls, *inputs, **params):
        """Run forward on the inputs' arrays and, if any input needs a gradient, record it."""
        from .tensor import Tensor

        fn = cls(**params)
        if len(inputs) > 1 and backend.gpu_in_use():  # all tensors are on the CPU otherwise
            _check_same_device(cls.__name__, inputs)
        out = fn.forward(*[t.data for t in inputs])
        requires_grad = _grad_enabled and any(t.requires_grad for t in inputs)
        result = Tensor._make(out, requires_grad)
        if _anomaly_enabled:
            fn.created_at = _user_frame()
            _check_finite(result.data, "forward output", fn)
        if requires_grad:
            fn.inputs = inputs
            fn.needs_input_grad = tuple(t.requires_grad for t in inputs)
            fn.input_versions = tuple(t._version for t in inputs)
            fn._output = weakref.ref(result)  # weak: the output already holds this Function
            fn.output_version = result._version
            result.creator = fn
        return result

    @property
    def output(self):
        return self._output()

    def forward(self, *arrays):
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, grad):
        raise NotImplementedError(f"{type(self).__name__}.backward")

    def release(self):
        """Drop everything saved for backward, so its memory can be freed."""
        self.__dict__.clear()
        self.inputs = None

    def __repr__(self):
        return f"<{type(self).__name__} backward>"


def _check_same_device(op, tensors):
    devices = [t.device for t in tensors]
    if any(d != devices[0] for d in devices):
        raise backend.DeviceError(
            f"{op}: expected all tensors on one device, got {' and '.join(sorted(set(devices)))}; "
            "move them with .to(device) first"
        )


# ---------------------------------------------------------------- the graph walk
def _topological_order(roots):
    """Functions reachable from the roots, each before the functions that made its inputs."""
    order, seen = [], set()
    for root in roots:
        if root.creator is None or id(root.creator) in seen:
            continue
        seen.add(id(root.creator))
        stack = [(root.creator, False)]
        while stack:  # iterative depth-first search: deep graphs must not hit recursion limits
            fn, expanded = stack.pop()
            if expanded:
                order.append(fn)
                continue
            if fn.inputs is None:
                raise RuntimeError(
                    f"trying to backward through the graph a second time: the tensors saved by "
                    f"{type(fn).__name__} were freed after the first backward; pass "
                    "retain_graph=True to the first backward() if you need to go through it again"
                )
            stack.append((fn, True))
            for t in fn.inputs:
                parent = t.creator
                if parent is not None and t.requires_grad and id(parent) not in seen:
                    seen.add(id(parent))
                    stack.append((parent, False))
    order.reverse()
    return order


def _check_versions(fn):
    stale = None
    if fn.uses_inputs:
        for i, (t, v) in enumerate(zip(fn.inputs, fn.input_versions)):
            if t._version != v:
                stale = f"input {i} of shape {t.shape}"
    if fn.uses_output and fn.output is not None and fn.output._version != fn.output_version:
        stale = f"its output of shape {fn.output.shape}"
    if stale:
        raise RuntimeError(
            f"{type(fn).__name__} needs {stale} for its backward, but that tensor was modified "
            "in place after the op used it; work on a copy (x.clone()) instead"
        )


def _accumulate(grads, key, g):
    grads[key] = g if key not in grads else grads[key] + g


def run_backward(roots, root_grads, retain_graph=False, create_graph=False, inputs=None):
    """Propagate gradients from ``roots`` back through the graph.

    With ``inputs=None`` the gradients of leaf tensors are added into their ``.grad``
    (``loss.backward()``); otherwise the gradients of exactly those tensors are returned and
    no ``.grad`` is touched (``tg.grad``).
    """
    from .ops.reduce import sum_to

    order = _topological_order(roots)
    grads = {}  # id(Function) -> gradient of its output; id(Tensor) -> gradient of a leaf
    for root, g in zip(roots, root_grads):
        if root.requires_grad:
            _accumulate(grads, id(root.creator) if root.creator else id(root), g)

    if inputs is None:
        leaves = _leaves(order, roots)  # gathered now: the walk below releases fn.inputs
    else:
        # Tensors whose gradient is wanted but that were made by an op: read the gradient
        # of their creator's output when it is complete.
        made_by = {id(t.creator): t for t in inputs if t.creator is not None}
        useful = _leading_to(order, inputs)

    with set_grad_enabled(create_graph):
        for fn in order:
            g = grads.pop(id(fn), None)
            if g is None:
                continue
            if inputs is not None:
                if id(fn) in made_by:
                    grads[("wanted", id(made_by[id(fn)]))] = g
                if id(fn) not in useful:  # no wanted tensor lies behind this op
                    continue
            _check_versions(fn)
            input_grads = fn.backward(g)
            if not isinstance(input_grads, tuple):
                input_grads = (input_grads,)
            for t, gi in zip(fn.inputs, input_grads):
                if gi is None or not t.requires_grad:
                    continue
                if gi.shape != t.shape:  # undo broadcasting, here and only here
                    gi = sum_to(gi, t.shape)
                if _anomaly_enabled:
                    _check_finite(gi.data, "backward (gradient of an input)", fn)
                _accumulate(grads, id(t.creator) if t.creator else id(t), gi)
            if not retain_graph:
                fn.release()  # free saved arrays as soon as they have served
    if not retain_graph:
        for fn in order:  # also the ops tg.grad skipped
            fn.release()

    if inputs is None:
        for leaf in leaves:
            g = grads.get(id(leaf))
            if g is not None:
                leaf.grad = g if leaf.grad is None else leaf.grad + g
        return None
    result = []
    for t in inputs:
        key = ("wanted", id(t)) if t.creator is not None else id(t)
        result.append(grads.get(key))
    return result


def _leaves(order, roots):
    leaves = {}
    for root in roots:
        if root.creator is None and root.requires_grad:
            leaves[id(root)] = root
    for fn in order:
        for t in fn.inputs or ():
            if t.creator is None and t.requires_grad:
                leaves[id(t)] = t
    return leaves.values()


def _leading_to(order, inputs):
    """ids of the Functions from which some of ``inputs`` can be reached (tg.grad prunes the rest)."""
    targets = {id(t) for t in inputs}
    useful = set()
    for fn in reversed(order):  # inputs' makers come before the ops that use them
        for t in fn.inputs:
            if id(t) in targets or (t.creator is not None and id(t.creator) in useful):
                useful.add(id(fn))
                break
    return useful


def _root_grads(outputs, grad_outputs):
    from .tensor import Tensor

    result = []
    for out, g in zip(outputs, grad_outputs):
        if not out.requires_grad:
            raise RuntimeError(
                f"backward: the tensor of shape {out.shape} does not require grad and has no "
                "graph; did you create it under no_grad, detach it, or forget requires_grad=True?"
            )
        if g is None:
            if out.data.size != 1:
                raise RuntimeError(
                    f"backward: the output has shape {out.shape}; a gradient can be implied only "
                    "for a single-element output, so pass gradient= (a tensor of that shape)"
                )
            g = Tensor._make(backend.array_module(out.data).ones_like(out.data), False)
        elif not isinstance(g, Tensor):
            g = Tensor(g, dtype=out.dtype, device=out.device)
        if g.shape != out.shape:
            raise RuntimeError(f"backward: gradient has shape {g.shape} but the output has shape {out.shape}")
        result.append(g)
    return result


def backward(tensor, gradient=None, retain_graph=None, create_graph=False):
    """``tensor.backward()``: add d(tensor)/d(leaf) into every leaf's ``.grad``."""
    if retain_graph is None:
        retain_graph = create_graph
    roots = [tensor]
    run_backward(roots, _root_grads(roots, [gradient]), retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None, allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned as a tuple (like torch.autograd.grad).

    With ``create_graph=True`` the returned gradients are themselves differentiable.
    """
    from .tensor import Tensor

    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs)
    if retain_graph is None:
        retain_graph = create_graph
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError(f"grad: an input of shape {t.shape} does not require grad")
    result = run_backward(outputs, _root_grads(outputs, grad_outputs), retain_graph, create_graph, inputs)
    for t, g in zip(inputs, result):
        if g is None and not allow_unused:
            raise RuntimeError(
                f"grad: an input of shape {t.shape} was not used to compute the outputs; "
                "pass allow_unused=True to get None for it"
            )
    return tuple(result)

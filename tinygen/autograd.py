"""Reverse-mode automatic differentiation: Function and the walk back through the graph.

Every differentiable operation is a :class:`Function` with two methods side by side:

* ``forward(*arrays)`` computes the result on raw arrays (NumPy or CuPy);
* ``backward(grad)`` receives the gradient of the loss with respect to that result as a
  :class:`~tinygen.tensor.Tensor` and returns one gradient per input, written with the
  same differentiable Tensor operations as everything else.

Because backward is built from Tensor ops, running it with grad mode switched on records a
graph of the gradient itself: that is all ``create_graph=True`` means, and it is how second
derivatives (a WGAN-GP gradient penalty) come for free. A plain ``backward()`` runs the same
code under ``no_grad``, so it records nothing.

The graph is nothing but the ``creator`` links from each result to the Function that made it
and that Function's ``inputs``. ``loss.backward()`` orders those Functions (each after every
Function that uses its output), then runs their backwards from the loss down to the leaves.
"""

import weakref

from . import anomaly, backend, grad_mode
from .tensor import Tensor

# ---------------------------------------------------------------- Function
class Function:
    """Base class of every differentiable op.

    Subclasses write ``forward(self, *arrays)`` and ``backward(self, grad)``; keyword
    parameters given to :meth:`apply` (an axis, a shape, a slope) become attributes.
    During backward, ``self.inputs`` holds the input Tensors and ``self.output`` the result.
    A subclass whose backward never reads its inputs' values sets ``uses_inputs = False``;
    one that reads its own output sets ``uses_output = True``. The engine uses these to
    refuse a backward after one of those tensors was modified in place. An op whose result
    can be a view of its first input's memory (reshape, permute, slicing) sets ``view = True``:
    the result then shares that input's version counter.
    """

    uses_inputs = True
    uses_output = False
    view = False

    def __init__(self, **params):
        self.__dict__.update(params)

    @classmethod
    def apply(cls, *inputs, **params):
        """Run forward on the inputs' arrays and, if any input needs a gradient, record it."""
        fn = cls(**params)
        if len(inputs) > 1 and backend.gpu_in_use():  # all tensors are on the CPU otherwise
            _check_same_device(cls.__name__, inputs)
        out = fn.forward(*[t.array for t in inputs])
        needs_input_grad = tuple([t.requires_grad for t in inputs])
        requires_grad = grad_mode.is_grad_enabled() and True in needs_input_grad
        result = Tensor.wrap(out, requires_grad)
        if fn.view and backend.array_module(out).may_share_memory(out, inputs[0].array):
            result.version_counter = inputs[0].version_counter  # an alias: in-place changes to either show in both
        if anomaly.is_enabled():
            anomaly.check_forward(fn, result.array)
        if requires_grad:
            fn.inputs = inputs
            fn.needs_input_grad = needs_input_grad
            fn.input_versions = tuple([t.version for t in inputs])
            fn._output = weakref.ref(result)  # weak: the output already holds this Function
            fn.output_version = result.version
            result.creator = fn
        return result

    @property
    def output(self):
        """The result this op made (held weakly: the result holds the op)."""
        return self._output()

    def forward(self, *arrays):
        """The op's value, computed on raw arrays (one per input tensor); returns one array."""
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, grad):
        """Given dL/d(output) as a Tensor, return dL/d(input) for each input, as Tensors (None: no gradient).

        Written with Tensor ops, so that under ``create_graph=True`` it records a graph too.
        """
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
    """Functions reachable from the roots, each before the functions that made its inputs.

    A depth-first search that appends a Function only after everything behind it: then the
    reversed list runs each backward only once the gradient of its output is complete, even
    when that output feeds several later ops (h * h.sum()).
    """
    order, expanded = [], set()
    for root in roots:
        if root.creator is None:
            continue
        stack = [(root.creator, False)]
        while stack:  # iterative: deep graphs must not hit Python's recursion limit
            fn, children_done = stack.pop()
            if children_done:
                order.append(fn)
                continue
            if id(fn) in expanded:  # reached again by another path: already placed
                continue
            expanded.add(id(fn))
            if fn.inputs is None:
                raise RuntimeError(
                    f"trying to backward through the graph a second time: the tensors saved by "
                    f"{type(fn).__name__} were freed after the first backward; pass "
                    "retain_graph=True to the first backward() if you need to go through it again"
                )
            stack.append((fn, True))
            for t in fn.inputs:
                if t.creator is not None and t.requires_grad and id(t.creator) not in expanded:
                    stack.append((t.creator, False))
    order.reverse()
    return order


def _check_versions(fn):
    """Refuse a backward whose saved tensors (or whose result) changed in place since the op ran."""
    if fn.uses_inputs:
        for i, (t, v) in enumerate(zip(fn.inputs, fn.input_versions)):
            if t.version != v:
                raise RuntimeError(
                    f"{type(fn).__name__} needs input {i} of shape {t.shape} for its backward, but that "
                    "tensor was modified in place after the op used it; work on a copy (x.clone()) instead"
                )
    out = fn.output
    # checked for every op: in-place updates are not recorded, so the gradient formula of an op
    # whose result was changed afterwards no longer describes that tensor
    if out is not None and out.version != fn.output_version:
        raise RuntimeError(
            f"{type(fn).__name__}: its output of shape {out.shape} was modified in place after the op "
            "computed it, and in-place updates are not recorded in the graph; write y = y * 2 instead "
            "of y.mul_(2) on tensors that need gradients"
        )


def _accumulate(grads, key, g):
    grads[key] = g if key not in grads else grads[key] + g


def _owned(g, handed_out):
    """``g`` with memory of its own, safe to keep in a leaf's ``.grad``.

    Backward may hand the same array to two leaves (``a + b``) or a read-only broadcast view
    (``x.sum()``); optimisers and clip_grad_norm_ update ``.grad`` in place, so copy those.
    """
    data = g.array
    if id(data) in handed_out or data.base is not None:  # a view (broadcast, reshape) shares memory
        g = g.clone() if g.requires_grad else Tensor.wrap(data.copy())
    handed_out.add(id(g.array))
    return g


def run_backward(roots, root_grads, retain_graph=False, create_graph=False, inputs=None):
    """Propagate gradients from ``roots`` back through the graph.

    With ``inputs=None`` the gradients of leaf tensors are added into their ``.grad``
    (``loss.backward()``); otherwise the gradients of exactly those tensors are returned and
    no ``.grad`` is touched (``tg.grad``).
    """
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

    # An op's output is referenced weakly (it holds the op) and strongly only by the ops that
    # consumed it; releasing those would free it before a backward that reads it (Exp) runs.
    outputs_needed = {id(fn): fn.output for fn in order if fn.uses_output}

    with grad_mode.set_grad_enabled(create_graph):
        for fn in order:
            g = grads.pop(id(fn), None)
            if inputs is not None and g is not None:
                if id(fn) in made_by:
                    grads[("wanted", id(made_by[id(fn)]))] = g
                if id(fn) not in useful:  # no wanted tensor lies behind this op
                    g = None
            if g is not None:
                _backward_one(fn, g, grads)
            outputs_needed.pop(id(fn), None)
            if not retain_graph:
                fn.release()  # free saved arrays as soon as they have served

        if inputs is None:
            handed_out = {id(g.array) for g in root_grads}  # the caller's gradient= stays theirs
            for leaf in leaves:
                g = grads.get(id(leaf))
                if g is not None:
                    leaf.grad = _owned(g, handed_out) if leaf.grad is None else leaf.grad + g
            return None
    return [grads.get(("wanted", id(t)) if t.creator is not None else id(t)) for t in inputs]


def _backward_one(fn, g, grads):
    """Run one op's backward and add each input's gradient into ``grads``."""
    _check_versions(fn)
    input_grads = anomaly.checked_backward(fn, g) if anomaly.is_enabled() else fn.backward(g)
    if not isinstance(input_grads, tuple):
        input_grads = (input_grads,)
    for t, gi in zip(fn.inputs, input_grads):
        if gi is None or not t.requires_grad:
            continue
        if gi.shape != t.shape:  # undo broadcasting, here and only here
            gi = gi.sum_to(t.shape)  # an op of tinygen/ops/reduce.py
        if gi.dtype != t.dtype:  # a float32 input met a float64 one: its gradient is float32 all the same
            gi = gi.to(t.dtype)
        if anomaly.is_enabled():
            anomaly.check_finite(gi.array, "backward (gradient of an input)", fn)
        _accumulate(grads, id(t.creator) if t.creator else id(t), gi)


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
    result = []
    for out, g in zip(outputs, grad_outputs):
        if not out.requires_grad:
            raise RuntimeError(
                f"backward: the tensor of shape {out.shape} does not require grad and has no "
                "graph; did you create it under no_grad, detach it, or forget requires_grad=True?"
            )
        if g is None:
            if out.array.size != 1:
                raise RuntimeError(
                    f"backward: the output has shape {out.shape}; a gradient can be implied only "
                    "for a single-element output, so pass gradient= (a tensor of that shape)"
                )
            g = Tensor.wrap(backend.array_module(out.array).ones_like(out.array))
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


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned as a tuple (like torch.autograd.grad).

    With ``create_graph=True`` the returned gradients are themselves differentiable.
    ``only_inputs`` is accepted and ignored, as in PyTorch (which deprecated it).
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
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



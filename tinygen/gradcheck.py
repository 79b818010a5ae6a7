"""Check analytic gradients against finite differences, with a report a student can read.

For a function f and a random upstream gradient v (fixed seed), the scalar s(x) = sum(f(x) * v)
has the gradient d s / d x_i, which backward computes. The central difference

    (s(x + eps e_i) - s(x - eps e_i)) / (2 eps)

estimates the same number with an error of order eps^2, which in float64 (and only there) is
far below the tolerance. Every element of every input that requires grad is checked.
"""

from . import autograd, backend
from .tensor import Tensor


class GradcheckError(AssertionError):
    """A gradient disagrees with its finite-difference estimate; the message says where."""


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _projection(outputs, weights):
    """s = sum_k sum(output_k * v_k): one scalar whose gradient contains every output's."""
    total = None
    for out, w in zip(outputs, weights):
        if out is None or not backend.is_floating(out.dtype):
            continue
        term = (out * w).sum()
        total = term if total is None else total + term
    return total


def _random_like(outputs, seed):
    rng = backend.host_rng(seed)
    weights = []
    for out in outputs:
        if out is None or not backend.is_floating(out.dtype):
            weights.append(None)
            continue
        data = rng.standard_normal(out.shape)
        weights.append(Tensor(data, dtype=out.dtype, device=out.device))
    return weights


def _name(fn):
    """How a report names ``fn``: ``Square.apply`` is "Square", a function its own name."""
    owner = getattr(fn, "__self__", None)
    return owner.__name__ if isinstance(owner, type) else getattr(fn, "__name__", "fn")


def _index_str(index):
    return "(" + ", ".join(str(int(i)) for i in index) + ")" if len(index) != 1 else f"({int(index[0])},)"


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0, raise_exception=True, what=None):
    """True if every gradient of ``fn`` at ``inputs`` matches finite differences.

    ``inputs``: a Tensor or a tuple of them; those with ``requires_grad=True`` are checked and
    must be float64. On a mismatch, raises :class:`GradcheckError` naming the input, the worst
    element's index, the analytic and numeric values and the tolerance (or returns False when
    ``raise_exception=False``).
    """
    inputs = _as_tuple(inputs)
    what = what or _name(fn)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True, so there is nothing to check")
    for i in checked:
        if inputs[i].dtype != backend.float64:
            raise ValueError(
                f"gradcheck: input {i} of {what} is {inputs[i].dtype}; finite differences need float64 "
                "inputs (in float32 their rounding error is larger than the tolerance)"
            )

    outputs = _as_tuple(fn(*inputs))
    weights = _random_like(outputs, seed)
    s = _projection(outputs, weights)
    wrt = [inputs[i] for i in checked]
    if s is None or not s.requires_grad:
        analytic = [None] * len(wrt)
    else:
        analytic = list(autograd.grad(s, wrt, allow_unused=True))

    for position, (i, x, g) in enumerate(zip(checked, wrt, analytic)):
        xp = backend.array_module(x.array)
        if g is None:
            g_data = xp.zeros(x.shape, dtype=x.dtype)
        else:
            if g.shape != x.shape:
                return _fail(raise_exception,
                    f"gradcheck: the analytic gradient for input {i} of {what} has shape {g.shape}, "
                    f"but the input has shape {x.shape}")
            g_data = g.array
        numeric = _numeric_gradient(fn, inputs, x, weights, eps)
        diff = xp.abs(g_data - numeric)
        tolerance = atol + rtol * xp.abs(numeric)
        bad = diff > tolerance
        if bool(bad.any()):
            worst = tuple(int(k) for k in xp.unravel_index(xp.argmax(diff - tolerance), x.shape)) if x.ndim else ()
            return _fail(raise_exception,
                f"gradcheck failed for {what}: gradient with respect to input {i} (shape {x.shape}) "
                f"is wrong at index {_index_str(worst) if worst else '()'}: "
                f"analytic {float(g_data[worst]):.6g}, numeric {float(numeric[worst]):.6g}, "
                f"difference {float(diff[worst]):.3g} > tolerance {float(tolerance[worst]):.3g} "
                f"(atol {atol:g} + rtol {rtol:g} * |numeric|); "
                f"{int(bad.sum())} of {bad.size} elements differ"
                + ("" if g is not None else "; backward returned no gradient for this input at all"))
    return True


def _numeric_gradient(fn, inputs, x, weights, eps):
    """Central differences of s = sum(f * v), one element of x at a time, on a private copy of x's values.

    The copy is writable even when x's array is a read-only or broadcast view (``expand``), and
    x gets its own array back afterwards. (Asking ``flags.writeable`` would not do: CuPy's flags
    have no such field.)
    """
    xp = backend.array_module(x.array)
    own = x.array
    x.array = own.copy()
    numeric = xp.zeros(x.shape, dtype=x.dtype)
    try:
        for index in _ndindex(x.shape):
            original = x.array[index].item()
            x.array[index] = original + eps
            plus = _projection(_as_tuple(fn(*inputs)), weights)
            x.array[index] = original - eps
            minus = _projection(_as_tuple(fn(*inputs)), weights)
            x.array[index] = original
            numeric[index] = (plus.item() - minus.item()) / (2 * eps)
    finally:
        x.array = own
    return numeric


def _ndindex(shape):
    """Every index of an array of ``shape`` (itertools.product, so no NumPy needed here)."""
    import itertools

    return itertools.product(*(range(n) for n in shape))


def _fail(raise_exception, message):
    if raise_exception:
        raise GradcheckError(message)
    return False


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0, raise_exception=True):
    """Check second derivatives: gradcheck the function that computes ``fn``'s gradient.

    That function maps (inputs, v) to d sum(fn(inputs) * v) / d inputs, built with
    ``create_graph=True``; its own backward is then the second derivative of ``fn``.
    """
    inputs = _as_tuple(inputs)
    name = _name(fn)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    outputs = _as_tuple(fn(*inputs))
    if grad_outputs is None:
        grad_outputs = _random_like(outputs, seed + 1)
    grad_outputs = [None if v is None else v.detach().requires_grad_() for v in _as_tuple(grad_outputs)]
    n = len(inputs)

    def first_derivative(*args):
        xs, vs = args[:n], args[n:]
        s = _projection(_as_tuple(fn(*xs)), vs)
        wrt = [xs[i] for i in checked]
        grads = autograd.grad(s, wrt, create_graph=True, allow_unused=True) if s.requires_grad else [None] * len(wrt)
        return tuple(g if g is not None else x * 0.0 for g, x in zip(grads, wrt))

    first_derivative.__name__ = f"the gradient of {name} (second-order check)"
    return gradcheck(first_derivative, tuple(inputs) + tuple(grad_outputs),
                     eps=eps, atol=atol, rtol=rtol, seed=seed, raise_exception=raise_exception)

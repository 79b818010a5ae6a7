"""Hypothesis strategies for op tests: shapes, axes, well-conditioned inputs, memory layouts.

Finite differences are only trustworthy where the function is smooth around the point, so
every input is drawn from a *domain* that keeps it away from kinks (relu at 0), poles (1/x
at 0), ties (max) and overflow (exp). Following MiniTorch, inputs also come as
non-contiguous views (transposed or strided) of a bigger array, because ops that silently
assume C order break only there.
"""

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygen as tg
from tinygen import backend

MARGIN = 0.1  # distance kept from every kink; finite differences step 1e-6, far inside it


# ---------------------------------------------------------------- shapes and axes
def shapes(min_dims=0, max_dims=3, min_side=1, max_side=4, max_size=24):
    """Shapes of 0-3 dims with sides 1-4, capped in size so gradchecks stay cheap."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side).filter(
        lambda s: int(np.prod(s)) <= max_size
    )


def broadcast_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3):
    """A tuple of input shapes that broadcast together (some 1s, some missing leading dims)."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, max_side=max_side
    ).map(lambda b: b.input_shapes)


def matmul_shapes(max_batch_dims=2, max_side=3):
    """Operand shapes for matmul: 1-D operands, (B,m,k)@(k,n), broadcast batches (B,1,..)@(C,..)."""
    return hnp.mutually_broadcastable_shapes(
        signature="(m?,k),(k,n?)->(m?,n?)", max_dims=max_batch_dims, max_side=max_side
    ).map(lambda b: b.input_shapes)


def axes(ndim):
    """An ``axis=`` argument: None, one axis (maybe negative), or a tuple of distinct axes."""
    if ndim == 0:
        return st.sampled_from([None, ()])
    one = st.integers(-ndim, ndim - 1)
    several = st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple)
    return st.one_of(st.none(), one, several)


def dims(ndim):
    """A single ``dim=`` argument, maybe negative (needs ndim >= 1)."""
    return st.integers(-ndim, ndim - 1)


keepdims = st.booleans()


# ---------------------------------------------------------------- input domains
def _floats(low, high):
    return st.floats(low, high, allow_nan=False, allow_infinity=False, width=64)


def floats_avoiding(low, high, kinks, margin=MARGIN):
    """Floats in [low, high] at least ``margin`` away from every point in ``kinks``."""
    edges = [low] + [k for k in sorted(kinks)] + [high]
    pieces = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        lo = lo if lo == low else lo + margin
        hi = hi if hi == high else hi - margin
        if lo < hi:
            pieces.append(_floats(lo, hi))
    return st.one_of(*pieces)


# Each domain is the strategy of ONE element; `arrays` fills a shape with it.
DOMAINS = {
    "real": _floats(-2.0, 2.0),
    "bounded": _floats(-3.0, 3.0),  # exp stays below e^3
    "positive": _floats(0.5, 2.0),  # log, sqrt, pow bases: far from the pole at 0
    "nonzero": floats_avoiding(-2.0, 2.0, [0.0], margin=0.5),  # denominators
    "away_from_zero": floats_avoiding(-2.0, 2.0, [0.0]),  # relu, abs, leaky_relu kinks
    "away_from_half": floats_avoiding(-2.0, 2.0, [-0.5, 0.5]),  # clamp(-0.5, 0.5) edges
    "inner": _floats(-1.0, 1.0),  # maximum(inner, outer) never ties:
    "outer": st.one_of(_floats(-2.0, -1.1), _floats(1.1, 2.0)),
    "unit": _floats(0.05, 0.95),  # probabilities, targets
}


def distinct_arrays(shape, gap=0.3):
    """Values at least ``gap`` apart, in random order: max/min have a unique winner."""
    size = int(np.prod(shape))
    return st.tuples(st.permutations(range(size)), _floats(-0.1, 0.1)).map(
        lambda p: ((np.array(p[0], dtype=np.float64) - size / 2) * gap + p[1]).reshape(shape)
    )


def arrays(shape, domain="real"):
    """A float64 NumPy array of ``shape`` with elements from a named domain."""
    if domain == "distinct":
        return distinct_arrays(shape)
    return hnp.arrays(np.float64, shape, elements=DOMAINS[domain])


# ---------------------------------------------------------------- memory layouts
LAYOUTS = ("contiguous", "transposed", "strided")
layouts = st.sampled_from(LAYOUTS)


def as_layout(values, layout, device="cpu"):
    """An array on ``device`` equal to ``values``, laid out as asked.

    transposed: the .T view of a C-ordered array of the reversed shape (F order);
    strided: every other element of an array twice as large along each axis.
    A 0-d or one-element array is contiguous whatever we do.
    """
    values = np.asarray(values)
    if layout == "transposed" and values.ndim >= 2:
        base = backend.as_array(np.array(values.T, order="C"), device=device)
        return base.T
    if layout in ("transposed", "strided") and values.ndim >= 1:
        big = np.zeros(tuple(2 * n for n in values.shape), dtype=values.dtype)
        every_other = tuple(slice(None, None, 2) for _ in values.shape)
        big[every_other] = values
        return backend.as_array(big, device=device)[every_other]
    return backend.as_array(np.array(values, order="C"), device=device)  # (ascontiguousarray makes 0-d 1-d)


def make_tensor(values, layout="contiguous", dtype=tg.float64, device="cpu", requires_grad=True):
    """A Tensor holding ``values`` in the given layout (Tensor.wrap keeps the view it is given)."""
    data = as_layout(np.asarray(values, dtype=dtype), layout, device)
    return tg.Tensor.wrap(data, requires_grad=requires_grad)


def is_contiguous(array):
    return bool(array.flags.c_contiguous)

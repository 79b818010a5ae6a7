"""Every op of the autograd core, declared once (Chainer's lesson).

An entry says how to call the op (``fn``), what it should compute (``ref``, plain NumPy in
float64), where its inputs live (one domain per tensor input, see tests/strategies.py: that
is also its arity), which shapes and parameters to try (``case``), and whether it must pass
a second-order check. test_ops_forward.py and test_ops_gradcheck.py generate their tests from
this table, so adding an op is adding one entry here.
"""

import math
import operator
from dataclasses import dataclass
from typing import Callable

import numpy as np
from hypothesis import strategies as st

import tinygen as tg
import tinygen.nn.functional as F
from tinygen.ops import shape as shape_ops

from strategies import arrays, axes, broadcast_shapes, dims, keepdims, layouts, matmul_shapes, shapes


@dataclass(frozen=True)
class OpSpec:
    name: str
    fn: Callable  # fn(*tensors, **params) -> Tensor or tuple of Tensors
    ref: Callable  # ref(*arrays, **params) -> array or tuple: the NumPy answer
    domains: tuple  # one domain name per tensor input
    case: st.SearchStrategy  # strategy of (tuple of input shapes, params dict)
    second_order: bool = True

    @property
    def arity(self):
        return len(self.domains)


def case(shape_tuples, params=None):
    """Join a strategy of input-shape tuples with parameters drawn for those shapes."""
    params = params or (lambda shapes: st.just({}))
    return shape_tuples.flatmap(lambda ss: params(ss).map(lambda p: (ss, p)))


def unary(params=None, **shape_kwargs):
    return case(shapes(**shape_kwargs).map(lambda s: (s,)), params)


def binary_broadcast(params=None):
    return case(broadcast_shapes(2), params)


def same_shapes(n, params=None, **shape_kwargs):
    return case(shapes(**shape_kwargs).map(lambda s: (s,) * n), params)


def draw_inputs(data, op):
    """Draw one test case: (float64 arrays, their layouts, params)."""
    input_shapes, params = data.draw(op.case, label="shapes, params")
    values = [data.draw(arrays(s, d), label=f"input {i}") for i, (s, d) in enumerate(zip(input_shapes, op.domains))]
    chosen = [data.draw(layouts, label=f"layout {i}") for i in range(op.arity)]
    return values, chosen, params


# ---------------------------------------------------------------- NumPy references
def np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def np_logsumexp(x, dim=None, keepdim=False):
    m = np.max(x, axis=dim, keepdims=True)
    out = m + np.log(np.sum(np.exp(x - m), axis=dim, keepdims=True))
    return out if keepdim else np.squeeze(out, axis=dim if dim is not None else tuple(range(x.ndim)))


def np_log_softmax(x, dim):
    return x - np_logsumexp(x, dim, keepdim=True)


def np_gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def np_softplus(x, beta=1.0):
    return np.log1p(np.exp(beta * x)) / beta


def np_bce_with_logits(x, y, reduction):
    loss = -(y * np.log(np_sigmoid(x)) + (1.0 - y) * np.log(1.0 - np_sigmoid(x)))
    return {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[reduction](loss)


def np_squeeze(x, dim):
    if dim is None:
        return np.squeeze(x)
    return np.squeeze(x, dim) if x.shape[dim] == 1 else x


def np_flatten(x, start_dim, end_dim):
    start, end = start_dim % x.ndim, end_dim % x.ndim
    return x.reshape(x.shape[:start] + (-1,) + x.shape[end + 1 :])


def torch_pad_widths(ndim, pad):
    """F.pad's (left, right) pairs from the last dim backwards, as NumPy's per-axis widths."""
    widths = [(0, 0)] * ndim
    for k in range(len(pad) // 2):
        widths[ndim - 1 - k] = (pad[2 * k], pad[2 * k + 1])
    return widths


# ---------------------------------------------------------------- parameter strategies
def reduce_params(shapes_):
    return st.fixed_dictionaries({"dim": axes(len(shapes_[0])), "keepdim": keepdims})


def dim_params(shapes_):
    return st.fixed_dictionaries({"dim": dims(len(shapes_[0])), "keepdim": keepdims})


def var_params(shapes_):
    (s,) = shapes_

    def with_correction(p):
        count = math.prod(s[a] for a in tg.ops.reduce.normalize_axes(p["dim"], len(s)))
        return st.sampled_from([c for c in (0, 1) if count > c]).map(lambda c: {**p, "correction": c})

    return reduce_params(shapes_).flatmap(with_correction)


def reshape_params(shapes_):
    (s,) = shapes_
    n = math.prod(s)
    targets = [tuple(reversed(s)), (n,), (-1,), (1, n), (n, 1, 1), s + (1,)]
    if n % 2 == 0:
        targets += [(2, -1), (n // 2, 2)]
    return st.sampled_from(targets).map(lambda t: {"shape": t})


def two_dims_params(shapes_):
    ndim = len(shapes_[0])
    return st.fixed_dictionaries({"dim0": dims(ndim), "dim1": dims(ndim)})


def permute_params(shapes_):
    return st.permutations(range(len(shapes_[0]))).map(lambda p: {"dims": tuple(p)})


def broadcast_target(s):
    """A shape that ``s`` broadcasts to: 1s grown, up to two new leading dims."""
    grown = st.tuples(*[st.integers(1, 3) if n == 1 else st.just(n) for n in s])
    lead = st.lists(st.integers(1, 3), max_size=2).map(tuple)
    return st.tuples(lead, grown).map(lambda t: t[0] + t[1]).filter(lambda t: math.prod(t) <= 36)


def expand_params(shapes_):
    (s,) = shapes_

    def with_minus_ones(target, keep):  # PyTorch's -1: keep this dimension's size
        lead = len(target) - len(s)
        return tuple(-1 if keep and i >= lead and s[i - lead] == n else n for i, n in enumerate(target))

    return st.tuples(broadcast_target(s), st.booleans()).map(lambda t: {"shape": with_minus_ones(*t)})


def squeeze_params(shapes_):
    ndim = len(shapes_[0])
    return st.one_of(st.none(), dims(ndim)).map(lambda d: {"dim": d})


def flatten_params(shapes_):
    ndim = len(shapes_[0])
    return st.tuples(dims(ndim), dims(ndim)).filter(lambda t: t[0] % ndim <= t[1] % ndim).map(
        lambda t: {"start_dim": t[0], "end_dim": t[1]}
    )


@st.composite
def basic_index(draw, s):
    """Ints, slices (steps 1, 2, -1), None and Ellipsis: every basic index form, never empty."""
    parts = []
    for n in s:
        kind = draw(st.sampled_from(["int", "slice", "reverse", "all"]))
        start = draw(st.integers(0, n - 1))
        if kind == "int":
            parts.append(draw(st.sampled_from([start, start - n])))  # also negative ints
        elif kind == "slice":
            parts.append(slice(start, draw(st.integers(start + 1, n)), draw(st.sampled_from([1, 2]))))
        elif kind == "reverse":
            parts.append(slice(start, None, -1))
        else:
            parts.append(slice(None))
    if parts and draw(st.booleans()):
        parts = [Ellipsis] + parts[1:]
    if draw(st.booleans()):
        parts.insert(draw(st.integers(0, len(parts))), None)
    return tuple(parts)


@st.composite
def integer_index(draw, s):
    """Integer arrays that repeat elements (their gradients must add), on one or two axes."""
    axis = draw(st.integers(0, len(s) - 1))
    size = draw(st.integers(1, 5))
    rows = np.array(draw(st.lists(st.integers(-s[axis], s[axis] - 1), min_size=size, max_size=size)))
    if len(s) >= 2 and axis + 1 < len(s) and draw(st.booleans()):
        cols = np.array(draw(st.lists(st.integers(0, s[axis + 1] - 1), min_size=size, max_size=size)))
        return (slice(None),) * axis + (rows, cols)
    return (slice(None),) * axis + (rows,)


@st.composite
def mask_index(draw, s):
    """A boolean mask over the leading ``k`` dims, selecting at least one element."""
    k = draw(st.integers(1, len(s)))
    return draw(st.lists(st.booleans(), min_size=math.prod(s[:k]), max_size=math.prod(s[:k])).filter(any).map(
        lambda bits: np.array(bits).reshape(s[:k])
    ))


def index_params(kind):
    return lambda shapes_: kind(shapes_[0]).map(lambda i: {"index": i})


@st.composite
def cat_case(draw, n=3):
    base = draw(shapes(min_dims=1, max_side=3, max_size=12))
    dim = draw(dims(len(base)))
    sizes = draw(st.lists(st.integers(1, 3), min_size=n, max_size=n))
    axis = dim % len(base)
    return tuple(base[:axis] + (k,) + base[axis + 1 :] for k in sizes), {"dim": dim}


def stack_params(shapes_):
    ndim = len(shapes_[0])
    return st.integers(-ndim - 1, ndim).map(lambda d: {"dim": d})


def pad_params(shapes_):
    widths = st.tuples(*[st.tuples(st.integers(0, 2), st.integers(0, 2)) for _ in shapes_[0]])
    return st.fixed_dictionaries({"widths": widths, "value": st.sampled_from([0.0, 1.5])})


def torch_pad_params(shapes_):
    ndim = len(shapes_[0])
    flat = st.integers(1, ndim).flatmap(lambda k: st.lists(st.integers(0, 2), min_size=2 * k, max_size=2 * k))
    return flat.map(lambda p: {"pad": tuple(p)})


def where_params(shapes_):
    out_shape = np.broadcast_shapes(*shapes_)
    return st.lists(st.booleans(), min_size=math.prod(out_shape), max_size=math.prod(out_shape)).map(
        lambda bits: {"condition": np.array(bits, dtype=bool).reshape(out_shape)}
    )


def choice(name, values):
    return lambda shapes_: st.sampled_from(values).map(lambda v: {name: v})


CLAMP_BOUNDS = [(-0.5, 0.5), (-0.5, None), (None, 0.5)]


def clamp_params(shapes_):
    return st.sampled_from(CLAMP_BOUNDS).map(lambda b: {"low": b[0], "high": b[1]})


# ---------------------------------------------------------------- the table
R, POS = "real", "positive"

OPS = [
    # elementwise, through the operators a learner writes
    OpSpec("add", operator.add, np.add, (R, R), binary_broadcast()),
    OpSpec("sub", operator.sub, np.subtract, (R, R), binary_broadcast()),
    OpSpec("mul", operator.mul, np.multiply, (R, R), binary_broadcast()),
    OpSpec("div", operator.truediv, np.divide, (R, "nonzero"), binary_broadcast()),
    OpSpec("pow_tensor", operator.pow, np.power, (POS, R), binary_broadcast()),
    OpSpec("pow_scalar", lambda x, c: x**c, lambda x, c: x**c, (POS,), unary(choice("c", [2, 3, 0.5, -1.5, 1.0, 0]))),
    OpSpec("rsub_scalar", lambda x: 1.5 - x, lambda x: 1.5 - x, (R,), unary()),
    OpSpec("rdiv_scalar", lambda x: 1.5 / x, lambda x: 1.5 / x, ("nonzero",), unary()),
    OpSpec("rpow_scalar", lambda x: 2.0**x, lambda x: 2.0**x, (R,), unary()),
    OpSpec("neg", operator.neg, np.negative, (R,), unary()),
    OpSpec("tg.neg", tg.neg, np.negative, (R,), unary()),
    OpSpec("exp", tg.exp, np.exp, ("bounded",), unary()),
    OpSpec("log", tg.log, np.log, (POS,), unary()),
    OpSpec("sqrt", tg.sqrt, np.sqrt, (POS,), unary()),
    OpSpec("abs", abs, np.abs, ("away_from_zero",), unary()),
    OpSpec("maximum", tg.maximum, np.maximum, ("inner", "outer"), binary_broadcast()),
    OpSpec("minimum", tg.minimum, np.minimum, ("outer", "inner"), binary_broadcast()),
    OpSpec("where", lambda a, b, condition: tg.where(condition, a, b), lambda a, b, condition: np.where(condition, a, b),
           (R, R), binary_broadcast(where_params)),
    OpSpec("clamp", lambda x, low, high: x.clamp(low, high), lambda x, low, high: np.clip(x, low, high),
           ("away_from_half",), unary(clamp_params)),
    OpSpec("clip", lambda x, low, high: tg.clip(x, low, high), lambda x, low, high: np.clip(x, low, high),
           ("away_from_half",), unary(clamp_params)),
    # reductions
    OpSpec("sum", lambda x, dim, keepdim: x.sum(dim, keepdim), lambda x, dim, keepdim: np.sum(x, dim, keepdims=keepdim),
           (R,), unary(reduce_params)),
    OpSpec("mean", lambda x, dim, keepdim: x.mean(dim, keepdim),
           lambda x, dim, keepdim: np.mean(x, dim, keepdims=keepdim), (R,), unary(reduce_params)),
    OpSpec("var", lambda x, dim, keepdim, correction: x.var(dim, keepdim, correction),
           lambda x, dim, keepdim, correction: np.var(x, dim, keepdims=keepdim, ddof=correction), (R,), unary(var_params)),
    OpSpec("std", lambda x: x.std(), lambda x: np.std(x, ddof=1), ("distinct",), unary(min_dims=1, min_side=2)),
    OpSpec("max_all", lambda x: x.max(), np.max, ("distinct",), unary()),
    OpSpec("min_all", lambda x: tg.min(x), np.min, ("distinct",), unary()),
    OpSpec("max_dim", lambda x, dim, keepdim: x.max(dim, keepdim),
           lambda x, dim, keepdim: (np.max(x, dim, keepdims=keepdim), np.argmax(x, dim, keepdims=keepdim)),
           ("distinct",), unary(dim_params, min_dims=1)),
    OpSpec("min_dim", lambda x, dim, keepdim: x.min(dim=dim, keepdim=keepdim),
           lambda x, dim, keepdim: (np.min(x, dim, keepdims=keepdim), np.argmin(x, dim, keepdims=keepdim)),
           ("distinct",), unary(dim_params, min_dims=1)),
    OpSpec("amax", lambda x, dim, keepdim: x.amax(dim, keepdim), lambda x, dim, keepdim: np.max(x, dim, keepdims=keepdim),
           ("distinct",), unary(reduce_params)),
    OpSpec("amin", lambda x, dim, keepdim: tg.amin(x, dim, keepdim),
           lambda x, dim, keepdim: np.min(x, dim, keepdims=keepdim), ("distinct",), unary(reduce_params)),
    OpSpec("logsumexp", lambda x, dim, keepdim: tg.logsumexp(x, dim, keepdim), np_logsumexp, (R,), unary(reduce_params)),
    # shape
    OpSpec("reshape", lambda x, shape: x.reshape(shape), lambda x, shape: x.reshape(shape), (R,), unary(reshape_params)),
    OpSpec("view", lambda x, shape: x.view(*shape), lambda x, shape: x.reshape(shape), (R,), unary(reshape_params)),
    OpSpec("transpose", lambda x, dim0, dim1: x.transpose(dim0, dim1), lambda x, dim0, dim1: np.swapaxes(x, dim0, dim1),
           (R,), unary(two_dims_params, min_dims=1)),
    OpSpec("permute", lambda x, dims: x.permute(*dims), lambda x, dims: np.transpose(x, dims), (R,), unary(permute_params)),
    OpSpec(".T", lambda x: x.T, lambda x: x.T, (R,), unary()),
    OpSpec("broadcast_to", lambda x, shape: tg.broadcast_to(x, shape), lambda x, shape: np.broadcast_to(x, shape),
           (R,), unary(lambda ss: broadcast_target(ss[0]).map(lambda t: {"shape": t}), max_side=3, max_size=12)),
    OpSpec("expand", lambda x, shape: x.expand(*shape),
           lambda x, shape: np.broadcast_to(x, tuple(n if n != -1 else x.shape[i - (len(shape) - x.ndim)]
                                                     for i, n in enumerate(shape))),
           (R,), unary(expand_params, max_side=3, max_size=12)),
    OpSpec("unsqueeze", lambda x, dim: x.unsqueeze(dim), lambda x, dim: np.expand_dims(x, dim),
           (R,), unary(lambda ss: st.integers(-len(ss[0]) - 1, len(ss[0])).map(lambda d: {"dim": d}))),
    OpSpec("squeeze", lambda x, dim: x.squeeze(dim), np_squeeze, (R,), unary(squeeze_params, min_dims=1, max_side=2)),
    OpSpec("flatten", lambda x, start_dim, end_dim: x.flatten(start_dim, end_dim), np_flatten,
           (R,), unary(flatten_params, min_dims=1)),
    OpSpec("index_basic", lambda x, index: x[index], lambda x, index: x[index], (R,),
           unary(index_params(basic_index), min_dims=1)),
    OpSpec("index_integer", lambda x, index: x[index], lambda x, index: x[index], (R,),
           unary(index_params(integer_index), min_dims=1)),
    OpSpec("index_mask", lambda x, index: x[tg.tensor(index)], lambda x, index: x[index], (R,),
           unary(index_params(mask_index), min_dims=1)),
    OpSpec("cat", lambda *xs, dim: tg.cat(xs, dim), lambda *xs, dim: np.concatenate(xs, dim), (R, R, R), cat_case()),
    OpSpec("stack", lambda *xs, dim: tg.stack(xs, dim), lambda *xs, dim: np.stack(xs, dim), (R, R, R),
           same_shapes(3, stack_params, max_size=8)),
    OpSpec("pad", lambda x, widths, value: shape_ops.pad(x, widths, value),
           lambda x, widths, value: np.pad(x, widths, constant_values=value), (R,),
           unary(pad_params, min_dims=1, max_side=3, max_size=8)),
    OpSpec("F.pad", lambda x, pad: F.pad(x, pad), lambda x, pad: np.pad(x, torch_pad_widths(x.ndim, pad)), (R,),
           unary(torch_pad_params, min_dims=1, max_side=3, max_size=8)),
    # linear algebra
    OpSpec("matmul", operator.matmul, np.matmul, (R, R), case(matmul_shapes())),
    # activations
    OpSpec("relu", tg.relu, lambda x: np.maximum(x, 0.0), ("away_from_zero",), unary()),
    OpSpec("leaky_relu", lambda x, slope: F.leaky_relu(x, slope), lambda x, slope: np.where(x > 0, x, slope * x),
           ("away_from_zero",), unary(choice("slope", [0.01, 0.2]))),
    OpSpec("sigmoid", tg.sigmoid, np_sigmoid, (R,), unary()),
    OpSpec("tanh", tg.tanh, np.tanh, (R,), unary()),
    OpSpec("softplus", lambda x, beta: F.softplus(x, beta), np_softplus, (R,), unary(choice("beta", [1.0, 2.0]))),
    OpSpec("silu", F.silu, lambda x: x * np_sigmoid(x), (R,), unary()),
    OpSpec("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), np_gelu_tanh, (R,), unary()),
    OpSpec("gelu", F.gelu, lambda x: 0.5 * x * (1.0 + np_erf(x / math.sqrt(2.0))), (R,), unary()),
    OpSpec("softmax", lambda x, dim: tg.softmax(x, dim), lambda x, dim: np.exp(np_log_softmax(x, dim)), (R,),
           unary(lambda ss: dims(len(ss[0])).map(lambda d: {"dim": d}), min_dims=1)),
    OpSpec("log_softmax", lambda x, dim: F.log_softmax(x, dim), np_log_softmax, (R,),
           unary(lambda ss: dims(len(ss[0])).map(lambda d: {"dim": d}), min_dims=1)),
    OpSpec("logsigmoid", F.logsigmoid, lambda x: np.log(np_sigmoid(x)), (R,), unary()),
    OpSpec("bce_with_logits", lambda x, y, reduction: F.binary_cross_entropy_with_logits(x, y, reduction=reduction),
           np_bce_with_logits, (R, "unit"), same_shapes(2, choice("reduction", ["mean", "sum", "none"]))),
]

# ---------------------------------------------------------------- issue 18: the PyTorch surface
def np_erf(x):
    return np.vectorize(math.erf)(x)


@st.composite
def gather_case(draw):
    """An input shape, a dim, and an integer index no larger than the input outside dim."""
    s = draw(shapes(min_dims=1, max_side=3, max_size=12))
    dim = draw(dims(len(s)))
    d = dim % len(s)
    ishape = tuple(draw(st.integers(1, 4)) if i == d else draw(st.integers(1, n)) for i, n in enumerate(s))
    index = draw(hnp_ints(ishape, s[d]))
    return (s,), {"dim": dim, "index": index}


@st.composite
def scatter_case(draw):
    """(input shape, src shape = index shape), a dim and an index with repeats (their values must add)."""
    (s,), p = draw(gather_case())
    return (s, p["index"].shape), p


def hnp_ints(shape, high):
    size = math.prod(shape)
    return st.lists(st.integers(0, high - 1), min_size=size, max_size=size).map(lambda v: np.array(v).reshape(shape))


@st.composite
def index_select_case(draw):
    s = draw(shapes(min_dims=1, max_side=3, max_size=12))
    dim = draw(dims(len(s)))
    index = np.array(draw(st.lists(st.integers(0, s[dim] - 1), min_size=1, max_size=4)))
    return (s,), {"dim": dim, "index": index}


def flip_params(shapes_):
    ndim = len(shapes_[0])
    return st.lists(st.integers(-ndim, ndim - 1), min_size=1, max_size=ndim, unique_by=lambda d: d % ndim).map(
        lambda ds: {"dims": tuple(ds)})


def roll_params(shapes_):
    ndim = len(shapes_[0])
    with_dims = st.lists(st.tuples(st.integers(-4, 4), st.integers(0, ndim - 1)), min_size=1, max_size=2).map(
        lambda pairs: {"shifts": tuple(p[0] for p in pairs), "dims": tuple(p[1] for p in pairs)})
    flat = st.integers(-5, 5).map(lambda k: {"shifts": k, "dims": None})
    return st.one_of(with_dims, flat)


def np_roll(x, shifts, dims):
    return np.roll(x, shifts, axis=dims)


@st.composite
def narrow_case(draw):
    s = draw(shapes(min_dims=1, max_side=4, max_size=16))
    dim = draw(dims(len(s)))
    start = draw(st.integers(0, s[dim] - 1))
    return (s,), {"dim": dim, "start": start, "length": draw(st.integers(0, s[dim] - start))}


def norm_params(shapes_):
    ndim = len(shapes_[0])
    # p = inf is max |x|, not differentiable where two |x| tie: it is compared with PyTorch in test_torch_parity
    return st.fixed_dictionaries({"p": st.sampled_from([2, 1, 3]), "dim": axes(ndim), "keepdim": keepdims})


def np_norm(x, p, dim, keepdim):
    a = np.abs(x)
    if p == math.inf:
        return np.max(a, axis=dim, keepdims=keepdim)
    return np.sum(a**p, axis=dim, keepdims=keepdim) ** (1.0 / p)


EINSUM = ["ij,jk->ik", "bij,bjk->bik", "i,j->ij", "i,i->", "ij->ji", "ij->j", "ij,ij->i", "bhid,bhjd->bhij",
          "ij,jk,kl->il", "...ij,jk->...ik", "ik,jk", "ab,b->a"]


@st.composite
def einsum_case(draw):
    equation = draw(st.sampled_from(EINSUM))
    sizes = {c: draw(st.integers(1, 3)) for c in "abcdefghijklmnopqrstuvwxyz"}
    lhs = equation.split("->")[0].split(",")
    lead = tuple(draw(st.lists(st.integers(1, 2), max_size=2)))
    return tuple(lead + tuple(sizes[c] for c in spec.replace("...", "")) if "..." in spec
                 else tuple(sizes[c] for c in spec) for spec in lhs), {"equation": equation}


@st.composite
def products_case(draw, kind):
    n, k, m, b = (draw(st.integers(1, 3)) for _ in range(4))
    return {"mm": ((n, k), (k, m)), "bmm": ((b, n, k), (b, k, m)), "outer": ((n,), (m,))}[kind], {}


def repeat_params(shapes_):
    ndim = len(shapes_[0])
    return st.integers(0, 1).flatmap(lambda extra: st.lists(st.integers(1, 2), min_size=ndim + extra,
                                                            max_size=ndim + extra)).map(lambda r: {"sizes": tuple(r)})


def mask_params(shapes_):
    (s,) = shapes_
    return st.lists(st.booleans(), min_size=math.prod(s), max_size=math.prod(s)).map(
        lambda bits: {"mask": np.array(bits, dtype=bool).reshape(s), "value": -1.5})


def interpolate_params(shapes_):
    return st.fixed_dictionaries({"size": st.tuples(st.integers(1, 5), st.integers(1, 5)),
                                  "align_corners": st.booleans()})


def np_bilinear(x, size, align_corners):
    """PyTorch's bilinear resize (reference): separable, one axis at a time."""
    out = x
    for axis, n_out in ((2, size[0]), (3, size[1])):
        n_in = out.shape[axis]
        i = np.arange(n_out, dtype=np.float64)
        if align_corners:
            src = i * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
        else:
            src = np.maximum((i + 0.5) * n_in / n_out - 0.5, 0.0)
        i0 = np.minimum(np.floor(src).astype(int), n_in - 1)
        i1 = np.minimum(i0 + 1, n_in - 1)
        w = (src - i0).reshape((n_out,) + (1,) * (out.ndim - axis - 1))
        out = np.take(out, i0, axis=axis) * (1 - w) + np.take(out, i1, axis=axis) * w
    return out


def np_smooth_l1(x, beta):
    d = np.abs(x)
    return np.mean(np.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta))


def np_kl_div(log_q, p):
    return np.sum(p * (np.log(p) - log_q)) / log_q.shape[0] if log_q.ndim else np.sum(p * (np.log(p) - log_q))


OPS += [
    OpSpec("sin", tg.sin, np.sin, (R,), unary()),
    OpSpec("cos", lambda x: x.cos(), np.cos, (R,), unary()),
    OpSpec("log1p", tg.log1p, np.log1p, (POS,), unary()),
    OpSpec("expm1", lambda x: x.expm1(), np.expm1, ("bounded",), unary()),
    OpSpec("erf", tg.erf, np_erf, (R,), unary()),
    OpSpec("cumsum", lambda x, dim: tg.cumsum(x, dim), lambda x, dim: np.cumsum(x, dim), (R,),
           unary(lambda ss: dims(len(ss[0])).map(lambda d: {"dim": d}), min_dims=1)),
    OpSpec("cumprod", lambda x, dim: x.cumprod(dim), lambda x, dim: np.cumprod(x, dim), ("nonzero",),
           unary(lambda ss: dims(len(ss[0])).map(lambda d: {"dim": d}), min_dims=1)),
    OpSpec("prod", lambda x: tg.prod(x), np.prod, ("nonzero",), unary(max_size=8)),
    OpSpec("norm", lambda x, p, dim, keepdim: x.norm(p, dim, keepdim), np_norm, ("away_from_zero",),
           unary(norm_params)),
    OpSpec("dist", lambda a, b: tg.dist(a, b), lambda a, b: np.sqrt(np.sum((a - b) ** 2)), ("inner", "outer"),
           binary_broadcast()),
    OpSpec("F.normalize", lambda x, dim: F.normalize(x, dim=dim),
           lambda x, dim: x / np.sqrt(np.sum(x * x, axis=dim, keepdims=True)), ("away_from_zero",),
           unary(lambda ss: dims(len(ss[0])).map(lambda d: {"dim": d}), min_dims=1)),
    OpSpec("F.cosine_similarity", lambda a, b: F.cosine_similarity(a, b, dim=-1),
           lambda a, b: np.sum(a * b, -1) / np.sqrt(np.sum(a * a, -1) * np.sum(b * b, -1)),
           ("away_from_zero", "away_from_zero"), same_shapes(2, min_dims=1)),
    OpSpec("gather", lambda x, dim, index: x.gather(dim, tg.tensor(index)),
           lambda x, dim, index: np.take_along_axis(x[tuple(slice(0, n) if i != dim % x.ndim else slice(None)
                                                               for i, n in enumerate(index.shape))], index, dim),
           (R,), gather_case()),
    OpSpec("scatter_add", lambda x, src, dim, index: tg.scatter_add(x, dim, tg.tensor(index), src),
           lambda x, src, dim, index: np_scatter_add(x, src, dim, index), (R, R), scatter_case()),
    OpSpec("index_select", lambda x, dim, index: tg.index_select(x, dim, tg.tensor(index)),
           lambda x, dim, index: np.take(x, index, axis=dim), (R,), index_select_case()),
    OpSpec("flip", lambda x, dims: x.flip(dims), lambda x, dims: np.flip(x, dims), (R,), unary(flip_params, min_dims=1)),
    OpSpec("roll", lambda x, shifts, dims: tg.roll(x, shifts, dims), np_roll, (R,), unary(roll_params, min_dims=1)),
    OpSpec("narrow", lambda x, dim, start, length: x.narrow(dim, start, length),
           lambda x, dim, start, length: np.take(x, range(start, start + length), axis=dim), (R,), narrow_case()),
    OpSpec("repeat", lambda x, sizes: x.repeat(*sizes), lambda x, sizes: np.tile(x, sizes), (R,),
           unary(repeat_params, max_size=8)),
    OpSpec("chunk", lambda x: x.chunk(2, -1), lambda x: tuple(np.array_split(x, 2, -1)) if x.shape[-1] > 1 else (x,),
           (R,), unary(min_dims=1)),
    OpSpec("t", lambda x: x.t(), lambda x: x.T, (R,), unary(max_dims=2)),
    OpSpec("masked_fill", lambda x, mask, value: x.masked_fill(tg.tensor(mask), value),
           lambda x, mask, value: np.where(mask, value, x), (R,), unary(mask_params)),
    OpSpec("einsum", lambda *xs, equation: tg.einsum(equation, *xs), lambda *xs, equation: np.einsum(equation, *xs),
           (R, R, R), einsum_case()),
    OpSpec("mm", tg.mm, np.matmul, (R, R), products_case("mm")),
    OpSpec("bmm", lambda a, b: a.bmm(b), np.matmul, (R, R), products_case("bmm")),
    OpSpec("outer", tg.outer, np.outer, (R, R), products_case("outer")),
    OpSpec("F.interpolate bilinear", lambda x, size, align_corners: F.interpolate(
        x, size=size, mode="bilinear", align_corners=align_corners), np_bilinear, (R,),
           unary(interpolate_params, min_dims=4, max_dims=4, max_side=3, max_size=18)),
    OpSpec("F.smooth_l1_loss", lambda x: F.smooth_l1_loss(x, tg.zeros_like(x), beta=0.5),
           lambda x: np_smooth_l1(x, 0.5), ("away_from_half",), unary()),
    OpSpec("F.kl_div", lambda log_q, p: F.kl_div(log_q, p, reduction="batchmean"), np_kl_div, (R, "unit"),
           same_shapes(2, min_dims=1)),
]


def np_scatter_add(x, src, dim, index):
    out = x.copy()
    dim = dim % x.ndim
    full = tuple(index if d == dim else np.arange(n).reshape([-1 if e == d else 1 for e in range(index.ndim)])
                 for d, n in enumerate(index.shape))
    np.add.at(out, full, src)
    return out


BY_NAME = {op.name: op for op in OPS}
assert len(BY_NAME) == len(OPS), "two registry entries share a name"

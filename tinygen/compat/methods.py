"""More of PyTorch's tensor methods and ``torch.*`` functions, each a line or two over tinygen's ops.

Comparisons by name (``x.eq(y)``), boolean reductions (``all``, ``any``), ``masked_fill``, the
shape spellings (``chunk``, ``split``, ``repeat``, ``t``, ``contiguous``, ``narrow``, ...), the
products (``mm``, ``bmm``, ``outer``, ``einsum``), the extra math of ``ops/functions.py``,
``ops/scan.py`` and ``ops/norms.py`` as methods, and in-place random fills (``normal_``,
``uniform_``) drawn from tinygen's own generators. Each points at the op that does the work.
"""

from .. import backend
from ..creation import rand_like, randn_like
from ..ops import elementwise, functions, indexing, linalg, norms, reduce, scan, shape
from ..tensor import Tensor


def _raw(value):
    return value.array if isinstance(value, Tensor) else value


# ---------------------------------------------------------------- comparisons and logic (no gradient)
def eq(input, other):
    """input == other, elementwise: a bool tensor."""
    return input == other


def ne(input, other):
    """input != other, elementwise."""
    return input != other


def gt(input, other):
    """input > other, elementwise."""
    return input > other


def lt(input, other):
    """input < other, elementwise."""
    return input < other


def ge(input, other):
    """input >= other, elementwise."""
    return input >= other


def le(input, other):
    """input <= other, elementwise."""
    return input <= other


def _boolean_reduce(name):
    def reduce_(input, dim=None, keepdim=False):
        xp = backend.array_module(input.array)
        axes = reduce.normalize_axes(dim, input.ndim, name)
        return Tensor.wrap(getattr(xp, name)(input.array, axis=axes, keepdims=keepdim))

    reduce_.__name__ = name
    reduce_.__doc__ = f"True where {'every' if name == 'all' else 'some'} element over ``dim`` (all by default) is nonzero."
    return reduce_


all, any = _boolean_reduce("all"), _boolean_reduce("any")


def _elementwise_question(name, doc):
    def ask(input):
        return Tensor.wrap(getattr(backend.array_module(input.array), name)(input.array))

    ask.__name__, ask.__doc__ = name, doc
    return ask


isnan = _elementwise_question("isnan", "True where x is NaN.")
isinf = _elementwise_question("isinf", "True where x is +-inf.")
isfinite = _elementwise_question("isfinite", "True where x is neither NaN nor infinite.")
logical_not = _elementwise_question("logical_not", "not x, elementwise (nonzero counts as True).")
floor = _elementwise_question("floor", "The largest integer <= x, elementwise (no gradient).")
ceil = _elementwise_question("ceil", "The smallest integer >= x, elementwise (no gradient).")
round = _elementwise_question("round", "x rounded to the nearest integer, halves to even (no gradient).")


def logical_and(input, other):
    """input and other, elementwise."""
    return Tensor.wrap(backend.array_module(input.array).logical_and(input.array, _raw(other)))


def logical_or(input, other):
    """input or other, elementwise."""
    return Tensor.wrap(backend.array_module(input.array).logical_or(input.array, _raw(other)))


def equal(input, other):
    """True when both have the same shape and the same values (a Python bool)."""
    return input.shape == other.shape and bool((input.array == other.array).all())


def isclose(input, other, rtol=1e-5, atol=1e-8, equal_nan=False):
    """|input - other| <= atol + rtol |other|, elementwise."""
    xp = backend.array_module(input.array)
    return Tensor.wrap(xp.isclose(input.array, _raw(other), rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(input, other, rtol=1e-5, atol=1e-8, equal_nan=False):
    """True when every element is close (see isclose): a Python bool."""
    return bool(isclose(input, other, rtol, atol, equal_nan).array.all())


def masked_fill(input, mask, value):
    """``value`` where ``mask`` is True, ``input`` elsewhere; the gradient flows to input where the mask is False."""
    return elementwise.where(backend.as_array(_raw(mask), device=input.device), value, input)


# ---------------------------------------------------------------- shape
def chunk(input, chunks, dim=0):
    """Up to ``chunks`` pieces along ``dim``, each ceil(n / chunks) long (the last may be shorter): views."""
    size = -(-input.shape[dim] // chunks)
    return split(input, max(size, 1), dim)


def split(input, split_size_or_sections, dim=0):
    """Pieces along ``dim``: of ``split_size`` each (the last may be shorter), or of the listed sizes."""
    n = input.shape[dim]
    if isinstance(split_size_or_sections, int):
        sizes = [min(split_size_or_sections, n - s) for s in range(0, n, split_size_or_sections)]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise ValueError(f"split: sections {sizes} do not add up to {n}, the size of dim {dim}")
    starts = [sum(sizes[:k]) for k in range(len(sizes))]
    return tuple(indexing.narrow(input, dim, s, k) for s, k in zip(starts, sizes))


def unbind(input, dim=0):
    """The slices along ``dim``, each without that dim: a tuple of views."""
    lead = (slice(None),) * (dim % input.ndim)
    return tuple(input[lead + (i,)] for i in range(input.shape[dim]))


def repeat(input, *sizes):
    """x tiled ``sizes`` times along each dim (extra leading sizes add dims): x.repeat(2, 1) stacks two copies."""
    sizes = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes
    if len(sizes) < input.ndim:
        raise ValueError(f"repeat: give at least {input.ndim} sizes for a tensor of shape {input.shape}, got {sizes}")
    dims = (1,) * (len(sizes) - input.ndim) + input.shape
    paired = tuple(v for n in dims for v in (1, n))                 # (1, n0, 1, n1, ...)
    wide = tuple(v for r, n in zip(sizes, dims) for v in (r, n))    # (r0, n0, r1, n1, ...)
    out = reduce.broadcast_to(input.reshape(paired), wide)           # block index before element index
    return out.reshape(tuple(r * n for r, n in zip(sizes, dims)))


def t(input):
    """The transpose of a matrix (a 0-d or 1-D tensor comes back as it is)."""
    if input.ndim > 2:
        raise ValueError(f"t: expects a tensor with at most 2 dims, got shape {input.shape}; use transpose(dim0, dim1)")
    return input.transpose(0, 1) if input.ndim == 2 else input


def contiguous(self, memory_format=None):
    """x itself: NumPy and CuPy ops read any memory layout, so tinygen never needs a contiguous copy."""
    return self


def is_contiguous(self, memory_format=None):
    """Whether the values lie in row-major order in memory (nothing in tinygen depends on it)."""
    return bool(self.array.flags.c_contiguous)


def reshape_as(self, other):
    """x reshaped to ``other``'s shape."""
    return shape.reshape(self, other.shape)


def flip_method(self, *dims):
    """x reversed along ``dims``: ``x.flip(0)``, ``x.flip(0, 1)`` or ``x.flip((0, 1))``."""
    return indexing.flip(self, dims[0] if len(dims) == 1 else dims)


def select(input, dim, index):
    """The slice at ``index`` along ``dim``, without that dim (a view)."""
    return input[(slice(None),) * (dim % input.ndim) + (index,)]


# ---------------------------------------------------------------- products
def mm(input, mat2):
    """The product of two matrices, (n, k) @ (k, m) -> (n, m)."""
    if input.ndim != 2 or mat2.ndim != 2:
        raise ValueError(f"mm: expects two matrices, got shapes {input.shape} and {mat2.shape}; use matmul")
    return linalg.matmul(input, mat2)


def bmm(input, mat2):
    """Matrix products of two batches, (b, n, k) @ (b, k, m) -> (b, n, m)."""
    if input.ndim != 3 or mat2.ndim != 3 or input.shape[0] != mat2.shape[0]:
        raise ValueError(f"bmm: expects two batches of matrices of one size, got {input.shape} and {mat2.shape}")
    return linalg.matmul(input, mat2)


def outer(input, vec2):
    """The outer product of two vectors: (n,), (m,) -> (n, m) with out[i, j] = input[i] vec2[j]."""
    if input.ndim != 1 or vec2.ndim != 1:
        raise ValueError(f"outer: expects two vectors, got shapes {input.shape} and {vec2.shape}")
    return input.unsqueeze(1) * vec2.unsqueeze(0)


def dot(input, other):
    """The dot product of two vectors: a 0-d tensor."""
    if input.ndim != 1 or other.ndim != 1:
        raise ValueError(f"dot: expects two vectors, got shapes {input.shape} and {other.shape}")
    return linalg.matmul(input, other)


# ---------------------------------------------------------------- math
def square(input):
    """x * x."""
    return input * input


def rsqrt(input):
    """1 / sqrt(x)."""
    return 1.0 / elementwise.sqrt(input)


def reciprocal(input):
    """1 / x."""
    return 1.0 / input


def prod(input, dim=None, keepdim=False):
    """The product over ``dim`` (all elements by default): the last entry of a cumprod."""
    if dim is None:
        return scan.cumprod(input.reshape(-1), 0)[-1]
    out = indexing.narrow(scan.cumprod(input, dim), dim, input.shape[dim] - 1, 1)
    return out if keepdim else out.squeeze(dim)


def std(input, dim=None, keepdim=False, correction=1, unbiased=None):
    """The standard deviation (``unbiased=False`` is correction=0)."""
    if unbiased is not None:
        correction = 1 if unbiased else 0
    return reduce.var(input, dim, keepdim, correction).sqrt()


# ---------------------------------------------------------------- in-place fills and clamps
def _draw_dtype(x):
    return backend.float64 if x.dtype == backend.float64 else backend.float32


def normal_(self, mean=0.0, std=1.0):
    """Overwrite with N(mean, std^2) draws from tinygen's generator for x's device; returns x."""
    return self.copy_(randn_like(self, dtype=_draw_dtype(self)) * float(std) + float(mean))


def uniform_(self, a=0.0, b=1.0):
    """Overwrite with U(a, b) draws from tinygen's generator for x's device; returns x."""
    return self.copy_(rand_like(self, dtype=_draw_dtype(self)) * float(b - a) + float(a))


def bernoulli_(self, p=0.5):
    """Overwrite with 1 with probability p, else 0; returns x."""
    return self.copy_((rand_like(self, dtype=_draw_dtype(self)).array < _raw(p)).astype(self.dtype))


def clamp_(self, min=None, max=None):
    """Clip the values to [min, max] in place (WGAN's weight clipping: ``p.data.clamp_(-c, c)``); returns x."""
    return self.copy_(backend.array_module(self.array).clip(self.array, _raw(min), _raw(max)))


def masked_fill_(self, mask, value):
    """Set x to ``value`` where ``mask`` is True, in place; returns x."""
    self[backend.as_array(_raw(mask), device=self.device)] = _raw(value)
    return self


# ---------------------------------------------------------------- attach to Tensor
Tensor.eq, Tensor.ne, Tensor.gt, Tensor.lt, Tensor.ge, Tensor.le = eq, ne, gt, lt, ge, le
Tensor.all, Tensor.any, Tensor.isnan, Tensor.isinf, Tensor.isfinite = all, any, isnan, isinf, isfinite
Tensor.logical_not, Tensor.logical_and, Tensor.logical_or = logical_not, logical_and, logical_or
Tensor.floor, Tensor.ceil, Tensor.round = floor, ceil, round
Tensor.equal, Tensor.allclose, Tensor.isclose = equal, allclose, isclose
Tensor.masked_fill, Tensor.masked_fill_ = masked_fill, masked_fill_
Tensor.chunk, Tensor.split, Tensor.unbind, Tensor.repeat, Tensor.t = chunk, split, unbind, repeat, t
Tensor.contiguous, Tensor.is_contiguous, Tensor.reshape_as, Tensor.select = contiguous, is_contiguous, reshape_as, select
Tensor.gather, Tensor.scatter_add, Tensor.index_select = indexing.gather, indexing.scatter_add, indexing.index_select
Tensor.flip, Tensor.roll, Tensor.narrow = flip_method, indexing.roll, indexing.narrow
Tensor.mm, Tensor.bmm, Tensor.outer, Tensor.dot = mm, bmm, outer, dot
Tensor.add, Tensor.sub, Tensor.mul, Tensor.div = elementwise.add, elementwise.sub, elementwise.mul, elementwise.div
Tensor.neg, Tensor.rsqrt, Tensor.reciprocal, Tensor.prod = elementwise.neg, rsqrt, reciprocal, prod
Tensor.sin, Tensor.cos, Tensor.log1p, Tensor.expm1, Tensor.erf = (functions.sin, functions.cos, functions.log1p,
                                                                 functions.expm1, functions.erf)
Tensor.cumsum, Tensor.cumprod, Tensor.norm, Tensor.dist = scan.cumsum, scan.cumprod, norms.norm, norms.dist
Tensor.std = std
Tensor.normal_, Tensor.uniform_, Tensor.bernoulli_, Tensor.clamp_ = normal_, uniform_, bernoulli_, clamp_

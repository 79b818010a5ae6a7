"""A strict stand-in for CuPy: the GPU path of tinygen, run without a GPU.

Test scaffolding, not a device, and not part of tinygen. ``tinygen/backend.py`` imports the module
named by ``$TINYGEN_CUPY_MODULE`` (default ``cupy``) the first time a tensor goes to ``"cuda"``;
pointing that at this file runs every "cuda" array through it:

    TINYGEN_STRICT_CUPY=1 TINYGEN_DEVICE=cuda python -m pytest     # the suite (tests/conftest.py)
    python tests/strict_cupy.py demos/vae.py --quick --device cuda   # any script

Its arrays hold NumPy arrays inside but behave as CuPy's do where a NumPy-only habit would break
on a real GPU:

- they are not ``numpy.ndarray``, and ``__array__`` raises CuPy's TypeError, so ``numpy.asarray``,
  matplotlib and scikit-learn refuse them: ``.get()`` / ``asnumpy`` are the way to the host;
- only CuPy's names exist (``strict_cupy_namespace.txt``, read from CuPy 14.2.0 by
  ``strict_cupy_namespace.py``), with CuPy's parameters: ``cupy.max(a, initial=0)`` is a TypeError;
- host (NumPy) arrays are refused as operands, arguments, indices and assigned values; array
  arguments must be device arrays (``cupy.sum([1, 2])`` fails); NumPy functions called on device
  arrays dispatch here through ``__array_function__`` / ``__array_ufunc__``, as with CuPy;
- reductions and full indexing return 0-d arrays, never NumPy scalars;
- integer-array indices out of range wrap around silently (CuPy does not check them);
- random numbers come from other bit generators than NumPy's ``default_rng``, so a test cannot
  pass by accident on equal streams;
- nothing warns on overflow or division by zero (CuPy never does).
Where unsure what CuPy accepts, it refuses: a stand-in stricter than CuPy costs a conversion, one
laxer than CuPy hides a bug.
"""

import builtins as _builtins
import os as _os
import pathlib as _pathlib
import sys as _sys
import time as _time
import types as _types

import numpy as _np

__version__ = "14.2.0"  # the CuPy whose namespace this copies
_HERE = _pathlib.Path(__file__).resolve().parent
_IMPLICIT = ("Implicit conversion to a NumPy array is not allowed. "
             "Please use `.get()` to construct a NumPy array explicitly.")
_PYTHON_SCALARS = (bool, int, float, complex)
# NB: CuPy's namespace shadows the builtins abs, all, any, bool, divmod, max, min, pow, round and sum
# in this module once it is built; the helpers below spell those as _builtins.NAME.


# ---------------------------------------------------------------- CuPy's names and parameters
def _read_namespace():
    sections, current = {}, None
    for line in (_HERE / "strict_cupy_namespace.txt").read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        name, kind, *rest = line.split(" ", 2)
        current[name] = (kind, [p for p in rest[0].split(", ") if p] if rest else None)
    return sections


_NAMESPACE = _read_namespace()


class _Parameters:
    """What a CuPy signature accepts: how many positional arguments, which keywords."""

    __slots__ = ("names", "positional", "keywords", "varargs", "varkw")

    def __init__(self, params):
        self.names, self.keywords, self.varargs, self.varkw = [], set(), False, False
        self.positional, kwonly = 0, False
        for p in params:
            if p == "/":
                self.keywords -= set(self.names)  # positional-only
            elif p == "*":
                kwonly = True
            elif p.startswith("**"):
                self.varkw = True
            elif p.startswith("*"):
                self.varargs, kwonly = True, True
            else:
                name = p.rstrip("=")
                self.names.append(name)
                self.keywords.add(name)
                if not kwonly:
                    self.positional += 1

    def check(self, where, args, kwargs):
        if len(args) > self.positional and not self.varargs:
            raise TypeError(f"{where}() takes at most {self.positional} positional arguments ({len(args)} given)")
        if not self.varkw:
            for k in kwargs:
                if k not in self.keywords:
                    raise TypeError(f"{where}() got an unexpected keyword argument '{k}' (CuPy has no such parameter)")


def _parameters(section, name):
    kind, params = _NAMESPACE[section][name]
    return _Parameters(params if params is not None else ["*args", "**kwargs"])


# ---------------------------------------------------------------- crossing between host and device
def _unsupported(x):
    return TypeError(f"Unsupported type {type(x)}")


def _host_refused(x, what="argument"):
    return TypeError(f"Unsupported type {type(x)}: a host (NumPy) array as a device {what}; move it with "
                     "cupy.asarray first (strict stand-in)")


def _to_numpy(x):
    """An argument for the NumPy call inside: device arrays unwrapped, host arrays refused."""
    t = type(x)
    if t is ndarray:
        return x._a
    if isinstance(x, _np.ndarray):
        raise _host_refused(x)
    if t is list or t is tuple:
        return t(_to_numpy(i) for i in x)
    return x


def _new(a):
    out = object.__new__(ndarray)
    out._a = a
    return out


def _from_numpy(r):
    """A NumPy result as CuPy gives it: arrays on the device, scalars as 0-d arrays."""
    if type(r) is _np.ndarray or isinstance(r, _np.ndarray):
        return _new(r)
    if isinstance(r, _np.generic):
        return _new(_np.asarray(r))
    if isinstance(r, (tuple, list)):  # numpy.linalg.eigh's EighResult too
        items = [_from_numpy(i) for i in r]
        return r._make(items) if hasattr(r, "_make") else type(r)(items)
    return r


def _returned(r, out):
    """CuPy returns the ``out`` array itself, not a new array on its memory."""
    if type(out) is ndarray and r is out._a:
        return out
    return _from_numpy(r)


def _run(fn, args, kwargs):
    with _np.errstate(all="ignore"):  # CuPy never warns
        return fn(*args, **kwargs)


# ---------------------------------------------------------------- indices: CuPy wraps, never checks
def _wrap_index(index, size):
    if isinstance(index, _np.ndarray) and index.dtype.kind in "iu" and size:
        return index % size
    return index


def _key(key, shape):
    """A device index as NumPy's: device arrays unwrapped, integer arrays wrapped modulo their axis."""
    parts = []
    for p in key if type(key) is tuple else (key,):
        if type(p) is ndarray:
            p = p._a
        elif isinstance(p, _np.ndarray):
            raise _host_refused(p, "index")
        elif type(p) is list:
            p = _np.asarray(_to_numpy(p))
        parts.append(p)

    def is_mask(p):
        return isinstance(p, _np.ndarray) and p.dtype == _np.bool_

    used = _builtins.sum(p.ndim if is_mask(p) else 0 if p is None or p is Ellipsis else 1 for p in parts)
    axis, out = 0, []
    for p in parts:
        if p is Ellipsis:
            axis += len(shape) - used
        elif is_mask(p):
            axis += p.ndim
        elif p is not None:
            if axis < len(shape):
                p = _wrap_index(p, shape[axis])
            axis += 1
        out.append(p)
    return tuple(out) if type(key) is tuple else out[0]


# ---------------------------------------------------------------- the array
class _Flags:
    """CuPy's flags: c_contiguous, f_contiguous, owndata (no writeable, no aligned)."""

    __slots__ = ("c_contiguous", "f_contiguous", "owndata")

    def __init__(self, a):
        self.c_contiguous, self.f_contiguous, self.owndata = a.flags.c_contiguous, a.flags.f_contiguous, a.flags.owndata

    @property
    def fnc(self):
        return self.f_contiguous and not self.c_contiguous

    @property
    def forc(self):
        return self.f_contiguous or self.c_contiguous

    def __getitem__(self, name):
        return {"C_CONTIGUOUS": self.c_contiguous, "F_CONTIGUOUS": self.f_contiguous, "OWNDATA": self.owndata}[name]

    def __repr__(self):
        return f"  C_CONTIGUOUS : {self.c_contiguous}\n  F_CONTIGUOUS : {self.f_contiguous}\n  OWNDATA : {self.owndata}"


def _should_use_rop(x, y):
    """CuPy's rule: an operand of higher __array_priority__ (a tinygen Tensor) answers the operator."""
    return getattr(x, "__array_priority__", 0) < getattr(y, "__array_priority__", 0) and not isinstance(y, ndarray)


class ndarray:  # noqa: N801 (CuPy's name)
    """A device array of the stand-in: a NumPy array inside, CuPy's manners outside."""

    __slots__ = ("_a", "__weakref__")
    __array_priority__ = 100  # as CuPy's
    __hash__ = None

    def __init__(self, shape, dtype=float, memptr=None, strides=None, order="C"):
        if memptr is not None or strides is not None:
            raise NotImplementedError("strict stand-in: ndarray(memptr=, strides=)")
        self._a = _np.empty(shape, dtype=dtype, order=order)

    # -------------------------------------------------------- leaving the device
    def __array__(self, dtype=None, copy=None):
        raise TypeError(_IMPLICIT)

    def get(self, stream=None, order="C", out=None, blocking=True):
        """A host copy (numpy.ndarray)."""
        if out is not None:
            out[...] = self._a
            return out
        return _np.array(self._a, order=order, copy=True)

    def set(self, arr, stream=None):
        """Copy a host array into this one."""
        if not isinstance(arr, _np.ndarray):
            raise TypeError(f"Only numpy.ndarray can be set to cupy.ndarray, got {type(arr)}")
        if arr.shape != self._a.shape:
            raise ValueError("Shape mismatch")
        self._a[...] = arr

    def item(self):
        return self._a.item()

    def tolist(self):
        return self._a.tolist()

    def __bool__(self):
        return _builtins.bool(self._a)

    def __int__(self):
        return int(self._a)

    def __float__(self):
        return float(self._a)

    def __complex__(self):
        return complex(self._a)

    def __format__(self, format_spec):
        return format(self._a, format_spec)

    def __repr__(self):
        return repr(self._a)

    def __str__(self):
        return str(self._a)

    def __reduce__(self):
        return _rebuild, (_np.array(self._a, copy=True),)

    def __copy__(self):
        return _new(self._a.copy())

    def __deepcopy__(self, memo):
        return _new(self._a.copy())

    # -------------------------------------------------------- what it is
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    strides = property(lambda self: self._a.strides)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    T = property(lambda self: _new(self._a.T))
    mT = property(lambda self: _new(self._a.mT))
    real = property(lambda self: _new(self._a.real))
    imag = property(lambda self: _new(self._a.imag))
    flags = property(lambda self: _Flags(self._a))
    base = property(lambda self: None if self._a.base is None else _new(self._a.base))
    device = property(lambda self: cuda.Device(0))
    data = property(lambda self: cuda.MemoryPointer(self._a.__array_interface__["data"][0]))

    def __len__(self):
        if self._a.ndim == 0:
            raise TypeError("len() of unsized object")
        return len(self._a)

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(len(self._a)))

    # -------------------------------------------------------- indexing
    def __getitem__(self, key):
        return _from_numpy(self._a[_key(key, self._a.shape)])

    def __setitem__(self, key, value):
        if isinstance(value, _np.ndarray):
            raise _host_refused(value, "value")
        self._a[_key(key, self._a.shape)] = _to_numpy(value)

    def take(self, indices, axis=None, out=None):
        return take(self, indices, axis, out)

    def put(self, indices, values, mode="wrap"):
        put(self, indices, values, mode)

    def scatter_add(self, slices, value):
        add.at(self, slices, value)

    def scatter_max(self, slices, value):
        maximum.at(self, slices, value)

    def scatter_min(self, slices, value):
        minimum.at(self, slices, value)

    # -------------------------------------------------------- NumPy calls that land here
    def __array_ufunc__(self, np_ufunc, method, *inputs, **kwargs):
        out = kwargs.get("out", ())
        if "out" in kwargs:
            if len(out) != 1:
                raise ValueError("The 'out' parameter must have exactly one array value")
            kwargs["out"] = out[0]
        if method != "__call__":
            return NotImplemented
        mine = globals().get(np_ufunc.__name__)
        if mine is None or np_ufunc.__name__ not in _NAMESPACE["cupy"]:
            return NotImplemented
        for x in inputs + tuple(out):
            if hasattr(x, "__array_ufunc__") and not isinstance(x, (ndarray, _np.ndarray)):
                return NotImplemented
        return mine(*inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        module = _sys.modules[__name__]
        try:
            for part in func.__module__.split(".")[1:]:
                module = getattr(module, part)
            mine = getattr(module, func.__name__)
        except AttributeError:
            return NotImplemented
        if _builtins.any(t not in (ndarray, _np.ndarray) for t in types):
            return NotImplemented
        return mine(*args, **kwargs)


def _rebuild(host):
    return _new(host)


def _method(name):
    params = _parameters("ndarray", name)

    def method(self, *args, **kwargs):
        if kwargs or len(args) > params.positional:
            params.check(f"ndarray.{name}", args, kwargs)
            kwargs = {k: _to_numpy(v) for k, v in kwargs.items()}
        r = _run(getattr(self._a, name), _to_numpy(args) if args else args, kwargs)
        return _returned(r, kwargs.get("out"))

    method.__name__ = name
    return method


for _name, (_kind, _params) in _NAMESPACE["ndarray"].items():
    if _kind == "func" and not hasattr(ndarray, _name) and hasattr(_np.ndarray, _name):
        setattr(ndarray, _name, _method(_name))


# ---------------------------------------------------------------- ufuncs
_SCATTER = {"add", "subtract", "maximum", "minimum", "bitwise_and", "bitwise_or", "bitwise_xor"}


def _scalar_operand(x):
    if isinstance(x, _SCALARS):
        return x
    raise _unsupported(x)


_SCALARS = _PYTHON_SCALARS + (_np.generic,)


class ufunc:  # noqa: N801 (CuPy's name)
    """An elementwise function: device arrays and scalars in, device arrays out."""

    def __init__(self, name, np_ufunc, params):
        self.name, self._f, self._params = name, np_ufunc, params
        self.nin, self.nout, self.nargs = np_ufunc.nin, np_ufunc.nout, np_ufunc.nargs
        self.types = np_ufunc.types
        self.__name__ = name

    def __repr__(self):
        return f"<ufunc '{self.name}'>"

    def __call__(self, *args, **kwargs):
        nin = self.nin
        out = kwargs.pop("out", None)
        if len(args) > nin:
            if len(args) > nin + self.nout or out is not None:
                raise TypeError(f"{self.name}: too many arguments")
            out, args = (args[nin] if self.nout == 1 else args[nin:]), args[:nin]
        if kwargs:
            self._params.check(self.name, args, kwargs)
        operands = [x._a if type(x) is ndarray else _scalar_operand(x) for x in args]
        if out is not None:
            outs = out if isinstance(out, tuple) else (out,)
            if _builtins.any(type(o) is not ndarray for o in outs):
                raise TypeError(f"output must be a cupy.ndarray, got {[type(o) for o in outs]}")
            kwargs["out"] = tuple(o._a for o in outs) if isinstance(out, tuple) else out._a
        r = _run(self._f, operands, kwargs)
        if out is not None:
            return out
        return _from_numpy(r)

    def at(self, a, indices, b=None):
        if self.name not in _SCATTER:
            raise NotImplementedError(f"`{self.name}.at` is not supported (CuPy scatters add, subtract, "
                                      "maximum, minimum and the bitwise ufuncs only)")
        if type(a) is not ndarray:
            raise _unsupported(a)
        if isinstance(b, _np.ndarray):
            raise _host_refused(b)
        _run(self._f.at, (a._a, _key(indices, a._a.shape)) + (() if b is None else (_to_numpy(b),)), {})

    def _forward(self, method, args, kwargs):
        if not args or type(args[0]) is not ndarray:
            raise _unsupported(args[0] if args else None)
        r = _run(getattr(self._f, method), _to_numpy(args), {k: _to_numpy(v) for k, v in kwargs.items()})
        return _returned(r, kwargs.get("out"))

    def reduce(self, array, axis=0, dtype=None, out=None, keepdims=False):
        return self._forward("reduce", (array,), dict(axis=axis, dtype=dtype, out=out, keepdims=keepdims))

    def accumulate(self, array, axis=0, dtype=None, out=None):
        return self._forward("accumulate", (array,), dict(axis=axis, dtype=dtype, out=out))

    def reduceat(self, array, indices, axis=0, dtype=None, out=None):
        return self._forward("reduceat", (array, indices), dict(axis=axis, dtype=dtype, out=out))

    def outer(self, A, B, **kwargs):
        return self._forward("outer", (A, B), kwargs)


# ---------------------------------------------------------------- functions
# CuPy functions whose first argument is an array take only a device array there (cupy.sum of a
# list or a number fails); these do not: they make arrays from host data or look at any object.
_ANY_FIRST = {"asarray", "asanyarray", "array", "asnumpy", "asfarray", "asarray_chkfinite", "isscalar",
              "iterable", "min_scalar_type", "ndim", "shape", "iscomplexobj", "isrealobj", "from_dlpack",
              "bartlett", "blackman", "hamming", "hanning", "kaiser", "format_float_positional",
              "format_float_scientific", "array2string", "array_repr", "array_str"}
_ARRAY_FIRST_NAMES = {"a", "x", "arr", "ary", "a1", "y", "array", "ar1", "v", "m", "arr1", "ar", "A", "z",
                      "condition", "indices", "M", "dst", "x1"}
_BOOL_RESULT = {"allclose", "array_equal", "array_equiv"}  # CuPy gives 0-d arrays, NumPy Python bools


def _function(name, np_func, params, section="cupy"):
    checker = _Parameters(params if params is not None else ["*args", "**kwargs"])
    array_first = (name not in _ANY_FIRST and len(checker.names) > 0 and checker.names[0] in _ARRAY_FIRST_NAMES
                   and not (params and params[0].startswith("*")))
    where = name if section == "cupy" else f"{section}.{name}"

    def function(*args, **kwargs):
        checker.check(where, args, kwargs)
        if array_first:
            first = args[0] if args else kwargs.get(checker.names[0])
            if type(first) is not ndarray:
                raise _unsupported(first) if not isinstance(first, _np.ndarray) else _host_refused(first)
        r = _run(np_func, _to_numpy(args), {k: _to_numpy(v) for k, v in kwargs.items()})
        if name in _BOOL_RESULT or (name == "count_nonzero" and isinstance(r, int)):
            return _new(_np.asarray(r))
        return _returned(r, kwargs.get("out"))

    function.__name__ = function.__qualname__ = name
    function.__module__ = __name__
    return function


def _host(obj):
    """Host data for asarray/array: device arrays inside lists are read back, as CuPy allows."""
    if type(obj) is ndarray:
        return obj._a
    if type(obj) in (list, tuple):
        return [_host(i) for i in obj]
    return obj


def asarray(a, dtype=None, order=None, *, copy=None, blocking=False):
    """A device array from host data (copied) or a device array (as it is, when the dtype matches)."""
    if type(a) is ndarray and (dtype is None or _np.dtype(dtype) == a.dtype) and not copy:
        return a
    return array(a, dtype=dtype, order=order or "K")


def asanyarray(a, dtype=None, order=None, *, blocking=False):
    """Same as asarray."""
    return asarray(a, dtype=dtype, order=order)


def array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0, *, blocking=False):
    """A new device array; host data is always copied to the device."""
    if type(obj) is ndarray and not copy and (dtype is None or _np.dtype(dtype) == obj.dtype) and ndmin <= obj.ndim:
        return obj
    return _new(_np.array(_host(obj), dtype=dtype, order=order, copy=True, ndmin=ndmin))


def asnumpy(a, stream=None, order="C", out=None, *, blocking=True):
    """A host copy of a device array (host data passes through numpy.asarray)."""
    if type(a) is ndarray:
        return a.get(order=order, out=out)
    return _np.asarray(a, order=order)


def get_array_module(*args):
    """This module for any device array among the arguments, else numpy."""
    return _sys.modules[__name__] if _builtins.any(type(a) is ndarray for a in args) else _np


def is_available():
    """True: the stand-in always "has" a device."""
    return True


def fuse(*args, **kwargs):
    """cupy.fuse: here the function runs unfused."""
    if len(args) == 1 and callable(args[0]) and not kwargs:
        return args[0]
    return lambda f: f


def _axis_size(a, axis):
    return a.size if axis is None else a.shape[axis]


def take(a, indices, axis=None, out=None):
    """Elements at ``indices`` (wrapped modulo the axis length, as CuPy does)."""
    if type(a) is not ndarray:
        raise _unsupported(a)
    idx = _wrap_index(_np.asarray(_to_numpy(indices)), _axis_size(a._a, axis))
    return _returned(_run(_np.take, (a._a, idx, axis), {"out": _to_numpy(out)}), out)


def take_along_axis(a, indices, axis):
    """Elements picked along ``axis`` (indices wrapped, as CuPy does)."""
    if type(a) is not ndarray or type(indices) is not ndarray:
        raise _unsupported(a if type(a) is not ndarray else indices)
    idx = _wrap_index(indices._a, _axis_size(a._a, axis))
    return _from_numpy(_np.take_along_axis(a._a, idx, axis))


def put_along_axis(arr, indices, values, axis):
    """Write ``values`` along ``axis`` (indices wrapped, as CuPy does)."""
    if type(arr) is not ndarray or type(indices) is not ndarray:
        raise _unsupported(arr if type(arr) is not ndarray else indices)
    _np.put_along_axis(arr._a, _wrap_index(indices._a, _axis_size(arr._a, axis)), _to_numpy(values), axis)


def put(a, ind, v, mode="wrap"):
    """Write ``v`` at the flat indices ``ind`` (wrapped)."""
    if type(a) is not ndarray:
        raise _unsupported(a)
    _np.put(a._a, _wrap_index(_np.asarray(_to_numpy(ind)), a.size), _to_numpy(v), mode="wrap")


_HANDWRITTEN = {"asarray", "asanyarray", "array", "asnumpy", "get_array_module", "is_available", "fuse", "take",
                "take_along_axis", "put_along_axis", "put", "ndarray", "ufunc"}
_SUBMODULES = {"random", "linalg", "lib", "cuda"}


def _build_top_level():
    """Every CuPy name NumPy also has, wrapped; CuPy-only names are written above or left out."""
    made = {}
    for name, (kind, params) in _NAMESPACE["cupy"].items():
        if name in _HANDWRITTEN or name in _SUBMODULES or not hasattr(_np, name):
            continue
        obj = getattr(_np, name)
        if kind == "ufunc" and isinstance(obj, _np.ufunc):
            made[name] = ufunc(name, obj, _parameters("cupy", name))
        elif kind in ("func", "ufunc"):  # fix, i0, sinc: ufuncs in CuPy, functions in NumPy
            made[name] = _function(name, obj, params)
        elif kind == "type" and name not in ("flatiter", "broadcast", "vectorize", "poly1d"):
            made[name] = obj  # dtypes (cupy.float32 is numpy.float32), finfo, iinfo, ndindex
        elif kind == "const" and name in ("e", "pi", "inf", "nan", "newaxis", "euler_gamma", "s_", "index_exp"):
            made[name] = obj
    return made


globals().update(_build_top_level())

_OPERATORS = {"add": "add", "sub": "subtract", "mul": "multiply", "truediv": "true_divide",
              "floordiv": "floor_divide", "mod": "remainder", "pow": "power", "and": "bitwise_and",
              "or": "bitwise_or", "xor": "bitwise_xor", "lshift": "left_shift", "rshift": "right_shift"}
_COMPARISONS = {"lt": "less", "le": "less_equal", "gt": "greater", "ge": "greater_equal", "eq": "equal",
                "ne": "not_equal"}


def _operator(fn, kind):
    def forward(self, other):
        if _should_use_rop(self, other):
            return NotImplemented
        return fn(self, other)

    def reflected(self, other):
        return fn(other, self)

    def inplace(self, other):
        fn(self, other, out=self)
        return self

    def compare(self, other):
        if _should_use_rop(self, other):
            return NotImplemented
        try:
            return fn(self, other)
        except TypeError:
            return NotImplemented

    return {"forward": forward, "reflected": reflected, "inplace": inplace, "compare": compare}[kind]


for _op, _ufunc_name in _OPERATORS.items():
    setattr(ndarray, f"__{_op}__", _operator(globals()[_ufunc_name], "forward"))
    setattr(ndarray, f"__r{_op}__", _operator(globals()[_ufunc_name], "reflected"))
    setattr(ndarray, f"__i{_op}__", _operator(globals()[_ufunc_name], "inplace"))
for _op, _ufunc_name in _COMPARISONS.items():
    setattr(ndarray, f"__{_op}__", _operator(globals()[_ufunc_name], "compare"))
ndarray.__matmul__ = _operator(globals()["matmul"], "forward")
ndarray.__rmatmul__ = _operator(globals()["matmul"], "reflected")
ndarray.__divmod__ = _operator(globals()["divmod"], "forward")
ndarray.__rdivmod__ = _operator(globals()["divmod"], "reflected")
ndarray.__neg__ = lambda self: negative(self)  # noqa: F821 (made above)
ndarray.__pos__ = lambda self: positive(self)  # noqa: F821
ndarray.__abs__ = lambda self: absolute(self)  # noqa: F821
ndarray.__invert__ = lambda self: invert(self)  # noqa: F821


def _submodule(name, section, np_owner, names=None):
    module = _types.ModuleType(f"{__name__}.{name}")
    for fname, (kind, params) in _NAMESPACE[section].items():
        if names is not None and fname not in names:
            continue
        if kind == "func" and hasattr(np_owner, fname):
            setattr(module, fname, _function(fname, getattr(np_owner, fname), params, section))
    return module


linalg = _submodule("linalg", "linalg", _np.linalg)
linalg.LinAlgError = _np.linalg.LinAlgError
linalg.matmul = globals()["matmul"]

lib = _types.ModuleType(f"{__name__}.lib")
lib.stride_tricks = _types.ModuleType(f"{__name__}.lib.stride_tricks")


def _as_strided(x, shape=None, strides=None):
    """A view with the given shape and strides (CuPy's has no writeable= flag)."""
    if type(x) is not ndarray:
        raise _unsupported(x)
    return _new(_np.lib.stride_tricks.as_strided(x._a, shape, strides))


lib.stride_tricks.as_strided = _as_strided
lib.stride_tricks.sliding_window_view = _function(
    "sliding_window_view", _np.lib.stride_tricks.sliding_window_view,
    _NAMESPACE["lib.stride_tricks"]["sliding_window_view"][1], "lib.stride_tricks")


# ---------------------------------------------------------------- random numbers
random = _types.ModuleType(f"{__name__}.random")


class _BitGenerator:
    """A CuPy bit generator; inside, a NumPy bit generator of another kind than default_rng's PCG64."""

    _numpy_kind = None

    def __init__(self, seed=None, size=1000 * 256):
        self._numpy = self._numpy_kind(_np.random.SeedSequence(seed))


random.BitGenerator = _BitGenerator
random.XORWOW = type("XORWOW", (_BitGenerator,), {"_numpy_kind": _np.random.SFC64})
random.MRG32k3a = type("MRG32k3a", (_BitGenerator,), {"_numpy_kind": _np.random.MT19937})
random.Philox4x3210 = type("Philox4x3210", (_BitGenerator,), {"_numpy_kind": _np.random.Philox})


def _float_dtype(dtype):
    dtype = _np.dtype(dtype)
    if dtype not in (_np.float32, _np.float64):
        raise TypeError(f"cupy.random: dtype must be float32 or float64, got {dtype}")
    return dtype


class Generator:
    """CuPy's Generator: only the methods CuPy has (no normal, choice, permutation, shuffle, bit_generator)."""

    def __init__(self, bit_generator):
        if not isinstance(bit_generator, _BitGenerator):
            raise TypeError(f"Generator needs a cupy.random.BitGenerator, got {type(bit_generator)}")
        self._rng = _np.random.Generator(bit_generator._numpy)

    def random(self, size=None, dtype=_np.float64, out=None):
        return _fill(self._rng.random(size, dtype=_float_dtype(dtype)), out)

    def standard_normal(self, size=None, dtype=_np.float64, out=None):
        return _fill(self._rng.standard_normal(size, dtype=_float_dtype(dtype)), out)

    def standard_exponential(self, size=None, dtype=_np.float64, method="inv", out=None):
        return _fill(self._rng.standard_exponential(size, dtype=_float_dtype(dtype), method="inv"), out)

    def standard_gamma(self, shape, size=None, dtype=_np.float64, out=None):
        return _fill(self._rng.standard_gamma(_to_numpy(shape), size, dtype=_float_dtype(dtype)), out)

    def uniform(self, low=0.0, high=1.0, size=None, dtype=_np.float64):
        return _fill(self._rng.uniform(_to_numpy(low), _to_numpy(high), size).astype(_float_dtype(dtype)), None)

    def integers(self, low, high=None, size=None, dtype=_np.int64, endpoint=False):
        return _fill(self._rng.integers(_to_numpy(low), _to_numpy(high), size, dtype=dtype, endpoint=endpoint), None)

    def beta(self, a, b, size=None, dtype=_np.float64):
        return _fill(self._rng.beta(_to_numpy(a), _to_numpy(b), size).astype(_float_dtype(dtype)), None)


def _fill(values, out):
    if out is None:
        return _new(_np.asarray(values))
    if type(out) is not ndarray:
        raise _unsupported(out)
    out._a[...] = values
    return out


def _generator_method(name, params):
    checker = _Parameters(params)

    def method(self, *args, **kwargs):
        checker.check(f"Generator.{name}", args, kwargs)
        return _fill(getattr(self._rng, name)(*_to_numpy(args), **{k: _to_numpy(v) for k, v in kwargs.items()}), None)

    method.__name__ = name
    return method


for _name, (_kind, _params) in _NAMESPACE["random.Generator"].items():
    if not hasattr(Generator, _name):
        setattr(Generator, _name, _generator_method(_name, _params))
    else:
        _checker = _Parameters(_params)
        _original = getattr(Generator, _name)

        def _checked(self, *args, _original=_original, _checker=_checker, _name=_name, **kwargs):
            _checker.check(f"Generator.{_name}", args, kwargs)
            return _original(self, *args, **kwargs)

        _checked.__name__ = _name
        setattr(Generator, _name, _checked)


def _default_rng(seed=None):
    """A Generator on XORWOW, or the Generator/BitGenerator passed in."""
    if isinstance(seed, random.Generator):
        return seed
    if isinstance(seed, _BitGenerator):
        return random.Generator(seed)
    return random.Generator(random.XORWOW(seed))


random.Generator = Generator
random.default_rng = _default_rng
del Generator


# ---------------------------------------------------------------- cuda: one pretend device
cuda = _types.ModuleType(f"{__name__}.cuda")


class _Device:
    def __init__(self, device=None):
        self.id = 0 if device is None else int(device)
        if self.id != 0:
            raise RuntimeError(f"strict stand-in: only device 0 exists, not {self.id}")
        self.compute_capability = "90"

    def use(self):
        pass

    def synchronize(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __eq__(self, other):
        return isinstance(other, _Device) and other.id == self.id

    def __hash__(self):
        return hash(self.id)

    def __repr__(self):
        return f"<CUDA Device {self.id}>"


class _Stream:
    null = None

    def synchronize(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class _Event:
    def __init__(self, *args, **kwargs):
        self._time = None

    def record(self, stream=None):
        self._time = _time.perf_counter()

    def synchronize(self):
        pass


class _MemoryPointer:
    def __init__(self, ptr):
        self.ptr = ptr


class _MemoryPool:
    def used_bytes(self):
        return 0

    def total_bytes(self):
        return 0

    def free_all_blocks(self, stream=None):
        pass

    def set_limit(self, size=None, fraction=None):
        pass


_Stream.null = _Stream()
_POOL = _MemoryPool()
cuda.Device = _Device
cuda.Stream = _Stream
cuda.Event = _Event
cuda.MemoryPointer = _MemoryPointer
cuda.MemoryPool = _MemoryPool
cuda.get_current_stream = lambda device=None: _Stream.null
cuda.get_elapsed_time = lambda start, end: (end._time - start._time) * 1000.0
cuda.is_available = lambda: True
cuda.runtime = _types.ModuleType(f"{__name__}.cuda.runtime")
cuda.runtime.getDeviceCount = lambda: 1
cuda.runtime.getDevice = lambda: 0
cuda.runtime.deviceSynchronize = lambda: None
cuda.runtime.getDeviceProperties = lambda device: {"name": b"strict CuPy stand-in (no GPU)", "totalGlobalMem": 0}
get_default_memory_pool = lambda: _POOL  # noqa: E731
get_default_pinned_memory_pool = lambda: _POOL  # noqa: E731

del _name, _kind, _params, _op, _ufunc_name


# ---------------------------------------------------------------- python tests/strict_cupy.py SCRIPT ARGS
def _main(argv):
    """Run a script with this stand-in as CuPy: ``python tests/strict_cupy.py demos/vae.py --device cuda``."""
    import runpy

    if not argv:
        raise SystemExit("usage: python tests/strict_cupy.py SCRIPT [ARGS...]")
    _os.environ["TINYGEN_CUPY_MODULE"] = "strict_cupy"
    paths = [str(_HERE)] + [p for p in _os.environ.get("PYTHONPATH", "").split(_os.pathsep) if p]
    _os.environ["PYTHONPATH"] = _os.pathsep.join(paths)  # for the processes the script starts
    script = _pathlib.Path(argv[0]).resolve()
    _sys.path[:1] = [str(script.parent), str(_HERE)]  # as `python SCRIPT` would, plus this folder
    _sys.argv = [str(script)] + list(argv[1:])
    runpy.run_path(str(script), run_name="__main__")


if __name__ == "__main__":
    _main(_sys.argv[1:])

"""Write strict_cupy_namespace.txt: CuPy's public names and their parameters, read from a real CuPy.

The strict stand-in (tests/strict_cupy.py) exposes exactly these names, with these parameters. No GPU
is needed: CuPy imports without one once its CUDA library finder is stubbed. In a scratch folder:

    pip download cupy-cuda12x --no-deps && pip install --target cupyinst --no-deps cupy_cuda12x-*.whl fastrlock
    mkdir -p stub/cuda/pathfinder && touch stub/cuda/__init__.py
    printf 'class DynamicLibNotFoundError(Exception): pass\\ndef __getattr__(name):\\n    def f(*a, **k): return None\\n    return f\\n' \\
        > stub/cuda/pathfinder/__init__.py
    PYTHONPATH=cupyinst:stub python tests/strict_cupy_namespace.py > tests/strict_cupy_namespace.txt

Not a test (pytest collects test_*.py only) and never imported by the suite.
"""

import ast
import inspect
import re
import types

import cupy
import cupy.lib.stride_tricks
import cupy.linalg
import cupy.random

# Cython functions whose docstrings carry no signature line: written from their documentation
BY_HAND = {
    "cupy": {"size": "a, axis=", "dot": "a, b, out=", "partition": "a, kth, axis=", "sort": "a, axis=, kind=",
             "swapaxes": "a, axis1, axis2"},
    "ndarray": {"dot": "b, out=", "partition": "kth, axis=", "sort": "axis=, kind=", "swapaxes": "axis1, axis2"},
}
SKIP = {"make_aligned_dtype", "memoize"}  # decorators and helpers with no NumPy counterpart


def from_text(text):
    """Parameters from a signature's text, e.g. "a, axis=None, *, out=None" -> [a, axis=, *, out=]."""
    fn = ast.parse(f"def f({text.replace(chr(92) + '*', '*')}): pass").body[0].args
    positional = fn.posonlyargs + fn.args
    defaults = [None] * (len(positional) - len(fn.defaults)) + list(fn.defaults)
    out = []
    for i, a in enumerate(positional):
        out.append(a.arg + ("=" if defaults[i] is not None else ""))
        if fn.posonlyargs and i == len(fn.posonlyargs) - 1:
            out.append("/")
    if fn.vararg:
        out.append("*" + fn.vararg.arg)
    elif fn.kwonlyargs:
        out.append("*")
    out += [a.arg + ("=" if d is not None else "") for a, d in zip(fn.kwonlyargs, fn.kw_defaults)]
    if fn.kwarg:
        out.append("**" + fn.kwarg.arg)
    return out


def parameters(obj):
    try:
        text = str(inspect.signature(obj))[1:].rsplit(")", 1)[0]
        text = re.sub(r":\s*'[^']*'", "", text)  # string annotations
    except (ValueError, TypeError):
        first = (obj.__doc__ or "").strip().split("\n")[0]
        if "(" not in first:
            return None
        text = first[first.index("(") + 1 : first.rindex(")")]
        text = re.sub(r"\b(?:_ndarray_base|int|Py_ssize_t|bint|object)\s+(?=\w)", "", text)  # Cython types
    for _ in range(2):  # optional groups in ufunc docs: "x1, x2[, out1, out2], / [, out=(None, None)]"
        text = re.sub(r"\[[^\[\]]*\]", "", text)
    text = re.sub(r"=\s*<[^>]*>", "=None", text)  # defaults shown as <class 'float'>
    try:
        found = from_text(text.replace("/ ,", "/,"))
    except SyntaxError:
        return None
    return found[1:] if found and found[0] == "self" else found


def kind(obj):
    if isinstance(obj, cupy.ufunc):
        return "ufunc"
    if isinstance(obj, types.ModuleType):
        return "module"
    if isinstance(obj, type):
        return "type"
    return "func" if callable(obj) else "const"


def section(title, owner, names, attrs_are_plain=False):
    print(f"[{title}]")
    for name in names:
        if name in SKIP:
            continue
        obj = getattr(owner, name)
        k = kind(obj)
        if attrs_are_plain and k not in ("func", "ufunc"):
            print(f"{name} attr")
            continue
        if k not in ("func", "ufunc"):
            print(f"{name} {k}")
            continue
        hand = BY_HAND.get(title, {}).get(name)
        found = hand.split(", ") if hand else parameters(obj)
        if found is None:
            found = ["*args", "**kwargs"]
        print(f"{name} {k} {', '.join(found)}".rstrip())


def public(obj):
    return sorted(n for n in dir(obj) if not n.startswith("_"))


if __name__ == "__main__":
    print(f"# CuPy {cupy.__version__}'s public names and parameters, written by tests/strict_cupy_namespace.py.")
    print("# NAME KIND [PARAMETERS]; a parameter written 'x=' has a default. Read by tests/strict_cupy.py.")
    section("cupy", cupy, public(cupy))
    section("ndarray", cupy.ndarray, public(cupy.ndarray) + ["__array__", "__format__"], attrs_are_plain=True)
    section("ufunc", cupy.ufunc, public(cupy.ufunc), attrs_are_plain=True)
    section("random", cupy.random, public(cupy.random) + ["Generator"])
    section("random.Generator", cupy.random.Generator, public(cupy.random.Generator))
    section("linalg", cupy.linalg, public(cupy.linalg))
    section("lib.stride_tricks", cupy.lib.stride_tricks, public(cupy.lib.stride_tricks))
    section("flags", cupy._core.flags.Flags, public(cupy._core.flags.Flags), attrs_are_plain=True)

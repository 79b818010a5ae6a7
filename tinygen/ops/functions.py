"""More elementwise functions: sin, cos, log1p, expm1, erf; each forward beside its derivative.

They sit outside ``elementwise.py`` only to keep the reading core short; they are written the
same way. ``log1p`` and ``expm1`` are the accurate forms of log(1 + x) and e^x - 1 for small x
(1 + 1e-10 rounds the 1e-10 away in float32). ``erf`` is the error function, which exact GELU
needs; NumPy and CuPy have no erf of their own, so it is computed here from W. J. Cody's
rational approximations (Math. Comp. 23, 1969; the ones behind C's erf), accurate to about
1e-16 in float64, with array operations only, so it runs the same on NumPy and CuPy.
"""

import math

from .. import backend
from ..autograd import Function


class Sin(Function):
    """sin x."""

    def forward(self, x):
        return backend.array_module(x).sin(x)

    def backward(self, g):  # d sin x / dx = cos x
        return g * cos(self.inputs[0])


class Cos(Function):
    """cos x."""

    def forward(self, x):
        return backend.array_module(x).cos(x)

    def backward(self, g):  # d cos x / dx = -sin x
        return -g * sin(self.inputs[0])


class Log1p(Function):
    """log(1 + x), accurate for small x."""

    def forward(self, x):
        return backend.array_module(x).log1p(x)

    def backward(self, g):  # d log(1 + x) / dx = 1 / (1 + x)
        return g / (self.inputs[0] + 1.0)


class Expm1(Function):
    """e^x - 1, accurate for small x."""

    uses_inputs = False
    uses_output = True

    def forward(self, x):
        return backend.array_module(x).expm1(x)

    def backward(self, g):  # d (e^x - 1) / dx = e^x = output + 1
        return g * (self.output + 1.0)


class Erf(Function):
    """erf x = 2/sqrt(pi) * integral_0^x e^(-t^2) dt."""

    def forward(self, x):
        return erf_array(x)

    def backward(self, g):  # d erf x / dx = 2/sqrt(pi) e^(-x^2)
        x = self.inputs[0]
        return g * (-(x * x)).exp() * (2.0 / math.sqrt(math.pi))


# ---------------------------------------------------------------- erf on arrays (Cody, 1969)
_A = (3.16112374387056560e0, 1.13864154151050156e2, 3.77485237685302021e2, 3.20937758913846947e3,
      1.85777706184603153e-1)
_B = (2.36012909523441209e1, 2.44024637934444173e2, 1.28261652607737228e3, 2.84423683343917062e3)
_C = (5.64188496988670089e-1, 8.88314979438837594e0, 6.61191906371416295e1, 2.98635138197400131e2,
      8.81952221241769090e2, 1.71204761263407058e3, 2.05107837782607147e3, 1.23033935479799725e3,
      2.15311535474403846e-8)
_D = (1.57449261107098347e1, 1.17693950891312499e2, 5.37181101862009858e2, 1.62138957456669019e3,
      3.29079923573345963e3, 4.36261909014324716e3, 3.43936767414372164e3, 1.23033935480374942e3)
_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1, 1.60837851487422766e-2,
      6.58749161529837803e-4, 1.63153871373020978e-2)
_Q = (2.56852019228982242e0, 1.87295284992346047e0, 5.27905102951428412e-1, 6.05183413124413191e-2,
      2.33520497626869185e-3)


def _ratio(t, num, den, n):
    """Cody's rational function in t: (((num[-1] t + num[0]) t + ...) + num[n]) / ((t + den[0]) t + ... + den[n])."""
    top, bottom = num[-1] * t, t
    for i in range(n):
        top, bottom = (top + num[i]) * t, (bottom + den[i]) * t
    return (top + num[n]) / (bottom + den[n])


def erf_array(x):
    """erf of a floating array, elementwise, in its dtype: three ranges of |x|, one rational function each.

    |x| <= 0.46875:     erf x  = x R1(x^2)
    0.46875 < |x| <= 4: erfc |x| = e^(-x^2) R2(|x|)
    |x| > 4:            erfc |x| = e^(-x^2) / |x| (1/sqrt(pi) - R3(1/x^2) / x^2)
    and erf x = sign(x) (1 - erfc |x|). Every range is computed everywhere and the right one
    picked with ``where`` (no Python loop over elements); the other ranges' values are discarded.
    """
    xp = backend.array_module(x)
    y = xp.abs(x)
    with backend.errstate(divide="ignore", over="ignore", invalid="ignore"):  # the discarded ranges may overflow
        small = x * _ratio(x * x, _A, _B, 3)
        middle = xp.exp(-y * y) * _ratio(y, _C, _D, 7)
        z = 1.0 / (y * y)
        large = xp.exp(-y * y) / y * (0.5641895835477563 - z * _ratio(z, _P, _Q, 4))
        erfc = xp.where(y <= 4.0, middle, large)
    return xp.where(y <= 0.46875, small, xp.sign(x) * (1.0 - erfc)).astype(x.dtype, copy=False)


# ---------------------------------------------------------------- the functions
def sin(x):
    """The sine, elementwise (radians)."""
    return Sin.apply(x)


def cos(x):
    """The cosine, elementwise (radians)."""
    return Cos.apply(x)


def log1p(x):
    """log(1 + x), elementwise, exact for small x."""
    return Log1p.apply(x)


def expm1(x):
    """e^x - 1, elementwise, exact for small x."""
    return Expm1.apply(x)


def erf(x):
    """The error function, elementwise: erf(x) = 2/sqrt(pi) * integral from 0 to x of e^(-t^2) dt."""
    return Erf.apply(x)

"""Anomaly mode: find the op that first made a NaN or an Inf, and the line of your code that ran it.

    with tg.detect_anomaly():
        loss = model(x).mean()
        loss.backward()          # AnomalyError: Log produced nan in its forward output; ...

While it is on, the engine (tinygen/autograd.py) checks every op's result and every gradient
it passes back, and each op remembers the line of user code that created it.
"""

import contextlib
import os
import traceback

from . import backend

_enabled = False
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


class AnomalyError(FloatingPointError):
    """Raised under ``detect_anomaly`` when an op first produces NaN or Inf."""


def is_enabled():
    """True inside ``detect_anomaly()``."""
    return _enabled


@contextlib.contextmanager
def detect_anomaly():
    """Check every op's forward output and backward gradients for NaN/Inf.

    Slow (each check synchronises with the device), so only for hunting a bug: the error
    names the op and the line of user code that created it. NumPy's own divide/invalid
    warnings are silenced inside, so the error that names the op is the one you see.
    """
    global _enabled
    previous, _enabled = _enabled, True
    try:
        with backend.errstate(divide="ignore", invalid="ignore", over="ignore"):
            yield
    finally:
        _enabled = previous


def user_frame():
    """The innermost stack frame outside tinygen itself: where the user called the op."""
    for frame in reversed(traceback.extract_stack()):
        if not os.path.abspath(frame.filename).startswith(_PACKAGE_DIR):
            return f"{frame.filename}:{frame.lineno} in {frame.name}"
    return "<unknown>"


def _created_at(fn):
    return getattr(fn, "created_at", "<unknown: the op ran before detect_anomaly was switched on>")


def check_forward(fn, array):
    """Remember where ``fn`` was created, then check its result."""
    fn.created_at = user_frame()
    check_finite(array, "forward output", fn)


def check_finite(array, what, fn):
    """Raise AnomalyError naming ``fn`` if ``array`` holds a NaN or an Inf."""
    xp = backend.array_module(array)
    if not bool(xp.isfinite(array).all()):
        kind = "nan" if bool(xp.isnan(array).any()) else "inf"
        raise AnomalyError(
            f"{type(fn).__name__} produced {kind} in its {what} (shape {tuple(array.shape)}); "
            f"the op was created at {_created_at(fn)}"
        )


def checked_backward(fn, g):
    """fn.backward(g), blaming fn when an op inside its backward makes NaN/Inf (sqrt'(0) = inf)."""
    try:
        return fn.backward(g)
    except AnomalyError as e:
        raise AnomalyError(
            f"{type(fn).__name__} backward produced a non-finite gradient (the op was created at "
            f"{_created_at(fn)}): inside it, {e}"
        ) from None

"""Grad mode: one switch that says whether ops record the graph.

Training records every op so that ``loss.backward()`` can walk back through them; evaluation,
sampling and the optimiser's own update do not need a graph, and recording one would only
keep memory alive. ``with tg.no_grad():`` turns recording off, ``tg.enable_grad()`` back on.
"""

import functools

_enabled = True


def is_grad_enabled():
    """True while ops record the graph (the default)."""
    return _enabled


class set_grad_enabled:
    """Record graphs (True) or not (False): at once when called, until the end of a ``with``."""

    def __init__(self, mode):
        global _enabled
        self.previous, _enabled = _enabled, bool(mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        global _enabled
        _enabled = self.previous


class no_grad:
    """``with tg.no_grad():`` (or ``@tg.no_grad()``): ops inside record no graph."""

    mode = False

    def __enter__(self):
        global _enabled
        self.previous, _enabled = _enabled, self.mode

    def __exit__(self, *exc):
        global _enabled
        _enabled = self.previous

    def __call__(self, func):
        # a fresh context per call: one shared instance would lose the outer mode on recursion
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with type(self)():
                return func(*args, **kwargs)

        return wrapper


class enable_grad(no_grad):
    """Switch recording back on inside a ``no_grad`` block."""

    mode = True

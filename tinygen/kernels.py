"""The switch between tinygen's two tiers: the reading path and the fast kernels.

Everything you read in ``tinygen/ops``, ``nn`` and ``optim`` is the *reading path*: each op in
its textbook form. A few of those functions have a measured, harder-to-read drop-in in
``tinygen/fast/`` (scratch buffers, fused passes, channels-last convolution). A reading-path
function marked ``@replaceable`` runs its fast drop-in while fast kernels are on (the
default), and itself when they are off:

    tg.use_fast_kernels(False)            # from here on, only the reading path runs
    with tg.use_fast_kernels(False): ...  # just inside the block
    TINYGEN_FAST_KERNELS=0 python ...     # the whole process

Each fast kernel is tested equal to the function it replaces (tests/test_fast_kernels.py), so
switching changes the speed and, at most, the last bits of rounding.
"""

import functools
import os

_enabled = os.environ.get("TINYGEN_FAST_KERNELS", "1") != "0"
_fast = {}  # name of a reading-path function -> the fast drop-in registered for it


def replaceable(reading_fn):
    """Mark a reading-path function as one that a fast kernel may stand in for."""
    name = f"{reading_fn.__module__}.{reading_fn.__qualname__}"

    @functools.wraps(reading_fn)
    def dispatch(*args, **kwargs):
        fast = _fast.get(name) if _enabled else None
        return (fast or reading_fn)(*args, **kwargs)

    dispatch.reading = reading_fn  # the plain version, callable directly (tests compare the two)
    dispatch.kernel_name = name
    return dispatch


def fast_kernel(replaces):
    """Register the decorated function as the fast drop-in for ``replaces`` (a @replaceable)."""

    def register(fast_fn):
        _fast[replaces.kernel_name] = fast_fn
        fast_fn.replaces = replaces
        return fast_fn

    return register


class use_fast_kernels:
    """Turn the fast tier on (True) or off (False): at once, or until the end of a ``with``."""

    def __init__(self, enabled=True):
        global _enabled
        self.previous, _enabled = _enabled, bool(enabled)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        global _enabled
        _enabled = self.previous


def fast_kernels_enabled():
    """True while registered fast kernels stand in for their reading-path functions."""
    return _enabled


def registered():
    """{reading-path function name: fast drop-in} for every fast kernel."""
    return dict(_fast)

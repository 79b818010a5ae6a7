"""Addition of two large arrays, shared out over the cores: a drop-in for ``ops.elementwise.add``.

It differs from the reading path only after ``split_over_cores()`` (parallel.py). NumPy adds on
one core, and the additions of the MNIST UNet step (its residual connections, and in backward the
sums of the gradients of every tensor used twice) took 20 ms of its 520 at two threads, on the
calling thread while the other core waited. Two tensors of one dtype and device, one larger than
a chunk and the other of its shape or broadcast over all but the batch axis, are added chunk by
chunk over the cores (``parallel.in_chunks``): the step
490.0 -> 484.7 ms (steps alternated in one process, two threads, 2026-12-07). Everything else
(broadcasting, Python numbers, small arrays, one thread, a GPU) takes the reading path. A sum of
two floats is the same whoever computes it: the same bits either way.
"""

from .. import backend, kernels
from ..ops import elementwise as reading
from ..tensor import Tensor
from . import parallel


class SplitAdd(reading.Add):
    """The reading path's Add (backward: g, g; the engine sums a broadcast input's back) with its
    forward shared out over the cores."""

    def forward(self, a, b):
        """Arrays a, b, one of them of the result's shape -> a + b, in the memory order NumPy would give it."""
        return parallel.in_chunks(_add, *_full_first(a, b))  # a + b = b + a, bit for bit


def _add(a, b, out):
    backend.array_module(a).add(a, b, out=out)


@kernels.fast_kernel(reading.add)
def add(a, b):
    """a + b: over the cores after split_over_cores() when ``_splittable``; else the reading path's add."""
    if (parallel.threads() > 1 and isinstance(a, Tensor) and isinstance(b, Tensor)
            and parallel.threads_for(a.array) > 1 and _splittable(a, b)):  # threads_for: 1 for a GPU's array
        return SplitAdd.apply(a, b)
    return reading.add.reading(a, b)


def _splittable(a, b):
    """One dtype and device, one operand larger than a chunk, and the other of its shape or broadcast
    along any axis but the batch's (a time embedding (B, C, 1, 1) added to (B, C, H, W))."""
    big, small = _full_first(a.array, b.array)
    return (a.dtype == b.dtype and a.device == b.device and big.ndim == small.ndim >= 1
            and big.shape[0] == small.shape[0] and all(m in (1, n) for m, n in zip(small.shape, big.shape))
            and big.nbytes > parallel.CHUNK_BYTES)


def _full_first(a, b):
    """(a, b) or (b, a): the array with more values first (of the sum's shape when the other broadcasts)."""
    return (a, b) if a.size >= b.size else (b, a)

"""Addition of two large arrays, shared out over the cores: a drop-in for ``ops.elementwise.add``.

It differs from the reading path only after ``split_over_cores()`` (parallel.py). NumPy adds on
one core, and the additions of the MNIST UNet step (its residual connections, and in backward the
sums of the gradients of every tensor used twice) took 20 ms of its 520 at two threads, on the
calling thread while the other core waited. Two tensors of one shape, dtype and device, larger
than one chunk, are added chunk by chunk over the cores (``parallel.in_chunks``): the step
490.0 -> 484.7 ms (steps alternated in one process, two threads, 2026-12-07). Everything else
(broadcasting, Python numbers, small arrays, one thread, a GPU) takes the reading path. A sum of
two floats is the same whoever computes it: the same bits either way.
"""

from .. import backend, kernels
from ..ops import elementwise as reading
from ..tensor import Tensor
from . import parallel


class SplitAdd(reading.Add):
    """The reading path's Add (backward: g, g) with its forward shared out over the cores."""

    def forward(self, a, b):
        """Arrays a, b of one shape -> a + b, in the memory order NumPy would give it."""
        return parallel.in_chunks(_add, a, b)


def _add(a, b, out):
    backend.array_module(a).add(a, b, out=out)


@kernels.fast_kernel(reading.add)
def add(a, b):
    """a + b: over the cores for two large tensors of one shape; else the reading path's add."""
    if (parallel.threads() > 1 and isinstance(a, Tensor) and isinstance(b, Tensor) and a.shape == b.shape
            and a.dtype == b.dtype and a.device == b.device and a.array.nbytes > parallel.CHUNK_BYTES):
        return SplitAdd.apply(a, b)
    return reading.add.reading(a, b)

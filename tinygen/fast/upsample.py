"""Nearest upsampling by whole factors, shared out over the cores: a drop-in for ``ops.pool.repeat_pixels``.

It differs from the reading path only after ``split_over_cores()`` (parallel.py). The reading path
repeats each pixel as a broadcast view and copies it into a new NCHW array (a reshape), and its
backward sums each block back (a broadcast sum): in the MNIST UNet step at two threads, 7.4 ms of
copies and 3.9 ms of sums, on the calling thread. Here both are split over the cores by slices of
the batch, and the result lies channels-last, like a convolution's output here, so that the
convolution after it copies runs of channels into its columns: the whole step 514.0 -> 508.1 ms
(steps alternated in one process, two threads, 2026-12-07). On one thread, or a GPU, the reading
path runs, and with it the memory order (which steers the order of later sums: the bits of
one-thread runs).
"""

from .. import backend, grad_mode, kernels
from ..autograd import Function
from ..ops import pool as reading
from ..tensor import Tensor
from . import parallel


class RepeatPixels(Function):
    """y[b, c, i, j] = x[b, c, i // sh, j // sw], with ``factors`` = (sh, sw)."""

    uses_inputs = False

    def forward(self, x):
        """Array x (B, C, H, W) -> (B, C, H*sh, W*sw), an NCHW view of channels-last memory."""
        B, C, H, W = x.shape
        sh, sw = self.factors
        xp = backend.array_module(x)
        blocks = xp.empty((B, H, sh, W, sw, C), dtype=x.dtype)
        pixels = x.transpose(0, 2, 3, 1)[:, :, None, :, None, :]  # (B, H, 1, W, 1, C)

        def repeat(s):
            blocks[s] = pixels[s]  # broadcast over each block

        parallel.split_map(repeat, parallel.even_slices(B, blocks.nbytes, x), x)
        return blocks.reshape(B, H * sh, W * sw, C).transpose(0, 3, 1, 2)

    def backward(self, g):
        """g (B, C, H*sh, W*sw) -> the sum of each sh x sw block, (B, C, H, W)."""
        B, C, H2, W2 = g.shape
        sh, sw = self.factors
        if grad_mode.is_grad_enabled():  # create_graph: the reading path's sum, in differentiable ops
            return g.reshape(B, C, H2 // sh, sh, W2 // sw, sw).sum((3, 5))
        a = g.array
        xp = backend.array_module(a)
        nhwc = a.transpose(0, 2, 3, 1)  # strided reads below: no copy, whatever g's memory order
        out = xp.empty((B, H2 // sh, W2 // sw, C), dtype=a.dtype)

        def block_sums(s):
            total = out[s]
            xp.copyto(total, nhwc[s, 0::sh, 0::sw])
            for i in range(sh):
                for j in range(sw):
                    if i or j:
                        total += nhwc[s, i::sh, j::sw]

        parallel.split_map(block_sums, parallel.even_slices(B, a.nbytes, a), a)
        return Tensor.wrap(out.transpose(0, 3, 1, 2))


@kernels.fast_kernel(reading.repeat_pixels)
def repeat_pixels(x, sh, sw):
    """Nearest upsampling by (sh, sw), over the cores after split_over_cores(); else the reading path."""
    if parallel.threads_for(x.array) == 1:
        return reading.repeat_pixels.reading(x, sh, sw)
    return RepeatPixels.apply(x, factors=(int(sh), int(sw)))

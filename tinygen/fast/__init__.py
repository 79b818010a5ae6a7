"""The fast tier: measured speed-ups, each a drop-in for one reading-path function.

Importing this package registers every fast kernel with ``tinygen.kernels`` (``import tinygen``
does it); ``tg.use_fast_kernels(False)`` or ``TINYGEN_FAST_KERNELS=0`` sets them all aside.

    kernel                     replaces (reading path)            file
    channels-last conv         ops.conv.convolve                  conv.py
    channels-last conv^T       ops.conv.convolve_transpose        conv.py
    one-op GroupNorm           nn.norm.normalize_groups           norm.py
    one-op BatchNorm (train)   nn.norm.normalize_batch            norm.py
    one-op SiLU                ops.activation.silu                activation.py
    max-form LeakyReLU         ops.activation.leaky_relu          activation.py
    one-op dense layer         ops.linalg.affine                  linalg.py
    blocked in-place Adam      optim.adam.adam_step               adam.py
    one-op Bernoulli log p     distributions.bernoulli_log_prob   distributions.py
    addition over the cores    ops.elementwise.add                elementwise.py
    upsampling over the cores  ops.pool.repeat_pixels             upsample.py

``keep_freed_memory()`` (memory.py) is a process setting, not a kernel: it changes how glibc's
malloc behaves for the whole process, so tinygen never calls it on import; the demos and
benchmarks do. So is ``split_over_cores()`` (parallel.py): BLAS at one thread, and the
convolutions and large products split over threads of tinygen's own; asked for, never on import.
"""

from . import activation, adam, conv, distributions, elementwise, linalg, norm, parallel, upsample
from .memory import keep_freed_memory
from .parallel import split_over_cores

__all__ = ["activation", "adam", "conv", "distributions", "elementwise", "keep_freed_memory", "linalg", "norm",
           "parallel", "split_over_cores", "upsample"]

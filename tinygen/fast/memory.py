"""Host-memory policy for the fast tier: keep freed memory in the process, reuse scratch arrays.

Neither changes a result. Both answer the same cost, measured on the CPU: a fresh array that is
larger than glibc's mmap threshold arrives with every page untouched, and each page then
faults in on first write.
"""

import ctypes
import math
import os
import sys
import threading


def keep_freed_memory():
    """Ask glibc's malloc to keep freed memory in the process, not hand it back to the OS.

    Every op allocates a fresh result array and frees the ones nobody holds any more. By
    default glibc returns large freed blocks to the OS at once (munmap, heap trimming), so the
    next array of that size is faulted in again, page by page. Measured on the 2-core CPU with
    other jobs running, CPU time per step, off -> on: DCGAN iteration 242 / 274 / 246 -> 217 /
    262 / 215 ms, VAE step 11.1 / 11.9 -> 9.1 / 8.5 ms (benchmarks/run.py's workloads).
    Blocks up to 32 MB (glibc's largest setting) then come from the heap, and the heap is
    never trimmed: the process keeps what it once used, its peak is unchanged. Linux with
    glibc only; ``TINYGEN_KEEP_FREED_MEMORY=0`` leaves malloc as it was. Returns whether set.

    This changes the whole process (every library's allocations), so tinygen never does it on
    import: the demos and benchmarks call it (``demos/common.py``), and so can you.
    """
    if os.environ.get("TINYGEN_KEEP_FREED_MEMORY", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (e.g. musl): leave it alone
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # from <malloc.h>
    return bool(libc.mallopt(M_MMAP_THRESHOLD, 32 * 2**20)) and bool(libc.mallopt(M_TRIM_THRESHOLD, 2**30))


_scratch = threading.local()  # per thread (parallel.py's workers each fill their own):
# .buffers maps (purpose, array module, dtype) -> a flat buffer, reused call after call


def scratch(xp, shape, dtype, purpose):
    """A reusable array of ``shape``, overwritten by the next call for the same purpose: for a
    temporary that is read at once (im2col's columns, Adam's step), never kept.

    A fresh array above glibc's mmap threshold (32 MB) arrives with every page untouched:
    filling 58 MB of columns (batch 64, 28x28, 32 channels) took 47 ms in a new array and
    8.5 ms in one already used, longer than the matrix product that reads them (17 ms).
    """
    size = math.prod(shape)
    buffers = _scratch.__dict__.setdefault("buffers", {})
    key = (purpose, xp.__name__, xp.dtype(dtype).str)
    buffer = buffers.get(key)
    if buffer is None or buffer.size < size:
        buffer = buffers[key] = xp.empty(size, dtype=dtype)
    return buffer[:size].reshape(shape)

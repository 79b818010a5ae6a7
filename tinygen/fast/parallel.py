"""Split a fast kernel's work over the CPU's cores: a small pool of threads, each running whole pieces.

NumPy runs each call on one core, except a matrix product, which BLAS spreads over its own
threads. A convolution is a loop of (copy the columns, multiply) over slices of the batch, so on
two cores its copies ran on one and each product split in two: the MNIST UNet's widest conv
took 10.8 ms at two threads against 12.0 at one. Giving each core whole slices instead (its own
copy, its own product with BLAS at one thread) took 6.3 ms (2026-12-07, the 2-core Xeon): NumPy
lets go of Python's GIL inside a copy or a product, so the threads really run side by side.

Why it is a setting you choose (``split_over_cores()``), not the default. The pool and BLAS's own
threads cannot share the cores: OpenBLAS's threads keep spinning for a while after each product
(up to 2^28 cycles, about 0.1 s) and starve the pool's thread, so BLAS must be at one thread for
the whole run (the DCGAN iteration at two threads: 104 ms with BLAS's threads alone, 150 ms with
the pool beside them awake). That is a setting of the process, like ``keep_freed_memory()``. And
only big pieces pay: handing one to the pool costs about 30 us, and the two halves of one matrix
product each pack the shared input again, so mid-sized products lose (the VAE's 128x784x400
product: 354 us on BLAS's two threads, 465 us split here, 595 us on one thread). Measured at two
threads (docs/results.md): the UNet step 736 -> 516 ms, the DCGAN iteration 113 -> 95 ms, the
VAE step 6.0 -> 7.6 ms.

``in_chunks`` is the same sharing for elementwise passes (activations, large additions): chunks
of the batch small enough to stay in a core's cache between passes.

Without the setting, every kernel runs on the calling thread, exactly as before this file.
Arrays on a GPU never come here: CuPy's kernels already run in parallel on the device.
"""

import collections
import operator
import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait

from .. import backend

_threads = 1  # split_over_cores() sets it
_blas_before = None  # [(threadpoolctl controller, its thread count)] to give back; None: BLAS untouched
_pool, _pool_size = None, 0  # a ThreadPoolExecutor of threads() - 1 workers: the caller does a share too
_lock = threading.Lock()
_inside = threading.local()  # .active: this thread is running a share of a split (nested splits run plain)
SPLIT_MULTIPLY_ADDS = 2**22  # a smaller product runs whole on the calling thread: a hand-off costs ~30 us
SPLIT_BYTES = 2**19  # and so does a pass over less than 512 KB
CHUNK_BYTES = 2**19  # in_chunks: x's share of one chunk; with its result and a temporary, within a core's 2 MB of L2


def split_over_cores(threads=None):
    """Let the fast tier split its convolutions and large products over ``threads`` threads of its
    own (default: every core this process may use), with BLAS set to one thread; returns the count.

    ``split_over_cores(1)`` undoes it: BLAS gets back the thread count it had. A process setting
    (every library's BLAS calls run on one thread while it holds), so tinygen never makes it on
    import: the demos' and ``benchmarks/run.py``'s ``--split-cores`` do, and so can you.
    Needs threadpoolctl to reach BLAS; returns 1 (and changes nothing) without it.
    """
    global _threads, _blas_before
    if threads is None:
        threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        count = operator.index(threads)  # an int, or an integer-like (a NumPy integer); not 2.5 or "2"
    except TypeError:
        count = 0
    if isinstance(threads, bool) or count < 1:
        raise ValueError(f"split_over_cores: threads must be a whole number at least 1, got {threads!r}")
    threads = count
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return 1
    with _lock:
        if threads == 1:
            for library, count in _blas_before or []:
                library.set_num_threads(count)
            _blas_before, _threads = None, 1
            return 1
        if _blas_before is None:
            libraries = ThreadpoolController().select(user_api="blas").lib_controllers
            _blas_before = [(library, library.get_num_threads()) for library in libraries]
            for library in libraries:
                library.set_num_threads(1)
        _threads = threads
        return threads


def threads():
    """How many threads the fast tier splits its work over (1 unless split_over_cores() said more)."""
    return _threads


def threads_for(array):
    """threads() for work on ``array``; 1 for an array on a GPU, or inside a share of a split."""
    if _threads == 1 or getattr(_inside, "active", False) or backend.device_of(array) != "cpu":
        return 1
    return _threads


def even_slices(length, nbytes, like):
    """range(length) in one slice per thread for work over ``nbytes``; one slice below SPLIT_BYTES."""
    return _pieces(length, threads_for(like) if nbytes >= SPLIT_BYTES else 1)


def _pieces(length, n):
    """range(length) in n slices of (nearly) equal length; one empty slice for length 0."""
    step = max(1, -(-length // n))
    return [slice(i, min(i + step, length)) for i in range(0, max(length, 1), step)]


def _workers(n):
    """The pool of n - 1 worker threads (remade when n changes)."""
    global _pool, _pool_size
    with _lock:
        if _pool_size != n - 1:
            if _pool is not None:
                _pool.shutdown(wait=True)
            _pool = ThreadPoolExecutor(n - 1, thread_name_prefix="tinygen")
            _pool_size = n - 1
        return _pool


def split_map(fn, items, like):
    """[fn(item) for item in items], the items shared out over threads_for(like): results in items' order.

    Thread k is dealt items k, k + n, k + 2n, ... and runs them in that order; the calling thread
    takes k = 0, and when its own are done it runs, from the back, those a worker has not started
    yet. A worker that was asleep takes 100-200 us to wake on this host (a split of nothing took 24 us
    back to back, 177 us after 2 ms idle): the UNet step's caller waited 25 ms of its 518 for the
    workers at the end of its 159 splits, 18 ms with the stealing (whole steps alternated in one
    process, two threads: 0.986x; the DCGAN's 36 splits, 3.6 -> 2.5 ms of waiting, 1.005x, noise).
    ``fn`` must write only memory no other item writes; which thread runs an item never changes
    its result. With one thread it is the plain loop.
    """
    available = threads_for(like)
    if available <= 1 or len(items) <= 1:
        return [fn(item) for item in items]
    n = min(available, len(items))
    pool = _workers(available)
    dealt = [collections.deque(range(k, len(items), n)) for k in range(n)]  # indices of thread k's items
    results = [None] * len(items)

    def run(k, from_back=False):  # thread k's items from the front; the caller steals from the back
        _inside.active = True
        try:
            while True:
                try:  # each pop is one atomic step under the GIL: every item runs exactly once
                    i = dealt[k].pop() if from_back else dealt[k].popleft()
                except IndexError:
                    return
                results[i] = fn(items[i])
        finally:
            _inside.active = False

    futures = [pool.submit(run, k) for k in range(1, n)]
    try:
        run(0)
        for k in range(1, n):
            run(k, from_back=True)
    finally:
        wait(futures)  # even when our share failed: no worker may still be writing when we return
    for f in futures:
        f.result()  # re-raises a worker's error here
    return results


def matmul(a, b):
    """a @ b for 2-D arrays, in blocks of rows (or of columns, the longer side) over the threads.

    With split_over_cores() BLAS runs at one thread, so the fast tier's large products are split
    here; without it this is ``a @ b`` (BLAS splits it on its own threads).
    """
    if a.shape[1] == 1:  # an outer product, which BLAS runs as a general product: 519 against 48 us
        out = a * b      # for (64, 1) x (1, 6272) (the DCGAN critic's input gradient, 2026-12-07)
        out += 0.0       # BLAS's sums start from +0.0, so a product of -0.0 comes out +0.0: the same bits
        return out
    n = threads_for(a) if a.shape[0] * a.shape[1] * b.shape[1] >= SPLIT_MULTIPLY_ADDS else 1
    if n == 1:
        return a @ b
    xp = backend.array_module(a)
    out = xp.empty((a.shape[0], b.shape[1]), dtype=xp.result_type(a, b))
    by_rows = a.shape[0] >= b.shape[1]  # split the longer side: what each thread packs whole is the smaller input
    blocks = _pieces(a.shape[0] if by_rows else b.shape[1], n)

    def block(s):
        if by_rows:
            xp.matmul(a[s], b, out=out[s])
        else:
            xp.matmul(a, b[:, s], out=out[:, s])

    split_map(block, blocks, a)
    return out


def in_chunks(fn, x, *others, dtype=None):
    """One result like x (in ``dtype``; default, NumPy's type for x with the others), written by
    fn(x[s], *(o[s] for o in others), out=result[s]) for chunks s of x's batch, each about
    CHUNK_BYTES of x; after split_over_cores() the chunks of a large x are shared out over the
    cores. For passes over arrays, elementwise: each value of the result from the same place in x
    and the others (of x's shape).

    SiLU and LeakyReLU (activation.py) are four or five passes over their array each. Over a whole
    (64, 32, 28, 28) array, 6.4 MB, every pass goes to memory and back; chunk by chunk, the later
    passes find their data in cache: SiLU's backward 3.5 -> 2.0 ms on one thread, its forward
    1.9 -> 1.4 ms (2026-12-07). Smaller chunks lose again on two threads: each NumPy call briefly
    takes Python's lock, and the threads queue for it (SiLU's backward on two threads, 2^15 values
    a chunk: 3.1 ms, 2^17 values: 1.7 ms). Split over two threads, SiLU on 6.4 MB went 1.4 -> 1.1 ms
    forward and 2.0 -> 1.7 ms backward; in the DCGAN iteration, where the arrays come cold from
    memory, LeakyReLU's backwards 6.1 -> 4.5 ms (even the 1.6 MB ones gain there).

    The result's memory order is the one NumPy would give ``fn``'s last product: that of the inputs
    when they agree (the others may broadcast along any axis but the first), else C order. The
    order steers the summation order of later sums, so keeping it keeps every bit of a training run.
    """
    if any(o.shape[:1] != x.shape[:1] or o.ndim != x.ndim for o in others):  # o[s] must be x[s]'s part of o
        raise ValueError(f"in_chunks: every other array needs x's batch axis {x.shape[:1]} and its {x.ndim} axes, "
                         f"got shapes {[o.shape for o in others]}")
    xp = backend.array_module(x)
    dtype = xp.result_type(x, *others) if dtype is None else dtype
    agree = all([axis for axis in _order(x) if o.shape[axis] > 1] == _order(o) for o in others)
    out = xp.empty_like(x, dtype=dtype) if agree else xp.empty(x.shape, dtype=dtype)
    if x.ndim == 0 or x.nbytes <= CHUNK_BYTES or backend.device_of(x) != "cpu":  # a GPU: whole, fewer launches
        chunks = [...]
    else:
        rows = max(1, CHUNK_BYTES * x.shape[0] // x.nbytes)  # samples per chunk (at least one)
        chunks = [slice(start, start + rows) for start in range(0, x.shape[0], rows)]
    split_map(lambda s: fn(x[s], *(o[s] for o in others), out=out[s]), chunks, x)
    return out


def _order(a):
    """a's axes of more than one value, from the outermost in memory to the innermost (what NumPy
    compares, not the strides; an axis a is broadcast along has no say)."""
    return [axis for axis in sorted(range(a.ndim), key=lambda axis: -a.strides[axis]) if a.shape[axis] > 1]

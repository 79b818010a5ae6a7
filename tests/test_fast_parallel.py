"""The fast tier's own threads (tinygen/fast/parallel.py): an explicit setting, the same results.

With ``split_over_cores()`` the convolutions and the dense layer split their work over a pool of
threads; every result must be what the calling thread alone computes, and BLAS must get back its
thread count when the setting is undone.
"""

import json
import pathlib
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import tinygen as tg
from tinygen.fast import conv as fast_conv
from tinygen.fast import parallel

threadpoolctl = pytest.importorskip("threadpoolctl")
pytestmark = pytest.mark.cpu_only  # the CPU's threads; on a GPU the fast tier never splits (tested below)


def blas_threads():
    return [lib["num_threads"] for lib in threadpoolctl.threadpool_info() if lib["user_api"] == "blas"]


@pytest.fixture
def split(monkeypatch):
    """split_over_cores(2) for the test, with every piece of work big enough to split; undone after."""
    monkeypatch.setattr(parallel, "SPLIT_BYTES", 0)
    monkeypatch.setattr(parallel, "SPLIT_MULTIPLY_ADDS", 0)
    handed = []  # every time work went to the pool
    real_workers = parallel._workers
    monkeypatch.setattr(parallel, "_workers", lambda n: handed.append(n) or real_workers(n))

    def turn_on():
        parallel.split_over_cores(2)
        return handed

    yield turn_on
    parallel.split_over_cores(1)


def test_split_over_cores_sets_blas_to_one_thread_and_gives_its_count_back():
    before = blas_threads()
    assert parallel.threads() == 1
    try:
        assert parallel.split_over_cores(3) == 3
        assert parallel.threads() == 3
        assert all(n == 1 for n in blas_threads())
        assert parallel.split_over_cores(2) == 2  # a second call keeps the count it saved first
    finally:
        assert parallel.split_over_cores(1) == 1
    assert blas_threads() == before
    assert parallel.threads() == 1


@pytest.mark.parametrize("bad", [0, -2, 2.5, "2", True])
def test_split_over_cores_refuses_what_is_not_a_thread_count(bad):
    with pytest.raises(ValueError, match=f"split_over_cores: threads must be a whole number at least 1, got {bad!r}"):
        parallel.split_over_cores(bad)
    assert parallel.threads() == 1


def test_split_map_keeps_the_order_uses_the_pool_and_runs_nested_splits_plain(split):
    split()
    like = np.zeros(1)
    names = []
    worker_started = threading.Event()

    def work(i):
        names.append(threading.current_thread().name)
        if threading.current_thread().name.startswith("tinygen"):
            worker_started.set()
        elif i == 0:  # hold the caller's first item until the worker runs one: else, on a busy machine,
            assert worker_started.wait(timeout=30)  # the caller may run every item before the worker wakes
        inner = parallel.split_map(lambda j: (j, threading.current_thread().name), [0, 1], like)
        assert {name for _, name in inner} == {threading.current_thread().name}  # nested: this thread alone
        return i * i

    assert parallel.split_map(work, list(range(7)), like) == [i * i for i in range(7)]
    assert any(name.startswith("tinygen") for name in names) and "MainThread" in names


def test_split_map_raises_a_workers_error_after_every_share_is_done(split):
    split()
    done = []

    def work(i):
        if i == 1:  # the pool's share
            raise ArithmeticError("piece 1")
        done.append(i)

    with pytest.raises(ArithmeticError, match="piece 1"):
        parallel.split_map(work, [0, 1, 2, 3], np.zeros(1))
    assert {0, 2} <= set(done) and 1 not in done  # the calling thread finished its share (3: whoever took it)


def test_split_map_runs_what_a_late_worker_has_not_started_on_the_calling_thread(split, monkeypatch):
    handed = split()
    real_workers = parallel._workers

    class LatePool:  # every worker starts 0.3 s late, as one waking from a long sleep would, only later
        def __init__(self, pool):
            self.pool = pool

        def submit(self, fn, *args):
            return self.pool.submit(lambda: time.sleep(0.3) or fn(*args))

    monkeypatch.setattr(parallel, "_workers", lambda n: LatePool(real_workers(n)))
    runs = []
    results = parallel.split_map(lambda i: runs.append((i, threading.current_thread().name)) or i * i,
                                 list(range(6)), np.zeros(1))
    assert results == [i * i for i in range(6)]
    # its own three, then the worker's three from the back; the worker, awake at last, finds none left
    assert runs == [(i, "MainThread") for i in (0, 2, 4, 5, 3, 1)]
    assert handed == [2]


def test_split_map_is_the_plain_loop_without_the_setting():
    calls = []
    assert parallel.split_map(lambda i: calls.append(threading.current_thread().name) or i, [1, 2], np.zeros(1)) == [1, 2]
    assert calls == ["MainThread", "MainThread"]


def conv_everything(x0, w0, b0, stride, padding, wt0):
    """A conv's forward, its three gradients, a second derivative, and a transposed conv's own backward."""
    F = tg.nn.functional
    x, w, b = (tg.tensor(a, requires_grad=True) for a in (x0, w0, b0))
    y = F.conv2d(x, w, b, stride, padding)
    (gx,) = tg.grad((y * y).sum(), [x], create_graph=True)
    ((gx * gx).sum() + y.sum()).backward()
    yd, wt = tg.tensor(y.detach().numpy(), requires_grad=True), tg.tensor(wt0, requires_grad=True)
    yt = F.conv_transpose2d(yd, wt, None, stride, padding)
    (yt * yt).sum().backward()
    return [t.detach().numpy() for t in (y, gx, yt, x.grad, w.grad, b.grad, yd.grad, wt.grad)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("stride, padding, widen", [(1, 1, 1), (2, 1, 1), (1, 1, 2)])
def test_convolutions_split_over_threads_give_the_calling_threads_results(split, monkeypatch, dtype, stride,
                                                                          padding, widen):
    """Batch slices, the scatter of a strided transpose, the full-correlation route (widen) and the
    weight gradient's summed slices: the same numbers with the work split over two threads."""
    rng = np.random.default_rng(5)
    x0, w0, b0 = (rng.standard_normal(s).astype(dtype) for s in ((7, 3, 8, 8), (4, 3, 3, 3), (4,)))
    wt0 = rng.standard_normal((4, 3 * widen, 3, 3)).astype(dtype)
    monkeypatch.setattr(fast_conv, "COLUMNS_BYTES", 3 * 8 * 8 * 9 * 3 * 8)  # a few images a slice
    with tg.use_fast_kernels(True):
        alone = conv_everything(x0, w0, b0, stride, padding, wt0)
        handed = split()
        assert not handed
        shared = conv_everything(x0, w0, b0, stride, padding, wt0)
        assert len(handed) >= 8  # every conv op of the graph split its work
    tol = 1e-12 if dtype == "float64" else 1e-5  # float32: sums of slices in another grouping round apart
    for a, b in zip(alone, shared):
        np.testing.assert_allclose(b, a, rtol=tol, atol=tol * np.abs(a).max())


@pytest.mark.parametrize("shape", [(64, 5, 3), (3, 5, 64)])  # (batch, in, out): split by rows, by columns
def test_dense_layer_split_over_threads_gives_the_calling_threads_results(split, shape):
    rng = np.random.default_rng(1)
    x0, w0, b0 = rng.standard_normal(shape[:2]), rng.standard_normal(shape[:0:-1]), rng.standard_normal(shape[2])
    results, handed = [], []
    for setting in (None, split):
        if setting:
            handed = setting()
        x, w, b = (tg.tensor(a, requires_grad=True) for a in (x0, w0, b0))
        y = tg.nn.functional.linear(x, w, b)
        (y * y).sum().backward()
        results.append([t.detach().numpy() for t in (y, x.grad, w.grad, b.grad)])
    assert len(handed) == 3  # the product and both gradients' products
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_an_outer_product_is_blass_product_bit_for_bit(dtype):
    """parallel.matmul multiplies a (n, 1) by a (1, m) elementwise: the same bits as a @ b, signed
    zeros, infinities and NaNs included."""
    rng = np.random.default_rng(2)
    tiny, huge = np.finfo(dtype).smallest_subnormal, np.finfo(dtype).max  # products that underflow, overflow
    a = np.concatenate([rng.standard_normal((6, 1)), [[0.0], [-0.0], [np.inf], [np.nan], [tiny]]]).astype(dtype)
    b = np.concatenate([rng.standard_normal((1, 7)), [[0.0, -0.0, -np.inf, huge, -0.5]]], axis=1).astype(dtype)
    with np.errstate(all="ignore"):
        ours, blas = parallel.matmul(a, b), a @ b
    assert ours.shape == blas.shape and ours.flags.c_contiguous
    np.testing.assert_array_equal(ours.view(f"u{ours.itemsize}"), blas.view(f"u{blas.itemsize}"))


@pytest.mark.parametrize("turn_on", [False, True])
def test_empty_batches_pass_through_with_or_without_the_setting(split, turn_on):
    """As on the reading path (the fast conv's reshapes could not infer a size from 0 elements)."""
    if turn_on:
        split()
    x, w = tg.zeros(0, 4, 3, 3, requires_grad=True), tg.ones(2, 4, 3, 3, requires_grad=True)
    F = tg.nn.functional
    y = F.leaky_relu(F.silu(F.conv2d(x, w, padding=1)), 0.2)
    # conv_transpose2d's two routes: the scatter (stride 2) and the full correlation (stride 1, widening)
    z1, z2 = F.conv_transpose2d(y, w, stride=2, padding=1), F.conv_transpose2d(y, w, padding=1)
    (z1.sum() + z2.sum()).backward()
    assert y.shape == (0, 2, 3, 3) and z1.shape == (0, 4, 5, 5) and z2.shape == (0, 4, 3, 3)
    assert x.grad.shape == (0, 4, 3, 3)
    assert float(w.grad.abs().sum().item()) == 0.0
    assert parallel.even_slices(0, 0, x.array) == [slice(0, 0)]


def test_split_over_cores_leaves_gpu_arrays_on_the_calling_thread(split):
    split()

    class OnDevice:  # stands for an array on a GPU: device_of says "cuda"
        pass

    with pytest.MonkeyPatch.context() as m:
        m.setattr(parallel.backend, "device_of", lambda a: "cuda")
        assert parallel.threads_for(OnDevice()) == 1


@pytest.mark.slow
def test_a_demo_with_split_cores_trains_and_says_so(tmp_path):
    """``--split-cores`` reaches split_over_cores (the run's metrics are written), and the same
    quick run without it gives the same loss to float32 rounding."""
    root = pathlib.Path(__file__).resolve().parents[1]
    losses = []
    for extra in (["--split-cores"], []):
        out = tmp_path / ("split" if extra else "plain")
        code = (f"import runpy, sys, tinygen.fast.parallel as p; sys.path.insert(0, 'demos'); sys.argv = {['demos/ddpm.py', '--quick', '--quiet', '--threads', '2', '--out', str(out), *extra]!r};"
                "\ntry: runpy.run_path('demos/ddpm.py', run_name='__main__')\nexcept SystemExit as e: assert not e.code, e"
                "\nprint('threads', p.threads())")
        run = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip().endswith(f"threads {2 if extra else 1}")
        losses.append(json.loads((out / "metrics.json").read_text()))
    split, plain = losses
    assert split["config"]["split_cores"] and not plain["config"]["split_cores"]
    assert split["metrics"]["final_loss"] == pytest.approx(plain["metrics"]["final_loss"], rel=1e-4)

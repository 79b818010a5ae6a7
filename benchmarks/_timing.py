"""Paired A/B timing of two frameworks, each in its own worker process.

Why processes: OpenBLAS worker threads keep spinning after a NumPy call and slowed a PyTorch
call in the same process by about 30% (DESIGN.md), so each framework gets a process of its
own. The parent asks them in turn, A B A B, and pairs the two times taken in the same round:
on a shared machine whose speed drifts, the per-round ratio is the number to trust.

Protocol: the parent writes one JSON line {"case": name, "reps": n} to a worker's stdin; the
worker runs that case n times and answers {"ms": [...]} (one time per repetition).
"""

import json
import os
import statistics
import subprocess
import sys
import time


READY = "ready?"  # a request that times nothing: Worker.wait_ready()


def thread_env(threads):
    """Environment that pins every BLAS / OpenMP pool to ``threads`` threads."""
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    return env


class Worker:
    """A child process running ``script --worker framework`` that times cases on request."""

    def __init__(self, script, framework, threads, extra_args=()):
        self.framework = framework
        self.proc = subprocess.Popen(
            [sys.executable, script, "--worker", framework, "--threads", str(threads), *extra_args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=thread_env(threads),
        )

    def time(self, case, reps):
        self.proc.stdin.write(json.dumps({"case": case, "reps": reps}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.framework} worker died while timing {case}")
        return json.loads(line)["ms"]

    def wait_ready(self):
        """Return once the worker has started (imports and set-up done) and answers."""
        self.time(READY, 0)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def serve(make_case):
    """Worker side: answer timing requests on stdin until it closes.

    ``make_case(name)`` returns a function that runs one repetition of the case (and waits
    for it to finish); it is built once and warmed up before the first timing.
    """
    cases = {}
    for line in sys.stdin:
        request = json.loads(line)
        name = request["case"]
        if name == READY:  # nothing to time: the answer says the worker is up
            sys.stdout.write(json.dumps({"ms": []}) + "\n")
            sys.stdout.flush()
            continue
        if name not in cases:
            cases[name] = make_case(name)
            for _ in range(2):  # warm-up: allocator, BLAS threads, lazy imports
                cases[name]()
        run = cases[name]
        ms = []
        for _ in range(request["reps"]):
            start = time.perf_counter()
            run()
            ms.append((time.perf_counter() - start) * 1e3)
        sys.stdout.write(json.dumps({"ms": ms}) + "\n")
        sys.stdout.flush()


def torch_available():
    """Whether PyTorch can be imported here (found without importing it: that takes seconds)."""
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def serve_framework(framework, threads, make_tinygen_case, make_torch_case):
    """Worker side for one framework: pin PyTorch's own thread pool too, then answer requests."""
    if framework == "torch":
        import torch

        torch.set_num_threads(threads)
        serve(make_torch_case)
    else:
        serve(make_tinygen_case)


def paired_rounds(workers, case, rounds, reps, settle_s=0.25):
    """Time ``case`` on each worker in turn, ``rounds`` times; the median of each round's reps.

    Returns {framework: [per-round median ms]}. ``settle_s`` lets the previous worker's
    spinning threads go quiet before the next one starts: OpenBLAS's spin for 2^28 cycles (about
    0.1 s here) after a product. With 0.05 s, PyTorch's two-thread VAE step, timed just after
    tinygen's, took 5 or 13 ms by turns (tinygen's two BLAS threads still spinning on both cores);
    with 0.1-0.5 s, 4.7-5.0 ms every round (2026-12-07). 0.25 s leaves room for a slower core.
    """
    result = {w.framework: [] for w in workers}
    for _ in range(rounds):
        for w in workers:
            time.sleep(settle_s)
            result[w.framework].append(statistics.median(w.time(case, reps)))
    return result

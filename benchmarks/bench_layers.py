"""Layer benchmark: tinygen against PyTorch (CPU) on convolution, conv-transpose and dense layers.

    python benchmarks/bench_layers.py                 # all cases, 7 rounds
    python benchmarks/bench_layers.py --quick         # fewer rounds and reps
    python benchmarks/bench_layers.py --json out.json

Each case is forward + backward (input, weight and bias gradients) with a fixed random
upstream gradient, float32, batch 64. Each framework runs in its own worker process with
the same thread count and the same inputs; the parent alternates A B A B and reports the
median time of each and the median of the per-round ratios tinygen / PyTorch (< 1 means
tinygen is faster). Without PyTorch installed, only tinygen's times are printed.
"""

import argparse
import json
import os
import statistics

import _timing  # benchmarks/_timing.py: `python benchmarks/x.py` puts benchmarks/ on the path

BATCH = 64

# name: (kind, in_channels, out_channels, input size, kernel, stride, padding, output_padding)
CASES = {
    "conv 1->64 28x28 k4s2": ("conv", 1, 64, 28, 4, 2, 1, 0),
    "conv 64->128 14x14 k4s2": ("conv", 64, 128, 14, 4, 2, 1, 0),
    "conv 1->64 28x28 k3s1": ("conv", 1, 64, 28, 3, 1, 1, 0),
    "conv 64->128 14x14 k3s1": ("conv", 64, 128, 14, 3, 1, 1, 0),
    "convT 128->64 7x7 k4s2": ("convT", 128, 64, 7, 4, 2, 1, 0),
    "convT 64->1 14x14 k4s2": ("convT", 64, 1, 14, 4, 2, 1, 0),
    "convT 128->64 14x14 k3s1": ("convT", 128, 64, 14, 3, 1, 1, 0),
    "convT 64->1 28x28 k3s1": ("convT", 64, 1, 28, 3, 1, 1, 0),
    "linear 784-1024-1024-10": ("mlp", 784, 1024, 10, 0, 0, 0, 0),
}


def out_size(kind, n, k, s, p, q):
    return (n + 2 * p - k) // s + 1 if kind == "conv" else (n - 1) * s - 2 * p + k + q


def flops(name):
    """Multiply-adds x 2, for forward + the two backward products (input and weight)."""
    kind, cin, cout, n, k, s, p, q = CASES[name]
    if kind == "mlp":
        widths = (cin, cout, cout, n)
        return 3 * 2 * BATCH * sum(a * b for a, b in zip(widths, widths[1:]))
    m = out_size(kind, n, k, s, p, q)
    pixels = m * m if kind == "conv" else n * n  # the conv side's output pixels
    return 3 * 2 * BATCH * pixels * cin * cout * k * k


def make_arrays(name):
    """The same float32 inputs for both frameworks (NumPy, fixed seed)."""
    import numpy as np

    kind, cin, cout, n, k, s, p, q = CASES[name]
    rng = np.random.default_rng(0)
    f32 = lambda *shape: rng.standard_normal(shape).astype(np.float32) * 0.1  # noqa: E731
    if kind == "mlp":
        widths = (cin, cout, cout, n)
        layers = [(f32(b, a), f32(b)) for a, b in zip(widths, widths[1:])]
        return {"x": f32(BATCH, cin), "layers": layers, "g": f32(BATCH, n)}
    m = out_size(kind, n, k, s, p, q)
    w = f32(cout, cin, k, k) if kind == "conv" else f32(cin, cout, k, k)
    return {"x": f32(BATCH, cin, n, n), "w": w, "b": f32(cout), "g": f32(BATCH, cout, m, m)}


def make_tinygen_case(name):
    import tinygen as tg
    import tinygen.nn.functional as F

    kind, cin, cout, n, k, s, p, q = CASES[name]
    a = make_arrays(name)
    g = tg.tensor(a["g"])
    x = tg.tensor(a["x"], requires_grad=True)
    if kind == "mlp":
        pairs = [(tg.tensor(w, requires_grad=True), tg.tensor(b, requires_grad=True)) for w, b in a["layers"]]
        params = [t for pair in pairs for t in pair]

        def forward():
            h = x
            for i, (w, b) in enumerate(pairs):
                h = F.linear(h, w, b)
                h = F.relu(h) if i < len(pairs) - 1 else h
            return h
    else:
        w, b = tg.tensor(a["w"], requires_grad=True), tg.tensor(a["b"], requires_grad=True)
        if kind == "conv":
            forward = lambda: F.conv2d(x, w, b, stride=s, padding=p)  # noqa: E731
        else:
            forward = lambda: F.conv_transpose2d(x, w, b, stride=s, padding=p, output_padding=q)  # noqa: E731
    leaves = [x, *params] if kind == "mlp" else [x, w, b]

    def run():
        for t in leaves:  # set_to_none, as zero_grad() does before each training step
            t.grad = None
        forward().backward(g)

    return run


def make_torch_case(name):
    import torch
    import torch.nn.functional as F

    kind, cin, cout, n, k, s, p, q = CASES[name]
    a = make_arrays(name)
    g = torch.from_numpy(a["g"])
    x = torch.from_numpy(a["x"]).requires_grad_()
    if kind == "mlp":
        pairs = [(torch.from_numpy(w).requires_grad_(), torch.from_numpy(b).requires_grad_()) for w, b in a["layers"]]
        params = [t for pair in pairs for t in pair]

        def forward():
            h = x
            for i, (w, b) in enumerate(pairs):
                h = F.linear(h, w, b)
                h = F.relu(h) if i < len(pairs) - 1 else h
            return h
    else:
        w, b = torch.from_numpy(a["w"]).requires_grad_(), torch.from_numpy(a["b"]).requires_grad_()
        if kind == "conv":
            forward = lambda: F.conv2d(x, w, b, stride=s, padding=p)  # noqa: E731
        else:
            forward = lambda: F.conv_transpose2d(x, w, b, stride=s, padding=p, output_padding=q)  # noqa: E731
    leaves = [x, *params] if kind == "mlp" else [x, w, b]

    def run():
        for t in leaves:  # set_to_none, as zero_grad() does before each training step
            t.grad = None
        forward().backward(g)

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7, help="A B rounds per case (after warm-up)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions per measurement (median taken)")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS/OpenMP threads for both (1: steadiest on a shared machine)")
    parser.add_argument("--only", default="", help="run only cases whose name contains this text")
    parser.add_argument("--quick", action="store_true", help="3 rounds of 1 rep: a smoke run")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("--worker", choices=["tinygen", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return _timing.serve_framework(args.worker, args.threads, make_tinygen_case, make_torch_case)
    if args.quick:
        args.rounds, args.reps = 3, 1

    script = os.path.abspath(__file__)
    workers = [_timing.Worker(script, "tinygen", args.threads)]
    if _timing.torch_available():
        workers.append(_timing.Worker(script, "torch", args.threads))
    else:
        print("note: PyTorch is not installed; timing tinygen alone (pip install torch to compare)")

    print(f"batch {BATCH}, float32, forward+backward, {args.threads} threads, "
          f"{args.rounds} rounds x {args.reps} reps, medians")
    header = f"{'case':28s} {'tinygen ms':>11s} {'torch ms':>9s} {'ratio':>6s} {'GFLOP/s':>8s}"
    print(header)
    print("-" * len(header))
    figures = []
    try:
        for name in CASES:
            if args.only not in name:
                continue
            times = _timing.paired_rounds(workers, name, args.rounds, args.reps)
            ours = statistics.median(times["tinygen"])
            row = {"case": name, "tinygen_ms": ours, "tinygen_gflops": flops(name) / ours / 1e6,
                   "tinygen_rounds_ms": times["tinygen"]}
            if "torch" in times:
                row["torch_ms"] = statistics.median(times["torch"])
                row["torch_rounds_ms"] = times["torch"]
                row["ratio"] = statistics.median(a / b for a, b in zip(times["tinygen"], times["torch"]))
                print(f"{name:28s} {ours:11.2f} {row['torch_ms']:9.2f} {row['ratio']:6.2f} {row['tinygen_gflops']:8.1f}")
            else:
                print(f"{name:28s} {ours:11.2f} {'-':>9s} {'-':>6s} {row['tinygen_gflops']:8.1f}")
            figures.append(row)
    finally:
        for w in workers:
            w.close()
    print("ratio = median over rounds of (tinygen ms / torch ms) in the same round; targets: "
          "conv <= 1.5, linear <= 1.0")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"batch": BATCH, "threads": args.threads, "rounds": args.rounds, "reps": args.reps,
                       "cases": figures}, f, indent=2)


if __name__ == "__main__":
    main()

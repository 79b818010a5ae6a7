"""How close is the flow demo's test NLL to what can be had? The issue-21 flow targets, measured.

    python benchmarks/flow_nll.py                         # ring8, grid25, moons: ~1.5 CPU-hours
    python benchmarks/flow_nll.py --toys moons --from-runs runs/flow_nll   # judge finished runs again

For each 2-D toy, three numbers in nats per point (data units), all on the demo's own 10,000 test
points (seed 2024):

* **default**: ``demos/flow.py --dataset NAME`` with its defaults, in a process of its own;
* **reference**: the same flow trained longer and wider, ``--steps`` x4 and ``--hidden`` x2
  (``--reference-scale``), the "well-tuned reference" of the target: test NLL of the default
  within 0.1 nat of it, and SWD <= 2 x floor (the demo's own metric). ``--reference-impl torch``
  trains that reference as a PyTorch twin of the demo's RealNVP (same layers, data scaling, Adam,
  cosine rate to a hundredth, clipping, batch and test points) in this process: an independent
  implementation, and several times faster on a CPU than a 4x-longer tinygen run;
* **context**: what no RealNVP of this size reaches: the true entropy where the density is known in
  closed form (ring8, grid25: ``toy.log_density``), and a Gaussian kernel density estimate on
  20,000 training points whose bandwidth is chosen (of 16, geometric) on 2,000 validation points (every toy).

The raw figures go to OUT/report.json (keep them under benchmarks/results/).
"""

import argparse
import json
import math
import pathlib
import resource
import subprocess
import sys

import numpy as np

from tinygen.data import get_toy2d

DEMO = pathlib.Path(__file__).resolve().parents[1] / "demos" / "flow.py"
TEST_SEED, TEST_POINTS = 2024, 10_000  # as demos/flow.py


def children_cpu_seconds():
    """CPU seconds (user + system) of this process's finished children so far."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def run_demo(argv, out, quiet):
    """``python demos/flow.py ARGV --out OUT`` in its own process (or its finished run): (metrics.json, CPU s)."""
    record = pathlib.Path(out) / "metrics.json"
    cpu = children_cpu_seconds()
    if argv is not None:
        subprocess.run([sys.executable, str(DEMO), *argv, "--out", str(out)] + (["--quiet"] if quiet else []),
                       check=True)
    return json.loads(record.read_text()), children_cpu_seconds() - cpu


def kde_nll(train, valid, test, bandwidths, chunk=2000):
    """A Gaussian KDE's NLL (nats per point) on ``test`` at the bandwidth best on ``valid``: (nll, bandwidth)."""
    def nll(points, h):
        total = 0.0
        for i in range(0, len(points), chunk):
            d2 = ((points[i : i + chunk, None, :] - train[None, :, :]) ** 2).sum(-1)  # (chunk, N)
            z = -d2 / (2 * h * h)
            top = z.max(axis=1, keepdims=True)
            log_p = top[:, 0] + np.log(np.exp(z - top).sum(axis=1)) - np.log(len(train)) - np.log(2 * np.pi * h * h)
            total -= log_p.sum()
        return total / len(points)

    best = min(bandwidths, key=lambda h: nll(valid, h))
    return nll(test, best), best


def torch_reference(name, steps, hidden, layers=12, depth=2, batch=512, lr=1e-3, clip=10.0, seed=0):
    """The demo's RealNVP written again in PyTorch and trained ``steps`` steps on fresh points:
    {"test_nll": nats per point in data units on the demo's test points, "seconds": training time}."""
    import time

    import torch

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    toy, rng = get_toy2d(name), np.random.default_rng(seed)
    scale = float(toy(20000, seed=1234).std())  # as demos/flow.py: the flow sees x / scale

    class ActNorm(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.log_scale, self.bias = torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(2))
            self.started = False

        def forward(self, x):
            if not self.started:  # the first batch comes out with zero mean and unit variance
                with torch.no_grad():
                    self.bias.copy_(-x.mean(0))
                    self.log_scale.copy_(-(x.std(0, unbiased=False) + 1e-6).log())
                self.started = True
            return (x + self.bias) * self.log_scale.exp(), self.log_scale.sum().expand(x.shape[0])

    class Coupling(torch.nn.Module):
        def __init__(self, mask):
            super().__init__()
            self.register_buffer("mask", torch.tensor(mask))
            sizes = [2] + [hidden] * depth
            body = [m for a, b in zip(sizes, sizes[1:]) for m in (torch.nn.Linear(a, b), torch.nn.ReLU())]
            last = torch.nn.Linear(sizes[-1], 4)
            torch.nn.init.zeros_(last.weight)
            torch.nn.init.zeros_(last.bias)
            self.net, self.scale = torch.nn.Sequential(*body, last), torch.nn.Parameter(torch.ones(2))

        def forward(self, x):
            h, free = self.net(x * self.mask), 1.0 - self.mask
            s, t = h[:, :2].tanh() * self.scale * free, h[:, 2:] * free
            return x * s.exp() + t, s.sum(1)

    masks = [[float(k % 2 == 0), float(k % 2 == 1)] for k in range(layers)]  # alternating_masks(2, layers)
    steps_of_flow = torch.nn.ModuleList(m for mask in masks for m in (ActNorm(), Coupling(mask)))

    def nll(x):
        logdet = torch.zeros(x.shape[0])
        for step in steps_of_flow:
            x, ld = step(x)
            logdet = logdet + ld
        return -((x * x + math.log(2 * math.pi)).sum(1) * -0.5 + logdet).mean()

    draw = lambda: torch.tensor(toy(batch, seed=rng) / scale)  # noqa: E731
    nll(draw())  # ActNorm's start, before the optimiser sees the parameters
    optimizer = torch.optim.Adam(steps_of_flow.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps, eta_min=lr * 0.01)
    began = time.perf_counter()
    for _ in range(steps):
        loss = nll(draw())
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(steps_of_flow.parameters(), clip)
        optimizer.step()
        schedule.step()
    seconds = time.perf_counter() - began
    with torch.no_grad():
        test = torch.tensor(toy(TEST_POINTS, seed=TEST_SEED) / scale)
        value = float(nll(test)) + 2 * np.log(scale)  # back to the data's units (docs/math/flow.md, Units)
    return {"test_nll": value, "seconds": round(seconds, 1), "steps": steps, "hidden": hidden}


def context(name, quick):
    """The true NLL (where known) and the tuned KDE's, on the demo's test points."""
    toy = get_toy2d(name)
    test = toy(1000 if quick else TEST_POINTS, seed=TEST_SEED).astype("float64")
    train = toy(5000 if quick else 20_000, seed=11).astype("float64")
    valid = toy(1000 if quick else 2000, seed=12).astype("float64")
    scale = float(toy(20000, seed=1234).std())
    bandwidths = scale * np.geomspace(0.002, 0.3, 6 if quick else 16)
    result = dict(zip(("kde_nll", "kde_bandwidth"), kde_nll(train, valid, test, bandwidths)))
    try:
        result["true_nll"] = float(-toy.log_density(test).mean())
    except NotImplementedError:
        result["true_nll"] = None
    return result


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--toys", default="ring8,grid25,moons", help="comma-separated 2-D datasets")
    p.add_argument("--reference-scale", type=int, default=4, help="the reference's steps are this many times the "
                   "default's, and its hidden layers twice as wide")
    p.add_argument("--reference-impl", choices=["tinygen", "torch"], default="tinygen",
                   help="train the reference with demos/flow.py, or as the PyTorch twin (torch_reference)")
    p.add_argument("--from-runs", default=None, help="judge finished runs in FOLDER/NAME and FOLDER/NAME-reference")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/flow_nll")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--quick", action="store_true", help="a smoke run: each demo with --quick")
    args = p.parse_args(argv)
    out = pathlib.Path(args.from_runs or args.out)
    rows = []
    for name in [t for t in args.toys.split(",") if t]:
        base = ["--dataset", name, "--seed", str(args.seed), "--threads", "1"] + (["--quick"] if args.quick else [])
        steps, hidden = (20, 64) if args.quick else (6000, 64)
        config = json.loads((out / name / "metrics.json").read_text())["config"] if args.from_runs else None
        if config:
            steps, hidden = config["steps"], config["hidden"]
        bigger = ["--steps", str(steps * args.reference_scale), "--hidden", str(hidden * 2)]
        default, cpu = run_demo(None if args.from_runs else base, out / name, args.quiet)
        if args.reference_impl == "torch":
            cpu_before = resource.getrusage(resource.RUSAGE_SELF)
            twin = torch_reference(name, steps * args.reference_scale, hidden * 2, seed=args.seed)
            cpu_after = resource.getrusage(resource.RUSAGE_SELF)
            ref_cpu = cpu_after.ru_utime + cpu_after.ru_stime - cpu_before.ru_utime - cpu_before.ru_stime
            reference = {"metrics": {**twin, "ratio": None}, "seconds": twin["seconds"],
                         "config": {"steps": twin["steps"], "hidden": twin["hidden"]}}
        else:
            reference, ref_cpu = run_demo(None if args.from_runs else base + bigger, out / f"{name}-reference",
                                          args.quiet)
        d, r = default["metrics"], reference["metrics"]
        row = {"dataset": name, "default_nll": d["test_nll"], "reference_nll": r["test_nll"],
               "gap": d["test_nll"] - r["test_nll"], "nll_target_met": d["test_nll"] - r["test_nll"] <= 0.1,
               "swd": d["swd"], "floor": d["floor"], "ratio": d["ratio"], "swd_target_met": d["ratio"] <= 2.0,
               "reference_ratio": r["ratio"], "default_steps": default["config"]["steps"],
               "reference_steps": reference["config"]["steps"], "reference_hidden": reference["config"]["hidden"],
               "default_seconds": default["seconds"], "reference_seconds": reference["seconds"],
               "cpu_seconds": round(cpu + ref_cpu, 1), **context(name, args.quick)}
        rows.append(row)
    print("\nRealNVP test NLL, nats per point in data units (10,000 test points); reference = x4 steps, x2 width")
    print(f"{'dataset':<10}{'default':>9}{'reference':>11}{'gap':>7}  target (<= 0.1)  {'SWD ratio':>9}"
          f"{'KDE':>9}{'true':>9}")
    for r in rows:
        true = f"{r['true_nll']:>9.3f}" if r["true_nll"] is not None else f"{'-':>9}"
        print(f"{r['dataset']:<10}{r['default_nll']:>9.3f}{r['reference_nll']:>11.3f}{r['gap']:>7.3f}  "
              f"{'met' if r['nll_target_met'] else 'MISSED':<15}  {r['ratio']:>9.2f}{r['kde_nll']:>9.3f}{true}")
    pathlib.Path(args.out).mkdir(parents=True, exist_ok=True)
    (pathlib.Path(args.out) / "report.json").write_text(json.dumps({"toys": rows}, indent=2) + "\n")
    return rows


if __name__ == "__main__":
    main()

"""Mode coverage of the GAN demo on grid25 and ring8 (the PacGAN protocol), over 5 seeds.

    python benchmarks/gan_modes.py                   # default settings vs the plain GAN, 2 x 2 x 5 runs
    python benchmarks/gan_modes.py --seeds 2 --datasets grid25 --jobs 2

Each run is `python demos/gan.py --dataset D --seed S` in its own process (with the demo's
defaults: non-saturating, pack 4 with the minibatch-std feature (ring8: without), 5 D steps per G step, the data
scaled to unit size inside the networks, each dataset's steps and rate decay (grid25: 24,000 steps,
the rates falling to 0 over the last half; ring8: 12,000, the last half); or the same
with `--pack 1 --no-minibatch-std`, the plain non-saturating GAN, so the two rows differ by the two
tricks against collapse only); the table gives the mean and spread
of modes captured, the high-quality fraction (within 3 std of the nearest mode) and the reverse
KL of the nearest-mode histogram, next to a perfect sampler and the published PacGAN figures.
Writes OUT/results.json and OUT/collapse_and_cure.png (the fixed-noise samples over training,
plain GAN above, default below). Quality, not speed: the seconds are those of a shared machine.
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
VARIANTS = {"default": [], "plain": ["--pack", "1", "--no-minibatch-std"]}  # plain: no trick against collapse
PUBLISHED = {"grid25": "plain GAN 17.3 / 94.8% / 0.70; best packing 24.8 / 93.6% / 0.04 (Lin et al., 2018)"}


def run(dataset, variant, seed, out, extra):
    folder = out / f"{dataset}-{variant}-{seed}"
    command = [sys.executable, str(ROOT / "demos" / "gan.py"), "--dataset", dataset, "--seed", str(seed),
               "--out", str(folder), "--quiet", *VARIANTS[variant], *extra]
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")  # one core per run
    return folder, subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)


def perfect(dataset, seeds):
    from tinygen.data import get_toy2d
    from tinygen.metrics import mode_coverage

    data = get_toy2d(dataset)
    return [mode_coverage(data(2500, seed=1000 + s), data.modes, data.std) for s in range(seeds)]


def summary(results):
    def stat(key):
        values = [r[key] for r in results]
        return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)
    return {key: stat(key) for key in ("modes_captured", "high_quality", "reverse_kl")}


def row(name, s, modes, seconds=None):
    m, hq, kl = s["modes_captured"], s["high_quality"], s["reverse_kl"]
    time = f" | {seconds:.0f}" if seconds is not None else " | -"
    return (f"| {name} | {m[0]:.1f} ± {m[1]:.1f} / {modes} | {100 * hq[0]:.1f} ± {100 * hq[1]:.1f}% "
            f"| {kl[0]:.3f} ± {kl[1]:.3f}{time} |")


def figure(out, dataset, seed):
    import tinygen as tg
    from tinygen import viz
    from tinygen.data import get_toy2d

    rows, titles = [], []
    for variant in ("plain", "default"):
        state = tg.load(out / f"{dataset}-{variant}-{seed}" / "checkpoint.npz")
        rows.append([s.numpy() if hasattr(s, "numpy") else s for s in state["snapshots"]])
        titles.append([f"step {k}" for k in state["snapshot_steps"]])
    return viz.frame_rows(rows, out / f"collapse_and_cure_{dataset}.png", row_titles=["plain (pack 1)", "default"],
                          titles=titles, modes=get_toy2d(dataset).modes, lim=5.0 if dataset == "grid25" else 1.5)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--datasets", nargs="+", default=["grid25", "ring8"])
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--jobs", type=int, default=2, help="runs at once (one core each)")
    p.add_argument("--out", default="runs/gan_modes")
    p.add_argument("--quick", action="store_true", help="a smoke run: one seed, each demo run with --quick")
    p.add_argument("extra", nargs="*", help="more demo flags, after --, e.g. -- --steps 3000")
    args = p.parse_args(argv)
    if args.quick:
        args.seeds, args.extra = 1, args.extra + ["--quick"]
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    todo = [(d, v, s) for d in args.datasets for v in args.variants for s in range(args.seeds)]
    running, results = [], {}
    while todo or running:
        while todo and len(running) < args.jobs:
            d, v, s = todo.pop(0)
            running.append(((d, v, s), *run(d, v, s, out, args.extra)))
        key, folder, proc = running.pop(0)
        if proc.wait() != 0:
            raise SystemExit(f"gan_modes: the run {key} failed (exit code {proc.returncode})")
        record = json.loads((folder / "metrics.json").read_text())
        results.setdefault(f"{key[0]} {key[1]}", []).append({**record["metrics"], "seconds": record["seconds"]})
        m = record["metrics"]
        print(f"{key}: {m['modes_captured']} modes, {100 * m['high_quality']:.1f}% high quality, "
              f"reverse KL {m['reverse_kl']:.3f} ({record['seconds']:.0f} s)", flush=True)

    lines = ["| run | modes | high quality | reverse KL | seconds |", "|---|---|---|---|---|"]
    for d in args.datasets:
        k = len(results[f"{d} {args.variants[0]}"][0:1]) and results[f"{d} {args.variants[0]}"][0]["modes"]
        lines.append(row(f"{d} perfect sampler", summary(perfect(d, args.seeds)), k))
        for v in args.variants:
            rs = results[f"{d} {v}"]
            lines.append(row(f"{d} {v}", summary(rs), k, statistics.mean(r["seconds"] for r in rs)))
        if d in PUBLISHED:
            lines.append(f"| {d} published | {PUBLISHED[d]} | | | |")
    table = "\n".join(lines)
    print(table)
    (out / "results.json").write_text(json.dumps({"runs": results, "table": table, "extra": args.extra}, indent=2) + "\n")
    if set(args.variants) == set(VARIANTS):
        for d in args.datasets:
            print("wrote", figure(out, d, 0))


if __name__ == "__main__":
    main()

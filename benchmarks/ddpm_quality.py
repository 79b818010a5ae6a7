"""How good are the DDPM demo's samples? The issue-6 quality targets, measured (never timed in a test).

    python benchmarks/ddpm_quality.py                       # 2-D toys: moons, checkerboard, grid25
    python benchmarks/ddpm_quality.py --images digits       # + an image run: classes, Frechet, DDPM vs DDIM
    python benchmarks/ddpm_quality.py --toys "" --images mnist --data-root ../shared/data   # ~2 CPU-hours
    python benchmarks/ddpm_quality.py --toys "" --images digits --from-run runs/ddpm   # judge a demo run
    python benchmarks/ddpm_quality.py --toys "" --images mnist --from-run R --samplers ddim  # one sampler

2-D toys: each is trained with the demo's defaults (``demos/ddpm.py --dataset NAME``, in a process
of its own, like every demo run here) and its 1,000 samples are compared with fresh real points by
the sliced Wasserstein distance, printed beside the floor (the same distance between two real
sets). Target: swd <= 2 x floor.

Images: one class-conditional training run, then unconditional samples (the null label) drawn
twice from the same EMA weights, on the same 50-step subsequence of the chain: by ancestral
sampling (eta = 1) and by DDIM (eta = 0); ``--full-chain`` adds all T ancestral steps. For
each: the classes the metric classifier sees (target: all 10, none under 5%) and the
classifier-Frechet distance beside its floor (train vs test images). CPU seconds are printed with
every figure: on a shared machine wall-clock time is inflated.
"""

import argparse
import json
import pathlib
import resource
import subprocess
import sys
import time

import tinygen as tg
from tinygen import metrics
from tinygen.data import from_symmetric, load_dataset
from tinygen.models.classifier import load_classifier
from tinygen.models.ddpm import GaussianDiffusion
from tinygen.models.unet import UNet

DEMO = pathlib.Path(__file__).resolve().parents[1] / "demos" / "ddpm.py"

# the image samplers, in the order they are judged: all T ancestral steps (20x the network calls,
# ~3 CPU-hours for 1,000 MNIST images, so only when asked), then the two on a 50-step subsequence
SAMPLERS = ("full", "ddpm", "ddim")


def children_cpu_seconds():
    """CPU seconds (user + system) of this process's finished children so far."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def run_demo(argv, out, quiet):
    """``python demos/ddpm.py ARGV --out OUT`` in its own process: (its metrics.json record, its CPU seconds)."""
    cpu = children_cpu_seconds()
    subprocess.run([sys.executable, str(DEMO), *argv, "--out", str(out)] + (["--quiet"] if quiet else []), check=True)
    return json.loads((pathlib.Path(out) / "metrics.json").read_text()), children_cpu_seconds() - cpu


def run_toys(names, out, seed, quiet, quick=False):
    rows = []
    for name in names:
        record, cpu = run_demo(["--dataset", name, "--seed", str(seed)] + (["--quick"] if quick else []), out / name, quiet)
        m = record["metrics"]
        rows.append({"dataset": name, "swd": m["swd"], "floor": m["floor"], "ratio": m["ratio"],
                     "target_met": m["ratio"] <= 2.0, "cpu_seconds": round(cpu, 1)})
    print("\n2-D toys: sliced Wasserstein distance, 1,000 samples vs 1,000 fresh real points (mean of 5 real sets)")
    print(f"{'dataset':<14}{'swd':>9}{'floor':>9}{'ratio':>8}  target (<= 2)  cpu s")
    for r in rows:
        print(f"{r['dataset']:<14}{r['swd']:>9.4f}{r['floor']:>9.4f}{r['ratio']:>8.2f}  "
              f"{'met' if r['target_met'] else 'MISSED':<13}  {r['cpu_seconds']}")
    return rows


def run_images(dataset, out, args):
    run_dir, train_cpu = pathlib.Path(args.from_run) if args.from_run else out / dataset, 0.0
    if not args.from_run:  # train with the demo (which also draws its own figures)
        argv = ["--dataset", dataset, "--seed", str(args.seed), "--num-samples", "16"]
        argv += (["--steps", str(args.steps)] if args.steps else []) + (["--data-root", args.data_root] if args.data_root else [])
        argv += ["--quick"] if args.quick else []
        train_cpu = run_demo(argv, run_dir, args.quiet)[1]

    # rebuild the demo's UNet from the arguments its checkpoint keeps, with the EMA weights
    config = json.loads((run_dir / "metrics.json").read_text())["config"]
    state = tg.load(run_dir / "checkpoint.npz")
    if "model_config" not in state:
        sys.exit(f"{run_dir}/checkpoint.npz keeps no model_config (a run of an older demos/ddpm.py): train it again")
    train_x, _ = load_dataset(dataset, "train", root=args.data_root)
    test_x, _ = load_dataset(dataset, "test", root=args.data_root)
    model = UNet(**state["model_config"])
    model.load_state_dict(state["model"])
    ema = tg.optim.EMA(model)
    ema.load_state_dict(state["ema"])
    ema.copy_to()
    diffusion = GaussianDiffusion(config["timesteps"], config["schedule"], clip=(-1.0, 1.0))
    classifier, accuracy = load_classifier(dataset, root=args.data_root, quiet=args.quiet)  # trained once, cached

    num_classes = model.num_classes  # the label num_classes is the null label: unconditional samples
    n, shape = args.num_samples, (args.num_samples,) + tuple(train_x.shape[1:])
    null = tg.full((n,), num_classes, dtype=tg.int64)
    results = {}
    # ancestral sampling against DDIM, both on the same 50-step subsequence of the chain: eta = 1
    # is DDPM's ancestral step (posterior variance) on that subsequence, eta = 0 is deterministic
    k = args.sample_steps
    samplers = {  # kind -> (name in the table, how to draw)
        "full": ("ddpm (T steps)", lambda: diffusion.p_sample_loop(model, shape, y=null, num_classes=num_classes)),
        "ddpm": (f"ddpm ({k}, eta=1)", lambda: diffusion.ddim_sample(
            model, shape, steps=k, eta=1.0, y=null, num_classes=num_classes)),
        "ddim": (f"ddim ({k}, eta=0)", lambda: diffusion.ddim_sample(
            model, shape, steps=k, y=null, num_classes=num_classes))}
    # --samplers picks a subset, so two processes can judge one model on two cores; each sampler
    # starts from the same seed, so the figures are those of one process judging all in turn
    for name, draw in (samplers[kind] for kind in SAMPLERS if kind in args.samplers):
        tg.manual_seed(args.seed)
        cpu = time.process_time()
        images = from_symmetric(draw()).numpy()
        seconds = round(time.process_time() - cpu, 1)  # the sampling alone
        results[name] = {**metrics.image_quality(classifier, images, test_x, train_x), "cpu_seconds": seconds}
    trained = f"from {run_dir}" if args.from_run else f"demo run: {train_cpu:.0f} CPU s"
    print(f"\n{dataset}: {config['steps']} training steps ({trained}), T = {config['timesteps']}, "
          f"{n} unconditional samples; metric classifier test accuracy {accuracy:.3f}")
    print(f"{'sampler':<17}{'classes':>8}{'min class':>10}{'FD':>9}{'FD floor':>10}{'ratio':>7}  cpu s")
    for name, r in results.items():
        print(f"{name:<17}{r['classes_seen']:>8}{r['min_class_fraction']:>10.3f}{r['fd']:>9.3f}{r['fd_floor']:>10.3f}"
              f"{r['fd_ratio']:>7.2f}  {r['cpu_seconds']}")
    return {"dataset": dataset, "train_steps": config["steps"], "demo_cpu_seconds": round(train_cpu, 1),
            "classifier_accuracy": accuracy, "samplers": results}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--toys", default="moons,checkerboard,grid25", help="comma-separated 2-D datasets ('' for none)")
    p.add_argument("--images", default="", choices=["", "digits", "mnist", "fashion-mnist"])
    p.add_argument("--steps", type=int, default=0, help="training steps of the image run (default: the demo's)")
    p.add_argument("--from-run", default=None, help="judge a finished demo run in this folder instead of training")
    p.add_argument("--num-samples", type=int, default=1000, help="image samples per sampler")
    p.add_argument("--sample-steps", type=int, default=50, help="steps of the two short-chain samplers")
    p.add_argument("--full-chain", action="store_true", help="also sample with all T ancestral steps (= adding full)")
    p.add_argument("--samplers", default="ddpm,ddim", help=f"the image samplers to judge, of: {', '.join(SAMPLERS)}")
    p.add_argument("--data-root", default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/ddpm_quality")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--quick", action="store_true", help="a smoke run: each demo with --quick, 16 image samples")
    args = p.parse_args(argv)
    args.samplers = [k for k in args.samplers.split(",") if k] + (["full"] if args.full_chain else [])
    unknown = [k for k in args.samplers if k not in SAMPLERS]
    if unknown:
        p.error(f"--samplers: unknown {unknown}; expected some of {', '.join(SAMPLERS)}")
    if args.quick:
        args.num_samples, args.sample_steps = min(args.num_samples, 16), min(args.sample_steps, 5)
    out = pathlib.Path(args.out)
    report = {}
    if args.toys:
        report["toys"] = run_toys([n for n in args.toys.split(",") if n], out, args.seed, args.quiet, args.quick)
    if args.images:
        report["images"] = run_images(args.images, out, args)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()

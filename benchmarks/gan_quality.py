"""How good are the GAN demo's images? Issue 20's DCGAN targets, judged on a finished run.

    python demos/gan.py --dataset mnist --out runs/gan-mnist          # train (14 min on one thread)
    python benchmarks/gan_quality.py runs/gan-mnist                    # judge it: 1,000 fresh samples
    python benchmarks/gan_quality.py RUN1 RUN2 --seeds 0,1,2 --out runs/gan_quality   # several, each 3 draws

The demo's own metrics.json measures its 2,500 samples; the targets are stated for 1,000 samples,
the count ``benchmarks/ddpm_quality.py`` judges the DDPM on, so the two models are compared alike.
The generator is rebuilt from the configuration its checkpoint keeps (with --ema, the average of
its weights, as the demo samples from), put in eval mode (BatchNorm with its running statistics)
and asked for ``--num-samples`` images from noise of each seed. Each draw is scored by
``tinygen.metrics.image_quality``: the classifier-Frechet distance beside its floor (train vs test
images, the same count), the classes the metric classifier sees and its mean confidence.
Targets: Frechet <= 3x the floor, every class >= 5% of the samples, confidence >= 0.9.
"""

import argparse
import json
import pathlib
import sys

import tinygen as tg
from tinygen import metrics
from tinygen.data import from_symmetric, load_dataset
from tinygen.models.classifier import load_classifier
from tinygen.models.gan import DCGenerator, averaged_generator

TARGETS = {"fd_ratio": 3.0, "min_class_fraction": 0.05, "confidence": 0.9}


def load_generator(run_dir, image_size, device="cpu"):
    """The trained generator of a demos/gan.py image run, on ``device`` in eval mode, and its run configuration."""
    path = pathlib.Path(run_dir) / "checkpoint.npz"
    if not path.exists():
        sys.exit(f"gan_quality: no checkpoint at {path}; train with python demos/gan.py --dataset mnist --out {run_dir}")
    state = tg.load(path, device=device)
    config = state.get("config")
    if config is None or "refine" not in config:
        sys.exit(f"gan_quality: {path} keeps no generator configuration (a run of an older demos/gan.py): train it again")
    G = DCGenerator(config["latent_dim"], image_size, width=config["hidden"], refine=config["refine"]).to(device)
    G.load_state_dict(state["G"])
    if "ema_g" in state:  # trained with --ema: the demo samples from the average of G's weights, and so do we
        ema = tg.optim.EMA(G)
        ema.load_state_dict(state["ema_g"])
        G = averaged_generator(G, ema)
    G.eval()
    return G, {**config, "steps": state["step"], "training_seconds": round(float(state["seconds"]), 1)}


@tg.no_grad()
def draw(G, n, seed, batch_size=500):
    """n images in [0, 1] from noise of ``seed``, in batches (eval mode: the batch does not matter)."""
    tg.manual_seed(seed)
    z = tg.randn(n, G.latent_dim, device=next(G.parameters()).device)
    return from_symmetric(tg.cat([G(z[i:i + batch_size]) for i in range(0, n, batch_size)], 0)).numpy()


def judge(run_dirs, seeds, num_samples, data_root=None, quiet=False):
    """{run: {"config": ..., "draws": [image_quality + seed, ...]}} for each run and seed."""
    report = {}
    for run_dir in run_dirs:
        config = json.loads((pathlib.Path(run_dir) / "metrics.json").read_text())["config"]
        dataset = config["dataset"]
        train_x, _ = load_dataset(dataset, "train", root=data_root)
        test_x, _ = load_dataset(dataset, "test", root=data_root)
        classifier, accuracy = load_classifier(dataset, root=data_root, quiet=quiet)  # trained once, cached
        G, shape = load_generator(run_dir, train_x.shape[-1])
        draws = []
        for seed in seeds:
            quality = metrics.image_quality(classifier, draw(G, num_samples, seed), test_x, train_x)
            draws.append({"seed": seed, **quality})
        report[str(run_dir)] = {"dataset": dataset, "config": shape, "classifier_accuracy": accuracy, "draws": draws}
    return report


def print_table(report, num_samples):
    print(f"{num_samples} samples per draw; targets: Frechet <= {TARGETS['fd_ratio']:g}x floor, every class >= "
          f"{TARGETS['min_class_fraction']:.0%}, confidence >= {TARGETS['confidence']}")
    print(f"{'run':<40}{'steps':>7}{'seed':>5}{'FD':>8}{'floor':>7}{'ratio':>7}{'min class':>10}{'conf':>7}  met")
    for run, r in report.items():
        for d in r["draws"]:
            met = (d["fd_ratio"] <= TARGETS["fd_ratio"] and d["min_class_fraction"] >= TARGETS["min_class_fraction"]
                   and d["confidence"] >= TARGETS["confidence"])
            print(f"{run[-40:]:<40}{r['config']['steps']:>7}{d['seed']:>5}{d['fd']:>8.1f}{d['fd_floor']:>7.1f}"
                  f"{d['fd_ratio']:>7.2f}{d['min_class_fraction']:>10.3f}{d['confidence']:>7.3f}  {'yes' if met else 'no'}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("runs", nargs="+", help="folders of finished demos/gan.py image runs (their --out)")
    p.add_argument("--num-samples", type=int, default=1000, help="images per draw (the targets' count: 1,000)")
    p.add_argument("--seeds", default="0", help="comma-separated noise seeds, one draw each")
    p.add_argument("--data-root", default=None)
    p.add_argument("--out", default=None, help="write OUT/report.json")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s]
    report = judge(args.runs, seeds, args.num_samples, args.data_root, args.quiet)
    print_table(report, args.num_samples)
    if args.out:
        out = pathlib.Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()

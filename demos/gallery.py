"""Regenerate the README gallery: run the demos with their default settings, keep a few figures.

    python demos/gallery.py                      # every run below, ~1 h on one core (the grid25 GANs 46 min)
    python demos/gallery.py --only ae,vae        # just these runs (the other images are kept)
    python demos/gallery.py --device cuda        # the same on a GPU
    python demos/gallery.py --quick              # a smoke run into temporary folders
    python demos/gallery.py --copy-only          # no training: remake the images from runs/gallery/
    python demos/gallery.py --only ddpm-mnist    # the long MNIST DDPM run (~1.1 h), never run by default

Each run is one demo command (its defaults, plus --seed 0 --threads N --quiet), writing into
--out/<run>/ (default runs/gallery/). Then the chosen figures are copied into --gallery
(default docs/gallery/), downscaled where a file would exceed 150 KB, and each run's headline
numbers are printed from its metrics.json (so the README captions can quote them) and collected
in --out/metrics.json. --quick runs every demo with --quick and never touches docs/gallery/.
"""

import argparse
import json
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
from fnmatch import fnmatch

import common
import numpy as np

import tinygen as tg
from tinygen import viz
from tinygen.data import get_toy2d

ROOT = pathlib.Path(__file__).resolve().parents[1]
MAX_BYTES = 150_000  # a README should load quickly; the figures stay legible well below this

# run name -> (demo arguments, headline metrics.json keys: fnmatch patterns, shown when present)
RUNS = {
    "ae": (["demos/ae.py"], ["ae_test_recon", "vae_test_neg_elbo", "ae_fd", "vae_fd", "vae_fd_floor"]),
    "vae": (["demos/vae.py"], ["test_neg_elbo", "test_iwae_nll_k*", "fd", "fd_floor"]),
    "gan": (["demos/gan.py"], ["modes_captured", "modes", "high_quality", "reverse_kl"]),
    "gan-plain": (["demos/gan.py", "--pack", "1", "--no-minibatch-std"],
                  ["modes_captured", "modes", "high_quality", "reverse_kl"]),
    "ddpm-moons": (["demos/ddpm.py", "--dataset", "moons"], ["swd", "floor", "ratio"]),
    "ddpm": (["demos/ddpm.py"], ["classes_seen", "min_class_fraction", "fd", "fd_floor"]),
    "ddpm-mnist": (["demos/ddpm.py", "--dataset", "mnist"], ["classes_seen", "min_class_fraction", "fd", "fd_floor"]),
    "ddpm-mnist-uncond": (["demos/ddpm.py", "--dataset", "mnist", "--p-uncond", "1", "--steps", "4000",
                           "--sampler", "ddim", "--eta", "1"],
                          ["classes_seen", "min_class_fraction", "fd", "fd_floor", "confidence"]),
    "vqvae": (["demos/vqvae.py"], ["test_recon", "test_perplexity", "dead_codes", "prior_test_nll",
                                   "categorical_prior_test_nll", "fd", "categorical_fd", "fd_floor", "classes_seen"]),
    "flow": (["demos/flow.py"], ["test_nll", "swd", "floor", "ratio"]),
    "flow-grid25": (["demos/flow.py", "--dataset", "grid25"], ["test_nll", "true_nll", "swd", "floor", "ratio"]),
    "score": (["demos/score.py"], ["swd", "floor", "ratio"]),
    "score-digits": (["demos/score.py", "--dataset", "digits"], ["classes_seen", "min_class_fraction", "fd", "fd_floor"]),
    "gan-mnist": (["demos/gan.py", "--dataset", "mnist"], ["fd", "fd_floor", "min_class_fraction", "confidence",
                                                            "confidence_real"]),
    "vqvae-mnist": (["demos/vqvae.py", "--dataset", "mnist"],
                    ["test_recon", "test_perplexity", "dead_codes", "prior_test_nll", "fd", "fd_floor", "classes_seen"]),
}
# runs too long for the default (each only with --only): why, in a line
LONG_RUNS = {"ddpm-mnist": "3,000 UNet steps on 28x28 MNIST, ~1.1 h on one core; needs the MNIST files",
             "ddpm-mnist-uncond": "4,000 steps of an unconditional UNet on MNIST, ~1 h on one core; needs the MNIST files",
             "gan-mnist": "10,000 DCGAN steps on 28x28 MNIST, ~14 min on one core; needs the MNIST files",
             "vqvae-mnist": "3,000 VQ-VAE steps on 28x28 MNIST, ~25 min on one busy core; needs the MNIST files"}
DEFAULT_RUNS = [name for name in RUNS if name not in LONG_RUNS]


# ---------------------------------------------------------------- the figures kept
def as_is(run, name):
    """A gallery image that is one demo figure, byte for byte (make_image shrinks it if too big)."""
    return lambda runs, path: shutil.copyfile(runs / run / name, path)


def side_by_side(*sources, gap=16):
    """A gallery image of several demo figures of one height, left to right, white between them."""
    def make(runs, path):
        images = [_rgb(plt_image().imread(runs / run / name)) for run, name in sources]
        height = max(im.shape[0] for im in images)
        padded = [np.pad(im, ((0, height - im.shape[0]), (0, gap), (0, 0)), constant_values=1.0) for im in images]
        _write(np.concatenate(padded, axis=1)[:, :-gap], path)
    return make


def gan_rows(runs, path):
    """The fixed-noise samples over training of the plain GAN (top) and the default one (bottom)."""
    toy = get_toy2d("grid25")
    rows, titles = [], []
    for run in ("gan-plain", "gan"):
        state = tg.load(runs / run / "checkpoint.npz", device="cpu")
        rows.append([s.numpy() if isinstance(s, tg.Tensor) else s for s in state["snapshots"]])
        titles.append([f"step {int(s)}" for s in state["snapshot_steps"]])
    viz.frame_rows(rows, path, row_titles=["plain GAN", "pack 4 + minibatch std"], titles=titles,
                   lim=5.0, modes=toy.modes)


# gallery file -> (the runs it needs, how to make it)
IMAGES = {
    "ae_latent_spaces.png": (["ae"], as_is("ae", "latent_spaces.png")),
    "ae_latent_grids.png": (["ae"], side_by_side(("ae", "ae_latent_grid.png"), ("ae", "vae_latent_grid.png"))),
    "vae_samples.png": (["vae"], as_is("vae", "samples.png")),
    "gan_samples.png": (["gan"], as_is("gan", "samples.png")),
    "gan_discriminator.png": (["gan"], as_is("gan", "discriminator.png")),
    "gan_plain_vs_default.png": (["gan", "gan-plain"], gan_rows),
    "ddpm_moons_reverse.png": (["ddpm-moons"], as_is("ddpm-moons", "reverse.png")),
    "ddpm_digits_reverse.png": (["ddpm"], as_is("ddpm", "reverse.png")),
    "ddpm_digits_guided.png": (["ddpm"], as_is("ddpm", "guided.png")),
    "ddpm_mnist_guided.png": (["ddpm-mnist"], as_is("ddpm-mnist", "guided.png")),
    "ddpm_mnist_reverse.png": (["ddpm-mnist"], as_is("ddpm-mnist", "reverse.png")),
    "ddpm_mnist_uncond_samples.png": (["ddpm-mnist-uncond"], as_is("ddpm-mnist-uncond", "samples.png")),
    "vqvae_priors.png": (["vqvae"], as_is("vqvae", "priors.png")),
    "flow_moons_layers.png": (["flow"], as_is("flow", "layers.png")),
    "flow_moons_density.png": (["flow"], as_is("flow", "density.png")),
    "flow_grid25_density.png": (["flow-grid25"], as_is("flow-grid25", "density.png")),
    "gan_mnist_samples.png": (["gan-mnist"], side_by_side(("gan-mnist", "samples.png"), ("gan-mnist", "real.png"))),
    "score_ring8_field.png": (["score"], as_is("score", "score_field.png")),
    "score_digits_samples.png": (["score-digits"], as_is("score-digits", "samples.png")),
    "vqvae_mnist_reconstructions.png": (["vqvae-mnist"], as_is("vqvae-mnist", "reconstructions.png")),
    "vqvae_mnist_samples.png": (["vqvae-mnist"], as_is("vqvae-mnist", "samples.png")),
}


def plt_image():
    import matplotlib.image  # lazily, like tinygen.viz

    return matplotlib.image


def _rgb(image):
    """(H, W, 3) floats in [0, 1] from what imread returns (grey, RGB or RGBA)."""
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    return image[..., :3].astype("float32")


def _write(image, path):
    """Save (H, W, 3) pixels as a PNG; halve, third, ... the resolution until it fits MAX_BYTES."""
    image = _rgb(image)
    for factor in range(1, 9):
        h, w = (image.shape[0] // factor) * factor, (image.shape[1] // factor) * factor
        small = image[:h, :w].reshape(h // factor, factor, w // factor, factor, 3).mean(axis=(1, 3))  # box filter
        plt_image().imsave(path, np.clip(small, 0.0, 1.0), format="png")
        if path.stat().st_size <= MAX_BYTES:
            return path
    raise RuntimeError(f"gallery: {path.name} is still {path.stat().st_size} bytes at 1/{factor} size")


def make_image(name, runs, gallery):
    """Write one gallery image when its runs have finished; returns its path or None."""
    needed, make = IMAGES[name]
    if not all((runs / run / "metrics.json").exists() for run in needed):
        return None
    path = gallery / name
    make(runs, path)
    if path.stat().st_size > MAX_BYTES:  # figures drawn by viz: shrink their pixels like the copies
        _write(plt_image().imread(path), path)
    return path


# ---------------------------------------------------------------- the runs
def headline(name, runs):
    """The run's headline numbers, read from its metrics.json."""
    record = json.loads((runs / name / "metrics.json").read_text())
    found, keys = record["metrics"], RUNS[name][1]
    return {**{k: found[k] for pattern in keys for k in found if fnmatch(k, pattern)},
            "training_seconds": record["seconds"]}


def run_demo(name, args, runs):
    """Run one demo in its own process (its own seed and device state); returns its headline."""
    command = RUNS[name][0]
    extra = ["--seed", "0", "--quiet", "--out", str(runs / name), "--device", args.device]
    if args.data_root:
        extra += ["--data-root", args.data_root]
    if args.threads:
        extra += ["--threads", str(args.threads)]
    if args.quick:
        extra.append("--quick")
    print(f"[{name}] python {' '.join(command)}", flush=True)
    began = time.perf_counter()
    subprocess.run([sys.executable, *command, *extra], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return {**headline(name, runs), "wall_seconds": round(time.perf_counter() - began, 1)}


def parse(argv):
    p = argparse.ArgumentParser(prog="python demos/gallery.py", description=__doc__.split("\n")[0],
                                formatter_class=common.ShowDefaults)
    p.add_argument("--only", default=",".join(DEFAULT_RUNS),
                   help=f"comma-separated runs, of: {', '.join(RUNS)} (default: all but the long ones: "
                        + "; ".join(f"{name}, {why}" for name, why in LONG_RUNS.items()) + ")")
    p.add_argument("--out", default=None, help="folder for the runs (default runs/gallery/)")
    p.add_argument("--gallery", default=None, help="folder for the kept images (default docs/gallery/)")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="where the demos train")
    p.add_argument("--data-root", default=None, help="folder holding mnist/ (default: $TINYGEN_DATA)")
    p.add_argument("--threads", type=int, default=1, help="BLAS threads per demo (0: the library's default)")
    p.add_argument("--quick", action="store_true", help="every demo with --quick, into temporary folders")
    p.add_argument("--copy-only", action="store_true", help="train nothing: remake the images from the runs in --out")
    p.add_argument("--quiet", action="store_true", help="accepted for symmetry with the demos (they always run quiet)")
    args = p.parse_args(argv)
    args.only = [r for r in args.only.split(",") if r]
    unknown = [r for r in args.only if r not in RUNS]
    if unknown:
        p.error(f"--only: unknown runs {unknown}; expected some of {list(RUNS)}")
    if args.quick:  # a temporary folder only when no --out is given (it is kept: the images are in it)
        base = pathlib.Path(args.out) if args.out else pathlib.Path(tempfile.mkdtemp(prefix="tinygen-gallery-"))
        args.out = args.out or str(base / "runs")
        args.gallery = args.gallery or str(base / "gallery")
    args.out = args.out or str(ROOT / "runs" / "gallery")
    args.gallery = args.gallery or str(ROOT / "docs" / "gallery")
    if args.quick and pathlib.Path(args.gallery).resolve() == (ROOT / "docs" / "gallery").resolve():
        p.error("--quick never overwrites docs/gallery/: give another --gallery")
    return args


def main(argv=None):
    args = parse(argv)
    runs, gallery = pathlib.Path(args.out), pathlib.Path(args.gallery)
    runs.mkdir(parents=True, exist_ok=True)
    gallery.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    headlines = {}
    for name in args.only:
        if args.copy_only:
            headlines[name] = headline(name, runs)
        else:
            headlines[name] = run_demo(name, args, runs)
        print(f"[{name}] {common.summary(headlines[name])}", flush=True)
    made = []
    for name, (needed, _) in IMAGES.items():
        if any(run in args.only for run in needed):  # images of runs not asked for are left as they are
            path = make_image(name, runs, gallery)
            if path is not None:
                made.append(path)
                print(f"wrote {path} ({path.stat().st_size // 1000} KB)")
    path = common.write_metrics(runs, args, {"runs": headlines, "images": [p.name for p in made]},
                                time.perf_counter() - began)
    print(f"{len(made)} images in {gallery}; headline numbers in {path}")
    return headlines, made


if __name__ == "__main__":
    main()

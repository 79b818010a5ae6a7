"""Train a variational autoencoder on digit images; --model cvae or gumbel for its two cousins.

    python demos/vae.py                                   # 64-400-20 VAE on 8x8 digits, ~1 min
    python demos/vae.py --dataset mnist                   # the 784-400-20 VAE on MNIST
    python demos/vae.py --latent-dim 2                    # a 2-D latent: scatter and decoded grid
    python demos/vae.py --model cvae                      # conditional: one row of samples per digit
    python demos/vae.py --model gumbel --hard             # 20 categorical latents (Gumbel-Softmax)

Writes to --out: reconstructions.png, samples.png, interpolation.png, kl_parts.png (the KL
term's three parts against log-variance), loss.png, and with --latent-dim 2 latent_space.png
and latent_grid.png; cvae_rows.png for --model cvae. samples.npy holds the prior samples
(N, C, H, W) in [0, 1]; metrics.json the test negative ELBO with its reconstruction and KL
parts, the importance-weighted NLL, the classifier Frechet distance beside its floor and the
class histogram of the samples.
"""

import math

import common
import numpy as np

import tinygen as tg
from tinygen import metrics, viz
from tinygen.data import DataLoader, dynamic_binarize, load_dataset
from tinygen.models import CVAE, VAE, GumbelVAE
from tinygen.models.gumbel import temperature

DEFAULT_STEPS = {"digits": 4000, "mnist": 6000, "fashion-mnist": 6000}
# the options that shape the run: --resume refuses another value for any of them (common.resume_state)
SHAPE = ("model", "arch", "latent_dim", "hidden", "likelihood", "beta", "binarize", "categorical_vars", "tau_min",
         "hard")


def build_model(args, image_shape):
    hidden = (args.hidden,)
    if args.model == "gumbel":
        return GumbelVAE.mlp(image_shape, args.categorical_vars, 10, hidden, hard=args.hard)
    kwargs = {"likelihood": args.likelihood, "beta": args.beta}
    if args.model == "cvae":
        return CVAE.mlp(image_shape, args.latent_dim, hidden, **kwargs)
    if args.arch == "conv":
        return VAE.conv(image_shape, args.latent_dim, **kwargs)
    return VAE.mlp(image_shape, args.latent_dim, hidden, **kwargs)


def loss_parts(model, args, x, y, step):
    """The negative ELBO of a batch: (loss, reconstruction, KL)."""
    if args.binarize:
        x = dynamic_binarize(x)  # a fresh binarisation each time an image is used
    if args.model == "gumbel":
        return model.neg_elbo(x, tau=temperature(step, tau_min=args.tau_min))
    return model.neg_elbo(x, y if args.model == "cvae" else None)


def evaluate(model, args, images, labels, k):
    """Test negative ELBO (and parts) and, for the Gaussian-latent models, the IWAE NLL."""
    sums = None
    with tg.no_grad():
        for x, y in DataLoader((images, labels), batch_size=500, device=args.device):
            if args.binarize:
                x = dynamic_binarize(x)
            parts = loss_parts(model, args, x, y, step=10**9)  # gumbel: the final temperature
            batch = tg.stack(list(parts)) * float(len(y))
            sums = batch if sums is None else sums + batch
    loss, recon, kl = (float(v) / len(labels) for v in sums.numpy())
    result = {"test_neg_elbo": loss, "test_recon": recon, "test_kl": kl}
    if args.model != "gumbel" and args.likelihood == "bernoulli":
        y = labels if args.model == "cvae" else None
        seed = 0 if args.binarize else None  # binarised models are scored on one fixed binarisation
        result[f"test_iwae_nll_k{k}"] = metrics.iwae_nll(model, images, k=k, labels=y, binarize_seed=seed)
    return result


# ---------------------------------------------------------------- figures
def kl_parts_figure(path):
    """KL(N(0, s^2) || N(0, 1)) = 0.5 (s^2 - log s^2 - 1) and its parts against logvar = log s^2."""
    logvar = np.linspace(-4.0, 3.0, 200)
    parts = {"0.5 exp(logvar)  (variance)": 0.5 * np.exp(logvar), "-0.5 logvar": -0.5 * logvar,
             "-0.5  (constant)": np.full_like(logvar, -0.5),
             "KL = sum of the three (mu = 0)": 0.5 * (np.exp(logvar) - logvar - 1.0)}
    viz.plot_functions(logvar, parts, path, xlabel="logvar = log sigma^2", vline=0.0,
                       title="the KL term's parts: the sum is smallest at variance 1 (logvar 0)")


def interpolation_figure(model, args, test_x, test_y, path, pairs=4, steps=10):
    """Decode the straight line between the posterior means of two test digits, for a few pairs."""
    xp_rows = []
    for p in range(pairs):
        a = int(np.flatnonzero(test_y == p)[0])
        b = int(np.flatnonzero(test_y == (p + 5) % 10)[0])
        x = tg.tensor(test_x[[a, b]], device=args.device)
        with tg.no_grad():
            if args.model == "gumbel":  # interpolate the class probabilities of each variable
                ends = model.encode(x).probs
            else:
                y = tg.tensor(test_y[[a, b]], device=args.device) if args.model == "cvae" else None
                ends = model.encode(x, y).mean
            t = tg.linspace(0.0, 1.0, steps, device=args.device).reshape(steps, *([1] * (ends.ndim - 1)))
            codes = ends[0:1] * (1.0 - t) + ends[1:2] * t
            if args.model == "gumbel":
                xp_rows.append(model.decode(codes).numpy())
            elif args.model == "cvae":  # the label switches halfway
                labels = tg.tensor([int(test_y[a])] * (steps // 2) + [int(test_y[b])] * (steps - steps // 2))
                xp_rows.append(model.decode(codes, labels).numpy())
            else:
                xp_rows.append(model.decode(codes).numpy())
    viz.save_image_grid(np.concatenate(xp_rows), path, nrow=steps)


def latent_grid(model, path, n=15, device="cpu", label=None):
    """Decode an n x n grid of codes over the 2-D latent, at the normal quantiles 5%..95%."""
    np_grid = np.array([math.sqrt(2.0) * _erfinv(2 * q - 1) for q in np.linspace(0.05, 0.95, n)], dtype="float32")
    zs = np.stack(np.meshgrid(np_grid, -np_grid), axis=-1).reshape(-1, 2)  # rows top to bottom: z2 falls
    with tg.no_grad():
        images = model.decode(tg.tensor(zs, device=device))
    viz.save_image_grid(images, path, nrow=n)
    return images


def _erfinv(y):
    """Inverse error function (Winitzki's approximation, refined by two Newton steps): no scipy needed."""
    a = 0.147
    ln = math.log(1.0 - y * y)
    first = 2.0 / (math.pi * a) + ln / 2.0
    x = math.copysign(math.sqrt(math.sqrt(first * first - ln / a) - first), y)
    for _ in range(2):
        x -= (math.erf(x) - y) / (2.0 / math.sqrt(math.pi) * math.exp(-x * x))
    return x


def encode_means(model, images, device):
    with tg.no_grad():
        return model.encode(tg.tensor(images, device=device)).mean.numpy()


def cvae_rows_figure(model, args, path, columns=10):
    """One row per label 0..9; each column shares one z, so a column keeps its 'handwriting'."""
    z = tg.randn(columns, args.latent_dim, device=args.device)
    z = z.unsqueeze(0).expand(10, columns, args.latent_dim).reshape(10 * columns, args.latent_dim)
    labels = tg.tensor(np.repeat(np.arange(10), columns), device=args.device)
    with tg.no_grad():
        viz.save_image_grid(model.decode(z, labels), path, nrow=columns)


# ---------------------------------------------------------------- main
def parse(argv=None):
    """The command line: the common options (demos/common.py) and the VAE's own."""
    p = common.make_parser("vae", __doc__.split("\n")[0], ["digits", "mnist", "fashion-mnist"], "digits",
                           batch_size=128, lr=1e-3, steps=DEFAULT_STEPS)
    p.add_argument("--model", choices=["vae", "cvae", "gumbel"], default="vae", help="which of the three")
    p.add_argument("--arch", choices=["mlp", "conv"], default="mlp", help="encoder/decoder kind (vae only)")
    p.add_argument("--latent-dim", type=common.positive_int, default=20, help="Gaussian latent dimensions (vae, cvae)")
    p.add_argument("--hidden", type=common.positive_int, default=400, help="width of the MLP's hidden layer")
    p.add_argument("--likelihood", choices=["bernoulli", "gaussian"], default="bernoulli", help="p(x | z) per pixel")
    p.add_argument("--beta", type=common.non_negative_float, default=1.0, help="weight of the KL term (beta-VAE)")
    p.add_argument("--binarize", action="store_true", help="binarise pixels afresh each time an image is used")
    p.add_argument("--iwae-k", type=common.positive_int, default=1000, help="importance samples for the test NLL")
    p.add_argument("--categorical-vars", type=common.positive_int, default=20,
                   help="gumbel: latent variables of 10 classes")
    p.add_argument("--tau-min", type=common.positive_float, default=0.5, help="gumbel: final temperature")
    p.add_argument("--hard", action="store_true", help="gumbel: straight-through one-hot samples")
    args = common.parse_args(p, argv)
    if args.steps is None:
        args.steps = 20 if args.quick else DEFAULT_STEPS[args.dataset]
    return args


def main(argv=None):
    args = parse(argv)
    out = common.start_run(args)

    train_x, train_y = load_dataset(args.dataset, "train", root=args.data_root)
    test_x, test_y = load_dataset(args.dataset, "test", root=args.data_root)
    if args.quick:
        args.iwae_k = min(args.iwae_k, 10)
        train_x, train_y, test_x, test_y = train_x[:512], train_y[:512], test_x[:256], test_y[:256]
    image_shape = tuple(train_x.shape[1:])

    model = build_model(args, image_shape).to(args.device)
    loader = DataLoader((train_x, train_y), batch_size=args.batch_size, shuffle=True, seed=args.seed, device=args.device)
    config = common.run_config(args, SHAPE)
    state = common.resume_state(args, out, config)

    def write(snapshot):
        tg.save({**snapshot, "config": config}, common.checkpoint_path(out))

    # the training loop (batch -> loss_parts -> backward -> Adam step) is common.fit, shared with demos/ae.py;
    # it saves every --checkpoint-every, and on Ctrl-C saves and stops
    with common.Checkpoints(args, args.steps) as checkpoints:
        optimizer, history, step, seconds, snapshot = common.fit(model, args, loader, loss_parts, state,
                                                                 desc=args.model, checkpoints=checkpoints, write=write)
        checkpoints.step_done(step, lambda at: write(snapshot(at)), final=True)

    result = {"steps": step, "parameters": sum(p.numel() for p in model.parameters())}
    result.update(evaluate(model, args, test_x, test_y, args.iwae_k))

    n = min(1000, len(test_x))
    sample_labels = tg.tensor(np.arange(n) % 10, device=args.device)
    samples = model.sample(n, sample_labels) if args.model == "cvae" else model.sample(n)
    samples = samples.numpy()
    np.save(out / "samples.npy", samples)
    result.update(common.image_quality(args, samples, train_x, test_x))

    # figures
    viz.loss_curves({k: history[k] for k in ("loss", "recon", "kl")}, out / "loss.png", smooth=50,
                    title="negative ELBO = reconstruction + beta * KL (nats per example)")
    shown = tg.tensor(test_x[:16], device=args.device)
    with tg.no_grad():
        recon = (model.reconstruct(shown, tg.tensor(test_y[:16], device=args.device)) if args.model == "cvae"
                 else model.reconstruct(shown)).numpy()
    viz.save_image_grid(np.concatenate([test_x[:16], recon]), out / "reconstructions.png", nrow=16)
    viz.save_image_grid(samples[:100], out / "samples.png", nrow=10)
    interpolation_figure(model, args, test_x, test_y, out / "interpolation.png")
    kl_parts_figure(out / "kl_parts.png")
    if args.model == "cvae":
        cvae_rows_figure(model, args, out / "cvae_rows.png")
    if args.model == "vae" and args.latent_dim == 2:
        viz.latent_scatter({"VAE posterior means": (encode_means(model, test_x, args.device), test_y)},
                           out / "latent_space.png")
        latent_grid(model, out / "latent_grid.png", device=args.device)

    path = common.write_metrics(out, args, result, seconds)
    nll = {k: v for k, v in result.items() if k.startswith("test_iwae")}
    print(f"test -ELBO {result['test_neg_elbo']:.2f} nats (recon {result['test_recon']:.2f} + KL {result['test_kl']:.2f})"
          + "".join(f", {k} {v:.2f}" for k, v in nll.items())
          + f"; classifier FD {result['fd']:.2f} (floor {result['fd_floor']:.2f}); wrote {path}")
    return result


if __name__ == "__main__":
    common.run(main)

"""An autoencoder beside a VAE of the same shape: why the VAE's latent space is smooth.

    python demos/ae.py                          # 2-D latents on 8x8 digits, both models, ~1 min
    python demos/ae.py --dataset mnist          # the same on MNIST
    python demos/ae.py --arch conv --latent-dim 8

Both models have the same encoder and decoder and the same training budget; the VAE's encoder
outputs a Gaussian instead of a point and pays a KL term for straying from N(0, I). Writes to
--out: latent_spaces.png (the test digits' codes, AE left, VAE right, coloured by digit),
ae_latent_grid.png and vae_latent_grid.png (codes on a grid decoded: the AE's has holes),
reconstructions.png (test digits, AE, VAE), interpolation.png (AE rows, then VAE rows),
samples.png, samples.npy (AE decodes of a Gaussian fitted to its codes), metrics.json and
checkpoint.npz.
"""

import common
import numpy as np

import tinygen as tg
from tinygen import viz
from tinygen.data import DataLoader, load_dataset
from tinygen.models import VAE, Autoencoder
from tinygen.models.vae import ELBO

DEFAULT_STEPS = {"digits": 4000, "mnist": 6000, "fashion-mnist": 6000}
# the options that shape the run: --resume refuses another value for any of them (common.resume_state)
SHAPE = ("arch", "latent_dim", "hidden")


def ae_parts(model, args, x, y, step):
    loss = model.loss(x)
    return ELBO(loss, loss, loss * 0.0)  # no KL: the point codes pay nothing


def vae_parts(model, args, x, y, step):
    return model.neg_elbo(x)


def build(args, image_shape):
    if args.arch == "conv":
        return Autoencoder.conv(image_shape, args.latent_dim), VAE.conv(image_shape, args.latent_dim)
    hidden = (args.hidden,)
    return Autoencoder.mlp(image_shape, args.latent_dim, hidden), VAE.mlp(image_shape, args.latent_dim, hidden)


def codes_of(model, images, device):
    with tg.no_grad():
        x = tg.tensor(images, device=device)
        return (model.encode(x).mean if isinstance(model, VAE) else model.encode(x)).numpy()


def grid_figure(model, lo, hi, path, device, n=15):
    """Decode an n x n grid of codes over the box [lo, hi] (first two latent dimensions)."""
    axes = [np.linspace(lo[d], hi[d], n, dtype="float32") for d in range(2)]
    zs = np.stack(np.meshgrid(axes[0], axes[1][::-1]), axis=-1).reshape(-1, 2)
    with tg.no_grad():
        viz.save_image_grid(model.decode(tg.tensor(zs, device=device)), path, nrow=n)


def interpolation_rows(model, codes, test_y, device, steps=10):
    rows = []
    for p in range(3):
        a, b = int(np.flatnonzero(test_y == p)[0]), int(np.flatnonzero(test_y == p + 5)[0])
        t = np.linspace(0.0, 1.0, steps, dtype="float32")[:, None]
        line = codes[a] * (1.0 - t) + codes[b] * t
        with tg.no_grad():
            rows.append(model.decode(tg.tensor(line, device=device)).numpy())
    return rows


def parse(argv=None):
    """The command line: the common options (demos/common.py) and the two models' shape."""
    p = common.make_parser("ae", __doc__.split("\n")[0], ["digits", "mnist", "fashion-mnist"], "digits",
                           batch_size=128, lr=1e-3, steps=DEFAULT_STEPS)
    p.add_argument("--arch", choices=["mlp", "conv"], default="mlp", help="encoder/decoder kind of both models")
    p.add_argument("--latent-dim", type=common.positive_int, default=2, help="latent dimensions of both models")
    p.add_argument("--hidden", type=common.positive_int, default=400, help="width of the MLPs' hidden layer")
    args = common.parse_args(p, argv)
    if args.steps is None:
        args.steps = 20 if args.quick else DEFAULT_STEPS[args.dataset]
    args.binarize, args.model = False, "ae"
    return args


def main(argv=None):
    args = parse(argv)
    out = common.start_run(args)

    train_x, train_y = load_dataset(args.dataset, "train", root=args.data_root)
    test_x, test_y = load_dataset(args.dataset, "test", root=args.data_root)
    if args.quick:
        train_x, train_y, test_x, test_y = train_x[:512], train_y[:512], test_x[:256], test_y[:256]
    image_shape = tuple(train_x.shape[1:])
    ae, vae = (m.to(args.device) for m in build(args, image_shape))
    loader = DataLoader((train_x, train_y), batch_size=args.batch_size, shuffle=True, seed=args.seed, device=args.device)

    config = common.run_config(args, SHAPE)
    state = common.resume_state(args, out, config) or {}
    # one checkpoint for both models: {"config", "ae": fit's state, "vae": fit's state}, the AE trained first
    checkpoint, histories, seconds = {**state, "config": config}, {}, 0.0
    for name, model, parts in (("ae", ae, ae_parts), ("vae", vae, vae_parts)):
        def write(snapshot, name=name):
            checkpoint[name] = snapshot
            tg.save(checkpoint, common.checkpoint_path(out))

        with common.Checkpoints(args, args.steps, unit=f"{name} step") as checkpoints:  # and on Ctrl-C
            optimizer, history, step, secs, snapshot = common.fit(model, args, loader, parts, state.get(name), desc=name,
                                                                  checkpoints=checkpoints, write=write)
            checkpoints.step_done(step, lambda at: write(snapshot(at)), final=True)
        histories[name], seconds = history, seconds + secs

    # test losses, one batch: both in nats per example
    x = tg.tensor(test_x, device=args.device)
    with tg.no_grad():
        ae_recon = float(ae.loss(x))
        elbo = vae.neg_elbo(x)
    result = {"steps": args.steps, "ae_test_recon": ae_recon, "vae_test_neg_elbo": float(elbo.loss),
              "vae_test_recon": float(elbo.recon), "vae_test_kl": float(elbo.kl)}

    # samples: the AE has no prior, so draw from a Gaussian fitted to its training codes
    ae_codes, vae_codes = codes_of(ae, test_x, args.device), codes_of(vae, test_x, args.device)
    train_codes = codes_of(ae, train_x, args.device).astype("float64")
    n = min(1000, len(test_x))
    rng = tg.backend.host_rng(args.seed)
    fitted = rng.multivariate_normal(train_codes.mean(0), np.cov(train_codes, rowvar=False), size=n).astype("float32")
    with tg.no_grad():
        ae_samples = ae.decode(tg.tensor(fitted, device=args.device)).numpy()
    vae_samples = vae.sample(n).numpy()
    np.save(out / "samples.npy", ae_samples)
    np.save(out / "vae_samples.npy", vae_samples)
    for name, samples in (("ae", ae_samples), ("vae", vae_samples)):
        quality = common.image_quality(args, samples, train_x, test_x)
        result.update({f"{name}_{k}": v for k, v in quality.items()})

    # figures
    if args.latent_dim >= 2:
        viz.latent_scatter({"autoencoder: codes z": (ae_codes[:, :2], test_y),
                            "VAE: posterior means mu": (vae_codes[:, :2], test_y)}, out / "latent_spaces.png",
                           title="test digits in the latent space (first two dimensions)")
        lo, hi = ae_codes.min(0), ae_codes.max(0)  # the AE's codes span an arbitrary box: decode all of it
        grid_figure(ae, lo, hi, out / "ae_latent_grid.png", args.device)
        grid_figure(vae, [-2.5, -2.5], [2.5, 2.5], out / "vae_latent_grid.png", args.device)
    with tg.no_grad():
        shown = tg.tensor(test_x[:16], device=args.device)
        rows = [test_x[:16], ae(shown).numpy(), vae.reconstruct(shown).numpy()]
    viz.save_image_grid(np.concatenate(rows), out / "reconstructions.png", nrow=16)
    rows = interpolation_rows(ae, ae_codes, test_y, args.device) + interpolation_rows(vae, vae_codes, test_y, args.device)
    viz.save_image_grid(np.concatenate(rows), out / "interpolation.png", nrow=10)
    viz.save_image_grid(np.concatenate([ae_samples[:50], vae_samples[:50]]), out / "samples.png", nrow=10)
    viz.loss_curves({"AE reconstruction": histories["ae"]["loss"], "VAE -ELBO": histories["vae"]["loss"],
                     "VAE KL": histories["vae"]["kl"]}, out / "loss.png", smooth=50, title="nats per example")

    path = common.write_metrics(out, args, result, seconds)
    print(f"AE test reconstruction {ae_recon:.2f} nats; VAE -ELBO {result['vae_test_neg_elbo']:.2f} "
          f"(recon {result['vae_test_recon']:.2f} + KL {result['vae_test_kl']:.2f}); classifier FD of samples: "
          f"AE {result['ae_fd']:.2f}, VAE {result['vae_fd']:.2f} (floor {result['vae_fd_floor']:.2f}); wrote {path}")
    return result


if __name__ == "__main__":
    common.run(main)

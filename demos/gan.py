"""Train a GAN on a 2-D toy distribution or on digit images, and watch for mode collapse.

    python demos/gan.py                                   # grid25: 25 Gaussians, packed + minibatch std
    python demos/gan.py --dataset ring8
    python demos/gan.py --pack 1 --no-minibatch-std       # the plain GAN: watch modes go missing
    python demos/gan.py --loss wgan-gp --n-critic 5       # Wasserstein with gradient penalty
    python demos/gan.py --dataset digits                  # a DCGAN on 8x8 digits
    python demos/gan.py --dataset mnist --data-root ../shared/data   # a DCGAN on MNIST, 14 min on one thread

Writes to --out: samples.npy (2,500 samples in data space; images in [0, 1], drawn by G or, with --ema as
MNIST has it, by the moving average of G's weights), samples.png,
progress.png (the fixed-noise samples at several points of training), real.png (images: 64 test images,
to hold beside samples.png), discriminator.png
(2-D: D's logit over the plane), loss.png, metrics.json (mode coverage on ring8 / grid25) and
checkpoint.npz. For images, metrics.json holds the classifier-Frechet distance next to its floor
(train vs test images) and the classifier's histogram of the samples' classes.
"""

import argparse
import time

import common

import tinygen as tg
from tinygen import optim, viz
from tinygen.data import DataLoader, get_toy2d, load_dataset
from tinygen.data.transforms import from_symmetric, to_symmetric
from tinygen.metrics import mode_coverage
from tinygen.models.gan import (LOSSES, DCDiscriminator, DCGenerator, GANTrainer, MLPDiscriminator, MLPGenerator,
                                averaged_generator, dcgan_init_)
from tinygen.progress import progress

TOY = ["ring8", "grid25", "moons", "swissroll", "checkerboard", "spiral"]
IMAGES = ["digits", "mnist"]
# the defaults, tuned on grid25 with benchmarks/gan_modes.py (see the README table)
# n_critic 5: D must resolve clusters of std 0.05 before G can be pulled into them (one D step per
# G step leaves G a blur over the whole grid); batch 512 (every mode in every batch) kept more modes
# than 256 in a one-seed comparison; the rates decay to 0 over the last quarter (sharper clusters);
# pack 4 alone kept 19.2 of 25 modes over 5 seeds, pack 4 with the minibatch-std feature all 25
TOY_DEFAULTS = dict(steps=6000, batch_size=512, lr=1e-3, loss="nonsaturating", pack=4, hidden=256, depth=3,
                    latent_dim=2, n_critic=5, lr_decay=0.25, minibatch_std=True, ema=0.0, reuse_fakes=False)
IMAGE_DEFAULTS = dict(steps=3000, batch_size=64, lr=2e-4, loss="nonsaturating", pack=2, hidden=32, depth=0,
                      latent_dim=32, n_critic=1, lr_decay=0.0, minibatch_std=False, ema=0.0, reuse_fakes=False)
# where one dataset differs from its kind (docs/results.md has the runs):
# grid25: the samples the default missed were bridges between neighbouring modes (G is continuous, its
# noise one connected blob); training on, with the rates falling over the last half, thins them: high-quality
# samples on seed 1 went 88.2% -> 92.3% -> 95.6% at 12,000, 16,000 and 24,000 steps (90.0% at the old 6,000).
# ring8: the minibatch-std feature that grid25 needs cost ring8's samples their place on the ring (80.9%
# high-quality over 5 seeds, 92.9% without it); without it, with twice the steps and the rates falling
# over the last half, the generator's bridges between modes thin out: 96.7% +- 0.3 over 5 seeds, all >= 96.2%.
# mnist: the DCGAN keeps improving long after digits' 3,000 steps (with the refined G, Frechet 95 at
# 3,000 steps, 53 at 8,000 on 2,500 samples); without packing its Frechet distance is lower (44 against 53
# at 8,000 steps) but its classes less even, which 2,000 more steps mend; the samples come from a moving
# average of G's weights, which lowered the Frechet distance on 1,000 samples by 5-20% at no cost in time;
# rates of 3e-4 for both players instead of DCGAN's 2e-4 lowered it by another 10-20% on each of 3 seeds;
# G's step scores the fakes D's step saw (pytorch/examples' order): 15% less time a step, samples as good;
# the least-squares loss (LSGAN) instead of the non-saturating one lifted the classifier's confidence from
# 0.8995 to 0.903 on average over 3 seeds x 3 draws (8 of 9 draws >= 0.9 against 5), the Frechet distance as low.
DATASET_DEFAULTS = {"grid25": dict(steps=24000, lr_decay=0.5),
                    "ring8": dict(minibatch_std=False, steps=12000, lr_decay=0.5),
                    "mnist": dict(steps=10000, pack=1, ema=0.999, lr=3e-4, reuse_fakes=True, loss="lsgan")}
SNAPSHOTS = 6  # pictures of the fixed-noise samples during training: step 1, then 1/5, ... of the schedule
LOG_EVERY = 100  # final_d_loss and final_g_loss average the last this many steps
# the options that shape the run: --resume refuses another value for any of them (common.resume_state)
SHAPE = ("loss", "pack", "minibatch_std", "spectral_norm", "d_batch_norm", "refine", "n_critic", "lr_decay", "gp_weight",
         "hidden", "latent_dim", "ema", "reuse_fakes")


def defaults_of(dataset):
    """Every default for ``dataset``: its kind's (TOY_DEFAULTS or IMAGE_DEFAULTS) and its own exceptions."""
    return {**(IMAGE_DEFAULTS if dataset in IMAGES else TOY_DEFAULTS), **DATASET_DEFAULTS.get(dataset, {})}


def by_kind(name):
    """The default of one option for each kind of data and each exception (for --help):
    {"2-D data": ..., "images": ...} and e.g. "ring8": ... where ring8's own default differs."""
    table = {"2-D data": TOY_DEFAULTS[name], "images": IMAGE_DEFAULTS[name]}
    return {**table, **{d: own[name] for d, own in DATASET_DEFAULTS.items() if name in own}}


def parse(argv=None):
    """The command line; an option left out takes the default of its dataset (defaults_of)."""
    parser = common.make_parser("gan", __doc__.split("\n")[0], TOY + IMAGES, "grid25", batch_size=by_kind("batch_size"),
                                lr=by_kind("lr"), steps=by_kind("steps"))
    parser.add_argument("--loss", choices=LOSSES, default=None,
                        help=f"the GAN objective (default: {common.per_dataset(by_kind('loss'))})")
    parser.add_argument("--pack", type=common.positive_int, default=None,
                        help="PacGAN: samples per discriminator input, 1: off "
                        f"(default: {common.per_dataset(by_kind('pack'))})")
    parser.add_argument("--minibatch-std", action=argparse.BooleanOptionalAction, default=None,
                        help="give D the batch's std as a feature (default: on for 2-D data but ring8, off for images)")
    parser.add_argument("--spectral-norm", action="store_true", help="spectrally normalise D's layers")
    parser.add_argument("--d-batch-norm", action=argparse.BooleanOptionalAction, default=None,
                        help="images: BatchNorm in D after its second convolution, as DCGAN does (default: on, "
                             "off with --loss wgan-gp, whose per-sample gradient penalty it would break)")
    parser.add_argument("--refine", action=argparse.BooleanOptionalAction, default=None,
                        help="images: a 3x3 convolution in G before each upsampling (default: on for mnist; off for "
                             "digits, whose 2x2 and 4x4 maps it made worse)")
    parser.add_argument("--n-critic", type=common.positive_int, default=None,
                        help="D steps per G step (default 5 for 2-D data and wgan-gp, 1 for images)")
    parser.add_argument("--lr-decay", type=common.unit_interval, default=None,
                        help="the last fraction of the schedule (--schedule-steps), over which the rates fall linearly "
                             f"to 0, 0: off (default: {common.per_dataset(by_kind('lr_decay'))})")
    common.add_schedule_steps(parser, by_kind("steps"))  # also the timeline of progress.png's snapshots
    parser.add_argument("--gp-weight", type=common.non_negative_float, default=10.0,
                        help="lambda of the WGAN-GP penalty")
    parser.add_argument("--hidden", type=common.positive_int, default=None,
                        help=f"MLP width (2-D) or conv width (images) (default: {common.per_dataset(by_kind('hidden'))})")
    parser.add_argument("--latent-dim", type=common.positive_int, default=None,
                        help=f"dimensions of G's input noise (default: {common.per_dataset(by_kind('latent_dim'))})")
    parser.add_argument("--ema", type=common.unit_interval, default=None,
                        help="decay of a moving average of G's weights, which draws the final samples "
                             f"(tinygen/models/gan/averaging.py), 0: off (default: {common.per_dataset(by_kind('ema'))})")
    parser.add_argument("--reuse-fakes", action=argparse.BooleanOptionalAction, default=None,
                        help="G's step scores the fakes D's last step saw, as pytorch/examples' DCGAN does: one "
                             f"forward of G a round instead of two (default: {common.per_dataset(by_kind('reuse_fakes'))})")
    args = common.parse_args(parser, argv)
    defaults = defaults_of(args.dataset)
    quick_steps = args.quick and args.steps is None  # --quick: 30 steps, unless --steps says otherwise
    for name in ("steps", "batch_size", "lr", "loss", "pack", "hidden", "latent_dim", "lr_decay", "minibatch_std", "ema",
                 "reuse_fakes"):
        if getattr(args, name) is None:
            setattr(args, name, defaults[name])
    args.depth = defaults["depth"]
    if args.n_critic is None:
        args.n_critic = 5 if args.loss == "wgan-gp" else defaults["n_critic"]
    if args.d_batch_norm is None:
        args.d_batch_norm = args.dataset in IMAGES and args.loss != "wgan-gp"
    if args.refine is None:  # MNIST: Frechet 116 -> 95 at 3,000 steps; digits: 12.3 -> 23.8 (docs/results.md)
        args.refine = args.dataset == "mnist"
    if args.refine and args.dataset not in IMAGES:
        parser.error("--refine: only for image data (the 2-D generator is an MLP)")
    if args.d_batch_norm and (args.dataset not in IMAGES or args.loss == "wgan-gp"):
        parser.error("--d-batch-norm: only for image data, and not with --loss wgan-gp (the gradient penalty "
                     "differentiates D per sample, which BatchNorm's batch statistics mix)")
    if quick_steps:
        args.steps = 30
    common.fill_schedule_steps(args, defaults["steps"])
    if args.batch_size % args.pack:
        parser.error(f"--batch-size {args.batch_size} must be a multiple of --pack {args.pack}")
    return args


def build(args, image_size=None, scale=1.0):
    tricks = dict(pack=args.pack, minibatch_std=args.minibatch_std, spectral_norm=args.spectral_norm)
    if image_size is None:
        G = MLPGenerator(args.latent_dim, args.hidden, args.depth, scale=scale)
        D = MLPDiscriminator(2, args.hidden, args.depth, scale=scale, **tricks)
    else:
        G = DCGenerator(args.latent_dim, image_size, width=args.hidden, refine=args.refine)
        D = DCDiscriminator(image_size, width=args.hidden, batch_norm=args.d_batch_norm, **tricks)
        # DCGAN's N(0, 0.02) init: with it and D's BatchNorm the MNIST run stopped stalling (docs/results.md)
        G.apply(dcgan_init_)
        D.apply(dcgan_init_)
    return G.to(args.device), D.to(args.device)


def real_batches(args):
    """(next_real, stream, toy, images): next_real() gives a batch of real data; stream is the image
    batches' common.Batches (its position goes into the checkpoint), or None for a 2-D toy, whose
    points come from tinygen's CPU generator (seeded and checkpointed); toy is the Toy2D or None, images
    the training images (for the metrics) or None."""
    if args.dataset in TOY:
        data = get_toy2d(args.dataset)
        return (lambda: tg.tensor(data(args.batch_size), device=args.device)), None, data, None
    images, _ = load_dataset(args.dataset, "train", root=args.data_root)
    if args.quick:
        images = images[:256]
    loader = DataLoader(to_symmetric(images), batch_size=args.batch_size, shuffle=True, drop_last=True,
                        seed=args.seed, device=args.device)
    stream = common.Batches(loader)
    return stream.next, stream, None, images


def data_scale(toy):
    """How far the 2-D data reaches (4 for grid25, 1 for ring8): the networks work in units of it."""
    return round(float(abs(toy(1000, seed=0)).max()), 1)


def decay_schedules(args, start, *optimizers):
    """Constant rates, then a linear fall to 0 over the last ``lr_decay`` of the schedule's
    ``schedule_steps`` (sharper samples), then 0 (steps past the schedule: a resumed run that trains on)."""
    if not args.lr_decay:
        return []
    total = args.schedule_steps
    begin = total * (1.0 - args.lr_decay)
    factor = lambda t: max(0.0, min(1.0, (total - t) / (total - begin)))  # noqa: E731
    return [optim.lr_scheduler.LambdaLR(o, factor, last_epoch=start - 1) for o in optimizers]


def snapshot_steps_of(args):
    """The steps after which the fixed noise is drawn for progress.png: step 1, then 1/5, 2/5, ... of the
    schedule's length, those that this run reaches (the last step is added to the figure, not the checkpoint)."""
    grid = {max(1, round(args.schedule_steps * k / (SNAPSHOTS - 1))) for k in range(SNAPSHOTS)}
    return sorted(s for s in grid if s <= args.steps)


@tg.no_grad()
def generate(G, z):
    G.eval()
    x = G(z)
    G.train()
    return x


def discriminator_logit(D, pack):
    """D's logit at a point, as a function (M, 2) -> (M,): each point packed with copies of itself.

    With the minibatch-std feature the whole grid is one batch: its std enters the last layer as one
    constant, which shifts every logit alike and leaves the map's shape as it is.
    """
    @tg.no_grad()
    def logit(points):
        x = tg.tensor(points, device=next(D.parameters()).device)
        x = x.unsqueeze(1).expand(x.shape[0], pack, 2).reshape(-1, 2)  # (M * pack, 2)
        return D(x).reshape(-1).numpy()
    return logit


def main(argv=None):
    args = parse(argv)
    out = common.start_run(args)
    next_real, stream, toy, images = real_batches(args)
    scale = data_scale(toy) if toy is not None else 1.0
    G, D = build(args, None if toy is not None else images.shape[-1], scale)
    betas = (0.5, 0.999)  # a short memory of the gradient: the opponent keeps moving (DCGAN's choice)
    opt_g = optim.Adam(G.parameters(), lr=args.lr, betas=betas)
    opt_d = optim.Adam(D.parameters(), lr=args.lr, betas=betas)
    trainer = GANTrainer(G, D, opt_g, opt_d, args.loss, args.n_critic, args.gp_weight, args.reuse_fakes)
    ema = optim.EMA(G, decay=args.ema, warmup=True) if args.ema else None  # watches G; the samples come from it
    fixed_noise = tg.randn(1000 if toy is not None else 64, args.latent_dim, device=args.device)
    history = {"d_loss": [], "g_loss": []}
    snapshots, snapshot_steps, start, seconds = [], [], 0, 0.0

    trained = {"G": G, "D": D, "opt_g": opt_g, "opt_d": opt_d, **({"ema_g": ema} if ema else {})}
    config = common.run_config(args, SHAPE)
    state = common.resume_state(args, out, config)
    if state is not None:
        start, history, seconds = common.resume_from(state, trained, [opt_g, opt_d], args, out)
        snapshots, snapshot_steps = list(state["snapshots"]), list(state["snapshot_steps"])
        fixed_noise = tg.tensor(state["fixed_noise"], device=args.device)
        if stream is not None:
            stream.taken = state["batches"]
    if args.steps > args.schedule_steps and args.lr_decay:
        print(f"--steps {args.steps} goes past the schedule's {args.schedule_steps} steps: the rates stay 0 after it")
    schedules = decay_schedules(args, start, opt_g, opt_d)
    snapshot_at = snapshot_steps_of(args)
    log = common.LossLog(args, history, ("d_loss", "g_loss"), start)
    began = time.perf_counter()

    def save(step):
        log.flush()  # the history is complete up to the step saved, and checked
        common.save_checkpoint(out, trained, config, step=step, batches=stream.taken if stream else 0,
                               history=history, seconds=seconds + time.perf_counter() - began, snapshots=snapshots,
                               snapshot_steps=snapshot_steps, fixed_noise=fixed_noise)

    with common.Checkpoints(args, args.steps) as checkpoints:  # every --checkpoint-every, and on Ctrl-C
        bar = progress(range(start, args.steps), desc=f"gan {args.dataset} {args.loss}", quiet=args.quiet)
        for step in bar:
            d_loss, g_loss = trainer.step(next_real)
            if ema:
                ema.update()
            for schedule in schedules:
                schedule.step()
            log.add(d_loss, g_loss)  # read back in batches; a NaN stops the run (common.Diverged)
            bar.set(d=d_loss, g=g_loss)
            if step + 1 in snapshot_at:
                snapshots.append(generate(G, fixed_noise).numpy())
                snapshot_steps.append(step + 1)
            checkpoints.step_done(step + 1, save)
        checkpoints.step_done(args.steps, save, final=True)
    seconds += time.perf_counter() - began

    sampler = averaged_generator(G, ema) if ema else G  # progress.png shows G itself, step by step
    samples = generate(sampler, tg.randn(2500, args.latent_dim, device=args.device)).numpy()
    if args.steps not in snapshot_steps:  # the figure ends with the samples of the last step
        snapshots, snapshot_steps = snapshots + [generate(G, fixed_noise).numpy()], snapshot_steps + [args.steps]
    titles = [f"step {s}" for s in snapshot_steps]
    metrics = {"steps": args.steps, "parameters_G": sum(p.numel() for p in G.parameters()),
               "parameters_D": sum(p.numel() for p in D.parameters()),
               "final_d_loss": sum(history["d_loss"][-LOG_EVERY:]) / max(1, len(history["d_loss"][-LOG_EVERY:])),
               "final_g_loss": sum(history["g_loss"][-LOG_EVERY:]) / max(1, len(history["g_loss"][-LOG_EVERY:]))}
    if toy is not None:
        lim = 5.0 if args.dataset == "grid25" else None
        if toy.modes is not None:
            metrics.update(mode_coverage(samples, toy.modes, toy.std))
        label = f"{args.loss}, pack {args.pack}" + (", minibatch std" if args.minibatch_std else "")
        viz.scatter_2d(samples, out / "samples.png", modes=toy.modes, reference=toy(2500, seed=12345), lim=lim,
                       title=f"{args.dataset}: {label}")
        viz.frame_strip(snapshots, out / "progress.png", titles=titles, modes=toy.modes, lim=lim)
        viz.density_2d(discriminator_logit(D, args.pack), out / "discriminator.png", lim=lim or 2.0, resolution=100,
                       title="discriminator logit (bright: looks real)")
    else:
        samples = from_symmetric(samples)
        train_x, test_x = (load_dataset(args.dataset, split, root=args.data_root)[0] for split in ("train", "test"))
        metrics.update(common.image_quality(args, samples, train_x, test_x))  # classifier Frechet distance, classes
        viz.save_image_grid(samples[:64], out / "samples.png")
        viz.save_image_grid(test_x[:64], out / "real.png")  # the same grid of real test images, to compare by eye
        viz.frame_strip([from_symmetric(s[:16]) for s in snapshots], out / "progress.png", titles=titles)
    tg.backend.xp_for("cpu").save(out / "samples.npy", samples)
    viz.loss_curves({"discriminator": history["d_loss"], "generator": history["g_loss"]}, out / "loss.png",
                    smooth=max(1, len(history["d_loss"]) // 50), title=f"{args.dataset}: {args.loss} losses")
    path = common.write_metrics(out, args, metrics, seconds)
    print(f"{common.summary(metrics)} ({seconds:.0f} s of training); wrote {path}")
    return metrics


if __name__ == "__main__":
    common.run(main)

"""Train a small DDPM (denoising diffusion) and watch it rebuild data from pure noise.

    python demos/ddpm.py                                   # 8x8 digits, class-conditional, a few minutes
    python demos/ddpm.py --dataset moons                   # a 2-D toy: SWD printed beside its floor
    python demos/ddpm.py --sampler ddim --sample-steps 50  # deterministic DDIM, 20x fewer network calls
    python demos/ddpm.py --dataset mnist --data-root ../shared/data   # 28x28, a long run on a CPU
    python demos/ddpm.py --dataset mnist --p-uncond 1 --steps 4000 --sampler ddim --eta 1
                                # unconditional MNIST: every label dropped, ~1 h; Frechet 2.6x its floor

Diffusion "demolishes the building and learns to rebuild it": forward.png shows the demolition
(q(x_t | x_0) at growing t), reverse.png the rebuilding (the sampler's x_t from noise to data),
each reverse step a small Gaussian decoder, as in a stack of VAEs. Also written to --out:
samples.png and samples.npy (in data space: images in [0, 1], (N, C, H, W)), schedules.png (the
linear and cosine alpha-bar curves), guided.png (images: one row per class, classifier-free
guidance; not for --p-uncond 1), loss.png, metrics.json and checkpoint.npz. Sampling uses the
EMA weights.
"""

import time

import common

import tinygen as tg
from tinygen import metrics, optim, viz
from tinygen.data import DataLoader, from_symmetric, load_dataset, to_symmetric
from tinygen.models.ddpm import GaussianDiffusion, cosine_alphas_cumprod, linear_beta_schedule
from tinygen.models.denoisers import MLPDenoiser
from tinygen.models.unet import UNet
from tinygen.progress import progress

TOYS = ("moons", "swissroll", "checkerboard", "ring8", "grid25")
IMAGES = ("digits", "mnist", "fashion-mnist")
# per kind of data: steps, batch size, learning rate, timesteps, EMA decay, sampler.
# MNIST is sized for a CPU: 3,000 steps of the 28x28 UNet are ~1.7 CPU-hours, and its samples
# are drawn by DDIM in 50 steps (T = 1000 ancestral steps for 100 images would add ~30 minutes).
DEFAULTS = {
    "toy": dict(steps=5000, batch_size=512, lr=2e-3, timesteps=1000, ema=0.995, sampler="ddpm"),
    "digits": dict(steps=2500, batch_size=64, lr=1e-3, timesteps=1000, ema=0.999, sampler="ddpm"),
    "mnist": dict(steps=3000, batch_size=64, lr=1e-3, timesteps=1000, ema=0.999, sampler="ddim"),
}
NUM_CLASSES = 10
KINDS = {"toy": "2-D toys", "digits": "digits", "mnist": "28x28 images"}  # the kinds of data, as --help names them
# the options that shape the run: --resume refuses another value for any of them (common.resume_state)
SHAPE = ("timesteps", "schedule", "p_uncond", "ema_decay")


def kind_of(dataset):
    """Which column of DEFAULTS a dataset takes: "toy", "digits" or "mnist" (any 28x28 images)."""
    return "toy" if dataset in TOYS else "digits" if dataset == "digits" else "mnist"


def by_kind(name):
    """The default of one option for each kind of data, as --help shows it."""
    return {KINDS[kind]: values[name] for kind, values in DEFAULTS.items()}


def parse(argv=None):
    """The command line; an option left out takes the default of its kind of data (DEFAULTS)."""
    parser = common.make_parser("ddpm", __doc__.split("\n")[0], TOYS + IMAGES, "digits",
                                batch_size=by_kind("batch_size"), lr=by_kind("lr"), steps=by_kind("steps"))
    parser.add_argument("--timesteps", type=common.positive_int, default=None,
                        help=f"T, the length of the noising chain (default: {common.per_dataset(by_kind('timesteps'))})")
    parser.add_argument("--schedule", choices=["linear", "cosine"], default="linear", help="how beta_t grows with t")
    parser.add_argument("--sampler", choices=["ddpm", "ddim"], default=None,
                        help=f"ancestral (T steps) or DDIM (--sample-steps, --eta) (default: {common.per_dataset(by_kind('sampler'))})")
    parser.add_argument("--sample-steps", type=common.positive_int, default=50, help="DDIM steps")
    parser.add_argument("--eta", type=common.unit_interval, default=0.0,
                        help="DDIM's noise: 0 deterministic, 1 ancestral steps on the same short chain "
                             "(on MNIST the better one: all 10 classes, none under 5%%)")
    parser.add_argument("--variance", choices=["posterior", "beta"], default="posterior",
                        help="ancestral step variance: the posterior's beta~_t or beta_t")
    parser.add_argument("--guidance", type=common.finite_float, default=3.0,
                        help="classifier-free guidance scale for the per-class grid (1: plain conditional)")
    parser.add_argument("--p-uncond", type=common.unit_interval, default=0.1,
                        help="label dropout while training (images); 1: an unconditional model, every label dropped "
                             "(no guided grid; on MNIST the better unconditional samples)")
    parser.add_argument("--ema-decay", type=common.unit_interval, default=None,
                        help=f"decay of the weights' moving average (default: {common.per_dataset(by_kind('ema'))})")
    parser.add_argument("--num-samples", type=common.positive_int, default=None,
                        help="samples for samples.npy and the metrics (default: 1000 for 2-D toys, 100 for images)")
    common.add_schedule_steps(parser, by_kind("steps"))  # the length of the rate's cosine decay to a tenth
    args = common.parse_args(parser, argv)
    defaults = DEFAULTS[kind_of(args.dataset)]
    for name in ("steps", "batch_size", "lr", "timesteps", "sampler"):
        if getattr(args, name) is None:
            setattr(args, name, defaults[name])
    if args.ema_decay is None:
        args.ema_decay = defaults["ema"]
    if args.num_samples is None:
        args.num_samples = 1000 if args.dataset in TOYS else 100
    if args.quick:  # a smoke run: a few steps, a short chain, few samples (unless the command line says otherwise)
        common.quick_settings(args, {"steps": 20, "timesteps": 50, "sample_steps": 5,
                                     "num_samples": 200 if args.dataset in TOYS else 16})
    common.fill_schedule_steps(args, defaults["steps"])
    return args


# ---------------------------------------------------------------- data
class ToyBatches(common.ToyStream):
    """common.ToyStream's points as (x, None) batches: no labels, as the image batches' (x, y) have."""

    def next(self):
        return super().next(), None


class ImageBatches:
    """Shuffled (images in [-1, 1], labels) batches, epoch after epoch; ``stream.taken`` counts them
    (the checkpoint keeps it, so a resumed run goes on with the very next batch)."""

    def __init__(self, dataset, batch_size, device, root, quick, seed):
        self.images, self.labels = load_dataset(dataset, "train", root=root)
        if quick:
            self.images, self.labels = self.images[:256], self.labels[:256]
        self.loader = DataLoader((self.images, self.labels), batch_size=batch_size, shuffle=True, drop_last=True,
                                 seed=seed, device=device)
        self.stream = common.Batches(self.loader)  # the loader's order depends only on the seed and the epoch

    def next(self):
        x, y = self.stream.next()
        return to_symmetric(x), y

    def to_data(self, x):
        return from_symmetric(x)


def model_config(args, data):
    """The denoiser's constructor arguments; the checkpoint keeps them, so a run can be rebuilt from it alone."""
    if args.dataset in TOYS:
        return {"dim": 2, "hidden": 128, "depth": 3}
    size = data.images.shape[-1]
    if size == 8:  # 97k parameters: 8x8 digits need little, and a CPU run stays a few minutes
        return {"image_size": 8, "channels": 16, "channel_mults": (1, 2), "num_classes": NUM_CLASSES}
    return {"image_size": size, "channels": 32, "channel_mults": (1, 2, 2), "num_classes": NUM_CLASSES}


def make_model(config):
    """The denoising network of a model_config: an MLP for 2-D points, else the UNet."""
    return MLPDenoiser(**config) if "dim" in config else UNet(**config)


# ---------------------------------------------------------------- figures
def draw_schedules(T, path):
    """alpha-bar_t of both schedules: how much of the data is left at each step."""
    np = tg.backend.xp_for("cpu")
    linear = np.cumprod(1.0 - linear_beta_schedule(T))
    cosine = cosine_alphas_cumprod(T)[1:]
    viz.loss_curves({"linear": linear, "cosine": cosine}, path, xlabel="t",
                    title=f"alpha-bar_t = signal left after t steps (T = {T})")


def levels(T, n=6):
    """n noise levels from 0 to T-1, denser at small t where the picture changes most."""
    return sorted({int(round((T - 1) * (k / (n - 1)) ** 2)) for k in range(n)})


def strip_levels(args, diffusion):
    """The noise levels the strips show, from nearly pure noise down to nearly clean (6 of them)."""
    if args.sampler == "ddim":
        ts = diffusion.ddim_timesteps(args.sample_steps)
        return sorted({ts[round(k * (len(ts) - 1) / 5)] for k in range(6)}, reverse=True)
    return levels(diffusion.timesteps)[::-1]


def draw_strips(args, out, diffusion, data, shown, final, kept):
    """forward.png: x_0 noised to each level; reverse.png: the sampler's state at the same levels."""
    if args.dataset in TOYS:
        x0, lim = tg.tensor(data.sampler(1000, seed=3), device=args.device) / data.scale, 4.5
    else:
        x0, lim = to_symmetric(tg.tensor(data.images[:8], device=args.device)), None
    with tg.no_grad():
        noised = [diffusion.q_sample(x0, tg.full((len(x0),), t, dtype=tg.int64, device=x0.device)) for t in shown[::-1]]
    viz.frame_strip([data.to_data(x) for x in [x0] + noised], out / "forward.png", lim=lim,
                    titles=["data"] + [f"t = {t}" for t in shown[::-1]])
    viz.frame_strip([data.to_data(kept[t]) for t in shown] + [data.to_data(final)], out / "reverse.png", lim=lim,
                    titles=[f"t = {t}" for t in shown] + ["sample"])


# ---------------------------------------------------------------- the run
def main(argv=None):
    args = parse(argv)
    out = common.start_run(args)
    toy = args.dataset in TOYS
    data = ToyBatches(args.dataset, args.batch_size, args.device) if toy else \
        ImageBatches(args.dataset, args.batch_size, args.device, args.data_root, args.quick, args.seed)
    config = model_config(args, data)
    model = make_model(config).to(args.device)
    diffusion = GaussianDiffusion(args.timesteps, args.schedule, device=args.device, clip=None if toy else (-1.0, 1.0))
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    ema = optim.EMA(model, decay=args.ema_decay, warmup=True)
    labels = {} if toy else {"p_uncond": args.p_uncond, "num_classes": NUM_CLASSES}
    history, step, seconds = {"loss": []}, 0, 0.0

    trained = {"model": model, "optimizer": optimizer, "ema": ema}
    run_config = common.run_config(args, SHAPE)
    state = common.resume_state(args, out, run_config)
    if state is not None:
        step, history, seconds = common.resume_from(state, trained, [optimizer], args, out)
        if not toy:
            data.stream.taken = state["batches"]
    # the rate's schedule is a function of the step alone: rebuilt, not loaded (a new --lr scales it)
    scheduler = common.CosineThenHold(optimizer, T_max=args.schedule_steps, eta_min=args.lr * 0.1, last_epoch=step - 1)
    log = common.LossLog(args, history, ("loss",), step)
    began = time.perf_counter()

    def save(steps_done):
        log.flush()  # the history is complete up to the step saved, and checked
        common.save_checkpoint(out, trained, run_config, step=steps_done, history=history,
                               batches=0 if toy else data.stream.taken, seconds=seconds + time.perf_counter() - began,
                               model_config=config)

    with common.Checkpoints(args, args.steps) as checkpoints:  # every --checkpoint-every, and on Ctrl-C
        bar = progress(range(step, args.steps), desc=f"ddpm {args.dataset}", quiet=args.quiet)
        for step in bar:
            x0, y = data.next()
            loss = diffusion.p_losses(model, x0, y, **labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            ema.update()
            log.add(loss)  # read back in batches; a NaN stops the run (common.Diverged)
            bar.set(loss=loss)
            checkpoints.step_done(step + 1, save)
        checkpoints.step_done(args.steps, save, final=True)
    seconds += time.perf_counter() - began

    # ---- sampling, with the EMA weights
    shape_of = (lambda n: (n, 2)) if toy else (lambda n: (n,) + tuple(data.images.shape[1:]))

    def sample(n, y=None, guidance=1.0, keep=()):
        if not toy and y is None:  # the null label: the unconditional model
            y = tg.full((n,), NUM_CLASSES, dtype=tg.int64, device=args.device)
        bar = (lambda it: progress(it, desc=f"sampling {n}", quiet=args.quiet))
        kw = dict(y=y, guidance=guidance, num_classes=None if toy else NUM_CLASSES, keep=keep, progress=bar)
        if args.sampler == "ddim":
            return diffusion.ddim_sample(model, shape_of(n), steps=args.sample_steps, eta=args.eta, **kw)
        return diffusion.p_sample_loop(model, shape_of(n), variance=args.variance, **kw)

    sampling_began = time.perf_counter()
    metric_values = {"final_loss": sum(history["loss"][-100:]) / max(1, len(history["loss"][-100:])),
                     "steps": args.steps, "parameters": sum(p.numel() for p in model.parameters())}
    shown = strip_levels(args, diffusion)
    with ema.average_parameters():
        if toy:
            final, kept = sample(args.num_samples, keep=shown)  # the reverse strip follows these very points
            samples = data.to_data(final)
            viz.scatter_2d(samples, out / "samples.png", reference=data.sampler(args.num_samples, seed=7), lim=4.5,
                           title=f"{args.dataset}: {args.sampler} samples (blue) over data (grey)")
            n = min(args.num_samples, 1000)  # the protocol: 1,000 samples against 1,000 fresh real points
            metric_values.update(metrics.sliced_wasserstein_with_floor(samples, data.sampler, n=n))
        else:
            # samples.npy: unconditional, so the metric classifier can judge the balance of classes
            samples = data.to_data(sample(args.num_samples))
            viz.save_image_grid(samples[:100], out / "samples.png")
            if not args.quick:  # what the metric classifier sees: every class? how far from real features?
                train_x, test_x = (load_dataset(args.dataset, split, root=args.data_root)[0] for split in ("train", "test"))
                metric_values.update(common.image_quality(args, samples, train_x, test_x))
            if args.p_uncond < 1.0:  # a model that saw no label (--p-uncond 1) has no classes to guide to
                per_class = 8 if not args.quick else 1
                y = tg.tensor([c for c in range(NUM_CLASSES) for _ in range(per_class)], dtype=tg.int64,
                              device=args.device)
                guided = data.to_data(sample(len(y), y=y, guidance=args.guidance))
                viz.save_image_grid(guided, out / "guided.png", nrow=per_class)  # one row per class
            final, kept = sample(8, keep=shown)
        draw_strips(args, out, diffusion, data, shown, final, kept)
    metric_values["sampling_seconds"] = round(time.perf_counter() - sampling_began, 2)
    tg.backend.xp_for("cpu").save(out / "samples.npy", samples.numpy())
    draw_schedules(args.timesteps, out / "schedules.png")
    viz.loss_curves({"loss": history["loss"]}, out / "loss.png", smooth=50, log_y=True, title="epsilon MSE")
    path = common.write_metrics(out, args, metric_values, seconds)
    print(f"{common.summary(metric_values)}; {seconds:.0f} s of training; wrote {path}")
    return metric_values


if __name__ == "__main__":
    common.run(main)

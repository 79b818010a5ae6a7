"""Learn the score of the data by denoising score matching, then sample with annealed Langevin dynamics.

    python demos/score.py                          # ring8: the score field, Langevin trajectories, SWD beside its floor
    python demos/score.py --dataset grid25         # any 2-D toy: moons, swissroll, checkerboard, ring8, grid25
    python demos/score.py --dataset digits         # 8x8 digits with a small UNet
    python demos/score.py --langevin-steps 10      # too few steps a level: the samples stay blurred

A noise-conditional score network s(x, sigma_i) (the DDPM's denoiser, told a noise level instead of
a timestep) learns grad log p_sigma(x), the score of the data blurred by Gaussian noise of std sigma,
at L levels from --sigma-max down to --sigma-min. Sampling starts from wide noise and runs
--langevin-steps Langevin steps at each level, largest first (tinygen/models/score.py).

Writes to --out: score_field.png (2-D: the learned score as arrows at four noise levels, with
the Langevin trajectories of a few points drawn over them), samples.png and samples.npy (in
data space: points (N, 2), or images (N, 1, 8, 8) in [0, 1]), langevin.png (the samples at the
end of several levels), sigmas.png (the noise levels and Langevin step sizes), loss.png,
metrics.json (2-D: sliced Wasserstein distance beside its real-vs-real floor; images: the
classifier's classes and Frechet distance beside its floor) and checkpoint.npz. Sampling uses
the EMA weights.
"""

import time

import common

import tinygen as tg
from tinygen import metrics, optim, viz
from tinygen.data import DataLoader, from_symmetric, load_dataset, to_symmetric
from tinygen.models.denoisers import MLPDenoiser
from tinygen.models.score import NoiseConditionalScore
from tinygen.models.unet import UNet
from tinygen.progress import progress

TOYS = ("ring8", "grid25", "moons", "swissroll", "checkerboard")
IMAGES = ("digits", "mnist", "fashion-mnist")
# per kind of data: steps, batch size, learning rate, noise levels, Langevin steps and step ratio, EMA decay.
# sigma is in the units the network sees: toys divided by their std, images in [-1, 1].
DEFAULTS = {
    "toy": dict(steps=4000, batch_size=256, lr=2e-3, sigma_max=5.0, sigma_min=0.01, levels=16, langevin_steps=100,
                step_ratio=0.1, ema=0.995),
    "image": dict(steps=2500, batch_size=64, lr=1e-3, sigma_max=10.0, sigma_min=0.01, levels=20, langevin_steps=50,
                  step_ratio=0.1, ema=0.999),
}
KINDS = {"toy": "2-D toys", "image": "images"}
# the options that shape the run: --resume refuses another value for any of them (common.resume_state)
SHAPE = ("sigma_max", "sigma_min", "levels", "ema_decay", "hidden")


def kind_of(dataset):
    """Which column of DEFAULTS a dataset takes: "toy" or "image"."""
    return "toy" if dataset in TOYS else "image"


def by_kind(name):
    """The default of one option for each kind of data, as --help shows it."""
    return {KINDS[kind]: values[name] for kind, values in DEFAULTS.items()}


def parse(argv=None):
    """The command line; an option left out takes the default of its kind of data (DEFAULTS)."""
    parser = common.make_parser("score", __doc__.split("\n")[0], TOYS + IMAGES, "ring8",
                                batch_size=by_kind("batch_size"), lr=by_kind("lr"), steps=by_kind("steps"))
    help_of = lambda name: common.per_dataset(by_kind(name))  # noqa: E731
    parser.add_argument("--sigma-max", type=common.positive_float, default=None,
                        help=f"the largest noise level, about the largest distance between two data points "
                             f"(default: {help_of('sigma_max')})")
    parser.add_argument("--sigma-min", type=common.positive_float, default=None,
                        help=f"the smallest noise level, below the data's finest detail (default: {help_of('sigma_min')})")
    parser.add_argument("--levels", type=common.positive_int, default=None,
                        help=f"L, the noise levels, geometric from --sigma-max to --sigma-min (default: {help_of('levels')})")
    parser.add_argument("--langevin-steps", type=common.positive_int, default=None,
                        help=f"Langevin steps at each level (default: {help_of('langevin_steps')})")
    parser.add_argument("--step-ratio", type=common.positive_float, default=None,
                        help=f"each Langevin step is alpha_i = ratio * sigma_i^2 (default: {help_of('step_ratio')})")
    parser.add_argument("--no-denoise", action="store_true",
                        help="skip the final Tweedie step x + sigma_min^2 s(x) that takes out the last level's noise")
    parser.add_argument("--hidden", type=common.positive_int, default=128, help="width of the 2-D score MLP")
    parser.add_argument("--ema-decay", type=common.unit_interval, default=None,
                        help=f"decay of the weights' moving average (default: {help_of('ema')})")
    parser.add_argument("--num-samples", type=common.positive_int, default=None,
                        help="samples for samples.npy and the metrics (default: 1000 for 2-D toys, 100 for images)")
    common.add_schedule_steps(parser, by_kind("steps"))  # the length of the rate's cosine decay to a tenth
    args = common.parse_args(parser, argv)
    defaults = DEFAULTS[kind_of(args.dataset)]
    for name in ("steps", "batch_size", "lr", "sigma_max", "sigma_min", "levels", "langevin_steps", "step_ratio"):
        if getattr(args, name) is None:
            setattr(args, name, defaults[name])
    if args.ema_decay is None:
        args.ema_decay = defaults["ema"]
    if args.num_samples is None:
        args.num_samples = 1000 if args.dataset in TOYS else 100
    if not args.sigma_max > args.sigma_min:
        parser.error(f"--sigma-max ({args.sigma_max}) must be larger than --sigma-min ({args.sigma_min})")
    if args.levels < 2:
        parser.error(f"--levels: expected at least 2, got {args.levels}")
    if args.quick:  # a smoke run: a few steps, a short chain, few samples (unless the command line says otherwise)
        common.quick_settings(args, {"steps": 20, "levels": 4, "langevin_steps": 3,
                                     "num_samples": 200 if args.dataset in TOYS else 16})
    common.fill_schedule_steps(args, defaults["steps"])
    return args


# ---------------------------------------------------------------- data
class ImageBatches:
    """Shuffled images in [-1, 1], epoch after epoch; ``stream.taken`` counts the batches (saved)."""

    def __init__(self, dataset, batch_size, device, root, quick, seed):
        self.images, _ = load_dataset(dataset, "train", root=root)
        if quick:
            self.images = self.images[:256]
        loader = DataLoader((self.images,), batch_size=batch_size, shuffle=True, drop_last=True, seed=seed, device=device)
        self.stream = common.Batches(loader)

    def next(self):
        (x,) = self.stream.next()
        return to_symmetric(x)

    def to_data(self, x):
        return from_symmetric(x).clamp(0.0, 1.0)


def model_config(args, data):
    """The score network's constructor arguments (kept in the checkpoint): an MLP for points, else a UNet.

    Both predict the noise, as DDPM's do; the level index plays the timestep."""
    if args.dataset in TOYS:
        return {"dim": 2, "hidden": args.hidden, "depth": 3}
    size = data.images.shape[-1]
    if size == 8:
        return {"image_size": 8, "channels": 16, "channel_mults": (1, 2)}
    return {"image_size": size, "channels": 32, "channel_mults": (1, 2, 2)}


def make_model(config):
    """The network of a model_config: MLPDenoiser for 2-D points, else the UNet."""
    return MLPDenoiser(**config) if "dim" in config else UNet(**config)




# ---------------------------------------------------------------- figures
def shown_levels(ncs, scale, lim, count=4):
    """``count`` level indices, from the first whose sigma (in data units) is at most half the picture's
    half-width ``lim`` (larger ones blur the whole picture into one blob) down to the smallest."""
    first = next((i for i, s in enumerate(ncs.sigma_values) if s * scale <= lim / 2), 0)
    return sorted({first + round(k * (ncs.levels - 1 - first) / (count - 1)) for k in range(count)})


def score_field_figure(args, ncs, model, data, path, lim, tracks=10):
    """The learned score at four levels as arrows over the plane, with annealed Langevin paths: each panel
    draws the ``tracks`` paths through its level and those since the previous panel's (every tenth step)."""
    np = tg.backend.xp_for("cpu")
    ticks = np.linspace(-lim, lim, 21, dtype="float32")
    grid = np.stack(np.meshgrid(ticks, ticks), axis=-1).reshape(-1, 2)
    shown = shown_levels(ncs, data.scale, lim)
    tg.manual_seed(args.seed + 1)
    x = tg.randn(tracks, 2, device=args.device) * ncs.sigma_max
    states, every = [], max(1, args.langevin_steps // 10)  # (level, points in data units), every tenth step
    with tg.no_grad():
        for i in range(ncs.levels):  # the sampler's loop (NoiseConditionalScore.annealed_langevin), step by step
            alpha = args.step_ratio * ncs.sigma_values[i] ** 2
            for k in range(args.langevin_steps):
                x = x + ncs.score(model, x, i) * (alpha / 2.0) + tg.randn_like(x) * alpha**0.5
                if i >= shown[0] and k % every == every - 1:
                    states.append((i, x.numpy() * data.scale))
    panels, titles = [], []
    for k, i in enumerate(shown):
        low = shown[k - 1] if k else i - 1  # the levels since the previous panel's
        path_k = [p for level, p in states if low < level <= i]
        before = [p for level, p in states if level <= low][-1:]  # joined to where the last panel's paths ended
        with tg.no_grad():
            vectors = ncs.score(model, tg.tensor(grid, device=args.device) / data.scale, i).numpy()
        panels.append({"points": grid, "vectors": vectors, "paths": np.stack(before + path_k)})
        titles.append(f"sigma = {ncs.sigma_values[i] * data.scale:.3g} (level {i + 1} of {ncs.levels})")
    viz.vector_fields(panels, path, lim=lim, reference=data.sampler(2000, seed=7), titles=titles)


def sigmas_figure(args, ncs, path):
    """The noise levels and each level's Langevin step, alpha_i = step_ratio * sigma_i^2 (log scale)."""
    np = tg.backend.xp_for("cpu")
    sigmas = np.array(ncs.sigma_values)
    viz.loss_curves({"sigma_i": sigmas, "Langevin step alpha_i": args.step_ratio * sigmas**2}, path, log_y=True,
                    xlabel="level i", title=f"{ncs.levels} noise levels, {args.langevin_steps} Langevin steps each")


# ---------------------------------------------------------------- the run
def main(argv=None):
    args = parse(argv)
    out = common.start_run(args)
    toy = args.dataset in TOYS
    data = common.ToyStream(args.dataset, args.batch_size, args.device) if toy else \
        ImageBatches(args.dataset, args.batch_size, args.device, args.data_root, args.quick, args.seed)
    config = model_config(args, data)
    model = make_model(config).to(args.device)
    ncs = NoiseConditionalScore(args.sigma_max, args.sigma_min, args.levels, device=args.device,
                                clip=None if toy else (-1.0, 1.0))
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    ema = optim.EMA(model, decay=args.ema_decay, warmup=True)
    history, step, seconds = {"loss": []}, 0, 0.0

    trained = {"model": model, "optimizer": optimizer, "ema": ema}
    run_config = common.run_config(args, SHAPE)
    state = common.resume_state(args, out, run_config)
    if state is not None:
        step, history, seconds = common.resume_from(state, trained, [optimizer], args, out)
        if not toy:
            data.stream.taken = state["batches"]
    # the rate's schedule is a function of the step alone: rebuilt, not loaded
    scheduler = common.CosineThenHold(optimizer, T_max=args.schedule_steps, eta_min=args.lr * 0.1, last_epoch=step - 1)
    log = common.LossLog(args, history, ("loss",), step)
    began = time.perf_counter()

    def save(steps_done):
        log.flush()
        common.save_checkpoint(out, trained, run_config, step=steps_done, history=history,
                               batches=0 if toy else data.stream.taken, seconds=seconds + time.perf_counter() - began,
                               model_config=config)

    with common.Checkpoints(args, args.steps) as checkpoints:  # every --checkpoint-every, and on Ctrl-C
        bar = progress(range(step, args.steps), desc=f"score {args.dataset}", quiet=args.quiet)
        for step in bar:
            loss = ncs.dsm_loss(model, data.next())  # 0.5 sigma^2 ||s(x + sigma z) + z / sigma||^2
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            ema.update()
            log.add(loss)  # a NaN stops the run (common.Diverged)
            bar.set(loss=loss)
            checkpoints.step_done(step + 1, save)
        checkpoints.step_done(args.steps, save, final=True)
    seconds += time.perf_counter() - began

    # ---- sampling, with the EMA weights
    shape = (args.num_samples, 2) if toy else (args.num_samples,) + tuple(data.images.shape[1:])
    lim = 1.15 * float(abs(data.sampler(5000, seed=3)).max()) if toy else None
    shown = shown_levels(ncs, data.scale if toy else 1.0, lim if toy else 2.0)
    sampling_began = time.perf_counter()
    result = {"final_loss": sum(history["loss"][-100:]) / max(1, len(history["loss"][-100:])), "steps": args.steps,
              "parameters": sum(p.numel() for p in model.parameters()), "langevin_steps": args.langevin_steps,
              "levels": args.levels}
    bar = (lambda it: progress(it, desc=f"Langevin, {args.num_samples} samples", quiet=args.quiet))
    with ema.average_parameters():
        final, kept = ncs.annealed_langevin(model, shape, steps=args.langevin_steps, step_ratio=args.step_ratio,
                                            denoise=not args.no_denoise, keep=shown, progress=bar)
        samples = data.to_data(final)
        if toy:
            viz.scatter_2d(samples, out / "samples.png", reference=data.sampler(args.num_samples, seed=7), lim=lim,
                           title=f"{args.dataset}: annealed Langevin samples (blue) over data (grey)")
            n = min(args.num_samples, 1000)  # the DDPM's protocol: 1,000 samples against 1,000 fresh real points
            result.update(metrics.sliced_wasserstein_with_floor(samples, data.sampler, n=n))
            viz.frame_strip([data.to_data(kept[i]) for i in shown] + [samples], out / "langevin.png", lim=lim,
                            titles=[f"end of sigma = {ncs.sigma_values[i] * data.scale:.2g}" for i in shown]
                            + ["denoised" if not args.no_denoise else "sample"])
            score_field_figure(args, ncs, model, data, out / "score_field.png", lim)
        else:
            viz.save_image_grid(samples[:100], out / "samples.png")
            if not args.quick:  # what the metric classifier sees: every class? how far from real features?
                train_x, test_x = (load_dataset(args.dataset, split, root=args.data_root)[0] for split in ("train", "test"))
                result.update(common.image_quality(args, samples, train_x, test_x))
            viz.frame_strip([data.to_data(kept[i][:8]) for i in shown] + [samples[:8]], out / "langevin.png",
                            titles=[f"sigma {ncs.sigma_values[i]:.2g}" for i in shown] + ["sample"])
    result["sampling_seconds"] = round(time.perf_counter() - sampling_began, 2)
    tg.backend.xp_for("cpu").save(out / "samples.npy", samples.numpy())
    sigmas_figure(args, ncs, out / "sigmas.png")
    viz.loss_curves({"loss": history["loss"]}, out / "loss.png", smooth=50, log_y=True,
                    title="denoising score matching, 0.5 sigma^2 ||s + z / sigma||^2")
    path = common.write_metrics(out, args, result, seconds)
    print(f"{common.summary(result)}; {seconds:.0f} s of training; wrote {path}")
    return result


if __name__ == "__main__":
    common.run(main)

"""Train a RealNVP normalizing flow by exact maximum likelihood, and watch it push data to a Gaussian.

    python demos/flow.py                           # moons: the density over the plane, the data layer by layer
    python demos/flow.py --dataset ring8           # any 2-D toy: moons, swissroll, checkerboard, ring8, grid25
    python demos/flow.py --dataset digits          # 8x8 digits, dequantised: test NLL in bits per dimension
    python demos/flow.py --layers 4                # a shallower flow: see how much each coupling layer does
    python demos/flow.py --dataset grid25 --coupling affine   # RealNVP's own layers: the 25 modes smear

An invertible stack of ActNorm and coupling layers maps data x to z = f(x); the
change-of-variables formula log p(x) = log N(f(x); 0, I) + log |det df/dx| gives the exact
likelihood, and the coupling layers' triangular Jacobians make the determinant a sum
(tinygen/models/flow.py). Sampling runs the layers backwards from z ~ N(0, I). A coupling
either scales and shifts half of the features (--coupling affine, RealNVP's, the default on
digits) or bends them with monotone rational-quadratic splines of --bins bins (--coupling spline,
Neural Spline Flows', the default on the 2-D toys, whose sharp separate modes affine layers smear).

Writes to --out: density.png (2-D: the flow's density over the plane, log scale), layers.png
(2-D: test points after each coupling layer, from the data to the Gaussian), samples.png and
samples.npy (points (N, 2) in data units, or images (N, 1, 8, 8) in [0, 1]), loss.png,
metrics.json (the test NLL: 2-D in nats per point, in data units; digits in bits per dimension
of the 17-level pixels, with the dequantised nats, and the metric classifier's Frechet distance,
classes and confidence of the samples; 2-D also the sliced Wasserstein distance beside its
floor) and checkpoint.npz.
"""

import math
import time

import common

import tinygen as tg
from tinygen import metrics, nn, optim, viz
from tinygen.data import DataLoader, load_dataset
from tinygen.models.flow import (AffineCoupling, RationalQuadraticCoupling, RealNVP, alternating_masks, bits_per_dim,
                                 checkerboard_masks)
from tinygen.progress import progress

TOYS = ("moons", "ring8", "grid25", "swissroll", "checkerboard")
IMAGES = ("digits",)
COUPLINGS = (AffineCoupling, RationalQuadraticCoupling)  # the layers the layers figure shows the data after
LEVELS = 17  # the digits' pixels take the values k / 16, k = 0..16
VALIDATION = 300  # digits: training images held out to choose when to stop (of 1,500)
# per kind of data: steps, batch size, learning rate, coupling layers, hidden units, gradient clip, the kind of
# coupling and the spline's bins (the 2-D toys' sharp modes need splines; digits keep RealNVP's affine couplings)
DEFAULTS = {
    "toy": dict(steps=6000, batch_size=512, lr=1e-3, layers=8, hidden=64, clip=10.0, coupling="spline", bins=12),
    "image": dict(steps=3000, batch_size=128, lr=1e-3, layers=8, hidden=256, clip=10.0, coupling="affine", bins=12),
}
KINDS = {"toy": "2-D toys", "image": "digits"}
TEST_POINTS = 10_000  # fresh 2-D test points (a fixed seed): the test NLL's sampling error is ~0.01 nat
# the options that shape the run: --resume refuses another value for any of them (common.resume_state)
SHAPE = ("layers", "hidden", "depth", "clip", "coupling", "bins")


def kind_of(dataset):
    """Which column of DEFAULTS a dataset takes: "toy" or "image"."""
    return "toy" if dataset in TOYS else "image"


def by_kind(name):
    """The default of one option for each kind of data, as --help shows it."""
    return {KINDS[kind]: values[name] for kind, values in DEFAULTS.items()}


def parse(argv=None):
    """The command line; an option left out takes the default of its kind of data (DEFAULTS)."""
    parser = common.make_parser("flow", __doc__.split("\n")[0], TOYS + IMAGES, "moons",
                                batch_size=by_kind("batch_size"), lr=by_kind("lr"), steps=by_kind("steps"))
    help_of = lambda name: common.per_dataset(by_kind(name))  # noqa: E731
    parser.add_argument("--coupling", choices=("affine", "spline"), default=None,
                        help="each coupling layer's map of the free features: affine (scale and shift) or spline "
                             f"(a monotone rational-quadratic spline) (default: {help_of('coupling')})")
    parser.add_argument("--bins", type=common.positive_int, default=None,
                        help=f"--coupling spline: the spline's bins (default: {help_of('bins')})")
    parser.add_argument("--layers", type=common.positive_int, default=None,
                        help=f"coupling layers, each after an ActNorm (default: {help_of('layers')})")
    parser.add_argument("--hidden", type=common.positive_int, default=None,
                        help=f"width of each coupling layer's MLP (default: {help_of('hidden')})")
    parser.add_argument("--depth", type=common.positive_int, default=2, help="hidden layers of each coupling's MLP")
    parser.add_argument("--clip", type=common.positive_float, default=None,
                        help=f"clip the gradients' joint norm at this (default: {help_of('clip')})")
    parser.add_argument("--temperature", type=common.positive_float, default=1.0,
                        help="sample z ~ N(0, T^2 I): below 1, fewer but cleaner samples")
    parser.add_argument("--num-samples", type=common.positive_int, default=None,
                        help="samples for samples.npy and the metrics (default: 1000 for 2-D toys, 100 for digits)")
    parser.add_argument("--eval-every", type=common.positive_int, default=50,
                        help="digits: the held-out NLL this often (steps); the best weights are kept")
    common.add_schedule_steps(parser, by_kind("steps"))  # the length of the rate's cosine decay to a hundredth
    args = common.parse_args(parser, argv)
    defaults = DEFAULTS[kind_of(args.dataset)]
    for name in ("steps", "batch_size", "lr", "layers", "hidden", "clip", "coupling", "bins"):
        if getattr(args, name) is None:
            setattr(args, name, defaults[name])
    if args.num_samples is None:
        args.num_samples = 1000 if args.dataset in TOYS else 100
    if args.quick:  # a smoke run: a few steps, few samples (unless the command line says otherwise)
        common.quick_settings(args, {"steps": 20, "num_samples": 200 if args.dataset in TOYS else 16})
    common.fill_schedule_steps(args, defaults["steps"])
    return args


# ---------------------------------------------------------------- data
class ToyData(common.ToyStream):
    """common.ToyStream's points, and a fixed test set in the same units.

    The flow sees x / scale, so log p(x) = log p_flow(x / scale) - 2 log(scale): ``to_data_nats``."""

    def __init__(self, dataset, batch_size, device, quick):
        super().__init__(dataset, batch_size, device)
        self.test = self.sampler.sample(1000 if quick else TEST_POINTS, seed=2024, device=device) / self.scale
        self.dim = 2

    def to_data_nats(self, nll):
        """-log p in the flow's units -> -log p of the data itself (the Jacobian of x -> x / scale)."""
        return nll + self.dim * math.log(self.scale)


class DigitData:
    """Digits flattened to 64 values, dequantised afresh each step: x = (k + u) / 17, u ~ U[0, 1).

    The last VALIDATION training images are held out: the run keeps the weights with the best NLL
    on them (1,500 images overfit a flow in a few hundred steps). ``valid``: a few fixed
    dequantisations of them, drawn once (the training's random stream is left alone)."""

    def __init__(self, batch_size, device, root, quick, seed):
        images, _ = load_dataset("digits", "train", root=root)
        test, _ = load_dataset("digits", "test", root=root)
        if quick:
            images, test = images[:256], test[:64]
        held = min(VALIDATION, len(images) // 5)
        images, held_out = images[:-held], images[-held:]
        self.shape, self.dim = tuple(images.shape[1:]), int(images[0].size)
        self.train = tg.tensor(images.reshape(len(images), -1), device=device)
        self.test_images = tg.tensor(test.reshape(len(test), -1), device=device)
        rng = tg.backend.host_rng(seed + 1)
        flat = held_out.reshape(len(held_out), -1)
        self.valid = [tg.tensor(((flat * (LEVELS - 1) + rng.random(flat.shape)) / LEVELS).astype("float32"),
                                device=device) for _ in range(4)]
        loader = DataLoader((images.reshape(len(images), -1),), batch_size=batch_size, shuffle=True, drop_last=True,
                            seed=seed, device=device)
        self.stream = common.Batches(loader)

    @staticmethod
    def dequantize(x):
        """Pixels k / 16 (k = 0..16) -> (k + u) / 17 in [0, 1), u uniform: a density model's input."""
        return (x * (LEVELS - 1) + tg.rand(*x.shape, dtype=x.dtype, device=x.device)) / LEVELS

    def next(self):
        (x,) = self.stream.next()
        return self.dequantize(x)

    def validation_bits(self, flow):
        """Bits per dimension on the held-out images (the fixed dequantisations), without gradients."""
        flow.eval()
        nats = sum(mean_nll(flow, v) for v in self.valid) / len(self.valid)
        flow.train()
        return bits_per_dim(nats, self.dim, LEVELS)

    def to_data(self, x):
        """Flow space [0, 1) -> images (N, 1, 8, 8) in [0, 1], rounded to the 17 levels."""
        return ((x * LEVELS).floor().clamp(0, LEVELS - 1) / (LEVELS - 1)).reshape(x.shape[0], *self.shape)


def make_flow(args, dim, image_shape=None):
    """The RealNVP of the command line: alternating masks for points, checkerboards (and a logit) for images."""
    layers = dict(layers=args.layers, hidden=args.hidden, depth=args.depth, coupling=args.coupling, bins=args.bins)
    if image_shape is None:
        return RealNVP(dim, masks=alternating_masks(dim, args.layers), **layers)
    return RealNVP(dim, masks=checkerboard_masks(image_shape[-2], image_shape[-1], args.layers), logit=0.05, **layers)




# ---------------------------------------------------------------- evaluation
def mean_nll(flow, x, batch=2000):
    """-log p(x) averaged over the rows of x (flow units, nats), in batches, no gradients."""
    total = 0.0
    with tg.no_grad():
        for i in range(0, x.shape[0], batch):
            part = x[i : i + batch]
            total += float(flow.nll(part)) * part.shape[0]
    return total / x.shape[0]


def digit_nll(flow, images, draws=8, seed=0):
    """Test NLL of 17-level digit images (N, 64): the mean over ``draws`` dequantisations (seeded), in nats
    of the dequantised data and in bits per dimension of the discrete data (flow.bits_per_dim)."""
    tg.manual_seed(seed)
    nats = sum(mean_nll(flow, DigitData.dequantize(images)) for _ in range(draws)) / draws
    return nats, bits_per_dim(nats, images.shape[1], LEVELS)


# ---------------------------------------------------------------- figures
def layers_figure(flow, data, path, frames=7):
    """The test points after the coupling layers, data first and the Gaussian code last (each panel its own scale)."""
    points = flow.trajectory(data.test[:2000])
    couplings = [k + 1 for k, step in enumerate(flow.steps) if isinstance(step, COUPLINGS)]
    chosen = sorted({couplings[round(j * (len(couplings) - 1) / (frames - 2))] for j in range(frames - 1)})
    shown = [data.to_data(points[0])] + [points[k] for k in chosen]
    titles = ["data"] + [f"after coupling {couplings.index(k) + 1}" for k in chosen]
    titles[-1] = f"z (after all {len(couplings)})"
    viz.frame_strip(shown, path, titles=titles)


def density_figure(flow, data, path, lim):
    """The flow's density over the plane, in data units, on a log scale: log(1 + p)."""

    def density(grid):
        with tg.no_grad():
            x = tg.tensor(grid, device=data.test.device) / data.scale
            return (flow.log_prob(x) - data.dim * math.log(data.scale)).exp().numpy()

    viz.density_2d(density, path, lim=lim, resolution=300, log=True, title="the flow's density, log(1 + p(x))")


# ---------------------------------------------------------------- the run
def main(argv=None):
    args = parse(argv)
    out = common.start_run(args)
    toy = args.dataset in TOYS
    data = ToyData(args.dataset, args.batch_size, args.device, args.quick) if toy else \
        DigitData(args.batch_size, args.device, args.data_root, args.quick, args.seed)
    flow = make_flow(args, data.dim, None if toy else data.shape).to(args.device)
    optimizer = optim.Adam(flow.parameters(), lr=args.lr)
    history, step, seconds = {"loss": [], "validation": []}, 0, 0.0
    best = {"step": 0, "bits": float("inf"), "model": None}  # digits: the weights with the best validation NLL

    trained = {"model": flow, "optimizer": optimizer}
    run_config = common.run_config(args, SHAPE)
    state = common.resume_state(args, out, run_config)
    if state is not None:
        step, history, seconds = common.resume_from(state, trained, [optimizer], args, out)
        if not toy:
            data.stream.taken = state["batches"]
            best = state["best"]
    scheduler = common.CosineThenHold(optimizer, T_max=args.schedule_steps, eta_min=args.lr * 0.01, last_epoch=step - 1)
    log = common.LossLog(args, history, ("loss",), step)
    began = time.perf_counter()

    def save(steps_done):
        log.flush()
        common.save_checkpoint(out, trained, run_config, step=steps_done, history=history,
                               batches=0 if toy else data.stream.taken, seconds=seconds + time.perf_counter() - began,
                               best=best)

    def validate(steps_done):
        """Digits: the held-out NLL every --eval-every steps; a new best keeps a copy of the weights."""
        bits = data.validation_bits(flow)
        history["validation"].append([steps_done, bits])
        if bits < best["bits"]:
            best.update(step=steps_done, bits=bits, model={k: v.clone() for k, v in flow.state_dict().items()})

    with common.Checkpoints(args, args.steps) as checkpoints:  # every --checkpoint-every, and on Ctrl-C
        bar = progress(range(step, args.steps), desc=f"flow {args.dataset}", quiet=args.quiet)
        for step in bar:
            loss = flow.nll(data.next())  # -log p(x), exact: nats per example (flow units)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(flow.parameters(), args.clip)
            optimizer.step()
            scheduler.step()
            log.add(loss)  # a NaN stops the run (common.Diverged)
            bar.set(loss=loss)
            if not toy and (step + 1) % args.eval_every == 0:
                validate(step + 1)
            checkpoints.step_done(step + 1, save)
        checkpoints.step_done(args.steps, save, final=True)
    seconds += time.perf_counter() - began
    if best["model"] is not None:  # digits: evaluate and sample the weights that did best on held-out images
        flow.load_state_dict(best["model"])
    flow.eval()

    # ---- evaluation and figures
    evaluation_began = time.perf_counter()
    result = {"final_loss": sum(history["loss"][-100:]) / max(1, len(history["loss"][-100:])), "steps": args.steps,
              "parameters": sum(p.numel() for p in flow.parameters())}
    tg.manual_seed(args.seed + 1)
    samples = data.to_data(flow.sample(args.num_samples, temperature=args.temperature))
    if toy:
        result["test_nll"] = data.to_data_nats(mean_nll(flow, data.test))  # nats per point, data units
        try:  # ring8, grid25: the data's own density on the same points, the best any model could score
            result["true_nll"] = float(-data.sampler.log_density(data.to_data(data.test).numpy()).mean())
        except NotImplementedError:
            pass
        lim = 1.15 * float(abs(data.sampler(5000, seed=3)).max())
        viz.scatter_2d(samples, out / "samples.png", reference=data.sampler(args.num_samples, seed=7), lim=lim,
                       title=f"{args.dataset}: flow samples (blue) over data (grey)")
        n = min(args.num_samples, 1000)  # the DDPM's protocol: 1,000 samples against 1,000 fresh real points
        result.update(metrics.sliced_wasserstein_with_floor(samples, data.sampler, n=n))
        density_figure(flow, data, out / "density.png", lim)
        layers_figure(flow, data, out / "layers.png")
    else:
        nats, bpd = digit_nll(flow, data.test_images)
        train_nats, train_bpd = digit_nll(flow, data.train[: len(data.test_images) * 4])
        result.update({"test_nll_nats": nats, "test_bits_per_dim": bpd, "train_bits_per_dim": train_bpd,
                       "validation_bits_per_dim": best["bits"], "best_step": best["step"], "dequantised_levels": LEVELS})
        viz.save_image_grid(samples[:100], out / "samples.png", nrow=10)
        if not args.quick:  # what the metric classifier sees, as for every image model (a --quick run has 16 samples)
            train_x, test_x = (load_dataset(args.dataset, split, root=args.data_root)[0] for split in ("train", "test"))
            result.update(common.image_quality(args, samples, train_x, test_x))
        if history["validation"]:
            steps_seen, bits = zip(*history["validation"])
            viz.plot_functions(list(steps_seen), {"held-out images": list(bits)}, out / "validation.png", xlabel="step",
                               vline=best["step"], title="bits per dimension on held-out digits (kept: the dashed line)")
    result["evaluation_seconds"] = round(time.perf_counter() - evaluation_began, 2)
    tg.backend.xp_for("cpu").save(out / "samples.npy", samples.numpy())
    viz.loss_curves({"loss": history["loss"]}, out / "loss.png", smooth=50,
                    title="-log p(x), nats per example (the flow's units)")
    path = common.write_metrics(out, args, result, seconds)
    print(f"{common.summary(result)}; {seconds:.0f} s of training; wrote {path}")
    return result


if __name__ == "__main__":
    common.run(main)

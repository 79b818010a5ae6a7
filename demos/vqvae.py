"""Train a VQ-VAE: each image becomes a small grid of integers, indices into a learned codebook.

    python demos/vqvae.py                            # 8x8 digits: a 4x4 grid of codes from a codebook of 16
    python demos/vqvae.py --dataset mnist            # 28x28 digits: a 7x7 grid, a codebook of 32
    python demos/vqvae.py --num-codes 64             # a bigger codebook: watch the dead codes early on

Two stages. First the VQ-VAE itself (tinygen/models/vqvae.py): encoder, nearest-neighbour
quantisation, the straight-through gradient, the codebook and commitment losses. Then, with the
VQ-VAE fixed, two priors over the integer codes of the training images, to sample new images:
an autoregressive masked MLP (MADE: each position given the ones before it, trained on 90% of
the training codes, keeping the weights with the best likelihood of the other 10%) and, for
comparison, N independent categoricals fitted by counting (each position on its own).

Writes to --out: reconstructions.png (test digits above their reconstructions from the codes),
samples.png (100 draws of the autoregressive prior, decoded), priors.png (the two priors' samples
side by side), codebook_usage.png (perplexity and live codes over training), loss.png and
prior_loss.png (the prior's training and held-out NLL); samples.npy holds the autoregressive
prior's samples (N, C, H, W) in [0, 1]; metrics.json the test reconstruction (nats per image,
and squared error per pixel), codebook perplexity and dead codes, each prior's test NLL of the
codes, -ELBO = reconstruction + prior NLL, and for both priors' samples the classifier Frechet
distance beside its floor and the classes the metric classifier sees. checkpoint.npz: both
stages (--resume continues the first; the prior's short stage restarts from its beginning).
"""

import math
import time

import common
import numpy as np

import tinygen as tg
from tinygen import optim, viz
from tinygen.data import DataLoader, load_dataset
from tinygen.models import VQVAE
from tinygen.models.vqvae import CategoricalPrior, CodePrior, VQLoss, code_usage
from tinygen.progress import progress

DEFAULT_STEPS = {"digits": 4000, "mnist": 3000, "fashion-mnist": 3000}
DEFAULT_CODES = {"digits": 16, "mnist": 32, "fashion-mnist": 32}
DEFAULT_PRIOR_STEPS = {"digits": 1500, "mnist": 3000, "fashion-mnist": 3000}
LOG_EVERY = 100  # steps between two readings of the codebook usage (and of the prior's held-out NLL)
# the options that shape the run: --resume refuses another value for any of them (common.resume_state)
SHAPE = ("num_codes", "code_dim", "width", "beta")


def parse(argv=None):
    """The command line: the common options (demos/common.py) and the VQ-VAE's own."""
    p = common.make_parser("vqvae", __doc__.split("\n")[0], ["digits", "mnist", "fashion-mnist"], "digits",
                           batch_size=128, lr=1e-3, steps=DEFAULT_STEPS)
    p.add_argument("--num-codes", type=common.positive_int, default=None,
                   help=f"K, the codebook's size (default: {common.per_dataset(DEFAULT_CODES)})")
    p.add_argument("--code-dim", type=common.positive_int, default=16, help="D, the length of each codebook vector")
    p.add_argument("--width", type=common.positive_int, default=32,
                   help="channels of the encoder's and decoder's convolutions")
    p.add_argument("--beta", type=common.non_negative_float, default=0.25, help="weight of the commitment loss")
    p.add_argument("--prior-steps", type=common.positive_int, default=None,
                   help=f"Adam steps of the autoregressive prior (default: {common.per_dataset(DEFAULT_PRIOR_STEPS)})")
    p.add_argument("--prior-hidden", type=common.positive_int, default=512,
                   help="hidden units of the prior's masked MLP")
    p.add_argument("--prior-dropout", type=common.unit_interval, default=0.5,
                   help="dropout on the prior's hidden layer")
    p.add_argument("--num-samples", type=common.positive_int, default=1000,
                   help="samples for samples.npy and the metrics")
    args = common.parse_args(p, argv)
    args.num_codes = args.num_codes or DEFAULT_CODES[args.dataset]
    if args.steps is None:
        args.steps = 20 if args.quick else DEFAULT_STEPS[args.dataset]
    if args.prior_steps is None:
        args.prior_steps = 20 if args.quick else DEFAULT_PRIOR_STEPS[args.dataset]
    return args


# ---------------------------------------------------------------- the two stages
def train_vqvae(model, optimizer, args, loader, history, step, checkpoints, write):
    """Stage 1: Adam on the VQ-VAE loss up to args.steps, from ``step``. The losses go into ``history``
    every step, the codebook usage of the step's batch every LOG_EVERY steps; ``write(step)`` saves
    the checkpoint when ``checkpoints`` (a common.Checkpoints) says so. Returns the step reached."""
    log = common.LossLog(args, history, VQLoss._fields, step)  # stops the run on a non-finite loss
    batches = common.Batches(loader, start=step)  # batch k is the same whether resumed or not

    def save(at):
        log.flush()
        write(at)

    bar = progress(args.steps, desc=f"vqvae {args.dataset}", quiet=args.quiet)
    bar.update(step)
    while step < args.steps:
        x, _ = batches.next()
        parts = model.losses(x)                     # VQLoss(loss, recon, codebook, commitment)
        optimizer.zero_grad()
        parts.loss.backward()
        optimizer.step()
        step += 1
        log.add(*parts)
        bar.update()
        bar.set(loss=parts.loss)
        if step % LOG_EVERY == 0:
            usage = code_usage(model.codes(x), args.num_codes)
            history["perplexity"].append(usage["perplexity"])
            history["used_codes"].append(usage["used_codes"])
        checkpoints.step_done(step, save, final=step == args.steps)
    bar.close()
    log.flush()
    return step


def train_prior(args, codes, num_positions):
    """Stage 2: the autoregressive prior on 90% of the training codes (B, N); the weights with the best
    NLL on the other 10% (checked every LOG_EVERY steps) are kept. Returns (prior, curves)."""
    order = np.random.default_rng(args.seed).permutation(len(codes))
    cut = len(codes) - max(1, len(codes) // 10)
    fit, held = codes[order[:cut]], tg.tensor(codes[order[cut:]], device=args.device)
    prior = CodePrior(num_positions, args.num_codes, (args.prior_hidden,), args.prior_dropout).to(args.device)
    optimizer = optim.Adam(prior.parameters(), lr=1e-3)
    batches = common.Batches(DataLoader((fit,), batch_size=args.batch_size, shuffle=True, seed=args.seed,
                                        device=args.device))
    curves, best = {"training batch NLL (dropout on)": [], "held-out NLL": []}, (float("inf"), None)
    bar = progress(args.prior_steps, desc="prior", quiet=args.quiet)
    for step in range(1, args.prior_steps + 1):
        (c,) = batches.next()
        prior.train()
        loss = prior(c)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        bar.update()
        if step % LOG_EVERY == 0 or step == args.prior_steps:
            prior.eval()
            with tg.no_grad():
                nll = -float(prior.log_prob(held).mean())
            if not (math.isfinite(nll) and math.isfinite(float(loss))):  # no best weights to keep: stop here
                raise common.Diverged(f"the prior's loss became non-finite by its step {step} (held-out NLL {nll}, "
                                      f"batch NLL {float(loss)}). Nothing was written for this run; the checkpoint "
                                      "holds the trained VQ-VAE, so --resume trains the prior again.")
            curves["training batch NLL (dropout on)"].append(float(loss))
            curves["held-out NLL"].append(nll)
            if nll < best[0]:
                best = (nll, {k: v.clone() for k, v in prior.state_dict().items()})
    bar.close()
    prior.load_state_dict(best[1])
    return prior, curves


# ---------------------------------------------------------------- evaluation
def codes_of(model, images, device, batch=1000):
    """The integer codes (B, N) of a set of images, as a NumPy array."""
    return np.concatenate([model.codes(tg.tensor(images[i : i + batch], device=device)).numpy()
                           for i in range(0, len(images), batch)])


def test_losses(model, images, device, batch=500):
    """The VQ-VAE's losses on a set of images, averaged per image: {"test_recon", ...}, and the mean squared
    error per pixel of the decoded mean (test_recon_mse: comparable across datasets and with an autoencoder)."""
    sums, squared = 0.0, 0.0
    with tg.no_grad():
        for i in range(0, len(images), batch):
            x = tg.tensor(images[i : i + batch], device=device)
            sums = sums + tg.stack(list(model.losses(x))).numpy() * len(x)
            squared += float(((model.reconstruct(x) - x) ** 2).sum())
    loss, recon, codebook, commitment = (float(v) / len(images) for v in sums)
    return {"test_loss": loss, "test_recon": recon, "test_codebook": codebook, "test_commitment": commitment,
            "test_recon_mse": squared / images.size}


def main(argv=None):
    args = parse(argv)
    out = common.start_run(args)

    train_x, train_y = load_dataset(args.dataset, "train", root=args.data_root)
    test_x, test_y = load_dataset(args.dataset, "test", root=args.data_root)
    if args.quick:
        train_x, train_y, test_x, test_y = train_x[:512], train_y[:512], test_x[:256], test_y[:256]

    model = VQVAE.conv(tuple(train_x.shape[1:]), args.num_codes, args.code_dim, args.width, args.beta).to(args.device)
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    loader = DataLoader((train_x, train_y), batch_size=args.batch_size, shuffle=True, seed=args.seed,
                        device=args.device)
    history = {name: [] for name in VQLoss._fields + ("perplexity", "used_codes")}
    step, seconds = 0, 0.0
    config = common.run_config(args, SHAPE)
    state = common.resume_state(args, out, config)  # another value of a SHAPE option stops here
    if state is not None:
        trained = {"model": model, "optimizer": optimizer}
        step, history, seconds = common.resume_from(state, trained, [optimizer], args, out)
    began = time.perf_counter()

    def write(at):
        common.save_checkpoint(out, {"model": model, "optimizer": optimizer}, config=config, step=at,
                               history=history, seconds=seconds + time.perf_counter() - began)

    with common.Checkpoints(args, args.steps) as checkpoints:  # every --checkpoint-every, the end, Ctrl-C
        step = train_vqvae(model, optimizer, args, loader, history, step, checkpoints, write)

    # stage 2, with the VQ-VAE fixed: the codes of the training images, and the priors fitted to them;
    # seeded on its own, so the prior is the same however stage 1 was stopped and resumed
    tg.manual_seed(args.seed + 1)
    train_codes = codes_of(model, train_x, args.device)
    test_codes = tg.tensor(codes_of(model, test_x, args.device), device=args.device)
    prior_config = {name: getattr(args, name) for name in ("prior_steps", "prior_hidden", "prior_dropout")}
    if state is not None and "prior" in state and state["step"] == step and state["prior_config"] == prior_config:
        prior = CodePrior(model.num_positions, args.num_codes, (args.prior_hidden,)).to(args.device)
        prior.load_state_dict(state["prior"])  # a finished run resumed: its figures and numbers again
        prior_curves = state["prior_curves"]
    else:
        prior, prior_curves = train_prior(args, train_codes, model.num_positions)
    prior.eval()
    categorical = CategoricalPrior(model.num_positions, args.num_codes).to(args.device)
    categorical.fit(tg.tensor(train_codes, device=args.device))
    tg.manual_seed(args.seed + 2)  # the sampling's seed: the same samples from a prior trained or loaded by --resume
    common.save_checkpoint(out, {"model": model, "optimizer": optimizer, "prior": prior}, config=config, step=step,
                           history=history, seconds=seconds + time.perf_counter() - began,
                           prior_config=prior_config, prior_curves=prior_curves)
    seconds += time.perf_counter() - began

    # ---- the numbers: reconstruction, codebook usage, the priors' likelihoods, the samples' quality
    result = {"steps": step, "prior_steps": args.prior_steps, "positions": model.num_positions,
              "codebook_size": args.num_codes, "parameters": sum(p.numel() for p in model.parameters()),
              "prior_parameters": sum(p.numel() for p in prior.parameters())}
    result.update(test_losses(model, test_x, args.device))
    train_usage = code_usage(tg.tensor(train_codes), args.num_codes)
    result.update({"train_perplexity": train_usage["perplexity"], "dead_codes": train_usage["dead_codes"]})
    test_usage = code_usage(test_codes, args.num_codes)
    result.update({"test_perplexity": test_usage["perplexity"], "test_dead_codes": test_usage["dead_codes"]})
    with tg.no_grad():
        nll = {"ar": -float(prior.log_prob(test_codes).mean()),
               "categorical": -float(categorical.log_prob(test_codes).mean())}
    result.update({"prior_test_nll": nll["ar"], "categorical_prior_test_nll": nll["categorical"],
                   "uniform_prior_nll": model.num_positions * math.log(args.num_codes),
                   "test_neg_elbo": result["test_recon"] + nll["ar"]})

    n = min(args.num_samples, len(train_x))
    drawn = {}
    for name, source in (("ar", prior), ("categorical", categorical)):
        drawn[name] = model.decode_codes(source.sample(n)).numpy()
        quality = common.image_quality(args, drawn[name], train_x, test_x)
        result.update({(k if name == "ar" else f"categorical_{k}"): v for k, v in quality.items()
                       if name == "ar" or k != "classifier_test_accuracy"})
    samples = drawn["ar"]
    np.save(out / "samples.npy", samples)

    # ---- figures
    shown = tg.tensor(test_x[:16], device=args.device)
    viz.save_image_grid(np.concatenate([test_x[:16], model.reconstruct(shown).numpy()]), out / "reconstructions.png",
                        nrow=16)
    viz.save_image_grid(samples[:100], out / "samples.png", nrow=10)
    floor = f"(floor {result['fd_floor']:.1f})"
    viz.frame_strip([drawn["categorical"][:64], drawn["ar"][:64]], out / "priors.png",
                    titles=[f"independent per position\nFD {result['categorical_fd']:.1f} {floor}",
                            f"autoregressive (MADE)\nFD {result['fd']:.1f} {floor}"])
    viz.loss_curves({"perplexity": history["perplexity"], "codes in use": history["used_codes"]},
                    out / "codebook_usage.png", xlabel=f"step / {LOG_EVERY}",
                    title=f"codebook of {args.num_codes}: usage in each training batch")
    viz.loss_curves({k: history[k] for k in ("recon", "codebook", "commitment")}, out / "loss.png", smooth=20,
                    log_y=True, xlabel="step", title="VQ-VAE loss = recon + codebook + beta * commitment")
    viz.loss_curves(prior_curves, out / "prior_loss.png", xlabel=f"step / {LOG_EVERY}",
                    title="autoregressive prior: NLL of the codes, nats per image")

    path = common.write_metrics(out, args, result, seconds)
    print(f"test recon {result['test_recon']:.2f} nats; codebook perplexity {result['test_perplexity']:.1f} of "
          f"{args.num_codes}, {result['dead_codes']} dead; prior NLL {nll['ar']:.2f} "
          f"(categorical {nll['categorical']:.2f}, uniform {result['uniform_prior_nll']:.2f}); "
          f"classifier FD {result['fd']:.2f} (categorical {result['categorical_fd']:.2f}, "
          f"floor {result['fd_floor']:.2f}); wrote {path}")
    return result


if __name__ == "__main__":
    common.run(main)

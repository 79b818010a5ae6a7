"""What every demo shares: the command-line conventions, the output folder, metrics, checkpoints,
the ELBO training loop of the two autoencoder demos and the image-quality numbers.

Every demo takes --dataset, --steps or --epochs, --batch-size, --lr, --seed, --device,
--out, --quick (a few steps, for CI smoke runs), --resume, and writes into --out: PNG
figures, metrics.json (the config and the quality numbers) and checkpoint.npz. This is the one
module the demos share: no demo imports another.
"""

import argparse
import json
import os
import pathlib
import platform
import time

import tinygen as tg
from tinygen import metrics, optim
from tinygen.models.classifier import load_classifier, train_classifier
from tinygen.progress import progress

LOG_EVERY = 100  # fit reads the losses back from the device once per this many steps


# ---------------------------------------------------------------- the command line
class ShowDefaults(argparse.HelpFormatter):
    """--help that ends each option's text with its default, unless the text already names it (or there is none)."""

    def _get_help_string(self, action):
        text = action.help or ""
        unset = action.default is None or action.default is False or action.default == argparse.SUPPRESS
        if "(default" in text or unset or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)"


def per_dataset(table):
    """The help text of a default that depends on --dataset: {"digits": 4000, "mnist": 6000} ->
    "4000 for digits, 6000 for mnist" (datasets that share a value are listed together)."""
    groups = {}
    for name, value in table.items():
        groups.setdefault(value, []).append(name)
    if len(groups) == 1:
        return str(next(iter(groups)))
    listed = {v: names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1] for v, names in groups.items()}
    return ", ".join(f"{v} for {names}" for v, names in listed.items())


def _default(value, text):
    """add_argument's default and help for a number, or for a per-dataset table (default None, filled in later)."""
    if isinstance(value, dict):
        return {"default": None, "help": f"{text} (default: {per_dataset(value)})"}
    return {"default": value, "help": text}


def make_parser(name, description, datasets, default_dataset, batch_size, lr, steps=None, epochs=None):
    """The argparse parser every demo starts from; --help shows each option's default.

    ``batch_size``, ``lr``, ``steps`` and ``epochs`` are numbers, or tables {dataset or kind: value}
    when the default depends on --dataset: the option then parses to None unless given, the demo
    fills in the value for its dataset, and the help lists the table. ``steps`` / ``epochs`` left
    None mean the demo has no such option.
    """
    p = argparse.ArgumentParser(prog=f"python demos/{name}.py", description=description, formatter_class=ShowDefaults)
    p.add_argument("--dataset", choices=datasets, default=default_dataset, help="the training data")
    if epochs is not None:
        p.add_argument("--epochs", type=int, **_default(epochs, "passes over the training set"))
    if steps is not None:
        p.add_argument("--steps", type=int, **_default(steps, "optimiser steps"))
    p.add_argument("--batch-size", type=int, **_default(batch_size, "examples per step"))
    p.add_argument("--lr", type=float, **_default(lr, "learning rate"))
    p.add_argument("--seed", type=int, default=0, help="seeds the weights, the batches and the sampling")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                   help='where to train; "cuda" needs pip install -e ".[gpu]" and an NVIDIA GPU')
    p.add_argument("--out", default=f"runs/{name}", help="folder for figures, metrics.json and the checkpoint")
    p.add_argument("--quick", action="store_true", help="a few steps on a little data: a smoke test")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz if it exists")
    p.add_argument("--data-root", default=None, help="folder holding mnist/ and fashion-mnist/ (default: $TINYGEN_DATA)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--threads", type=int, default=None,
                   help="BLAS threads (default: the library's own); 1 is much faster when other programs share the cores")
    p.add_argument("--reading-path", action="store_true",
                   help="run every op in its plain textbook form (tg.use_fast_kernels(False)): slower, same results "
                        "up to rounding")
    return p


def start_run(args):
    """Seed everything, pick the device and the tier, make the output folder; returns its Path."""
    if args.threads:
        from threadpoolctl import threadpool_limits  # caps OpenBLAS/MKL threads after NumPy has loaded

        threadpool_limits(args.threads)
    if args.reading_path:
        tg.use_fast_kernels(False)
    else:
        tg.fast.keep_freed_memory()  # a process-wide malloc setting: this script opts in (tinygen/fast/memory.py)
    tg.manual_seed(args.seed)
    tg.set_default_device(args.device)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def checkpoint_path(out):
    return pathlib.Path(out) / "checkpoint.npz"


def load_checkpoint_if_resuming(args, out):
    """The saved state when --resume is given and a checkpoint exists, else None."""
    path = checkpoint_path(out)
    if not args.resume:
        return None
    if not path.exists():
        print(f"--resume: no checkpoint at {path}, starting from scratch")
        return None
    print(f"resuming from {path}")
    return tg.load(path, device=args.device)


def save_checkpoint(out, trained, **extra):
    """checkpoint.npz: the state_dict of every trained object (models, optimisers, schedulers,
    EMA), the random generator's state, and ``extra`` plain values (step, history, ...)."""
    state = {name: obj.state_dict() for name, obj in trained.items()}
    state.update(extra, rng=tg.backend.get_rng_state())
    tg.save(state, checkpoint_path(out))


def fit(model, args, loader, parts_fn, state=None, desc="training"):
    """Adam on ``parts_fn(model, args, x, y, step)`` (an ELBO: loss, recon, kl) for args.steps steps.

    Returns (optimizer, history, step, seconds); resumes from a save_checkpoint ``state`` when
    given. The per-step losses stay on the device and are read back LOG_EVERY steps at a time.
    """
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    history, step, seconds = {"loss": [], "recon": [], "kl": []}, 0, 0.0
    if state is not None:
        restore(state, {"model": model, "optimizer": optimizer})
        history, step, seconds = state["history"], state["step"], state["seconds"]
    pending = []
    began = time.perf_counter()

    def flush():
        if pending:
            values = tg.stack([tg.stack(list(p)) for p in pending]).numpy()  # (n, 3): one read-back
            for name, column in zip(("loss", "recon", "kl"), values.T):
                history[name].extend(float(v) for v in column)
            pending.clear()

    bar = progress(args.steps, desc=desc, quiet=args.quiet)
    bar.update(step)
    while step < args.steps:
        loader.set_epoch(step // len(loader))
        skip = step % len(loader)  # resuming mid-epoch: the batches already used
        for b, batch in enumerate(loader):
            if b < skip:
                continue
            x, y = batch
            parts = parts_fn(model, args, x, y, step)
            optimizer.zero_grad()
            parts.loss.backward()
            optimizer.step()
            pending.append(tuple(p.detach() for p in parts))
            step += 1
            bar.update()
            bar.set(loss=parts.loss)
            if len(pending) == LOG_EVERY:
                flush()
            if step >= args.steps:
                break
    bar.close()
    flush()
    seconds += time.perf_counter() - began
    model.train(False)
    return optimizer, history, step, seconds


def image_quality(args, samples, train_images, test_images):
    """The classifier-based numbers of image samples (N, C, H, W) in [0, 1] (tinygen.metrics.image_quality).

    The metric classifier is the cached one (trained once per dataset, tinygen/models/classifier.py);
    with --quick a throwaway one-epoch classifier on 512 images, so a smoke run never waits for it.
    """
    if args.quick:
        classifier, accuracy = train_classifier(args.dataset, args.data_root, epochs=1, limit=512,
                                                device=args.device, quiet=True)
    else:
        classifier, accuracy = load_classifier(args.dataset, args.data_root, args.device, args.quiet)
    return {**metrics.image_quality(classifier, samples, test_images, train_images), "classifier_test_accuracy": accuracy}


def restore(state, trained):
    """Load a save_checkpoint state back into the same objects; the RNG continues where it was."""
    for name, obj in trained.items():
        obj.load_state_dict(state[name])
    tg.backend.set_rng_state(state["rng"])


def summary(metrics):
    """One printable line of name-value pairs: 'modes 25, high_quality 0.896, ...'."""
    return ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in metrics.items())


def write_metrics(out, args, metrics, seconds):
    """metrics.json: the run's configuration, the machine, the time taken and the numbers."""
    record = {
        "config": vars(args),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "device": args.device},
        "seconds": round(seconds, 2),
        "metrics": metrics,
        "written": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    path = pathlib.Path(out) / "metrics.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path

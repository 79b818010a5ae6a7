"""What every demo shares: the command-line conventions, the output folder, metrics, checkpoints.

Every demo takes --dataset, --steps or --epochs, --batch-size, --lr, --seed, --device,
--out, --quick (a few steps, for CI smoke runs), --resume, and writes into --out: PNG
figures, metrics.json (the config and the quality numbers) and checkpoint.npz.
"""

import argparse
import json
import os
import pathlib
import platform
import time

import tinygen as tg


def make_parser(name, description, datasets, default_dataset, batch_size, lr, steps=None, epochs=None):
    p = argparse.ArgumentParser(prog=f"python demos/{name}.py", description=description)
    p.add_argument("--dataset", choices=datasets, default=default_dataset)
    if epochs is not None:
        p.add_argument("--epochs", type=int, default=epochs, help="passes over the training set")
    if steps is not None:
        p.add_argument("--steps", type=int, default=steps, help="optimiser steps")
    p.add_argument("--batch-size", type=int, default=batch_size)
    p.add_argument("--lr", type=float, default=lr, help="learning rate")
    p.add_argument("--seed", type=int, default=0)
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

"""What every demo shares: the command-line conventions, the output folder, metrics, checkpoints,
the ELBO training loop of the two autoencoder demos and the image-quality numbers.

Every demo takes --dataset, --steps or --epochs, --batch-size, --lr, --seed, --device,
--out, --quick (a few steps, for CI smoke runs), --resume, and writes into --out: PNG
figures, metrics.json (the config and the quality numbers) and checkpoint.npz. This is the one
module the demos share: no demo imports another.

No lost work, no silent wrong answer:

* checkpoint.npz is written during training (every --checkpoint-every: steps, or minutes, 2 by
  default), at the end, and on Ctrl-C (or SIGTERM), which then stops the run with a line saying
  how to resume. tg.save writes each checkpoint atomically, so a killed run leaves a whole one.
* The checkpoint records the configuration that shapes the run (the demo's SHAPE options, the
  data, batch size, seed, --quick). ``--resume`` with a different value for any of them stops
  before training and names the option. What may change on --resume: --steps / --epochs (train
  on to the new count, never below the checkpoint's), --lr (a value given on the command line
  replaces the saved one from the resumed step on; left out, the saved one is kept), the
  learning-rate schedule's length (--schedule-steps: the checkpoint's is kept), and everything
  that only reads the trained model (sampling, metrics, figures, --device, --threads). N steps,
  stopped anywhere and resumed, give the same weights, samples and metrics as N in one go.
* A non-finite loss stops the run at once (Diverged), naming the step and the likely cause,
  and writes no result. Command-line values are checked by argparse (exit status 2); a user
  error that is not a bug (a missing dataset, no GPU, a corrupt checkpoint, a --resume that does
  not fit) is one paragraph and exit status 1, without a traceback unless --debug.
"""

import argparse
import json
import math
import os
import pathlib
import platform
import re
import shlex
import signal
import sys
import tempfile
import threading
import time

import tinygen as tg
from tinygen import metrics, optim
from tinygen.data import ChecksumError, DatasetNotFoundError, IDXError, get_toy2d
from tinygen.models.classifier import load_classifier, train_classifier
from tinygen.progress import progress

LOG_EVERY = 100  # fit reads the losses back from the device once per this many steps


# ---------------------------------------------------------------- values the command line accepts
# argparse calls these as type=: a bad value becomes "argument --lr: expected ..." and exit status 2
def _number(text, kind, test, expected):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
    if not test(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def positive_int(text):
    """An integer >= 1 (steps, epochs, batch size, timesteps, widths)."""
    return _number(text, int, lambda v: v >= 1, "a whole number >= 1")


def non_negative_int(text):
    """An integer >= 0 (the seed)."""
    return _number(text, int, lambda v: v >= 0, "a whole number >= 0")


def positive_float(text):
    """A finite number > 0 (a learning rate: NaN and infinity are refused here, not after training)."""
    return _number(text, float, lambda v: math.isfinite(v) and v > 0, "a finite number > 0")


def non_negative_float(text):
    """A finite number >= 0 (a loss weight)."""
    return _number(text, float, lambda v: math.isfinite(v) and v >= 0, "a finite number >= 0")


def finite_float(text):
    """Any finite number."""
    return _number(text, float, math.isfinite, "a finite number")


def unit_interval(text):
    """A number in [0, 1] (a probability, a fraction of the steps)."""
    return _number(text, float, lambda v: 0.0 <= v <= 1.0, "a number in [0, 1]")


def checkpoint_interval(text):
    """How often to save during training: "500" (steps) or "5m" / "90s" (time): {"steps": 500} or {"seconds": 300.0}."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*(m|min|s)?\s*", text)
    if not found or float(found.group(1)) <= 0 or (found.group(2) is None and "." in found.group(1)):
        raise argparse.ArgumentTypeError(f"expected a number of steps (500) or of minutes or seconds (5m, 90s), "
                                         f"> 0, got {text!r}")
    if found.group(2) is None:
        return {"steps": int(found.group(1))}
    return {"seconds": float(found.group(1)) * (1.0 if found.group(2) == "s" else 60.0)}


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
        p.add_argument("--epochs", type=positive_int,
                       **_default(epochs, "passes over the training set (with --resume: train on to this many)"))
    if steps is not None:
        p.add_argument("--steps", type=positive_int,
                       **_default(steps, "optimiser steps (with --resume: train on to this many)"))
    p.add_argument("--batch-size", type=positive_int, **_default(batch_size, "examples per step"))
    p.add_argument("--lr", type=positive_float,
                   **_default(lr, "learning rate (with --resume: given, it replaces the checkpoint's from the "
                                  "resumed step on; left out, the checkpoint's is kept)"))
    p.add_argument("--seed", type=non_negative_int, default=0, help="seeds the weights, the batches and the sampling")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                   help='where to train; "cuda" needs pip install -e ".[gpu]" and an NVIDIA GPU')
    p.add_argument("--out", default=f"runs/{name}", help="folder for figures, metrics.json and the checkpoint")
    p.add_argument("--quick", action="store_true", help="a few steps on a little data: a smoke test")
    p.add_argument("--resume", action="store_true",
                   help="continue from OUT/checkpoint.npz if it exists; the options that shape the run must be the "
                        "ones it was saved with")
    p.add_argument("--checkpoint-every", type=checkpoint_interval, default="2m",
                   help="save OUT/checkpoint.npz this often while training: steps (500) or minutes (5m); "
                        "also at the end and on Ctrl-C")
    p.add_argument("--data-root", default=None, help="folder holding mnist/ and fashion-mnist/ (default: $TINYGEN_DATA)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--threads", type=positive_int, default=None,
                   help="BLAS threads (default: the library's own); 1 is much faster when other programs share the cores")
    p.add_argument("--split-cores", action="store_true",
                   help="the fast tier splits convolutions and large products over threads of its own, BLAS at one "
                        "thread (tinygen.fast.split_over_cores): faster for the convolutional models on several "
                        "cores, slower for the small dense ones; as many threads as --threads, or every core")
    p.add_argument("--reading-path", action="store_true",
                   help="run every op in its plain textbook form (tg.use_fast_kernels(False)): slower, same results "
                        "up to rounding")
    p.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    return p


def add_schedule_steps(parser, defaults):
    """--schedule-steps: the length of the learning-rate schedule, apart from --steps (``defaults``: the
    default run's steps, a number or a per-dataset table; fill_schedule_steps fills it in)."""
    text = per_dataset(defaults) if isinstance(defaults, dict) else defaults
    parser.add_argument("--schedule-steps", type=positive_int, default=None,
                        help="the length of the learning-rate schedule, kept apart from --steps so that a run stopped "
                             "early and resumed with more --steps follows the schedule of one long run; with --resume "
                             "the checkpoint's is kept, and steps past it keep the schedule's final rate "
                             f"(default: the larger of --steps and {text})")


def fill_schedule_steps(args, default_steps):
    """--schedule-steps left out: the larger of --steps and the default run's ``default_steps``, so a default
    run's schedule ends with it, and its first half, stopped and resumed, follows the same one."""
    if args.schedule_steps is None:
        args.schedule_steps = max(args.steps, default_steps)


class CosineThenHold(optim.lr_scheduler.CosineAnnealingLR):
    """CosineAnnealingLR that stays at eta_min after T_max, where a plain cosine would climb back up
    (a resumed run may train past its schedule's length)."""

    def lr_at(self, base_lr, t):
        """The cosine's rate at step min(t, T_max)."""
        return super().lr_at(base_lr, min(t, self.T_max))


_NOT_GIVEN = object()
RUNTIME = ("given", "argv", "debug")  # what parse_args adds to the options: kept out of metrics.json's config


def parse_args(parser, argv=None):
    """``parser.parse_args(argv)``, plus ``args.given`` (the options the command line named), ``args.argv``
    (the whole command, for the resume hint) and a check that --out can be created (exit status 2 if not)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    probe = argparse.Namespace(**{name: _NOT_GIVEN for name in vars(args)})  # argparse fills in only what is missing
    parser.parse_args(argv, probe)
    args.given = sorted(name for name, value in vars(probe).items() if value is not _NOT_GIVEN)
    args.argv = shlex.split(parser.prog) + argv  # "python demos/gan.py --steps 9": the command, for the resume hint
    problem = out_problem(args.out)
    if problem:
        parser.error(f"--out {args.out}: {problem}")
    return args


def quick_settings(args, settings):
    """--quick: each option in ``settings`` (a dict) takes the smoke run's value, unless the command
    line named it (args.given): ``--quick --steps 50`` is a quick run of 50 steps."""
    for name, value in settings.items():
        if name not in args.given:
            setattr(args, name, value)


def out_problem(out):
    """Why the folder ``out`` cannot be created or written to (None if it can), found without leaving a trace."""
    path = pathlib.Path(out).expanduser().absolute()
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file, not a folder" if existing != path else "is a file, not a folder"
    try:  # try it: os.access says yes to root even where the file system says no
        tempfile.TemporaryDirectory(dir=existing, prefix=".tinygen-probe-").cleanup()
    except OSError as e:
        return f"cannot create or write there ({existing}: {e.strerror or e})"
    return None


# ---------------------------------------------------------------- errors that are not bugs
class UserError(Exception):
    """A mistake in how a demo was run, not a bug in it: shown as one paragraph, exit status 1 (run)."""


class Diverged(UserError):
    """The loss (or the weights) became NaN or infinite: the run stops and writes no result."""


# what run() reports as one paragraph instead of a traceback
USER_ERRORS = (UserError, tg.DeviceError, tg.CheckpointError, DatasetNotFoundError, ChecksumError, IDXError)


def run(main, argv=None):
    """Run a demo's ``main(argv)`` as a script: a user error (USER_ERRORS) prints one paragraph and exits
    with status 1, Ctrl-C outside the training loop exits with 130; --debug shows the traceback instead."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return main(argv)
    except USER_ERRORS as e:
        if "--debug" in argv:
            raise
        print(f"{pathlib.Path(sys.argv[0]).name}: error: {e}\n(--debug shows the traceback)", file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        if "--debug" in argv:
            raise
        print(f"\n{pathlib.Path(sys.argv[0]).name}: interrupted (any checkpoint written so far is whole; "
              "--resume continues from it)", file=sys.stderr)
        raise SystemExit(130) from None


# ---------------------------------------------------------------- the run
def start_run(args):
    """Seed everything, pick the device and the tier, make the output folder; returns its Path."""
    if args.threads:
        from threadpoolctl import threadpool_limits  # caps OpenBLAS/MKL threads after NumPy has loaded

        threadpool_limits(args.threads)
    if args.reading_path:
        tg.use_fast_kernels(False)
    else:
        tg.fast.keep_freed_memory()  # a process-wide malloc setting: this script opts in (tinygen/fast/memory.py)
        if args.split_cores and args.device == "cpu":
            tg.fast.split_over_cores(args.threads)  # also process-wide: BLAS at one thread (tinygen/fast/parallel.py)
    tg.manual_seed(args.seed)
    tg.set_default_device(args.device)
    out = pathlib.Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"--out {out}: cannot create the folder ({e.strerror or e}); choose another --out") from e
    return out


def checkpoint_path(out):
    """OUT/checkpoint.npz: where a demo saves and --resume reads."""
    return pathlib.Path(out) / "checkpoint.npz"


def run_config(args, shape):
    """What the checkpoint records of the command line: the options that shape the run (the common
    ones, dataset, batch size, seed and --quick, and the demo's ``shape``), plus --lr and, where the demo
    has it, --schedule-steps (see resume_state for what each may do on --resume)."""
    names = ["dataset", "batch_size", "seed", "quick", *shape, "lr"]
    if hasattr(args, "schedule_steps"):
        names.append("schedule_steps")
    return {name: getattr(args, name) for name in names}


def flag(name):
    """The command-line spelling of an option: batch_size -> --batch-size."""
    return "--" + name.replace("_", "-")


def resume_state(args, out, config):
    """With --resume, the saved state of OUT/checkpoint.npz, checked against this command line's ``config``
    (run_config); None without --resume or when there is no checkpoint yet.

    An option that shapes the run with another value than the checkpoint's stops here (UserError,
    naming the option, both values and how to start fresh). --lr: a value given on the command line
    wins from the resumed step on; left out, the checkpoint's is kept (args.lr is set to it). The
    schedule's length (--schedule-steps): the checkpoint's is kept; given with another value it is
    an error like any other shape option. Both are printed when they differ.
    """
    if not args.resume:
        return None
    path = checkpoint_path(out)
    if not path.exists():
        print(f"--resume: no checkpoint at {path} yet, starting from scratch")
        return None
    state = tg.load(path, device=args.device)  # a damaged file: CheckpointError, one paragraph (run)
    saved = state.get("config") if isinstance(state, dict) else None
    fresh = f"To start afresh, run without --resume (it overwrites {path}) or choose another --out."
    if not isinstance(saved, dict):
        raise UserError(f"--resume: {path} does not record the configuration it was trained with (it was written "
                        f"by an older tinygen or another program), so resuming could silently mix two runs. {fresh}")
    changed, keep = [], []
    for name, value in config.items():
        before = saved.get(name, "(not recorded)")
        if before == value or name == "lr" or (name == "schedule_steps" and name not in args.given):
            continue
        how = "given" if name in args.given else "the default"
        changed.append(f"{flag(name)} was {before} in the checkpoint, this command line has {value} ({how})")
        if isinstance(before, bool):
            keep.append(flag(name) if before else f"no {flag(name)}")
        else:
            keep.append(f"{flag(name)} {before}")
    if changed:
        raise UserError(f"--resume: {path} was trained with other options: " + "; ".join(changed)
                        + f". These shape the run, so they cannot change halfway. To continue that run, give "
                        f"{', '.join(keep)}. {fresh}")
    if "schedule_steps" in config and saved.get("schedule_steps", args.schedule_steps) != args.schedule_steps:
        print(f"--resume: the learning-rate schedule keeps the checkpoint's length, {saved['schedule_steps']} steps "
              f"(this command line alone would give {args.schedule_steps})")
        args.schedule_steps = config["schedule_steps"] = saved["schedule_steps"]
    if saved.get("lr", args.lr) != args.lr:
        if "lr" in args.given:
            print(f"--resume: --lr {args.lr} replaces the checkpoint's {saved['lr']} from the resumed step on")
        else:
            print(f"--resume: keeping the checkpoint's --lr {saved['lr']} (give --lr to change it)")
            args.lr = config["lr"] = saved["lr"]
    print(f"resuming from {path}")
    return state


def load_checkpoint_if_resuming(args, out):
    """The saved state when --resume is given and a checkpoint exists, else None, unchecked: the older
    form of resume_state, for a demo that does not record its configuration yet."""
    path = checkpoint_path(out)
    if not args.resume:
        return None
    if not path.exists():
        print(f"--resume: no checkpoint at {path}, starting from scratch")
        return None
    print(f"resuming from {path}")
    return tg.load(path, device=args.device)


def check_progress(done, wanted, option, path):
    """--resume with --steps (or --epochs) below what the checkpoint has already trained is an error."""
    if done > wanted:
        raise UserError(f"--resume: {path} has already trained {done} {option.lstrip('-')}, more than {option} "
                        f"{wanted}; give {option} {done} or more to continue (or {done} to just redo the results).")


def set_lr(optimizers, lr):
    """Give every param group of ``optimizers`` the rate ``lr`` (and make it the start of any schedule built
    after this): how a resumed run takes --lr. Schedules are rebuilt from the step count, not loaded."""
    for optimizer in optimizers:
        for group in optimizer.param_groups:
            group["lr"] = lr
            if "initial_lr" in group:
                group["initial_lr"] = lr


def check_finite(state, step, where="the state"):
    """Refuse to save a state (nested dicts and lists of Tensors and arrays: weights, the optimiser's
    moments, ...) that holds NaN or inf: raises Diverged, since such a checkpoint is not worth resuming."""
    if isinstance(state, dict):
        for key, value in state.items():
            check_finite(value, step, f"{where}.{key}" if where != "the state" else str(key))
    elif isinstance(state, (list, tuple)):
        for k, value in enumerate(state):
            check_finite(value, step, f"{where}[{k}]")
    elif isinstance(state, tg.Tensor) or tg.backend.is_array(state):
        array = state.array if isinstance(state, tg.Tensor) else state
        if tg.backend.is_floating(array.dtype) and not bool(tg.backend.array_module(array).isfinite(array).all()):
            raise Diverged(f"the training state became non-finite by step {step} ({where} holds NaN or inf): training "
                           "diverged, most likely because the learning rate (--lr) is too high for this model; try a "
                           "smaller one. Nothing was written for this run (no metrics, samples or figures), and the "
                           "last checkpoint, if any, was kept.")


def save_checkpoint(out, trained, config=None, **extra):
    """checkpoint.npz: the run's ``config`` (run_config: what resume_state checks), the state_dict of
    every trained object (models, optimisers, EMA), the random generator's state, and ``extra`` plain
    values (step, history, ...). Non-finite weights are refused (Diverged). Returns the path."""
    state = {name: obj.state_dict() for name, obj in trained.items()}
    check_finite(state, extra.get("step"))
    state.update(extra, rng=tg.backend.get_rng_state())
    if config is not None:
        state["config"] = config
    path = checkpoint_path(out)
    tg.save(state, path)
    return path


def resume_command(args):
    """The command line that continues this run: the one given, with --resume."""
    return shlex.join([word for word in args.argv if word != "--resume"] + ["--resume"])


class Checkpoints:
    """When a training loop saves: every --checkpoint-every (steps, or seconds of wall time), and when
    Ctrl-C (SIGINT) or SIGTERM arrives: the step in progress finishes, the checkpoint is saved, and the
    run stops (exit status 128 + the signal's number) with one line saying how to resume. A second
    Ctrl-C stops at once (the last checkpoint stays whole). Use as a ``with`` block around the loop,
    calling ``step_done(step, save)`` after each whole step; ``save(step)`` writes the checkpoint."""

    def __init__(self, args, total, unit="step"):
        self.every, self.total, self.unit = args.checkpoint_every, total, unit
        self.command = resume_command(args)
        self.path = checkpoint_path(args.out)
        self.stop_signal, self.previous = None, {}
        self.last = time.monotonic()

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():  # signals reach the main thread only
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.previous[sig] = signal.signal(sig, self._asked_to_stop)
        return self

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        self.previous = {}
        return False

    def _asked_to_stop(self, signum, frame):
        if self.stop_signal is not None:  # asked twice: stop now
            raise KeyboardInterrupt
        self.stop_signal = signum

    def due(self, step):
        """Whether the interval has passed since the last save."""
        if "steps" in self.every:
            return step % self.every["steps"] == 0
        return time.monotonic() - self.last >= self.every["seconds"]

    def step_done(self, step, save, final=False):
        """Call after each whole step: saves when due (or ``final``: the end of training), and saves then
        stops when a signal asked to."""
        if self.stop_signal is not None or final or self.due(step):
            save(step)
            self.last = time.monotonic()
        if self.stop_signal is not None:
            name = "Ctrl-C" if self.stop_signal == signal.SIGINT else signal.Signals(self.stop_signal).name
            print(f"\n{name}: stopped at {self.unit} {step} of {self.total} and saved {self.path}; "
                  f"to continue: {self.command}", file=sys.stderr, flush=True)
            raise SystemExit(128 + self.stop_signal)


class LossLog:
    """The per-step losses of a run, appended to ``history`` (a dict of lists, one per name).

    They stay on the device and are read back in one batch: every step on a CPU (reading costs
    nothing there), every LOG_EVERY steps on a GPU. A NaN or infinite loss stops the run there and
    then (Diverged), naming the step, the loss and the likely cause.
    """

    def __init__(self, args, history, names, step):
        self.history, self.names, self.lr = history, names, args.lr
        self.every = 1 if args.device == "cpu" else LOG_EVERY
        self.pending, self.first = [], step  # the step number of the first pending loss (counted from 1)

    def add(self, *losses):
        """The losses of one step (Tensors, in the order of ``names``)."""
        self.pending.append(tg.stack([loss.detach().reshape(()) for loss in losses]))
        if len(self.pending) >= self.every:
            self.flush()

    def flush(self):
        """Read the pending losses back, check them, and append them to the history."""
        if not self.pending:
            return
        rows = tg.stack(self.pending).numpy().tolist()  # (n, len(names)): one read-back
        self.pending = []
        for k, row in enumerate(rows):
            if not all(math.isfinite(v) for v in row):
                name, value = next((n, v) for n, v in zip(self.names, row) if not math.isfinite(v))
                raise Diverged(f"the loss became non-finite at step {self.first + k + 1}: {name} = {value}. "
                               f"Training diverged, most likely because the learning rate (--lr {self.lr:g}) is too "
                               f"high for this model; try a smaller one, e.g. --lr {self.lr / 10:g}. Nothing was "
                               "written for this run (no metrics, samples or figures); the checkpoint, if any, is "
                               "from before.")
            for name, value in zip(self.names, row):
                self.history[name].append(value)
        self.first += len(rows)


class ToyStream:
    """Fresh points from a 2-D toy every step (infinite data), divided by ``scale`` (std about 1):
    the networks then work with O(1) numbers whatever the toy's size; ``to_data`` undoes it.

    ``scale`` comes from a fixed reference set, the same every run; the points from tinygen's CPU
    generator, which is seeded and saved in checkpoints, so a resumed run draws the same points.
    """

    def __init__(self, dataset, batch_size, device):
        self.sampler, self.batch_size, self.device = get_toy2d(dataset), batch_size, device
        self.scale = float(self.sampler(20000, seed=1234).std())

    def next(self):
        return self.sampler.sample(self.batch_size, device=self.device) / self.scale

    def to_data(self, x):
        return x * self.scale


class Batches:
    """A DataLoader's batches, epoch after epoch without end, from any point of the stream.

    Batch k of a run is the same whether the run was resumed or not: epoch e uses the loader's
    shuffle of e (DataLoader.set_epoch), and ``Batches(loader, start=k)`` skips to batch k.
    ``taken`` counts the batches handed out (save it in the checkpoint).
    """

    def __init__(self, loader, start=0):
        if len(loader) == 0:  # drop_last and fewer examples than one batch: no batch at all, ever
            raise UserError(f"--batch-size {loader.batch_size} is more than the {len(loader.dataset)} training "
                            "examples, so not even one batch can be drawn; give a smaller --batch-size")
        self.loader, self.taken, self.iterator = loader, start, None

    def next(self):
        """The next batch."""
        if self.iterator is None:
            epoch, skip = divmod(self.taken, len(self.loader))
            self.loader.set_epoch(epoch)
            self.iterator = iter(self.loader)
            for _ in range(skip):
                next(self.iterator)
        batch = next(self.iterator, None)
        if batch is None:  # the epoch is over
            self.iterator = None
            return self.next()
        self.taken += 1
        return batch


def fit(model, args, loader, parts_fn, state=None, desc="training", checkpoints=None, write=None):
    """Adam on ``parts_fn(model, args, x, y, step)`` (an ELBO: loss, recon, kl) up to args.steps steps.

    Returns (optimizer, history, step, seconds, snapshot): ``snapshot(step)`` is the state to save
    (model, optimizer, step, history, seconds, rng). Resumes from such a ``state`` when given.
    With ``checkpoints`` (a Checkpoints), ``write(snapshot(step))`` saves during training.
    """
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    history, step, seconds = {"loss": [], "recon": [], "kl": []}, 0, 0.0
    if state is not None:
        trained = {"model": model, "optimizer": optimizer}
        step, history, seconds = resume_from(state, trained, [optimizer], args, args.out)
    log = LossLog(args, history, ("loss", "recon", "kl"), step)
    batches = Batches(loader, start=step)
    began = time.perf_counter()

    def snapshot(at):
        log.flush()
        trained = {"model": model.state_dict(), "optimizer": optimizer.state_dict()}
        check_finite(trained, at, desc)
        return {**trained, "step": at, "history": history, "seconds": seconds + time.perf_counter() - began,
                "rng": tg.backend.get_rng_state()}

    bar = progress(args.steps, desc=desc, quiet=args.quiet)
    bar.update(step)
    while step < args.steps:
        x, y = batches.next()
        parts = parts_fn(model, args, x, y, step)
        optimizer.zero_grad()
        parts.loss.backward()
        optimizer.step()
        step += 1
        log.add(*parts)
        bar.update()
        bar.set(loss=parts.loss)
        if checkpoints is not None:
            checkpoints.step_done(step, lambda at: write(snapshot(at)))
    bar.close()
    log.flush()
    seconds += time.perf_counter() - began
    model.train(False)
    return optimizer, history, step, seconds, snapshot


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


def resume_from(state, trained, optimizers, args, out):
    """Continue a run from its resume_state ``state``: (step, history, seconds) where it stopped.

    Loads ``trained`` (restore), gives ``optimizers`` this command line's --lr (set_lr) and stops
    when --steps asks for no more than is done (check_progress).
    """
    restore(state, trained)
    set_lr(optimizers, args.lr)
    check_progress(state["step"], args.steps, "--steps", checkpoint_path(out))
    return state["step"], state["history"], state["seconds"]


def summary(metrics):
    """One printable line of name-value pairs: 'modes 25, high_quality 0.896, ...'."""
    return ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in metrics.items())


def write_metrics(out, args, metrics, seconds):
    """metrics.json: the run's configuration, the machine, the time taken and the numbers."""
    record = {
        "config": {k: v for k, v in vars(args).items() if k not in RUNTIME},
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "device": args.device},
        "seconds": round(seconds, 2),
        "metrics": metrics,
        "written": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    path = pathlib.Path(out) / "metrics.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path

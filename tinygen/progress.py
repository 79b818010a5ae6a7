"""Progress bars for training loops: a thin wrapper around tqdm.

    bar = progress(steps, desc="vae")          # or progress(loader)
    for step in bar:
        loss = train_step(...)
        bar.set(loss=loss)                     # shown next to tqdm's steps/s

It writes to stderr (or ``file=``) and is quiet when that is not a terminal (CI logs, pipes)
or when ``quiet=True``. ``set`` keeps the values as given and turns them into numbers only when the bar is about to
redraw (at most twice a second): reading a GPU loss with ``float()`` waits for the GPU, and a
quiet bar never waits at all.
"""

import sys
import time


def _is_terminal(stream):
    if stream is sys.stderr and "ipykernel" in sys.modules:  # a notebook shows tqdm, though not a TTY
        return True
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


class Progress:
    """Iterate like the wrapped iterable; ``set(**values)`` shows values such as the loss."""

    def __init__(self, iterable=None, total=None, desc=None, quiet=None, mininterval=0.5, file=None, **tqdm_kwargs):
        file = sys.stderr if file is None else file
        self.quiet = (not _is_terminal(file)) if quiet is None else bool(quiet)
        self.mininterval = mininterval
        self._values = {}
        self._shown_at = float("-inf")
        self._bar = None
        self.iterable = iterable
        if not self.quiet:
            from tqdm.auto import tqdm  # imported here: `import tinygen` stays light

            tqdm_kwargs.setdefault("unit", "step")  # tqdm then shows "step/s"
            self._bar = tqdm(
                iterable, total=total, desc=desc, mininterval=mininterval, file=file, dynamic_ncols=True, **tqdm_kwargs
            )

    def __iter__(self):
        if self.iterable is None:
            raise TypeError("progress: this bar was made from a total, not an iterable; call update() instead")
        try:
            for item in self.iterable:
                yield item
                self.update()
        finally:  # also when the loop breaks early: the last values shown, the line finished
            self.close()

    def __len__(self):
        return len(self.iterable)

    def update(self, n=1):
        """Advance the bar by n steps (for a bar made with ``total=`` rather than an iterable)."""
        if self._bar is not None:
            self._bar.update(n)

    def set(self, **values):
        """Display ``name=value`` pairs (numbers or one-element Tensors) next to the bar."""
        self._values.update(values)
        self._show()

    def _show(self, force=False):
        if self._bar is None or not self._values:
            return
        now = time.monotonic()
        if not force and now - self._shown_at < self.mininterval:
            return
        self._shown_at = now
        self._bar.set_postfix({k: _number(v) for k, v in self._values.items()}, refresh=False)

    def close(self):
        """Show the last values and close the bar; closing twice is harmless."""
        if self._bar is not None:
            self._show(force=True)
            self._bar.close()
            self._bar = None  # closing twice (loop end, then a with-block) reads nothing again

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _number(value):
    number = float(value)  # a Tensor's float() reads it back from the device: done only on redraw
    return f"{number:.4g}"


def progress(iterable_or_total=None, desc=None, quiet=None, **tqdm_kwargs):
    """A Progress over an iterable, or over ``range(total)`` when given an int."""
    if isinstance(iterable_or_total, int):
        return Progress(range(iterable_or_total), total=iterable_or_total, desc=desc, quiet=quiet, **tqdm_kwargs)
    if iterable_or_total is None:
        return Progress(None, total=tqdm_kwargs.pop("total", None), desc=desc, quiet=quiet, **tqdm_kwargs)
    return Progress(iterable_or_total, desc=desc, quiet=quiet, **tqdm_kwargs)

"""Progress bars: same items as the loop they wrap; quiet off a terminal; values shown only on redraw."""

import io
import sys

import pytest

import tinygen as tg
from tinygen.progress import Progress, progress

pytest.importorskip("tqdm")


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def fake_tty():
    # Passed as file=: pytest's own capture puts sys.stderr back between a fixture and its test.
    return FakeTerminal()


class CountingLoss:
    """A loss whose float() is counted: each one is a device read-back in a real run."""

    def __init__(self, value):
        self.value, self.reads = value, 0

    def __float__(self):
        self.reads += 1
        return self.value


def test_iterates_like_the_wrapped_iterable(fake_tty):
    assert list(progress(5, desc="train", file=fake_tty)) == [0, 1, 2, 3, 4]
    assert list(progress(["a", "b"], file=fake_tty)) == ["a", "b"]
    assert len(progress([1, 2, 3], quiet=True)) == 3
    assert "train" in fake_tty.getvalue()


def test_quiet_when_stderr_is_not_a_terminal(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    bar = progress(3)
    assert bar.quiet
    loss = CountingLoss(1.0)
    for _ in bar:
        bar.set(loss=loss)
    assert stream.getvalue() == "" and loss.reads == 0  # a quiet bar never reads a loss back
    monkeypatch.setattr(sys, "stderr", FakeTerminal())
    assert not progress(3).quiet


def test_quiet_on_request(fake_tty):
    assert list(progress(range(3), quiet=True, file=fake_tty)) == [0, 1, 2]
    assert fake_tty.getvalue() == ""


def test_shows_steps_per_second_and_the_loss(fake_tty):
    bar = progress(4, desc="vae", mininterval=0.0, file=fake_tty)
    for step in bar:
        bar.set(loss=tg.tensor(2.0 / (step + 1)))
    bar.close()
    text = fake_tty.getvalue()
    assert "vae" in text and "4/4" in text and "step/s" in text
    assert "loss=0.5" in text  # the last value, 2 / 4


def test_values_are_read_at_most_once_per_interval(fake_tty):
    loss = CountingLoss(0.25)
    bar = progress(100, mininterval=3600.0, file=fake_tty)
    for _ in bar:
        bar.set(loss=loss)
    # the first set draws (the interval starts at -inf), the rest wait; the end of the loop draws once more
    assert loss.reads == 2
    assert "loss=0.25" in fake_tty.getvalue()


def test_a_bar_over_a_total_counts_updates(fake_tty):
    with Progress(total=10, desc="download", unit="B", mininterval=0.0, file=fake_tty) as bar:
        bar.update(4)
        bar.update(6)
    assert "10/10" in fake_tty.getvalue()
    with pytest.raises(TypeError, match="made from a total"):
        iter(Progress(total=3, quiet=True)).__next__()

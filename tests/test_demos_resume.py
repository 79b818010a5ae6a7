"""Honest resumes, demo by demo, on --quick-sized runs: N/2 steps then --resume to N gives the same
weights, samples and metrics as N in one go (each demo with its default options), and so does a run
stopped by Ctrl-C (the real signal handler, in-process) or killed with SIGKILL (a real process)."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from _scripts import ROOT, load_script

import tinygen as tg

pytestmark = pytest.mark.slow  # every test here trains: the fast lane (-m "not slow") skips them

DEMOS = {name: load_script(f"demos/{name}.py")
         for name in ("gan", "ddpm", "vae", "ae", "classifier", "score", "flow", "vqvae")}
common = sys.modules["common"]
FAST = ["--quick", "--quiet", "--threads", "1"]


def flat(state, prefix=""):
    """{dotted key: value} of a checkpoint, Tensors as arrays, the wall-clock "seconds" left out."""
    if isinstance(state, dict):
        items = state.items()
    elif isinstance(state, (list, tuple)):
        items = enumerate(state)
    else:
        return {prefix: state.numpy() if isinstance(state, tg.Tensor) else state}
    found = {}
    for key, value in items:
        if key != "seconds":
            found.update(flat(value, f"{prefix}.{key}" if prefix else str(key)))
    return found


def assert_same_run(a, b):
    """Two output folders hold the same checkpoint (weights, optimiser, RNG, history), samples and metrics."""
    ka, kb = flat(tg.load(a / "checkpoint.npz", device="cpu")), flat(tg.load(b / "checkpoint.npz", device="cpu"))
    assert ka.keys() == kb.keys()
    for key in ka:
        if isinstance(ka[key], np.ndarray):
            np.testing.assert_array_equal(ka[key], kb[key], err_msg=key)
        else:
            assert ka[key] == kb[key], key
    for name in sorted(p.name for p in a.glob("*.npy")):
        np.testing.assert_array_equal(np.load(a / name), np.load(b / name), err_msg=name)
    ma, mb = (json.loads((d / "metrics.json").read_text())["metrics"] for d in (a, b))
    timing = lambda m: {k: v for k, v in m.items() if "seconds" not in k}  # noqa: E731
    assert timing(ma) == timing(mb)


# (demo, its options, the half-way and the full length): each demo's defaults, --quick-sized
VQVAE_SHORT = ["--prior-steps", "3", "--num-samples", "20"]  # the prior's stage is not what these test
CASES = {
    "gan-grid25": ("gan", [], "--steps", 10, 20),
    "gan-grid25-decaying": ("gan", ["--schedule-steps", "20"], "--steps", 10, 20),  # the rates fall from step 15
    "gan-digits": ("gan", ["--dataset", "digits"], "--steps", 10, 20),  # 4 batches an epoch: epochs 2 to 5
    "gan-digits-refined": ("gan", ["--dataset", "digits", "--refine"], "--steps", 10, 20),  # MNIST's generator
    "gan-digits-averaged": ("gan", ["--dataset", "digits", "--pack", "1", "--ema", "0.999"], "--steps", 10, 20),  # + EMA of G
    "ddpm-moons": ("ddpm", ["--dataset", "moons", "--schedule-steps", "20"], "--steps", 10, 20),  # cosine lr inside
    "ddpm-digits": ("ddpm", [], "--steps", 10, 20),
    "vae": ("vae", ["--iwae-k", "2"], "--steps", 3, 8),  # 4 batches an epoch: stops mid-epoch
    "ae": ("ae", [], "--steps", 10, 20),  # stops with the AE done and the VAE half-way
    "classifier": ("classifier", [], "--epochs", 1, 2),
    "score-ring8": ("score", ["--schedule-steps", "20"], "--steps", 10, 20),  # cosine lr inside
    "score-digits": ("score", ["--dataset", "digits"], "--steps", 10, 20),
    "flow-moons": ("flow", ["--schedule-steps", "20"], "--steps", 10, 20),
    "flow-digits": ("flow", ["--dataset", "digits", "--eval-every", "3"], "--steps", 10, 20),  # keeps its best weights
    "vqvae": ("vqvae", VQVAE_SHORT, "--steps", 3, 8),  # 4 batches an epoch: stops mid-epoch
}


@pytest.mark.parametrize("case", CASES)
def test_half_then_resume_equals_one_go(case, tmp_path):
    name, options, flag, half, full = CASES[case]
    demo = DEMOS[name]
    demo.main(FAST + options + [flag, str(full), "--out", str(tmp_path / "once")])
    demo.main(FAST + options + [flag, str(half), "--out", str(tmp_path / "twice")])
    demo.main(FAST + options + [flag, str(full), "--resume", "--out", str(tmp_path / "twice")])
    assert_same_run(tmp_path / "once", tmp_path / "twice")


def interrupt_at(monkeypatch, stop):
    """Send this process a real SIGINT (Ctrl-C) right after training step ``stop``."""
    original = common.Checkpoints.step_done

    def step_done(self, step, save, final=False):
        if step == stop and not final:
            signal.raise_signal(signal.SIGINT)
        return original(self, step, save, final)

    monkeypatch.setattr(common.Checkpoints, "step_done", step_done)


# (demo, options, the full length, the step Ctrl-C comes after)
CTRL_C = {
    "gan": ("gan", ["--dataset", "ring8", "--schedule-steps", "20", "--steps", "20"], 7),
    "ddpm": ("ddpm", ["--steps", "12"], 5),
    "vae": ("vae", ["--iwae-k", "2", "--steps", "8"], 6),
    "ae": ("ae", ["--steps", "10"], 4),  # during the AE: the VAE has not started
    "classifier": ("classifier", ["--epochs", "2"], 3),  # mid-epoch (4 batches an epoch)
    "score": ("score", ["--schedule-steps", "20", "--steps", "12"], 5),
    "flow": ("flow", ["--dataset", "digits", "--eval-every", "3", "--steps", "12"], 5),
    "vqvae": ("vqvae", VQVAE_SHORT + ["--steps", "8"], 5),
}


@pytest.mark.parametrize("case", CTRL_C)
def test_ctrl_c_saves_says_how_to_resume_and_the_resumed_run_is_the_same(case, tmp_path, monkeypatch, capsys):
    name, options, stop = CTRL_C[case]
    demo = DEMOS[name]
    demo.main(FAST + options + ["--out", str(tmp_path / "once")])
    handler = signal.getsignal(signal.SIGINT)
    with monkeypatch.context() as patch:
        interrupt_at(patch, stop)
        with pytest.raises(SystemExit) as stopped:
            demo.main(FAST + options + ["--out", str(tmp_path / "stopped")])
    assert stopped.value.code == 128 + signal.SIGINT
    message = capsys.readouterr().err.strip().splitlines()[-1]
    assert f" {stop} of " in message and "--resume" in message and str(tmp_path / "stopped") in message
    assert not (tmp_path / "stopped" / "metrics.json").exists()  # no result from a run cut short
    state = tg.load(tmp_path / "stopped" / "checkpoint.npz")
    assert (state["ae"] if name == "ae" else state)["step"] == stop
    assert signal.getsignal(signal.SIGINT) is handler  # the demo's handler is gone
    demo.main(FAST + options + ["--resume", "--out", str(tmp_path / "stopped")])
    assert_same_run(tmp_path / "once", tmp_path / "stopped")


def test_checkpoints_are_written_during_training_at_the_interval(tmp_path, monkeypatch):
    saved = []
    original = common.save_checkpoint
    monkeypatch.setattr(common, "save_checkpoint", lambda *a, **k: saved.append(k["step"]) or original(*a, **k))
    DEMOS["gan"].main(FAST + ["--dataset", "ring8", "--steps", "12", "--checkpoint-every", "5",
                              "--out", str(tmp_path)])
    assert saved == [5, 10, 12]  # every 5 steps, and at the end


def test_a_time_interval_saves_when_its_minutes_have_passed(monkeypatch):
    args = DEMOS["vae"].parse(["--checkpoint-every", "0.5m", "--out", "runs/x"])
    assert args.checkpoint_every == {"seconds": 30.0}
    clock = [100.0]
    monkeypatch.setattr(common.time, "monotonic", lambda: clock[0])
    checkpoints, saved = common.Checkpoints(args, 1000), []
    for step in range(1, 7):
        clock[0] += 10.0  # ten seconds a step
        checkpoints.step_done(step, saved.append)
    assert saved == [3, 6]


# ---------------------------------------------------------------- real processes, real signals
def start(out, *extra):
    """A gan run in its own process, long enough to be stopped from outside, saving every 5 steps."""
    command = [sys.executable, "demos/gan.py", *FAST, "--dataset", "ring8", "--batch-size", "64", "--steps", "100000",
               "--schedule-steps", "200", "--checkpoint-every", "5", "--out", str(out), *extra]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_checkpoint(out, process, at_least=10, timeout=120):
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        assert process.poll() is None, process.communicate()
        try:
            if tg.load(out / "checkpoint.npz")["step"] >= at_least:
                return
        except tg.CheckpointError:  # not there yet (a whole one is always there once it is)
            pass
        time.sleep(0.05)
    process.kill()
    pytest.fail("no checkpoint appeared")


def test_a_run_killed_with_sigkill_resumes_from_its_last_checkpoint_to_the_same_result(tmp_path):
    killed = tmp_path / "killed"
    process = start(killed)
    wait_for_checkpoint(killed, process)
    process.send_signal(signal.SIGKILL)  # no handler, no last save: whatever is on disk must do
    process.communicate()
    state = tg.load(killed / "checkpoint.npz")  # whole: saves are atomic
    step = state["step"]
    assert step % 5 == 0 and step >= 10
    options = FAST + ["--dataset", "ring8", "--batch-size", "64", "--schedule-steps", "200", "--steps", str(step + 5)]
    DEMOS["gan"].main(options + ["--resume", "--out", str(killed)])
    DEMOS["gan"].main(options + ["--out", str(tmp_path / "once")])
    assert_same_run(tmp_path / "once", killed)


def test_ctrl_c_in_a_real_process_saves_and_exits_with_one_line(tmp_path):
    out = tmp_path / "run"
    process = start(out)
    wait_for_checkpoint(out, process)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130 and "Traceback" not in err
    line = err.strip().splitlines()[-1]
    assert line.startswith("Ctrl-C: stopped at step ") and line.endswith("--resume")
    step = int(line.split("stopped at step ")[1].split()[0])
    assert tg.load(out / "checkpoint.npz")["step"] == step  # the step in progress finished and was saved
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.npz"]

"""Runs that fail loudly: argparse refuses impossible values (usage, one error, exit status 2, no
traceback); a run whose loss turns NaN stops at that step and writes no result; a user error that
is not a bug (missing data, no GPU, a damaged checkpoint, a --resume that does not fit) is one
paragraph and exit status 1, with the traceback only under --debug."""

import json
import os
import socket
import subprocess
import sys

import pytest
from _scripts import ROOT, load_script

import tinygen as tg
from tinygen.data import download as dl

DEMOS = {name: load_script(f"demos/{name}.py")
         for name in ("gan", "ddpm", "vae", "ae", "classifier", "score", "flow", "vqvae")}
common = sys.modules["common"]
FAST = ["--quick", "--quiet", "--threads", "1"]

WHOLE = "expected a whole number >= 1"
RATE = "expected a finite number > 0"
BAD = [
    ("classifier", ["--epochs", "-1"], f"argument --epochs: {WHOLE}, got '-1'"),
    ("classifier", ["--epochs", "0"], f"argument --epochs: {WHOLE}, got '0'"),
    ("vae", ["--steps", "0"], f"argument --steps: {WHOLE}, got '0'"),
    ("gan", ["--steps", "-5"], f"argument --steps: {WHOLE}, got '-5'"),
    ("ae", ["--batch-size", "0"], f"argument --batch-size: {WHOLE}, got '0'"),
    ("ddpm", ["--timesteps", "0"], f"argument --timesteps: {WHOLE}, got '0'"),
    ("ddpm", ["--steps", "2.5"], f"argument --steps: {WHOLE}, got '2.5'"),
    ("vae", ["--lr", "nan"], f"argument --lr: {RATE}, got 'nan'"),
    ("gan", ["--lr", "inf"], f"argument --lr: {RATE}, got 'inf'"),
    ("ddpm", ["--lr", "-0.001"], f"argument --lr: {RATE}, got '-0.001'"),
    ("classifier", ["--lr", "0"], f"argument --lr: {RATE}, got '0'"),
    ("vae", ["--latent-dim", "0"], f"argument --latent-dim: {WHOLE}, got '0'"),
    ("vae", ["--beta", "nan"], "argument --beta: expected a finite number >= 0, got 'nan'"),
    ("gan", ["--pack", "0"], f"argument --pack: {WHOLE}, got '0'"),
    ("gan", ["--lr-decay", "1.5"], "argument --lr-decay: expected a number in [0, 1], got '1.5'"),
    ("gan", ["--batch-size", "10", "--pack", "4"], "--batch-size 10 must be a multiple of --pack 4"),
    ("ddpm", ["--ema-decay", "2"], "argument --ema-decay: expected a number in [0, 1], got '2'"),
    ("ddpm", ["--guidance", "inf"], "argument --guidance: expected a finite number, got 'inf'"),
    ("gan", ["--seed", "-1"], "argument --seed: expected a whole number >= 0, got '-1'"),
    ("ae", ["--threads", "0"], f"argument --threads: {WHOLE}, got '0'"),
    ("vae", ["--checkpoint-every", "0"], "argument --checkpoint-every: expected a number of steps"),
    ("vae", ["--checkpoint-every", "often"], "argument --checkpoint-every: expected a number of steps"),
    ("score", ["--levels", "0"], f"argument --levels: {WHOLE}, got '0'"),
    ("score", ["--sigma-max", "0.001"], "--sigma-max (0.001) must be larger than --sigma-min (0.01)"),
    ("flow", ["--layers", "0"], f"argument --layers: {WHOLE}, got '0'"),
    ("flow", ["--temperature", "nan"], f"argument --temperature: {RATE}, got 'nan'"),
    ("vqvae", ["--num-codes", "0"], f"argument --num-codes: {WHOLE}, got '0'"),
    ("vqvae", ["--prior-dropout", "1.5"], "argument --prior-dropout: expected a number in [0, 1], got '1.5'"),
]


@pytest.mark.parametrize("name, argv, message", BAD, ids=[f"{n} {' '.join(a)}" for n, a, _ in BAD])
def test_impossible_values_are_refused_by_argparse(name, argv, message, capsys):
    with pytest.raises(SystemExit) as stop:
        DEMOS[name].parse(argv + ["--out", "runs/never"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.startswith("usage: ") and f"error: {message}" in err, err
    assert "Traceback" not in err


def test_an_out_folder_that_cannot_be_made_is_refused_before_training(tmp_path, capsys):
    (tmp_path / "a-file").write_text("")
    for out in (tmp_path / "a-file", tmp_path / "a-file" / "below"):
        with pytest.raises(SystemExit) as stop:
            DEMOS["vae"].parse(["--out", str(out)])
        assert stop.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("usage: ") and f"error: --out {out}: " in err and "is a file" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]  # the check left nothing behind


def test_the_real_command_line_exits_2_without_a_traceback_or_a_result(tmp_path):
    done = subprocess.run([sys.executable, "demos/classifier.py", "--epochs", "-1", "--out", str(tmp_path / "x")],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr and done.stdout == ""
    assert done.stderr.startswith("usage: python demos/classifier.py") and "--epochs" in done.stderr
    assert not (tmp_path / "x").exists()


# ---------------------------------------------------------------- a loss that becomes NaN
DIVERGING = {"vae": [], "ae": [], "classifier": [], "gan": ["--dataset", "ring8"], "ddpm": ["--dataset", "moons"],
             "score": [], "flow": [], "vqvae": []}


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's overflow warnings on the way to NaN
@pytest.mark.parametrize("name", DIVERGING)
def test_a_diverging_run_stops_at_that_step_and_writes_no_result(name, tmp_path):
    with pytest.raises(common.Diverged) as info:
        DEMOS[name].main(FAST + DIVERGING[name] + ["--lr", "1e9", "--out", str(tmp_path)])
    message = str(info.value)
    assert "non-finite at step 1:" in message or "non-finite at step 2:" in message
    assert "learning rate (--lr 1e+09)" in message and "Nothing was written" in message
    assert list(tmp_path.iterdir()) == []  # no metrics, samples, figures or checkpoint


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_finite_losses_over_non_finite_optimiser_state_are_caught_before_any_result(tmp_path):
    # a DCGAN at lr 1e9: the losses stay finite (1e30) while Adam's second moments overflow to inf
    # (without D's BatchNorm, whose running variance would overflow first: caught the same way)
    with pytest.raises(common.Diverged, match=r"exp_avg_sq holds NaN or inf"):
        DEMOS["gan"].main(FAST + ["--dataset", "digits", "--no-d-batch-norm", "--lr", "1e9", "--steps", "10",
                                  "--out", str(tmp_path)])
    with pytest.raises(common.Diverged, match=r"running_var holds NaN or inf"):
        DEMOS["gan"].main(FAST + ["--dataset", "digits", "--lr", "1e9", "--steps", "10", "--out", str(tmp_path)])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_a_diverging_script_exits_1_with_one_paragraph(tmp_path):
    done = subprocess.run([sys.executable, "demos/vae.py", *FAST, "--lr", "1e9", "--out", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "vae.py: error: the loss became non-finite at step" in done.stderr
    assert not (tmp_path / "metrics.json").exists()


# ---------------------------------------------------------------- user errors: one paragraph, exit 1
def run(name, argv, capsys):
    """common.run of a demo (what `python demos/NAME.py argv` does): (exit status, stderr)."""
    with pytest.raises(SystemExit) as stop:
        common.run(DEMOS[name].main, argv)
    return stop.value.code, capsys.readouterr().err


def test_a_damaged_checkpoint_is_one_paragraph_and_debug_shows_the_traceback(tmp_path, capsys):
    (tmp_path / "checkpoint.npz").write_bytes(b"PK\x03\x04 not a whole zip file")
    code, err = run("vae", FAST + ["--resume", "--out", str(tmp_path)], capsys)
    assert code == 1 and "error: load: " in err and "corrupt or truncated" in err and "Traceback" not in err
    with pytest.raises(tg.CheckpointError):
        common.run(DEMOS["vae"].main, FAST + ["--resume", "--debug", "--out", str(tmp_path)])


def test_a_missing_dataset_is_one_paragraph(tmp_path, monkeypatch, capsys):
    with socket.socket() as s:  # a port nothing listens on: the download fails at once, offline or not
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/"
    monkeypatch.setitem(dl.SOURCES, "fashion-mnist", {**dl.SOURCES["fashion-mnist"], "mirrors": (closed,)})
    code, err = run("vae", FAST + ["--dataset", "fashion-mnist", "--data-root", str(tmp_path / "data"),
                                   "--out", str(tmp_path / "out")], capsys)
    assert code == 1 and "error: fashion-mnist: missing" in err and "TINYGEN_DATA" in err and "Traceback" not in err


def test_cuda_without_a_gpu_is_one_paragraph(tmp_path):
    env = dict(os.environ, TINYGEN_CUPY_MODULE="tinygen_test_no_such_cupy")
    done = subprocess.run([sys.executable, "demos/vae.py", *FAST, "--device", "cuda", "--out", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, env=env)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "vae.py: error: device 'cuda' needs CuPy" in done.stderr


@pytest.mark.slow
def test_a_batch_larger_than_the_data_is_one_paragraph(tmp_path, capsys):
    code, err = run("gan", FAST + ["--dataset", "digits", "--batch-size", "300", "--out", str(tmp_path)], capsys)
    assert code == 1 and "--batch-size 300 is more than the 256 training examples" in err


# ---------------------------------------------------------------- honest resumes
@pytest.mark.slow
def test_resume_refuses_options_that_shape_the_run_and_says_how_to_start_afresh(tmp_path, capsys):
    out = str(tmp_path)
    DEMOS["gan"].main(FAST + ["--dataset", "ring8", "--steps", "3", "--out", out])
    code, err = run("gan", FAST + ["--dataset", "ring8", "--steps", "6", "--pack", "1", "--resume", "--out", out],
                    capsys)
    assert code == 1 and "--pack was 4 in the checkpoint, this command line has 1 (given)" in err
    assert "give --pack 4" in err and "run without --resume" in err and "another --out" in err
    code, err = run("gan", FAST + ["--steps", "6", "--resume", "--out", out], capsys)  # --dataset left out
    assert code == 1 and "--dataset was ring8 in the checkpoint, this command line has grid25 (the default)" in err
    code, err = run("gan", FAST + ["--dataset", "ring8", "--steps", "6", "--schedule-steps", "9", "--resume",
                                   "--out", out], capsys)
    ring8_steps = DEMOS["gan"].defaults_of("ring8")["steps"]  # the default run's schedule, recorded in the checkpoint
    assert code == 1 and f"--schedule-steps was {ring8_steps} in the checkpoint, this command line has 9 (given)" in err
    code, err = run("gan", FAST + ["--dataset", "ring8", "--steps", "2", "--resume", "--out", out], capsys)
    assert code == 1 and "has already trained 3 steps, more than --steps 2" in err
    assert tg.load(tmp_path / "checkpoint.npz")["step"] == 3  # nothing trained, nothing overwritten


@pytest.mark.slow
def test_resume_with_a_new_lr_uses_it_and_without_keeps_the_checkpoints(tmp_path, capsys):
    out = str(tmp_path)
    DEMOS["vae"].main(FAST + ["--iwae-k", "2", "--steps", "3", "--lr", "0.002", "--out", out])
    DEMOS["vae"].main(FAST + ["--iwae-k", "2", "--steps", "5", "--lr", "0.0005", "--resume", "--out", out])
    assert "--lr 0.0005 replaces the checkpoint's 0.002 from the resumed step on" in capsys.readouterr().out
    assert tg.load(tmp_path / "checkpoint.npz")["optimizer"]["param_groups"][0]["lr"] == 0.0005
    DEMOS["vae"].main(FAST + ["--iwae-k", "2", "--steps", "6", "--resume", "--out", out])  # --lr left out
    assert "keeping the checkpoint's --lr 0.0005" in capsys.readouterr().out
    assert json.loads((tmp_path / "metrics.json").read_text())["config"]["lr"] == 0.0005


@pytest.mark.slow
def test_resume_past_the_schedule_keeps_its_length_and_says_so(tmp_path, capsys):
    options = FAST + ["--dataset", "ring8", "--schedule-steps", "4", "--out", str(tmp_path)]
    DEMOS["gan"].main(options + ["--steps", "4"])
    DEMOS["gan"].main(FAST + ["--dataset", "ring8", "--steps", "6", "--resume", "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert "keeps the checkpoint's length, 4 steps" in printed and "the rates stay 0 after it" in printed
    state = tg.load(tmp_path / "checkpoint.npz")
    assert state["config"]["schedule_steps"] == 4 and state["opt_g"]["param_groups"][0]["lr"] == 0.0


def test_a_checkpoint_that_does_not_record_its_configuration_is_refused(tmp_path, capsys):
    tg.save({"step": 1}, tmp_path / "checkpoint.npz")  # what an older tinygen wrote had no "config"
    code, err = run("vae", FAST + ["--resume", "--out", str(tmp_path)], capsys)
    assert code == 1 and "does not record the configuration" in err and "without --resume" in err

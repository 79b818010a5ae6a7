"""benchmarks/run.py: the JSON it writes, and that each PyTorch twin computes the same loss as tinygen."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from _scripts import load_script

import tinygen as tg
import tinygen.distributions

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "benchmarks", "run.py")


def load_run():
    return load_script("benchmarks/run.py")  # with benchmarks/_timing.py, as `python benchmarks/run.py` sees it


def run_script(*args):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def positive(x):
    return isinstance(x, (int, float)) and x > 0 and np.isfinite(x)


# ---------------------------------------------------------------- the script end to end
@pytest.mark.slow
def test_quick_run_writes_every_figure(tmp_path):
    path = tmp_path / "bench.json"
    out = run_script("--quick", "--only", "1,5,6", "--threads", "1", "--json", str(path))
    whole = json.loads(path.read_text())
    with_torch = whole["config"]["torch"]
    assert whole["config"]["threads"] == [1] and whole["config"]["workloads"] == [1, 5, 6]
    assert list(whole["runs"]) == ["1"] and whole["scaling"] == {}  # one column: no speed-up to report
    report = {**whole, **whole["runs"]["1"]}
    assert report["config"]["memory_steps"] == 3
    assert report["machine"]["cpu"] and report["machine"]["numpy"] == np.__version__
    assert positive(report["matmul"]["gflops"])
    assert set(report["workloads"]) == {"vae", "per-op"}  # only what --only asked for
    for name, entry in report["workloads"].items():
        assert positive(entry["tinygen"]) and len(entry["tinygen_rounds"]) == 1
        if with_torch:
            assert positive(entry["torch"]) and positive(entry["ratio"])
            assert entry["met"] == (entry["ratio"] <= entry["target"])
    assert report["workloads"]["per-op"]["unit"] == "us/op"
    assert set(report["memory"]) == {"vae"}  # 6 measures those of 1 and 3 that were chosen
    memory = report["memory"]["vae"]["tinygen"]
    assert positive(memory["peak_mb"]) and positive(memory["baseline_mb"])
    assert memory["increase_mb"] == pytest.approx(memory["peak_mb"] - memory["baseline_mb"])
    fraction = report["vae_matmul"]["fraction_of_numpy_matmul"]
    assert 0 < fraction < 1.5 and report["vae_matmul"]["flops_per_step"] == 500_121_600
    assert "vae" in out and "per-op" in out and "GFLOP/s" in out


@pytest.mark.slow
def test_without_torch_it_times_tinygen_alone(tmp_path):
    path = tmp_path / "bench.json"
    out = run_script("--quick", "--only", "5", "--no-torch", "--threads", "1,2", "--json", str(path))
    report = json.loads(path.read_text())
    assert list(report["runs"]) == ["1", "2"]
    entry = report["runs"]["2"]["workloads"]["per-op"]
    assert report["scaling"]["speedup"]["per-op"]["tinygen"] == pytest.approx(
        report["runs"]["1"]["workloads"]["per-op"]["tinygen"] / entry["tinygen"])
    assert positive(entry["tinygen"]) and "torch" not in entry and "ratio" not in entry
    assert "tinygen alone" in out


def test_thread_counts_read_all_as_every_core():
    run = load_run()
    assert run.thread_counts("1,all") == ([1, os.cpu_count()] if os.cpu_count() > 1 else [1])
    assert run.thread_counts("2,2,1") == [2, 1]
    for bad in ("0", "two", "1,-3", ""):
        with pytest.raises(Exception, match="thread counts"):
            run.thread_counts(bad)


def test_both_columns_gives_each_frameworks_speedup():
    run = load_run()
    runs = {1: {"workloads": {"vae": {"tinygen": 10.0, "torch": 8.0, "ratio": 1.25}}},
            4: {"workloads": {"vae": {"tinygen": 5.0, "torch": 2.0, "ratio": 2.5}}}}
    scaling = run.both_columns(runs)
    assert scaling == {"from": 1, "to": 4, "speedup": {"vae": {"tinygen": 2.0, "torch": 4.0}}}
    assert run.both_columns({1: runs[1]}) == {}


def test_bad_workload_number_is_refused():
    done = subprocess.run([sys.executable, SCRIPT, "--only", "1,9"], capture_output=True, text=True)
    assert done.returncode != 0 and "1-6" in done.stderr


# ---------------------------------------------------------------- the twins compute the same thing
def tg_arrays(run, name):
    return {k: tg.tensor(v) for k, v in run.make_arrays(name).items()}


def torch_arrays(run, name, torch):
    return {k: torch.from_numpy(v) for k, v in run.make_arrays(name).items()}


def test_vae_twin_gives_the_same_loss(monkeypatch):
    torch = pytest.importorskip("torch")
    run = load_run()
    eps = np.random.default_rng(1).standard_normal((run.VAE_BATCH, 20)).astype(np.float32)
    monkeypatch.setattr(tinygen.distributions, "randn", lambda *a, **k: tg.tensor(eps))  # rsample's noise
    ours = run.tg_loss("vae", run.tg_models("vae"), tg_arrays(run, "vae")).item()
    theirs = run.torch_loss("vae", run.torch_models("vae"), torch_arrays(run, "vae", torch), torch.from_numpy(eps)).item()
    assert ours == pytest.approx(theirs, rel=1e-4)
    assert ours > 100  # -ELBO of 784 pixels in nats: a real loss, not a zero


def test_wgan_gp_twin_gives_the_same_loss_and_weight_gradient():
    torch = pytest.importorskip("torch")
    run = load_run()
    eps = np.random.default_rng(2).uniform(size=(run.GAN_BATCH, 1, 1, 1)).astype(np.float32)
    tg_models, torch_models = run.tg_models("wgan-gp"), run.torch_models("wgan-gp")
    ours = run.tg_loss("wgan-gp", tg_models, tg_arrays(run, "wgan-gp"), tg.tensor(eps))
    theirs = run.torch_loss("wgan-gp", torch_models, torch_arrays(run, "wgan-gp", torch), torch.from_numpy(eps))
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-4)
    ours.backward()
    theirs.backward()  # through the penalty: a second derivative in both
    g_ours = next(iter(tg_models["D"].parameters())).grad.numpy()
    g_theirs = next(iter(torch_models["D"].parameters())).grad.numpy()
    np.testing.assert_allclose(g_ours, g_theirs, rtol=1e-3, atol=1e-4 * np.abs(g_theirs).max())


def test_dcgan_twin_gives_the_same_losses():
    torch = pytest.importorskip("torch")
    run = load_run()
    z = np.random.default_rng(3).standard_normal((run.GAN_BATCH, run.LATENT)).astype(np.float32)
    tg_models, torch_models = run.tg_models("dcgan"), run.torch_models("dcgan")
    d_ours, fake_ours = run.tg_loss("dcgan", tg_models, tg_arrays(run, "dcgan"), tg.tensor(z))
    d_theirs, fake_theirs = run.torch_loss("dcgan", torch_models, torch_arrays(run, "dcgan", torch), torch.from_numpy(z))
    assert d_ours.item() == pytest.approx(d_theirs.item(), rel=1e-4)
    np.testing.assert_allclose(fake_ours.detach().numpy(), fake_theirs.detach().numpy(), rtol=1e-4, atol=1e-5)


def test_unet_twin_gives_the_same_ddpm_loss():
    torch = pytest.importorskip("torch")
    from tinygen.models.ddpm import GaussianDiffusion

    run = load_run()
    rng = np.random.default_rng(4)
    b = 4  # a few images are enough to compare, and quick
    arrays = run.make_arrays("ddpm-unet")
    x0, y = arrays["x0"][:b], arrays["y"][:b]
    t = np.array([0, 10, 500, 999])
    noise = rng.standard_normal(x0.shape).astype(np.float32)
    ours = GaussianDiffusion(run.TIMESTEPS, "linear", clip=(-1.0, 1.0)).p_losses(
        run.tg_models("ddpm-unet")["model"], tg.tensor(x0), tg.tensor(y, dtype=tg.int64), t=tg.tensor(t, dtype=tg.int64),
        noise=tg.tensor(noise))
    theirs = run.TorchDiffusion().p_losses(
        run.torch_models("ddpm-unet")["model"], torch.from_numpy(x0), torch.from_numpy(y).long(),
        t=torch.from_numpy(t).long(), noise=torch.from_numpy(noise), p_uncond=0.0)
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-4)
    assert ours.dtype == tg.float32


def test_copy_weights_refuses_a_different_architecture():
    torch = pytest.importorskip("torch")
    run = load_run()
    wrong = torch.nn.Sequential(torch.nn.Linear(784, 400), torch.nn.ReLU(), torch.nn.Linear(400, 20),
                                torch.nn.Linear(20, 400), torch.nn.ReLU(), torch.nn.Linear(400, 784))
    with pytest.raises(AssertionError, match="parameter 2"):
        run.copy_weights(run.tg_models("vae")["model"], wrong, "vae")


@pytest.mark.slow
def test_split_cores_reaches_tinygens_worker_at_more_than_one_thread(tmp_path):
    path = tmp_path / "bench.json"
    out = run_script("--quick", "--only", "2", "--no-torch", "--threads", "1,2", "--split-cores", "--json", str(path))
    report = json.loads(path.read_text())
    assert report["config"]["split_cores"] is True
    assert positive(report["runs"]["2"]["workloads"]["dcgan"]["tinygen"])
    assert "split over its own threads, 2 thread(s)" in out and "split over its own threads, 1 thread" not in out


def test_worker_setup_splits_over_cores_only_when_asked_and_above_one_thread(monkeypatch):
    run = load_run()
    import tinygen

    calls = []
    monkeypatch.setattr(tinygen.fast, "split_over_cores", calls.append)
    monkeypatch.setattr(tinygen.fast, "keep_freed_memory", lambda: None)
    monkeypatch.setenv("TINYGEN_BENCH_SPLIT_CORES", "1")
    run.worker_setup("tinygen", 1)
    run.worker_setup("torch", 2)
    run.worker_setup("tinygen", 2)
    monkeypatch.setenv("TINYGEN_BENCH_SPLIT_CORES", "0")
    run.worker_setup("tinygen", 2)
    assert calls == [2]


def test_a_worker_answers_ready_before_building_any_case(monkeypatch, capsys):
    """The parent waits for every worker (PyTorch's imports take seconds) before it times NumPy's
    matmul, so the rate it prints is not halved by a second process starting beside it."""
    import io

    timing = load_script("benchmarks/_timing.py")
    built = []
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps({"case": timing.READY, "reps": 0}) + "\n"
                                                  + json.dumps({"case": "x", "reps": 2}) + "\n"))
    timing.serve(lambda name: built.append(name) or (lambda: None))
    answers = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert answers[0] == {"ms": []} and len(answers[1]["ms"]) == 2
    assert built == ["x"]  # the ready request built nothing

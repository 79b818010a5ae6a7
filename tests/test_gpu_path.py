"""The GPU path: what a CuPy run needs beyond the CPU one (issue 19).

Every test here is marked ``gpu``: it runs on the GPU where CuPy sees one, else on the strict
CuPy stand-in (tests/strict_cupy.py), so it runs in every suite run. The first three groups are
the bugs the stand-in found; each test failed before its fix.
"""

import numpy as np
import pytest

import tinygen as tg
import tinygen.nn.functional as F
from tinygen import autograd, backend, metrics, nn
from tinygen.autograd import Function
from tinygen.distributions import Categorical

pytestmark = pytest.mark.gpu


@pytest.fixture
def cuda_default(monkeypatch):
    """The default device is "cuda" for this test."""
    monkeypatch.setattr(backend, "_default_device", "cuda")


class SquareForgetsTheTwo(Function):
    def forward(self, x):
        return x * x

    def backward(self, g):
        return g * self.inputs[0]


# ---------------------------------------------------------------- 1. gradcheck on GPU tensors
def test_gradcheck_and_gradgradcheck_run_on_gpu_tensors():
    # it asked x.array.flags.writeable, which CuPy's flags do not have (AttributeError)
    x = tg.randn(3, 4, dtype=tg.float64, device="cuda", requires_grad=True)
    w = tg.randn(4, 2, dtype=tg.float64, device="cuda", requires_grad=True)
    assert tg.gradcheck(lambda a, b: (a @ b).tanh(), (x, w))
    assert tg.gradgradcheck(lambda a, b: (a @ b).tanh(), (x, w))
    assert x.device == "cuda" and x.array is not None  # x keeps its own array afterwards


def test_gradcheck_reports_a_wrong_gradient_on_the_gpu():
    # the report unravelled the worst index from a Python int, which CuPy's unravel_index refuses
    x = tg.tensor([[0.5, -2.0], [1.5, 3.0]], dtype=tg.float64, device="cuda", requires_grad=True)
    with pytest.raises(tg.GradcheckError, match=r"for SquareForgetsTheTwo: .* index \(\d, \d\): analytic"):
        tg.gradcheck(SquareForgetsTheTwo.apply, x)


def test_gradcheck_perturbs_a_copy_of_a_broadcast_input():
    base = tg.tensor([1.0, 2.0, 3.0], dtype=tg.float64)
    x = base.expand(2, 3).detach().requires_grad_()  # a stride-0 view: writing one element writes two
    assert tg.gradcheck(lambda t: (t * t).sum(0), x)
    np.testing.assert_array_equal(base.numpy(), [1.0, 2.0, 3.0])


# ---------------------------------------------------------------- 2. the GPU's random stream in checkpoints
def test_the_gpu_stream_continues_where_the_saved_state_was():
    tg.manual_seed(3)
    tg.randn(4, device="cuda")
    state = backend.get_rng_state()
    straight = [tg.randn(4, device="cuda").numpy() for _ in range(3)]
    tg.manual_seed(99)  # whatever happens in between (another seed, more draws) must not matter
    tg.rand(7, device="cuda")
    backend.set_rng_state(state)
    resumed = [tg.randn(4, device="cuda").numpy() for _ in range(3)]
    for a, b in zip(straight, resumed):
        assert a.tobytes() == b.tobytes()


def test_saving_and_restoring_around_a_side_job_leaves_the_gpu_stream_alone():
    """What metrics.train_classifier does: save the state, reseed, train, restore."""
    tg.manual_seed(0)
    first, second = tg.randn(3, device="cuda").numpy(), tg.randn(3, device="cuda").numpy()
    tg.manual_seed(0)
    assert tg.randn(3, device="cuda").numpy().tobytes() == first.tobytes()
    state = backend.get_rng_state()
    tg.manual_seed(7)
    tg.randn(100, device="cuda")  # the side job's draws
    backend.set_rng_state(state)
    assert tg.randn(3, device="cuda").numpy().tobytes() == second.tobytes()  # not `first` again


def test_the_saved_state_is_plain_numbers_for_a_checkpoint(tmp_path):
    tg.manual_seed(5)
    tg.randn(2, device="cuda")
    tg.randn(2, device="cpu")
    state = backend.get_rng_state()
    assert state["seed"] == 5 and state["cuda"] == 1
    tg.save({"rng": state}, tmp_path / "rng.npz")
    back = tg.load(tmp_path / "rng.npz")["rng"]
    expected = tg.randn(2, device="cuda").numpy(), tg.randn(2, device="cpu").numpy()
    backend.set_rng_state(back)
    got = tg.randn(2, device="cuda").numpy(), tg.randn(2, device="cpu").numpy()
    assert [a.tobytes() for a in got] == [a.tobytes() for a in expected]


def test_a_state_saved_before_the_gpu_stream_was_saved_restarts_it():
    tg.randn(2, device="cuda")
    state = backend.get_rng_state()
    assert state.pop("cuda") == 1  # as in a checkpoint written by an older tinygen
    backend.set_rng_state(state)
    assert backend.get_rng_state()["cuda"] == 0


def _model():
    return nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 1))


def _train(model, opt, steps):
    for _ in range(steps):
        x = tg.randn(8, 3)  # on the default device: data and dropout masks both draw from the GPU stream
        loss = ((model(x) - x.sum(dim=1, keepdim=True)) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()


def test_a_resumed_gpu_run_equals_a_straight_run(tmp_path, cuda_default):
    tg.manual_seed(1)
    model = _model()
    opt = tg.optim.Adam(model.parameters(), lr=1e-2)
    _train(model, opt, 6)
    straight = {k: v.numpy() for k, v in model.state_dict().items()}

    tg.manual_seed(1)
    model = _model()
    opt = tg.optim.Adam(model.parameters(), lr=1e-2)
    _train(model, opt, 3)
    tg.save({"model": model.state_dict(), "opt": opt.state_dict(), "rng": backend.get_rng_state()},
            tmp_path / "ckpt.npz")
    tg.manual_seed(12345)
    model = _model()
    opt = tg.optim.Adam(model.parameters(), lr=1e-2)
    ckpt = tg.load(tmp_path / "ckpt.npz")
    model.load_state_dict(ckpt["model"])
    opt.load_state_dict(ckpt["opt"])
    backend.set_rng_state(ckpt["rng"])
    _train(model, opt, 3)
    assert model[0].weight.device == "cuda"
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), straight[name], err_msg=name)


# ---------------------------------------------------------------- 3. the default device, followed everywhere
def test_numpy_data_follows_the_default_device(cuda_default):
    assert tg.tensor(np.ones(3)).device == "cuda"  # it stayed on the CPU
    assert tg.tensor([1.0, 2.0]).device == "cuda" and tg.randn(2).device == "cuda"
    assert tg.tensor(np.float32(2.0)).device == "cuda"
    assert tg.tensor(np.ones(3), device="cpu").device == "cpu"
    assert tg.from_numpy(np.ones(3)).device == "cpu"  # shares the NumPy array's memory, so it stays


def test_a_gpu_array_stays_on_the_gpu_when_the_default_is_the_cpu(monkeypatch):
    monkeypatch.setattr(backend, "_default_device", "cpu")
    gpu = tg.ones(2, device="cuda")
    assert tg.tensor(gpu.array).device == "cuda" and tg.tensor(gpu).device == "cuda"


# ---------------------------------------------------------------- device checks: tinygen's DeviceError
MIXED = r"expected all tensors on one device, got (cpu and cuda|cuda and cpu)"


@pytest.mark.parametrize("update", [
    lambda t, o: t.add_(o), lambda t, o: t.sub_(o), lambda t, o: t.mul_(o), lambda t, o: t.div_(o),
    lambda t, o: t.__setitem__(0, o[0]), lambda t, o: t.__setitem__(slice(None), o)])
def test_in_place_updates_refuse_the_other_device(update):
    for target, value in [(tg.ones(2, device="cuda"), tg.ones(2, device="cpu")),
                          (tg.ones(2, device="cpu"), tg.ones(2, device="cuda"))]:
        with pytest.raises(tg.DeviceError, match=MIXED):
            update(target, value)
    with pytest.raises(tg.DeviceError, match="add_"):
        tg.ones(2, device="cuda").add_(np.ones(2))  # a raw host array too
    target = tg.ones(2, device="cuda")
    target.add_(tg.ones(2, device="cuda")).mul_(3.0)[0] = 0.5  # one device: fine
    assert target.tolist() == [0.5, 6.0]


def test_copy_moves_values_across_devices_as_pytorch_does():
    target = tg.zeros(2, device="cuda")
    target.copy_(tg.tensor([1.0, 2.0], device="cpu"))
    back = tg.zeros(2, device="cpu").copy_(target)
    assert target.device == "cuda" and back.tolist() == [1.0, 2.0]


def test_batch_norm_statistics_on_another_device_are_refused():
    norm = nn.BatchNorm1d(3, affine=False, device="cpu")  # running statistics on the CPU
    with pytest.raises(tg.DeviceError, match="batch_norm .*running statistics.*" + MIXED):
        norm(tg.randn(4, 3, device="cuda"))


def test_categorical_log_prob_refuses_indices_on_another_device():
    dist = Categorical(logits=tg.randn(4, 3, device="cuda"))
    with pytest.raises(tg.DeviceError, match="Categorical.log_prob: " + MIXED):
        dist.log_prob(tg.tensor([0, 1, 2, 0], device="cpu"))
    assert dist.log_prob(tg.tensor([0, 1, 2, 0], device="cuda")).shape == (4,)
    assert dist.log_prob([0, 1, 2, 0]).device == "cuda"  # plain data goes where the logits are


def test_frechet_distance_refuses_two_devices():
    a = tg.randn(50, 3, device="cuda")
    with pytest.raises(tg.DeviceError, match="frechet_distance: " + MIXED):
        metrics.frechet_distance(a, a.cpu())
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


# ---------------------------------------------------------------- range checks, on the device
def test_a_bad_class_index_makes_nll_nan_on_the_gpu_instead_of_wrapping():
    log_p = F.log_softmax(tg.randn(2, 3, dtype=tg.float64, device="cuda"), 1)
    good = F.nll_loss(log_p, tg.tensor([0, 2], device="cuda"))
    assert np.isfinite(good.item())
    assert np.isnan(F.nll_loss(log_p, tg.tensor([0, 3], device="cuda")).item())  # CuPy reads class 0
    assert np.isnan(F.cross_entropy(tg.randn(2, 3, device="cuda"), tg.tensor([-1, 1], device="cuda")).item())
    ignored = F.nll_loss(log_p, tg.tensor([0, -100], device="cuda"))  # ignore_index is not out of range
    assert ignored.item() == pytest.approx(-log_p[0, 0].item())


def test_bce_of_a_value_outside_0_1_is_nan_on_the_gpu():
    loss = F.binary_cross_entropy(tg.tensor([0.5, 1.5], device="cuda"), tg.tensor([1.0, 1.0], device="cuda"),
                                  reduction="none")
    assert np.isfinite(loss[0].item()) and np.isnan(loss[1].item())


# ---------------------------------------------------------------- the rest of the GPU surface
def test_repr_names_the_device():
    assert repr(tg.tensor([1.0, 2.0], device="cuda")) == "tensor([1., 2.], device='cuda')"


def test_a_training_step_on_the_gpu_stays_on_the_gpu_and_in_float32(cuda_default):
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                          nn.Linear(4 * 6 * 6, 10))
    opt = tg.optim.Adam(model.parameters(), lr=1e-3)
    x, y = tg.randn(5, 1, 6, 6), tg.randint(10, (5,))
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    assert loss.device == "cuda" and loss.dtype == tg.float32
    for p in model.parameters():
        assert p.device == "cuda" and p.grad.device == "cuda" and p.dtype == tg.float32


@pytest.mark.parametrize("fast", [True, False])
def test_a_vae_step_on_the_gpu_stays_on_the_gpu_on_both_tiers(cuda_default, fast):
    # the fast tier's one-op Bernoulli log-likelihood and its blocked Adam, and their reading-path twins
    from tinygen.models.vae import VAE

    tg.manual_seed(0)
    with tg.use_fast_kernels(fast):
        model = VAE.mlp((1, 6, 6), latent_dim=2, hidden=(8,))
        opt = tg.optim.Adam(model.parameters(), lr=1e-3)
        x = tg.rand(5, 1, 6, 6)
        for _ in range(2):
            opt.zero_grad()
            loss = model(x)
            ops = {type(fn).__name__ for fn in autograd._topological_order([loss])}
            loss.backward()
            opt.step()
    assert ("BernoulliLogProb" in ops) == fast  # the tier asked for is the one that ran
    assert loss.device == "cuda" and loss.dtype == tg.float32 and np.isfinite(loss.item())
    for p in model.parameters():
        assert p.device == "cuda" and p.grad.device == "cuda" and p.dtype == tg.float32


def test_split_over_cores_leaves_gpu_work_on_the_calling_thread(monkeypatch):
    """With tinygen's CPU threads on, a conv step on the device never hands work to them."""
    from tinygen.fast import parallel

    handed = []
    real_workers = parallel._workers
    monkeypatch.setattr(parallel, "_workers", lambda n: handed.append(n) or real_workers(n))
    monkeypatch.setattr(parallel, "SPLIT_BYTES", 0)
    monkeypatch.setattr(parallel, "SPLIT_MULTIPLY_ADDS", 0)
    parallel.split_over_cores(2)
    try:
        x = tg.randn(4, 3, 8, 8, device="cuda", requires_grad=True)
        model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.GroupNorm(2, 4), nn.SiLU(),
                              nn.ConvTranspose2d(4, 2, 4, stride=2, padding=1), nn.Flatten(), nn.Linear(512, 3))
        model.to("cuda")
        loss = model(x).square().mean()
        loss.backward()
        assert loss.device == "cuda" and x.grad.device == "cuda"
    finally:
        parallel.split_over_cores(1)
    assert handed == []

"""Issue 18's list of everyday PyTorch idioms, one test per group: each works as in PyTorch, or fails
with an error that says tinygen does not offer it and what to use instead.

The op-level gradients are checked in tests/op_registry.py (gradcheck, gradgradcheck) and against
PyTorch in tests/test_torch_parity.py; this file checks the spellings and behaviours.
"""

import math
import os

import numpy as np
import pytest

import tinygen as tg
import tinygen.nn.functional as F
from tinygen import nn
from tinygen.utils.data import DataLoader, Dataset, Subset, TensorDataset, default_collate, random_split

try:
    import torch
except ImportError:  # the comparisons with PyTorch are skipped; the rest runs
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


# ---------------------------------------------------------------- device set-up
def test_device_objects_are_device_strings():
    cpu, cuda = tg.device("cpu"), tg.device("cuda")
    assert cpu == "cpu" and cuda == "cuda" and tg.device("cuda:0") == "cuda" and tg.device("cuda", 0) == "cuda"
    assert cuda.type == "cuda" and cuda.index is None and tg.device("cuda:0").index == 0
    assert repr(cuda) == "device(type='cuda')" and repr(tg.device("cuda:0")) == "device(type='cuda', index=0)"
    assert tg.device(cpu) is cpu and isinstance(cpu, str)
    x = tg.zeros(2, device=cpu)
    assert x.device == "cpu" and x.device.type == "cpu" and x.is_cuda is False and x.get_device() == -1
    assert x.to(cpu) is x and nn.Linear(2, 2).to(cpu).weight.device.type == "cpu"
    with pytest.raises(tg.DeviceError, match="does not offer device 'mps'"):
        tg.device("mps")
    with pytest.raises(tg.DeviceError, match="one GPU"):
        tg.device("cuda:1")


def test_cuda_and_accelerator_questions():
    available = tg.cuda_is_available()
    assert tg.cuda.is_available() is available and tg.accelerator.is_available() is available
    assert tg.cuda.device_count() == tg.accelerator.device_count() == int(available)
    assert tg.accelerator.current_accelerator() == ("cuda" if available else None)
    tg.cuda.manual_seed(3), tg.cuda.manual_seed_all(3), tg.cuda.synchronize(), tg.cuda.empty_cache()
    assert tg.backends.mps.is_available() is False
    # the example scripts' idiom
    device = tg.accelerator.current_accelerator() if tg.accelerator.is_available() else tg.device("cpu")
    assert tg.ones(1, device=device).device == device


def test_with_device_sets_the_default():
    before = tg.get_default_device()
    with tg.device("cpu"):
        assert tg.zeros(1).device == "cpu"
    assert tg.get_default_device() == before


# ---------------------------------------------------------------- torch.utils.data
class Squares(Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, i):
        return tg.tensor([float(i), 2.0 * i]), i * i, {"id": float(i), "name": f"n{i}"}


def test_dataloader_takes_any_map_style_dataset():
    loader = DataLoader(Squares(), batch_size=4, shuffle=True, num_workers=2, pin_memory=True,
                        persistent_workers=True, seed=1)
    batches = list(loader)
    assert len(loader) == len(batches) == 3 and len(loader.dataset) == 10
    x, y, info = batches[0]
    assert x.shape == (4, 2) and x.dtype == tg.float32
    assert y.dtype == tg.int64 and info["id"].dtype == tg.float64 and info["name"][0].startswith("n")
    np.testing.assert_array_equal(y.numpy(), (x[:, 0] * x[:, 0]).numpy().astype(np.int64))
    seen = np.concatenate([b[1].numpy() for b in batches])
    assert sorted(seen.tolist()) == [i * i for i in range(10)]


@needs_torch
def test_default_collate_matches_torch():
    samples = [(np.ones((2, 2), np.float32) * i, i, 0.5 * i, True, (i, [i, -i])) for i in range(3)]
    ours, theirs = default_collate(samples), torch.utils.data.default_collate(samples)
    assert type(ours) is type(theirs) is list and len(ours) == len(theirs)

    def flat(a, b):
        if isinstance(b, torch.Tensor):
            assert str(b.dtype) == f"torch.{a.dtype}" and a.shape == tuple(b.shape)
            np.testing.assert_array_equal(a.numpy(), b.numpy())
        else:
            assert type(a) is type(b) and len(a) == len(b)
            for u, v in zip(a, b):
                flat(u, v)

    flat(ours, theirs)


def test_tensor_dataset_subset_random_split():
    data = TensorDataset(tg.arange(10.0).reshape(10, 1), tg.arange(10))
    x, y = data[3]
    assert isinstance(x, tg.Tensor) and x.tolist() == [3.0] and int(y) == 3
    assert len(data.tensors) == 2 and data.tensors[0].shape == (10, 1)
    tg.manual_seed(0)
    a, b = random_split(data, [7, 3])
    assert isinstance(a, Subset) and len(a) == 7 and len(b) == 3
    ids = {int(s[1]) for part in (a, b) for s in (part[i] for i in range(len(part)))}
    assert ids == set(range(10))
    c, d = random_split(data, [0.8, 0.2], generator=tg.Generator().manual_seed(42))
    e, f = random_split(data, [0.8, 0.2], generator=tg.Generator().manual_seed(42))
    assert (len(c), len(d)) == (8, 2) and c.indices == e.indices
    xs, ys = next(iter(DataLoader(c, batch_size=8)))  # a Subset goes through the generic path
    assert xs.shape == (8, 1) and ys.dtype == tg.int64
    with pytest.raises(ValueError, match="do not add up"):
        random_split(data, [5, 6])
    with pytest.raises(NotImplementedError, match="sampler"):
        DataLoader(data, sampler=[0, 1])


def test_list_of_samples_is_a_dataset():
    pairs = [(np.full(3, i, np.float32), i) for i in range(5)]
    x, y = next(iter(DataLoader(pairs, batch_size=5)))
    assert x.shape == (5, 3) and y.tolist() == [0, 1, 2, 3, 4]


# ---------------------------------------------------------------- .data and in-place initialisers
def test_data_is_a_detached_tensor_and_initialisers_draw_from_tinygen():
    m = nn.Linear(3, 4)
    assert isinstance(m.weight.data, tg.Tensor) and m.weight.data.size(0) == 4
    tg.manual_seed(5)
    m.weight.data.normal_(0.0, 0.02)
    first = m.weight.detach().numpy().copy()
    tg.manual_seed(5)
    m.weight.data.normal_(0.0, 0.02)
    np.testing.assert_array_equal(first, m.weight.detach().numpy())  # reproducible with tg.manual_seed
    assert abs(first.std() - 0.02) < 0.015
    m.bias.data.uniform_(-1, 1)
    assert np.all(np.abs(m.bias.detach().numpy()) <= 1)
    m.bias.data.fill_(0.5)
    m.bias.data.zero_()
    m.weight.data.copy_(tg.ones(4, 3))
    assert m.bias.detach().tolist() == [0.0] * 4 and float(m.weight.sum()) == 12.0
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        m.weight.normal_()
    with tg.no_grad():
        m.weight.uniform_(0.0, 1.0)
    m.weight.data.clamp_(-0.01, 0.01)  # WGAN's weight clipping
    assert float(m.weight.abs().max()) <= 0.01
    assert m.weight.dtype == tg.float32


# ---------------------------------------------------------------- tensor creation
def test_tensor_creation_spellings():
    assert tg.Tensor(2, 3).shape == (2, 3) and tg.Tensor(2, 3).dtype == tg.float32
    assert tg.Tensor([1, 2]).dtype == tg.float32 and tg.tensor([1, 2]).dtype == tg.int64
    assert tg.FloatTensor([1, 2]).dtype == tg.float32 and tg.LongTensor([1.7]).dtype == tg.int64
    assert tg.DoubleTensor(2, 2).shape == (2, 2) and tg.BoolTensor([1, 0]).dtype == tg.bool_
    assert isinstance(tg.zeros(1), tg.FloatTensor) and not isinstance(tg.zeros(1), tg.LongTensor)
    a = np.arange(3.0)
    t = tg.from_numpy(a)
    a[0] = 7
    assert t[0].item() == 7.0 and tg.as_tensor(a).numpy()[0] == 7.0
    assert tg.is_tensor(t) and not tg.is_tensor(a) and tg.is_floating_point(t) and tg.numel(tg.zeros(2, 3)) == 6
    x = tg.zeros(2, dtype=tg.float64, device="cpu")
    assert x.new_zeros(3).dtype == tg.float64 and x.new_ones((2, 2)).tolist() == [[1.0, 1.0], [1.0, 1.0]]
    assert x.new_full((2,), 7.0).tolist() == [7.0, 7.0] and x.new_tensor([1, 2]).dtype == tg.float64
    assert x.type() == "tinygen.DoubleTensor" and x.type(tg.float32).dtype == tg.float32
    assert x.type(tg.LongTensor).dtype == tg.int64 and x.type("torch.FloatTensor").dtype == tg.float32
    assert x.float().dtype == tg.float32 and x.double().dtype == tg.float64 and x.long().dtype == tg.int64
    assert x.int().dtype == tg.int32 and x.bool().dtype == tg.bool_ and x.half().dtype == tg.float16
    assert x.type_as(tg.zeros(1)).dtype == tg.float32
    assert tg.float is tg.float32 and tg.long is tg.int64 and tg.double is tg.float64 and tg.int is tg.int32
    assert tg.zeros(2, dtype=tg.long).dtype == tg.int64


# ---------------------------------------------------------------- comparisons and logic
def test_comparisons_and_logic():
    a, b = tg.tensor([1.0, 2.0, 3.0]), tg.tensor([3.0, 2.0, 1.0])
    assert a.eq(b).tolist() == [False, True, False] and tg.ne(a, b).tolist() == [True, False, True]
    assert a.gt(b).tolist() == [False, False, True] and a.lt(2).tolist() == [True, False, False]
    assert a.ge(b).tolist() == [False, True, True] and tg.le(a, b).tolist() == [True, True, False]
    assert bool(a.eq(a).all()) and not bool(a.eq(b).all()) and bool(tg.any(a.gt(b)))
    assert bool((a > 0).all(dim=0)) and (a > 2).any(0, keepdim=True).tolist() == [True]
    pred, target = tg.tensor([[1], [2], [0]]), tg.tensor([1, 0, 0])
    assert pred.eq(target.view_as(pred)).sum().item() == 2  # the MNIST example's accuracy
    filled = a.masked_fill(a > 1.5, -1.0)
    assert filled.tolist() == [1.0, -1.0, -1.0]
    assert tg.max(a, b).tolist() == [3.0, 2.0, 3.0] and tg.min(a, b).tolist() == [1.0, 2.0, 1.0]
    assert a.max().item() == 3.0 and a.max(b).tolist() == [3.0, 2.0, 3.0]
    assert tg.allclose(a, a + 1e-9) and tg.equal(a, a.clone()) and not tg.equal(a, b)
    assert tg.isnan(tg.tensor([0.0, math.nan])).tolist() == [False, True]


# ---------------------------------------------------------------- shape
def test_shape_spellings():
    x = tg.arange(12.0).reshape(3, 4)
    assert [c.shape for c in x.chunk(3, 1)] == [(3, 2), (3, 2)] and len(tg.chunk(x, 2)) == 2
    assert [s.shape for s in x.split(1)] == [(1, 4)] * 3 and [s.shape for s in x.split([1, 3], 1)] == [(3, 1), (3, 3)]
    assert x.repeat(2, 1).shape == (6, 4) and x.t().shape == (4, 3) and x.contiguous() is x
    idx = tg.tensor([[0, 3], [1, 1], [2, 0]])
    assert x.gather(1, idx).tolist() == [[0.0, 3.0], [5.0, 5.0], [10.0, 8.0]]
    assert tg.zeros(3).scatter_add(0, tg.tensor([0, 0, 2]), tg.ones(3)).tolist() == [2.0, 0.0, 1.0]
    assert x.index_select(0, tg.tensor([2, 0])).tolist()[0] == [8.0, 9.0, 10.0, 11.0]
    assert x.flip(0)[0].tolist() == [8.0, 9.0, 10.0, 11.0] and tg.flip(x, (0, 1))[0, 0].item() == 11.0
    assert x.roll(1, 1)[0].tolist() == [3.0, 0.0, 1.0, 2.0] and x.narrow(1, 1, 2).shape == (3, 2)
    assert tg.mm(x, x.t()).shape == (3, 3) and tg.bmm(x[None], x.t()[None]).shape == (1, 3, 3)
    assert tg.einsum("ij,jk->ik", x, x.t()).shape == (3, 3) and tg.einsum("ij->j", x).tolist()[0] == 12.0
    assert tg.outer(tg.ones(2), tg.ones(3)).shape == (2, 3)
    assert F.one_hot(tg.tensor([0, 2]), 3).tolist() == [[1, 0, 0], [0, 0, 1]] and F.one_hot(tg.tensor([1])).shape == (1, 2)
    assert [u.shape for u in x.unbind(1)] == [(3,)] * 4
    with pytest.raises(NotImplementedError, match="repeated within one operand"):
        tg.einsum("ii->i", tg.eye(2))


# ---------------------------------------------------------------- math
def test_math_spellings():
    x = tg.tensor([0.0, 0.5, 1.0])
    np.testing.assert_allclose(x.sin().numpy(), np.sin(x.numpy()), rtol=1e-6)
    np.testing.assert_allclose(tg.cos(x).numpy(), np.cos(x.numpy()), rtol=1e-6)
    np.testing.assert_allclose(tg.log1p(tg.tensor([1e-10])).numpy(), [1e-10], rtol=1e-6)
    np.testing.assert_allclose(tg.expm1(tg.tensor([1e-10])).numpy(), [1e-10], rtol=1e-6)
    assert x.cumsum(0).tolist() == [0.0, 0.5, 1.5] and tg.cumprod(x + 1, 0).tolist() == [1.0, 1.5, 3.0]
    v = tg.tensor([[3.0, 4.0], [0.0, 0.0]], dtype=tg.float64, requires_grad=True)
    n = v.norm(2, dim=1)
    assert n.tolist() == [5.0, 0.0]
    n.sum().backward()
    np.testing.assert_allclose(v.grad.numpy(), [[0.6, 0.8], [0.0, 0.0]], rtol=1e-15)  # 0 at the zero vector
    assert tg.dist(tg.zeros(2), tg.tensor([3.0, 4.0])).item() == 5.0 and tg.norm(tg.ones(4)).item() == 2.0
    assert F.normalize(tg.zeros(1, 3)).tolist() == [[0.0, 0.0, 0.0]]
    assert F.cosine_similarity(tg.tensor([[1.0, 0.0]]), tg.tensor([[1.0, 1.0]])).item() == pytest.approx(math.sqrt(0.5))
    np.testing.assert_allclose(tg.erf(tg.tensor([0.5], dtype=tg.float64)).numpy(), [math.erf(0.5)], rtol=1e-15)
    assert F.gelu(tg.tensor([1.0])).item() == pytest.approx(0.5 * (1 + math.erf(1 / math.sqrt(2))), rel=1e-6)
    assert F.gelu(tg.tensor([1.0]), approximate="tanh").item() != F.gelu(tg.tensor([1.0])).item()
    assert nn.GELU()(tg.tensor([1.0])).item() == F.gelu(tg.tensor([1.0])).item()
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh'"):
        F.gelu(x, approximate="exact")
    assert F.l1_loss(x, tg.zeros(3)).item() == 0.5 and F.smooth_l1_loss(x, tg.zeros(3)).item() == pytest.approx(0.625 / 3)
    p = tg.tensor([[0.5, 0.5]])
    assert F.kl_div(tg.log(p), p, reduction="batchmean").item() == 0.0
    assert F.kl_div(tg.log(p), tg.tensor([[1.0, 0.0]]), reduction="sum").item() == pytest.approx(math.log(2))


def test_float32_stays_float32():
    x = tg.randn(4, 3, requires_grad=True)
    y = (x.sin() + x.erf() + F.gelu(x) + x.cumsum(1) + x.norm(dim=1, keepdim=True) + tg.log1p(x.abs())
         + x.expm1() + x.roll(1, 0) + x.flip(1) + x.repeat(1, 1) + F.normalize(x))
    z = tg.einsum("ij,kj->ik", y, x).sum() + F.smooth_l1_loss(x, y) + F.kl_div(x, y.abs(), reduction="batchmean")
    assert y.dtype == tg.float32 and z.dtype == tg.float32
    z.backward()
    assert x.grad.dtype == tg.float32


# ---------------------------------------------------------------- modules
LOSSES = [("MSELoss", {}), ("L1Loss", {"reduction": "sum"}), ("SmoothL1Loss", {"beta": 0.5}),
          ("HuberLoss", {"delta": 0.5}), ("BCELoss", {}), ("BCEWithLogitsLoss", {"reduction": "none"}),
          ("CrossEntropyLoss", {"label_smoothing": 0.1}), ("NLLLoss", {"reduction": "sum"}),
          ("KLDivLoss", {"reduction": "batchmean"})]


@needs_torch
@pytest.mark.parametrize("name,kw", LOSSES, ids=[n for n, _ in LOSSES])
def test_loss_modules_match_torch(name, kw):
    rng = np.random.default_rng(0)
    x = rng.random((4, 3)) * 0.9 + 0.05
    if name in ("CrossEntropyLoss", "NLLLoss"):
        y, ty = tg.tensor([0, 2, 1, 2]), torch.tensor([0, 2, 1, 2])
        x = np.log(x / x.sum(1, keepdims=True)) if name == "NLLLoss" else x
    else:
        y_np = rng.random((4, 3))
        y, ty = tg.tensor(y_np), torch.tensor(y_np)
        x = np.log(x) if name == "KLDivLoss" else x
    ours = getattr(nn, name)(**kw)(tg.tensor(x, dtype=tg.float64), y)
    theirs = getattr(torch.nn, name)(**kw)(torch.tensor(x), ty)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10)
    with pytest.raises(TypeError, match="reduction="):
        getattr(nn, "MSELoss")(size_average=False)


def test_class_weights_are_buffers():
    crit = nn.CrossEntropyLoss(weight=tg.tensor([1.0, 2.0]))
    assert "weight" in crit.state_dict() and crit.to(tg.float64).weight.dtype == tg.float64


@needs_torch
def test_conv2d_groups_module_matches_torch():
    ours, theirs = nn.Conv2d(4, 6, 3, padding=1, groups=2), torch.nn.Conv2d(4, 6, 3, padding=1, groups=2)
    assert ours.weight.shape == tuple(theirs.weight.shape) == (6, 2, 3, 3) and "groups=2" in repr(ours)
    tg.interop.load_from_torch(ours, theirs)
    x = np.random.default_rng(0).standard_normal((2, 4, 5, 5)).astype(np.float32)
    np.testing.assert_allclose(ours(tg.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-4, atol=1e-5)
    t_ours, t_theirs = nn.ConvTranspose2d(4, 6, 3, groups=2), torch.nn.ConvTranspose2d(4, 6, 3, groups=2)
    assert t_ours.weight.shape == tuple(t_theirs.weight.shape)
    with pytest.raises(ValueError, match="groups=3 must divide"):
        nn.Conv2d(4, 6, 3, groups=3)


def test_upsample_bilinear_and_containers():
    up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
    assert up(tg.ones(1, 2, 3, 3)).shape == (1, 2, 6, 6) and float(up(tg.ones(1, 1, 3, 3)).min()) == 1.0
    assert F.interpolate(tg.zeros(1, 1, 4, 4), size=(3, 5), mode="bilinear", align_corners=True).shape == (1, 1, 3, 5)
    with pytest.raises(NotImplementedError, match="not offered in tinygen; use 'nearest' or 'bilinear'"):
        nn.Upsample(scale_factor=2, mode="bicubic")
    x = tg.ones(2)
    assert nn.Identity()(x) is x
    d = nn.ModuleDict({"a": nn.Linear(2, 2)})
    assert "a" in d and len(list(d.parameters())) == 2
    plist = nn.ParameterList([nn.Parameter(tg.zeros(2)), tg.ones(3)])
    assert len(plist) == 2 and isinstance(plist[1], nn.Parameter) and len(list(plist.parameters())) == 2
    assert list(plist.state_dict()) == ["0", "1"]
    pdict = nn.ParameterDict({"w": tg.zeros(2)})
    assert list(pdict.state_dict()) == ["w"] and "w" in pdict


def test_forward_hooks():
    layer = nn.Linear(2, 2)
    seen = []
    h1 = layer.register_forward_hook(lambda m, args, out: seen.append(out.shape))
    h2 = layer.register_forward_pre_hook(lambda m, args: (args[0] * 0.0,))
    out = layer(tg.ones(3, 2))
    np.testing.assert_allclose(out.detach().numpy(), np.broadcast_to(layer.bias.detach().numpy(), (3, 2)))
    assert seen == [(3, 2)]
    h1.remove(), h2.remove()
    layer(tg.ones(1, 2))
    assert seen == [(3, 2)]


# ---------------------------------------------------------------- autograd leftovers
def test_autograd_grad_only_inputs_and_variable():
    x = tg.tensor([2.0], requires_grad=True)
    (g,) = tg.autograd.grad(outputs=(x**3).sum(), inputs=x, grad_outputs=tg.ones(()), create_graph=True,
                            retain_graph=True, only_inputs=True)
    assert g.tolist() == [12.0] and g.requires_grad
    v = tg.autograd.Variable(tg.ones(2), requires_grad=True)
    assert v.requires_grad and v.is_leaf
    from tinygen.autograd import Variable

    assert Variable(tg.ones(1)).requires_grad is False


class MyReLU(tg.autograd.Function):
    @staticmethod
    def forward(ctx, input, scale=1.0):
        ctx.save_for_backward(input)
        ctx.scale = scale
        return input.clamp(min=0) * scale

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        return grad_output * (input > 0).float() * ctx.scale, None


class Cube(tg.autograd.Function):
    """PyTorch 2's split form: forward without ctx, then setup_context."""

    @staticmethod
    def forward(x):
        return x**3

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3.0 * x * x


def test_pytorch_style_custom_function():
    x = tg.tensor([-1.0, 2.0, 3.0], dtype=tg.float64, requires_grad=True)
    y = MyReLU.apply(x, 2.0)
    assert y.tolist() == [0.0, 4.0, 6.0] and type(y.grad_fn).__name__ == "CustomFunctionNode"
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 2.0, 2.0]
    z = tg.tensor([0.7, -1.3], dtype=tg.float64, requires_grad=True)
    assert tg.gradcheck(Cube.apply, z) and tg.gradgradcheck(Cube.apply, z)  # backward built from tensor ops
    assert MyReLU.apply(tg.ones(2)).requires_grad is False
    with tg.no_grad():
        assert MyReLU.apply(x).requires_grad is False


# ---------------------------------------------------------------- checkpoints and namespaces
def test_save_load_call_forms(tmp_path):
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    path = os.path.join(tmp_path, "model.pt")
    tg.save(model.state_dict(), path)
    twin = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    twin.load_state_dict(tg.load(path, map_location=tg.device("cpu"), weights_only=True))
    np.testing.assert_array_equal(twin[0].weight.detach().numpy(), model[0].weight.detach().numpy())
    assert tg.load(path, map_location=lambda storage, loc: storage)["0.bias"].device == "cpu"
    assert tg.load(path, map_location="cpu", weights_only=False)["1.running_var"].shape == (3,)


def test_namespaces_a_script_touches():
    import tinygen.backends.cudnn as cudnn

    cudnn.benchmark = True
    tg.backends.cudnn.deterministic = True
    assert tg.backends.cudnn.benchmark is True and tg.backends.cudnn.is_available() is False
    model = nn.Linear(2, 2)
    wrapped = nn.DataParallel(model, device_ids=[0])
    assert wrapped(tg.ones(1, 2)).shape == (1, 2) and list(wrapped.state_dict())[0] == "module.weight"
    assert nn.parallel.data_parallel(model, tg.ones(1, 2), range(1)).shape == (1, 2)
    with pytest.raises(NotImplementedError, match="not offered in tinygen"):
        nn.parallel.DistributedDataParallel(model)
    assert tg.nn is nn and tg.optim.RMSprop and tg.utils.data.DataLoader is DataLoader
    with tg.inference_mode():
        assert not tg.is_grad_enabled()
